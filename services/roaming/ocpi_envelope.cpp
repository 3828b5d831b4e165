// OCPI envelope, ids and tokens (see ocpi_envelope.h).
#include "roaming/ocpi_envelope.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "common/runtime/core/base64.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/text.h"

namespace switchyard::roaming {

bool same_party(const Party& a, const Party& b) {
  auto eq = [](std::string_view x, std::string_view y) {
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char c, char d) {
             return std::toupper(static_cast<unsigned char>(c)) ==
                    std::toupper(static_cast<unsigned char>(d));
           });
  };
  return eq(a.country_code, b.country_code) && eq(a.party_id, b.party_id);
}

Party routing_from(const http::Request& request) {
  return {std::string(request.header("ocpi-from-country-code")),
          std::string(request.header("ocpi-from-party-id"))};
}

Party routing_to(const http::Request& request) {
  return {std::string(request.header("ocpi-to-country-code")),
          std::string(request.header("ocpi-to-party-id"))};
}

std::string url_segment(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : id) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    }
  }
  return out;
}

std::string redact_token_path(std::string_view path_or_url) {
  const auto at = path_or_url.find("/tokens/");
  if (at == std::string_view::npos) return std::string(path_or_url);
  const std::size_t start = at + 8;
  // Our call to the owner: everything between /tokens/ and /authorize is the uid.
  if (const auto authorize = path_or_url.rfind("/authorize");
      authorize != std::string_view::npos && authorize >= start) {
    return std::string(path_or_url.substr(0, start)) +
           log::redact(path_or_url.substr(start, authorize - start)) +
           std::string(path_or_url.substr(authorize));
  }
  // Their call to us: {cc}/{party}/{uid...}; whatever follows the first two segments is the
  // uid (a query is not part of a path).
  std::size_t uid = start;
  for (int kept = 0; kept < 2; ++kept) {
    const auto slash = path_or_url.find('/', uid);
    if (slash == std::string_view::npos) {
      uid = start;  // fewer than three segments: redact all of it
      break;
    }
    uid = slash + 1;
  }
  const std::string_view secret = path_or_url.substr(uid);
  return std::string(path_or_url.substr(0, uid)) + (secret.empty() ? "" : log::redact(secret));
}

std::vector<std::string> path_segments(std::string_view rest) {
  std::vector<std::string> out;
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    const auto end = rest.find('/');
    out.push_back(http::url_decode(rest.substr(0, end)).value_or(std::string(rest.substr(0, end))));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  return out;
}

namespace {

void random_bytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");  // no entropy: cannot go on safely
  }
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string ocpi_timestamp(std::chrono::system_clock::time_point t) {
  const std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string envelope_json(OcpiStatus status, std::string_view message, std::string_view data_json,
                          std::chrono::system_clock::time_point now) {
  std::string out = "{";
  if (!data_json.empty()) {
    out += "\"data\":";
    out += data_json;
    out += ',';
  }
  out += "\"status_code\":" + std::to_string(static_cast<int>(status));
  if (!message.empty()) {
    out += ",\"status_message\":\"";
    log::append_json_escaped(out, message);
    out += '"';
  }
  out += ",\"timestamp\":\"" + ocpi_timestamp(now) + "\"}";
  return out;
}

http::Response envelope_response(int http_status, OcpiStatus status, std::string_view message,
                                 std::string_view data_json,
                                 std::chrono::system_clock::time_point now) {
  return http::Response::json(http_status, envelope_json(status, message, data_json, now));
}

std::string new_uuid() {
  std::array<unsigned char, 16> b{};
  random_bytes(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

void set_request_ids(const http::Request& request, http::Response& response) {
  // Echo only what is safe to put back in a header: printable ASCII, bounded.
  auto usable = [](std::string_view v) {
    if (v.empty() || v.size() > 128) return false;
    for (char c : v) {
      if (c < 0x20 || c > 0x7E) return false;
    }
    return true;
  };
  const std::string_view request_id = trim(request.header("x-request-id"));
  const std::string_view correlation_id = trim(request.header("x-correlation-id"));
  response.headers.emplace_back("X-Request-ID",
                                usable(request_id) ? std::string(request_id) : new_uuid());
  response.headers.emplace_back("X-Correlation-ID",
                                usable(correlation_id) ? std::string(correlation_id) : new_uuid());
}

bool valid_token(std::string_view token) {
  if (token.empty() || token.size() > 64) return false;
  for (char c : token) {
    if (c <= 0x20 || c > 0x7E) return false;  // printable ASCII without the space
  }
  return true;
}

std::string authorization_header(std::string_view token) { return "Token " + base64_encode(token); }

std::vector<std::string> authorization_tokens(std::string_view header) {
  header = trim(header);
  constexpr std::string_view kScheme = "token";
  if (header.size() <= kScheme.size() + 1) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  }
  if (header[kScheme.size()] != ' ') return {};
  const std::string_view value = trim(header.substr(kScheme.size() + 1));
  std::vector<std::string> out;
  if (auto decoded = base64_decode(value); decoded && valid_token(*decoded)) {
    out.push_back(std::move(*decoded));
  }
  if (valid_token(value) && (out.empty() || out.front() != value)) out.emplace_back(value);
  return out;
}

std::string generate_token() {
  std::array<unsigned char, 32> b{};
  random_bytes(b.data(), b.size());
  std::string out =
      base64_encode(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(size) * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>(i < a.size() ? a[i] : 0) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace switchyard::roaming
