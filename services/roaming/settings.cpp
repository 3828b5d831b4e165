// OCPI flags (see settings.h).
#include "roaming/settings.h"

#include <algorithm>
#include <cctype>

#include "common/runtime/core/settings.h"
#include "common/runtime/http/client.h"

namespace switchyard::roaming {

void add_ocpi_settings(Settings& settings, OcpiSettings& ocpi) {
  settings
      .add("ocpi-base-url", ocpi.base_url,
           "Public root of our OCPI API, e.g. https://cpo.example.com/ocpi (default: "
           "http://<listen-address or 127.0.0.1>:<http-port>/ocpi)")
      .add("ocpi-country-code", ocpi.country_code, "Our OCPI country code (ISO 3166-1 alpha-2)")
      .add("ocpi-party-id", ocpi.party_id, "Our OCPI party id (up to 3 characters)")
      .add("ocpi-business-name", ocpi.business_name, "Our business name in OCPI credentials")
      .add("ocpi-timeout", ocpi.timeout, "Timeout of an outgoing OCPI call")
      .add("ocpi-currency", ocpi.currency,
           "ISO 4217 currency of roaming sessions whose price is not known yet (CDRs carry the "
           "tariff's)");
}

std::string ocpi_default_base_url(const std::string& listen_address, int http_port) {
  const bool any = listen_address.empty() || listen_address == "0.0.0.0" || listen_address == "::";
  std::string host = any ? std::string("127.0.0.1") : listen_address;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(http_port) + "/ocpi";
}

Result<OcpiSettings> checked_ocpi_settings(OcpiSettings s, const std::string& default_base_url) {
  if (s.base_url.empty()) s.base_url = default_base_url;
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  auto url = http::parse_url(s.base_url);
  if (!url) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ocpi-base-url: '" + s.base_url + "' is not an http(s) URL");
  }
  if (url->target.find('?') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "--ocpi-base-url: must not have a query");
  }
  if (s.country_code.size() != 2 ||
      !std::all_of(s.country_code.begin(), s.country_code.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; })) {
    return make_error(ErrorCode::kInvalidArgument, "--ocpi-country-code: must be 2 letters");
  }
  if (s.party_id.empty() || s.party_id.size() > 3 ||
      !std::all_of(s.party_id.begin(), s.party_id.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; })) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ocpi-party-id: must be 1 to 3 letters or digits");
  }
  if (s.business_name.empty() || s.business_name.size() > 100) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ocpi-business-name: must be 1 to 100 characters");
  }
  if (s.currency.size() != 3 || !std::all_of(s.currency.begin(), s.currency.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) != 0;
      })) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--ocpi-currency: must be an ISO 4217 code such as EUR");
  }
  if (s.timeout <= std::chrono::milliseconds(0)) {
    return make_error(ErrorCode::kInvalidArgument, "--ocpi-timeout: must be above 0");
  }
  return s;
}

}  // namespace switchyard::roaming
