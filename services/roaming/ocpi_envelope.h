// The OCPI 2.2.1 transport pieces every module shares: the response envelope and its status
// codes, UTC timestamps, X-Request-ID / X-Correlation-ID, and the credentials tokens (the
// `Authorization: Token <base64>` header, validation, generation, hashing for storage).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/http/server.h"

namespace switchyard::roaming {

// A party: country code and party id (ours on every object we publish; the OCPI-from-* /
// OCPI-to-* routing headers of functional modules).
struct Party {
  std::string country_code;  // "DE"
  std::string party_id;      // "SWY"
  bool empty() const { return country_code.empty() || party_id.empty(); }
  bool operator==(const Party&) const = default;
};

// Country codes and party ids are CiStrings: compared without regard to case.
bool same_party(const Party& a, const Party& b);

// The OCPI-from-* party of a request (empty when it has no routing headers).
Party routing_from(const http::Request& request);
Party routing_to(const http::Request& request);

// OCPI status_code values (OCPI 2.2.1, transport and format, 5.x).
enum class OcpiStatus : int {
  kSuccess = 1000,
  kClientError = 2000,           // generic client error
  kInvalidParameters = 2001,     // invalid or missing parameters
  kNotEnoughInformation = 2002,  // e.g. real-time authorization without a location
  kUnknownLocation = 2003,       //
  kUnknownToken = 2004,          //
  kServerError = 3000,           // generic server error
  kClientApiUnusable = 3001,     // we could not use the other party's API
  kUnsupportedVersion = 3002,    // no common version
  kMissingEndpoints = 3003,      // no matching or missing expected endpoints
};

// RFC 3339 in UTC with a "Z", whole seconds: "2026-12-02T13:00:00Z".
std::string ocpi_timestamp(std::chrono::system_clock::time_point t);

// The envelope as JSON text. `data_json` is the payload already serialised (an object, array or
// string); empty: no `data` member.
std::string envelope_json(OcpiStatus status, std::string_view message, std::string_view data_json,
                          std::chrono::system_clock::time_point now);

// An HTTP response carrying the envelope (Content-Type application/json).
http::Response envelope_response(int http_status, OcpiStatus status, std::string_view message,
                                 std::string_view data_json,
                                 std::chrono::system_clock::time_point now);

// A random (version 4) UUID, lower case: new X-Request-ID / X-Correlation-ID values.
std::string new_uuid();

// The URL-decoded segments of a module path ("/LOC1/EVSE%201" -> {"LOC1", "EVSE 1"}).
std::vector<std::string> path_segments(std::string_view path);

// `id` escaped for a URL path segment: anything but unreserved characters as %XX.
std::string url_segment(std::string_view id);

// `path_or_url` with the token uid of a tokens-module path shown redacted (log::redact): the
// uid of ".../tokens/{cc}/{party}/{uid}" and of ".../tokens/{uid}/authorize". Token uids are
// driver credentials and never go to a log line or an error message in full; other paths are
// returned as they are.
std::string redact_token_path(std::string_view path_or_url);

// Sets X-Request-ID and X-Correlation-ID on `response`: the request's values when it had them,
// else new UUIDs.
void set_request_ids(const http::Request& request, http::Response& response);

// --- credentials tokens --------------------------------------------------------------------

// OCPI 2.2.1 tokens: 1 to 64 printable ASCII characters, no spaces.
bool valid_token(std::string_view token);

// "Token " + base64(token) (RFC 4648 §4, with padding), as 2.2.1 requires.
std::string authorization_header(std::string_view token);

// The tokens an `Authorization` header may carry, most likely first: the base64-decoded value
// when the text after "Token " decodes to a valid token, then the text as sent (older
// implementations send the raw token). Empty when the header is missing or not "Token <x>".
std::vector<std::string> authorization_tokens(std::string_view header);

// 32 random bytes, base64url without padding (RFC 4648 §5): 43 characters.
std::string generate_token();

// SHA-256 of `text` as 64 lower-case hex digits (how tokens we issue are stored).
std::string sha256_hex(std::string_view text);

// Equal in time independent of where the strings differ (same-length hashes).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace switchyard::roaming
