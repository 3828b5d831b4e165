// The checks of a WebSocket upgrade request, as pure functions: which charger, which OCPP
// version, which credentials. The listener turns failures into HTTP statuses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::gateway {

inline constexpr std::size_t kMaxChargerIdLength = 48;

// The charger id of a request target "<prefix><id>[?query]", percent-decoded: NOT_FOUND when
// the target is not under the prefix or has more segments, INVALID_ARGUMENT when the id is
// empty, longer than 48 characters, badly escaped or holds a character outside printable ASCII
// or ':' (the id is also the Basic-auth user name).
Result<std::string> charger_id_from_target(std::string_view target, std::string_view prefix);

// The highest OCPP version in both the client's Sec-WebSocket-Protocol list and `supported`
// (ocpp2.1 > ocpp2.0.1 > ocpp1.6), whatever order the client listed them in; nullopt when there
// is none in common.
std::optional<std::string> negotiate_subprotocol(std::string_view offered,
                                                 const std::vector<std::string>& supported);

struct BasicCredentials {
  std::string user;
  std::string password;
};
// "Basic base64(user:password)"; nullopt when absent or malformed.
std::optional<BasicCredentials> parse_basic_auth(std::string_view header);

// Why a WebSocket upgrade request cannot be accepted (RFC 6455 section 4.2.1), or nullopt:
// 400 when it is not an HTTP/1.1 GET or its Sec-WebSocket-Key is not 16 bytes in base64, 426
// (answered with "Sec-WebSocket-Version: 13") for another protocol version.
struct UpgradeProblem {
  int status = 400;
  std::string reason;  // metric label
  std::string detail;  // the answer's body
};
std::optional<UpgradeProblem> check_websocket_request(std::string_view method,
                                                      unsigned http_version, std::string_view key,
                                                      std::string_view websocket_version);

// The 101 answer to an upgrade whose Sec-WebSocket-Key is `key`; with Sec-WebSocket-Protocol
// only when `protocol` is not empty.
std::string switching_protocols(std::string_view key, std::string_view protocol);

}  // namespace switchyard::gateway
