// Decodes OCPP-J frames straight into typed, validated messages: one pass of Boost.JSON's SAX
// parser driven by the schema tables, no JSON DOM in between. Every failure names the version's
// RPC error code, the field path and what to answer.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "common/ocpp/arena.h"
#include "common/ocpp/rpc_error.h"
#include "common/ocpp/schema.h"
#include "common/ocpp/types.h"

namespace switchyard::ocpp {

enum class MessageType : std::uint8_t {
  kCall = 2,
  kCallResult = 3,
  kCallError = 4,
  kCallResultError = 5,  // 2.1 only
  kSend = 6,             // 2.1 only
};

// Which end of the connection decodes: decides which actions an incoming CALL may carry.
enum class Role : std::uint8_t { kCsms, kCharger };

// Deviations from the schemas that real chargers send, accepted only in lenient mode.
enum Quirk : std::uint8_t {
  kQuirkEnumCase = 1,             // "groundFailure" for "GroundFailure"
  kQuirkNumberAsString = 2,       // "connectorId": "1"
  kQuirkDateTimeWithoutZone = 4,  // "2026-01-01T10:00:00" read as UTC
  kQuirkUnknownField = 8,         // a member the schema forbids (dropped)
};
inline constexpr std::uint8_t kQuirkCount = 4;
std::string_view quirk_name(Quirk quirk);  // "enum_case", "number_as_string", ...

// Calls `each(Quirk)` for every quirk set in `bits`, lowest bit first.
template <typename Each>
void for_each_quirk(std::uint8_t bits, Each&& each) {
  for (std::uint8_t i = 0; i < kQuirkCount; ++i) {
    const auto q = static_cast<Quirk>(1u << i);
    if ((bits & q) != 0) each(q);
  }
}

struct DecodeOptions {
  bool lenient = false;  // strict is the default
};

// The CALL this end has outstanding on the connection (at most one), to type its CALLRESULT.
struct PendingCall {
  std::string_view message_id;
  const MessageInfo* message = nullptr;
};

// A decoded frame. Its views point into the decoder's arena (valid until its next decode) or
// into the frame text passed to decode(), which the caller keeps alive while it uses them.
struct DecodedFrame {
  MessageType type = MessageType::kCall;
  std::string_view message_id;
  std::string_view action;               // CALL, SEND, and the matched call of a CALLRESULT
  const MessageInfo* message = nullptr;  // CALL, SEND, CALLRESULT
  const TypeInfo* payload_type = nullptr;
  const void* payload = nullptr;  // the typed struct of payload_type
  // CALLERROR / CALLRESULTERROR.
  std::string_view error_code;
  std::string_view error_description;
  std::string_view error_details;  // JSON text of the details object
  std::uint8_t quirks = 0;         // Quirk bits accepted in lenient mode

  template <typename T>
  const T* as() const {
    return payload_type == &T::schema() ? static_cast<const T*>(payload) : nullptr;
  }
};

// What the receiver of a bad frame answers.
enum class Reply : std::uint8_t {
  kCallError,        // a CALLERROR with `code` and `message_id`
  kCallResultError,  // 2.1: a CALLRESULTERROR for a CALLRESULT that cannot be processed
  kNone,             // nothing (ignored frame, unknown CALLRESULT id, a bad CALLERROR or SEND)
};

struct DecodeError {
  RpcErrorCode code = RpcErrorCode::kGenericError;
  std::string description;  // names the field path, e.g. "meterValue[0].sampledValue[1].unit: ..."
  std::string message_id;   // "-1" when the id could not be read
  bool message_id_known = false;
  MessageType type = MessageType::kCall;  // as far as it could be read
  std::string action;                     // when known
  Reply reply = Reply::kCallError;
};

class Decoder {
 public:
  explicit Decoder(std::size_t arena_block = 8192);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one WebSocket text frame received by `role` on a `version` connection.
  std::expected<DecodedFrame, DecodeError> decode(Version version, Role role,
                                                  std::string_view frame,
                                                  const PendingCall* pending = nullptr,
                                                  const DecodeOptions& options = {});

  // Validates and types a bare payload (a JSON object) against `type`: the raw Call escape
  // hatch, validation of commands, and the conformance tests.
  std::expected<const void*, DecodeError> decode_payload(Version version, const TypeInfo& type,
                                                         std::string_view json,
                                                         const DecodeOptions& options = {},
                                                         std::uint8_t* quirks = nullptr);

  template <typename T>
  std::expected<const T*, DecodeError> decode_payload(Version version, std::string_view json,
                                                      const DecodeOptions& options = {}) {
    auto r = decode_payload(version, T::schema(), json, options);
    if (!r) return std::unexpected(std::move(r.error()));
    return static_cast<const T*>(*r);
  }

  // Heap bytes the decoder holds (arena and parser buffers), for memory accounting.
  std::size_t footprint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::ocpp
