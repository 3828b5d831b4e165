// The roaming flags, OCPI and OICP (switchyard-roaming and switchyard-standalone alike), and their
// checks.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard {
class Settings;
}  // namespace switchyard

namespace switchyard::roaming {

// Hubject OICP 2.3 as a CPO (oicp_pusher.h): off while `url` is empty.
struct OicpSettings {
  // Hubject's API root, e.g. "https://service.hubject.com/api/oicp" (https only: Hubject
  // identifies the operator by the client certificate).
  std::string url;
  std::string operator_id;  // ours, e.g. "DE*SWY": the prefix of every EvseID we push
  std::string operator_name = "Switchyard CPO";
  std::string client_certificate;  // PEM chain Hubject issued for operator_id
  std::string client_key;          // PEM
  std::string ca;                  // CA of Hubject's server certificate; empty: the system's
  std::string hotline_phone = "+4930000000";  // EvseDataRecord.HotlinePhoneNumber: +digits
  std::chrono::milliseconds timeout{10000};   // each request, connect included
  // A fullLoad of EVSE data and statuses replaces what Hubject holds this often (and at the
  // first start); changes go as insert / update / delete in between.
  std::chrono::milliseconds full_load_interval{24 * 3600 * 1000};
  // Our tariffs as Hubject pricing products and each EVSE's product (oicp_pricing.h); needs a
  // dynamic-pricing service offer in Hubject's portal.
  bool pricing = true;
  // The default price's currency when no default tariff exists (the binary's --ocpi-currency).
  std::string currency = "EUR";
  // Hubject's calls to us (remote start / stop) on an HTTPS listener of our own, mutual TLS only:
  // our server certificate and key, and the CA Hubject's client certificates chain to. 0: none.
  int port = 0;
  std::string server_certificate;
  std::string server_key;
  std::string client_ca;
  // The CN Hubject's client certificate must have (empty: any certificate from client_ca).
  std::string client_name;
  std::string listen_address = "0.0.0.0";  // the binary's --listen-address
  bool enabled() const { return !url.empty(); }
};

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
  OicpSettings oicp;  // --oicp-*
};

// --ocpi-base-url, --ocpi-country-code, --ocpi-party-id, --ocpi-business-name, --ocpi-timeout,
// --ocpi-currency (the topics are switchyard-roaming's own flags).
void add_ocpi_settings(Settings& settings, OcpiSettings& ocpi);
// --oicp-url, --oicp-operator-id, --oicp-operator-name, --oicp-client-certificate,
// --oicp-client-key, --oicp-ca, --oicp-hotline-phone, --oicp-timeout, --oicp-full-load-interval,
// --oicp-port, --oicp-server-certificate, --oicp-server-key, --oicp-client-ca, --oicp-client-name.
void add_oicp_settings(Settings& settings, OicpSettings& oicp);

// Whether `id` is an OICP OperatorID (ISO "DE*SWY" / "DESWY" or DIN "+49*536").
bool is_oicp_operator_id(std::string_view id);

// "http://<address>:<port>/ocpi" (an empty, 0.0.0.0 or :: address as 127.0.0.1).
std::string ocpi_default_base_url(const std::string& listen_address, int http_port);

// `settings` with the base URL filled in (from `default_base_url` when empty) and without a
// trailing '/'; kInvalidArgument naming the flag that cannot work.
Result<OcpiSettings> checked_ocpi_settings(OcpiSettings settings,
                                           const std::string& default_base_url);

}  // namespace switchyard::roaming
