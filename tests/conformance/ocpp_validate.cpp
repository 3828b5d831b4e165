// Test tool: validates OCPP payloads and frames read from stdin, one per line, and prints one
// JSON verdict per line. Driven by ocpp_conformance.py (conformance against the schemas and
// Python jsonschema).
//
// Input lines (tab-separated):
//   payload <version> <action> <request|response> <strict|lenient> <payload-json>
//   frame   <version> <csms|charger> <frame-json>
// Output: {"ok":true,"json":"<re-encoded payload>","quirks":N}
//     or  {"ok":false,"code":"<RPC error code as the version spells it>","description":"...",
//          "message_id":"...","reply":"callerror|callresulterror|none"}
#include <iostream>
#include <string>
#include <vector>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"
#include "common/ocpp/json_text.h"

using namespace switchyard::ocpp;

namespace {

std::vector<std::string_view> split(std::string_view line, std::size_t max_fields) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_fields) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) break;
    out.push_back(line.substr(0, tab));
    line = line.substr(tab + 1);
  }
  out.push_back(line);
  return out;
}

std::optional<Version> parse_version(std::string_view v) {
  if (v == "1.6") return Version::k16;
  if (v == "2.0.1") return Version::k201;
  if (v == "2.1") return Version::k21;
  return std::nullopt;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  append_escaped(out, s);
  out += "\"";
  return out;
}

std::string failure(const DecodeError& e, Version version) {
  const char* reply = e.reply == Reply::kCallError         ? "callerror"
                      : e.reply == Reply::kCallResultError ? "callresulterror"
                                                           : "none";
  return "{\"ok\":false,\"code\":" + quoted(rpc_error_name(e.code, version)) +
         ",\"description\":" + quoted(e.description) + ",\"message_id\":" + quoted(e.message_id) +
         ",\"reply\":\"" + reply + "\"}";
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  Decoder decoder;
  Encoder encoder;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    const auto f = split(line, 6);
    std::string out;
    if (f[0] == "payload" && f.size() == 6) {
      const auto version = parse_version(f[1]);
      const MessageInfo* m = version ? find_message(*version, f[2]) : nullptr;
      const TypeInfo* type =
          m == nullptr ? nullptr : (f[3] == "request" ? m->request : m->response);
      if (type == nullptr) {
        out = "{\"ok\":false,\"code\":\"tool\",\"description\":\"unknown message\"}";
      } else {
        DecodeOptions options;
        options.lenient = f[4] == "lenient";
        std::uint8_t quirks = 0;
        auto r = decoder.decode_payload(*version, *type, f[5], options, &quirks);
        if (r) {
          out = "{\"ok\":true,\"json\":" + quoted(encoder.payload(*type, *r)) +
                ",\"quirks\":" + std::to_string(quirks) + "}";
        } else {
          out = failure(r.error(), *version);
        }
      }
    } else if (f[0] == "frame" && f.size() >= 4) {
      const auto g = split(line, 4);
      const auto version = parse_version(g[1]);
      if (!version) {
        out = "{\"ok\":false,\"code\":\"tool\",\"description\":\"unknown version\"}";
      } else {
        auto r = decoder.decode(*version, g[2] == "charger" ? Role::kCharger : Role::kCsms, g[3]);
        if (r) {
          std::string payload =
              r->payload_type ? std::string(encoder.payload(*r->payload_type, r->payload)) : "";
          out = "{\"ok\":true,\"type\":" + std::to_string(static_cast<int>(r->type)) +
                ",\"message_id\":" + quoted(r->message_id) + ",\"action\":" + quoted(r->action) +
                ",\"json\":" + quoted(payload) + "}";
        } else {
          out = failure(r.error(), *version);
        }
      }
    } else {
      out = "{\"ok\":false,\"code\":\"tool\",\"description\":\"bad input line\"}";
    }
    std::cout << out << '\n';
  }
  return 0;
}
