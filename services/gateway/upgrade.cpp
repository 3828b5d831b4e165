// Upgrade request checks.
#include "gateway/upgrade.h"

#include <algorithm>

#include "common/runtime/core/base64.h"
#include "common/runtime/http/server.h"
#include "common/runtime/websocket/protocol.h"

namespace switchyard::gateway {
namespace {

int version_rank(std::string_view protocol) {
  if (protocol == "ocpp2.1") return 3;
  if (protocol == "ocpp2.0.1") return 2;
  if (protocol == "ocpp1.6") return 1;
  return 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> charger_id_from_target(std::string_view target, std::string_view prefix) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with(prefix)) {
    return make_error(ErrorCode::kNotFound, "path does not start with " + std::string(prefix));
  }
  const std::string_view raw = path.substr(prefix.size());
  if (raw.find('/') != std::string_view::npos) {
    return make_error(ErrorCode::kNotFound, "path has more than one segment after the prefix");
  }
  const auto id = http::url_decode(raw);
  if (!id) return make_error(ErrorCode::kInvalidArgument, "charger id has a bad percent-escape");
  if (id->empty()) return make_error(ErrorCode::kInvalidArgument, "charger id is empty");
  if (id->size() > kMaxChargerIdLength) {
    return make_error(ErrorCode::kInvalidArgument, "charger id longer than 48 characters");
  }
  for (char c : *id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == ':' || c == '/') {
      return make_error(ErrorCode::kInvalidArgument,
                        "charger id holds a character outside printable ASCII (or ':')");
    }
  }
  return *id;
}

std::optional<std::string> negotiate_subprotocol(std::string_view offered,
                                                 const std::vector<std::string>& supported) {
  std::optional<std::string> best;
  int best_rank = 0;
  while (!offered.empty()) {
    const std::size_t comma = offered.find(',');
    const std::string_view name = trim(offered.substr(0, comma));
    offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
    const int rank = version_rank(name);
    if (rank > best_rank &&
        std::find(supported.begin(), supported.end(), name) != supported.end()) {
      best = std::string(name);
      best_rank = rank;
    }
  }
  return best;
}

std::optional<BasicCredentials> parse_basic_auth(std::string_view header) {
  header = trim(header);
  if (header.size() < 6 ||
      !std::equal(header.begin(), header.begin() + 6, "Basic ",
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return std::nullopt;
  }
  const auto decoded = base64_decode(trim(header.substr(6)));
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::optional<UpgradeProblem> check_websocket_request(std::string_view method,
                                                      unsigned http_version, std::string_view key,
                                                      std::string_view websocket_version) {
  if (method != "GET" || http_version < 11) {
    return UpgradeProblem{400, "bad_upgrade", "a WebSocket upgrade is an HTTP/1.1 GET"};
  }
  if (trim(websocket_version) != "13") {
    return UpgradeProblem{426, "websocket_version", "Sec-WebSocket-Version must be 13 (RFC 6455)"};
  }
  const auto nonce = base64_decode(trim(key));
  if (!nonce || nonce->size() != 16) {
    return UpgradeProblem{400, "bad_upgrade",
                          "Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455)"};
  }
  return std::nullopt;
}

std::string switching_protocols(std::string_view key, std::string_view protocol) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out += websocket::accept_key(trim(key));
  out += "\r\nServer: switchyard\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace switchyard::gateway
