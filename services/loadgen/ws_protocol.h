// The client side of RFC 6455 as far as a simulated charger needs it, as pure functions: the
// upgrade request and the parsing of its answer, masked client frames, and reading server
// frames. The asynchronous part lives with the charger (charger.cpp); this keeps the per-message
// path to one buffer append and one parse, without a WebSocket library's layers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::loadgen::ws {

enum Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// The Sec-WebSocket-Accept value a server must answer to `key`.
std::string accept_key(std::string_view key);

// A random-looking Sec-WebSocket-Key (base64 of 16 bytes) from `seed`.
std::string make_key(std::uint64_t seed);

// GET request of the upgrade; `authorization` and `protocol` are left out when empty.
std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key,
                            std::string_view protocol, std::string_view authorization);

struct UpgradeResponse {
  int status = 0;                    // HTTP status; 101 when the upgrade succeeded
  std::string_view accept;           // Sec-WebSocket-Accept
  std::string_view protocol;         // Sec-WebSocket-Protocol
  std::optional<int> retry_after_s;  // Retry-After in seconds (an HTTP-date is not read)
  std::size_t header_bytes = 0;      // up to and including the blank line
};

// nullopt while the response head is incomplete; status 0 when it is not HTTP.
std::optional<UpgradeResponse> parse_upgrade_response(std::string_view bytes);

// Appends a masked client frame (FIN set) with `opcode` and `payload`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask);

struct FrameHeader {
  bool fin = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  std::uint32_t mask = 0;  // as read, byte order of the wire
  std::uint64_t length = 0;
  std::size_t header_bytes = 0;
};

// The header of the frame at the start of `bytes`, or nullopt while the header is incomplete
// (the payload may still be).
std::optional<FrameHeader> parse_frame_header(std::string_view bytes);

// The header of the frame at the start of `bytes`, or nullopt when the header or the payload
// is not complete yet.
std::optional<FrameHeader> parse_frame(std::string_view bytes);

// XORs `data` with the 4-byte mask (wire byte order), as both directions of masking need.
void apply_mask(char* data, std::size_t size, std::uint32_t mask);

// A byte buffer that reads land in: [begin, end) holds received bytes not consumed yet.
class ReadBuffer {
 public:
  // Room for at least `min` more bytes after end (moves unconsumed bytes to the front first).
  std::pair<char*, std::size_t> prepare(std::size_t min);
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n);
  std::string_view data() const { return {buffer_.get() + begin_, end_ - begin_}; }
  char* mutable_data() { return buffer_.get() + begin_; }
  std::size_t capacity() const { return capacity_; }
  // Gives the memory back when nothing is buffered and it grew beyond `keep` bytes.
  void shrink(std::size_t keep);

 private:
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace switchyard::loadgen::ws
