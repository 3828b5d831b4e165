// Reads protobuf wire format (protobuf.dev/programming-guides/encoding) field by field without
// building messages, for the peeks that look at a few fields of an event instead of parsing it.
// A field is a varint key (number << 3 | wire type) and a value: 0 varint, 1 eight bytes,
// 2 varint length and bytes, 5 four bytes. Groups (3, 4) are not in proto3 messages: not
// well-formed here. Every read says whether the bytes were well-formed.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace switchyard::bus {

class WireReader {
 public:
  enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

  explicit WireReader(std::string_view bytes) : p_(bytes.data()), end_(p_ + bytes.size()) {}

  bool done() const { return p_ == end_; }

  // The next field's key; false when malformed, past 32 bits (as protobuf's parser) or the
  // field number is 0.
  bool key(std::uint64_t& number, std::uint32_t& type) {
    std::uint64_t k = 0;
    if (!varint(k) || k > 0xFFFFFFFFu || (k >> 3) == 0) return false;
    number = k >> 3;
    type = static_cast<std::uint32_t>(k & 7);
    return true;
  }

  bool varint(std::uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64 && p_ != end_; shift += 7) {
      const auto byte = static_cast<std::uint8_t>(*p_++);
      out |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool bytes(std::string_view& out) {
    std::uint64_t size = 0;
    if (!varint(size) || size > static_cast<std::uint64_t>(end_ - p_)) return false;
    out = std::string_view(p_, static_cast<std::size_t>(size));
    p_ += size;
    return true;
  }

  // A double (wire type 1), little-endian as on every machine this builds for.
  bool fixed64_double(double& out) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&out, p_, 8);
    p_ += 8;
    return true;
  }

  bool skip(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

  // Skips a value of wire type `type`.
  bool skip_value(std::uint32_t type) {
    std::uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (type) {
      case kVarint:
        return varint(ignored);
      case kFixed64:
        return skip(8);
      case kBytes:
        return bytes(ignored_bytes);
      case kFixed32:
        return skip(4);
      default:
        return false;
    }
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace switchyard::bus
