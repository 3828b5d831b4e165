// RFC 6455 as pure functions, for both sides: the upgrade request and the parsing of its
// answer, the accept key, frames masked (client) or not (server), frame headers, close payloads
// and UTF-8 checks. The asynchronous parts live with their users: the load generator's charger
// (loadgen/charger.cpp) and the gateway's server connection (gateway/server_websocket.h). This
// keeps the per-message path to one buffer append and one parse, without a WebSocket library's
// layers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::websocket {

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

// Appends an unmasked server frame (FIN set) with `opcode` and `payload`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload);

// Close codes (RFC 6455 section 7.4.1) the gateway sends or checks.
enum CloseCode : std::uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,
  kCloseProtocolError = 1002,
  kCloseUnsupportedData = 1003,
  kCloseNoStatus = 1005,  // never on the wire: "the close frame had no code"
  kCloseInvalidPayload = 1007,
  kClosePolicy = 1008,
  kCloseTooBig = 1009,
  kCloseInternalError = 1011,
};

// The payload of a close frame: the code (network byte order) and the reason, cut to fit the
// 125 bytes of a control frame.
std::string close_payload(std::uint16_t code, std::string_view reason);

// A received close frame's payload. `valid` is false when it is one byte long, carries a code a
// peer may not send, or a reason that is not UTF-8; an empty payload is valid, code 1005.
struct ClosePayload {
  bool valid = true;
  std::uint16_t code = kCloseNoStatus;
  std::string_view reason;
};
ClosePayload parse_close_payload(std::string_view payload);

// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

struct FrameHeader {
  bool fin = false;
  std::uint8_t rsv = 0;  // RSV1-3 (0x70); nonzero only with an extension, and none is agreed
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

}  // namespace switchyard::websocket
