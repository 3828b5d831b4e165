// The OCPI flags (switchyard-roaming and switchyard-standalone alike) and their checks.
#pragma once

#include <chrono>
#include <string>

#include "common/runtime/core/error.h"

namespace switchyard {
class Settings;
}  // namespace switchyard

namespace switchyard::roaming {

struct OcpiSettings {
  // Public root of our OCPI API, e.g. "https://cpo.example.com/ocpi"; empty: the default from
  // the listen address and HTTP port (ocpi_default_base_url). Routes are served under its path.
  std::string base_url;
  std::string country_code = "DE";  // ours, ISO 3166-1 alpha-2
  std::string party_id = "SWY";     // ours, up to 3 characters
  std::string business_name = "Switchyard CPO";
  std::chrono::milliseconds timeout{10000};  // outgoing OCPI calls, connect included
  std::string currency = "EUR";              // ISO 4217, of sessions whose price is not known yet
  // The transactions service's topics (sessions and CDRs of roaming drivers); the events handler
  // tells them apart by these names.
  std::string transactions_topic = "csms.transactions.v1";
  std::string cdrs_topic = "csms.cdrs.v1";
};

// --ocpi-base-url, --ocpi-country-code, --ocpi-party-id, --ocpi-business-name, --ocpi-timeout,
// --ocpi-currency (the topics are switchyard-roaming's own flags).
void add_ocpi_settings(Settings& settings, OcpiSettings& ocpi);

// "http://<address>:<port>/ocpi" (an empty, 0.0.0.0 or :: address as 127.0.0.1).
std::string ocpi_default_base_url(const std::string& listen_address, int http_port);

// `settings` with the base URL filled in (from `default_base_url` when empty) and without a
// trailing '/'; kInvalidArgument naming the flag that cannot work.
Result<OcpiSettings> checked_ocpi_settings(OcpiSettings settings,
                                           const std::string& default_base_url);

}  // namespace switchyard::roaming
