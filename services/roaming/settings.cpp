// Roaming flags (see settings.h).
#include "roaming/settings.h"

#include <algorithm>
#include <cctype>
#include <regex>

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

void add_oicp_settings(Settings& settings, OicpSettings& oicp) {
  settings
      .add("oicp-url", oicp.url,
           "Hubject's OICP 2.3 root, e.g. https://service.hubject.com/api/oicp (empty: no OICP)")
      .add("oicp-operator-id", oicp.operator_id,
           "Our OICP OperatorID, e.g. DE*SWY (the prefix of every EvseID pushed to Hubject)")
      .add("oicp-operator-name", oicp.operator_name, "Our operator name in OICP EVSE data")
      .add("oicp-client-certificate", oicp.client_certificate,
           "PEM client certificate (chain) Hubject issued for our OperatorID")
      .add("oicp-client-key", oicp.client_key, "PEM key of --oicp-client-certificate")
      .add("oicp-ca", oicp.ca, "PEM CA of Hubject's server certificate (empty: the system's)")
      .add("oicp-hotline-phone", oicp.hotline_phone,
           "HotlinePhoneNumber of our EVSEs in OICP (+ and 5 to 15 digits)")
      .add("oicp-timeout", oicp.timeout, "Timeout of a request to Hubject")
      .add("oicp-full-load-interval", oicp.full_load_interval,
           "How often EVSE data and statuses are sent to Hubject in full (fullLoad)")
      .add("oicp-pricing", oicp.pricing,
           "Push our tariffs to Hubject as pricing products and each EVSE's product "
           "(eRoamingDynamicPricing; needs a dynamic-pricing offer in Hubject's portal)")
      .add("oicp-port", oicp.port,
           "HTTPS port (mutual TLS) for Hubject's calls: remote start / stop (0: none)")
      .add("oicp-server-certificate", oicp.server_certificate,
           "PEM certificate (chain) of the --oicp-port listener")
      .add("oicp-server-key", oicp.server_key, "PEM key of --oicp-server-certificate")
      .add("oicp-client-ca", oicp.client_ca,
           "PEM CA Hubject's client certificates chain to (required with --oicp-port)")
      .add("oicp-client-name", oicp.client_name,
           "The CN Hubject's client certificate must have (empty: any from --oicp-client-ca)");
}

bool is_oicp_operator_id(std::string_view id) {
  static const std::regex kOperator(
      R"(^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$)");
  return std::regex_match(id.begin(), id.end(), kOperator);
}

std::string ocpi_default_base_url(const std::string& listen_address, int http_port) {
  const bool any = listen_address.empty() || listen_address == "0.0.0.0" || listen_address == "::";
  std::string host = any ? std::string("127.0.0.1") : listen_address;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(http_port) + "/ocpi";
}

namespace {

Result<void> checked_oicp_settings(OicpSettings& s) {
  const auto invalid = [](const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument, message);
  };
  if (!s.enabled()) {
    if (s.port != 0) return invalid("--oicp-port: needs --oicp-url");
    return {};
  }
  while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
  auto url = http::parse_url(s.url);
  if (!url || url->scheme != "https") {
    return invalid("--oicp-url: '" + s.url + "' is not an https URL (Hubject needs mutual TLS)");
  }
  if (url->target.find('?') != std::string::npos)
    return invalid("--oicp-url: must not have a query");
  if (!is_oicp_operator_id(s.operator_id)) {
    return invalid("--oicp-operator-id: '" + s.operator_id +
                   "' is not an OICP OperatorID such as DE*SWY");
  }
  if (s.operator_name.empty() || s.operator_name.size() > 100) {
    return invalid("--oicp-operator-name: must be 1 to 100 characters");
  }
  if (s.client_certificate.empty() != s.client_key.empty()) {
    return invalid("--oicp-client-certificate and --oicp-client-key: give both or neither");
  }
  static const std::regex kPhone(R"(^\+[0-9]{5,15}$)");
  if (!std::regex_match(s.hotline_phone, kPhone)) {
    return invalid("--oicp-hotline-phone: must be + and 5 to 15 digits");
  }
  if (s.timeout <= std::chrono::milliseconds(0)) return invalid("--oicp-timeout: must be above 0");
  if (s.port < 0 || s.port > 65535) return invalid("--oicp-port: must be 0 to 65535");
  if (s.port > 0 && (s.server_certificate.empty() || s.server_key.empty() || s.client_ca.empty())) {
    return invalid(
        "--oicp-port: needs --oicp-server-certificate, --oicp-server-key and --oicp-client-ca "
        "(Hubject's calls are accepted over mutual TLS only)");
  }
  if (s.full_load_interval < std::chrono::minutes(1)) {
    return invalid("--oicp-full-load-interval: must be at least 1 minute");
  }
  return {};
}

}  // namespace

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
  if (auto oicp = checked_oicp_settings(s.oicp); !oicp) return std::unexpected(oicp.error());
  s.oicp.currency = s.currency;
  return s;
}

}  // namespace switchyard::roaming
