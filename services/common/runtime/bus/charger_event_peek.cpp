// Protobuf wire format (protobuf.dev/programming-guides/encoding): a field is a varint key
// (number << 3 | wire type) and a value: 0 varint, 1 eight bytes, 2 varint length and bytes,
// 5 four bytes. Groups (3, 4) are not in proto3 messages: not well-formed here.
#include "common/runtime/bus/charger_event_peek.h"

#include "common/runtime/websocket/protocol.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::bus {
namespace {

using Event = v1::ChargerEvent;

class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(p_ + bytes.size()) {}

  bool done() const { return p_ == end_; }

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

  bool skip(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// A switch on the number itself: any value may come off the wire, and one outside the enum's
// range must not be cast to it.
bool is_payload(std::uint64_t field) {
  switch (field) {
    case Event::kConnectionOpened:
    case Event::kConnectionClosed:
    case Event::kBootNotification:
    case Event::kHeartbeat:
    case Event::kStatusNotification:
    case Event::kMeterValues:
    case Event::kTransactionEvent:
    case Event::kAuthorize:
    case Event::kDataTransfer:
    case Event::kFirmwareStatus:
    case Event::kLogStatus:
    case Event::kSecurityEvent:
    case Event::kDeviceEvent:
    case Event::kCommandResult:
    case Event::kOther:
      return true;
    default:
      return false;
  }
}

// google.protobuf.Timestamp: seconds (1), nanos (2). Repeated occurrences of a message field
// merge, so the fields read stay unless a later occurrence sets them again.
bool read_timestamp(std::string_view bytes, std::int64_t& seconds, std::int32_t& nanos) {
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
    if (!r.varint(key)) return false;
    const auto type = key & 7;
    if (type != 0) return false;  // both fields are varints
    if (!r.varint(value)) return false;
    if ((key >> 3) == 1) seconds = static_cast<std::int64_t>(value);
    if ((key >> 3) == 2) nanos = static_cast<std::int32_t>(value);
  }
  return true;
}

// Skips a field's value of wire type `type`; false when not well-formed.
bool skip_value(Reader& r, std::uint64_t type) {
  std::uint64_t varint = 0;
  std::string_view bytes;
  switch (type) {
    case 0:
      return r.varint(varint);
    case 1:
      return r.skip(8);
    case 2:
      return r.bytes(bytes);
    case 5:
      return r.skip(4);
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string_view> peek_string_field(std::string_view message, int number) {
  Reader r(message);
  std::string_view out;
  while (!r.done()) {
    std::uint64_t key = 0;
    if (!r.varint(key) || (key >> 3) == 0) return std::nullopt;
    if ((key >> 3) == static_cast<std::uint64_t>(number) && (key & 7) == 2) {
      if (!r.bytes(out)) return std::nullopt;
    } else if (!skip_value(r, key & 7)) {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<ChargerEventPeek> peek_charger_event(std::string_view bytes) {
  ChargerEventPeek out;
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  Reader r(bytes);
  while (!r.done()) {
    std::uint64_t key = 0;
    if (!r.varint(key)) return std::nullopt;
    const std::uint64_t field = key >> 3;
    if (field == 0) return std::nullopt;
    switch (key & 7) {
      case 0: {
        std::uint64_t value = 0;
        if (!r.varint(value)) return std::nullopt;
        if (field == Event::kProtocolVersionFieldNumber) {
          out.protocol_version = static_cast<int>(value);
        }
        break;
      }
      case 2: {
        std::string_view value;
        if (!r.bytes(value)) return std::nullopt;
        if (field == Event::kEventIdFieldNumber) {
          out.event_id = value;
        } else if (field == Event::kChargerIdFieldNumber) {
          out.charger_id = value;
        } else if (field == Event::kReceivedAtFieldNumber) {
          if (!read_timestamp(value, seconds, nanos)) return std::nullopt;
        } else if (is_payload(field)) {
          out.payload = static_cast<int>(field);  // a oneof: the last one set wins
          out.payload_bytes = value;
        }
        break;
      }
      default:
        if (!skip_value(r, key & 7)) return std::nullopt;
    }
  }
  if (!websocket::valid_utf8(out.event_id) || !websocket::valid_utf8(out.charger_id)) {
    return std::nullopt;
  }
  out.received_at_ms = seconds * 1000 + nanos / 1'000'000;  // as Timestamp → ms everywhere
  return out;
}

}  // namespace switchyard::bus
