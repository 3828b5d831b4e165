// Who each simulated charger is and where it goes: its id, its OCPP version, the target URL and
// the local source address. All of it is a pure function of the charger's index, so a run is
// reproducible and a charger keeps its identity over reconnects.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "common/ocpp/types.h"

namespace switchyard::loadgen {

// A parsed target URL: ws://host:port/path or wss://host:port/path.
struct TargetUrl {
  bool tls = false;
  std::string host;
  std::string port;  // "80" / "443" when the URL has none
  std::string path;  // without a trailing '/', e.g. "/ocpp"; "" for the root
};

std::expected<TargetUrl, std::string> parse_url(std::string_view url);

// The HTTP request target of a charger: "<path>/<charger id>".
std::string request_target(const TargetUrl& url, std::string_view charger_id);

// `prefix` + the index zero-padded to `width` digits (wider indexes are not cut):
// charger_id("lg-", 7, 6) == "lg-000007".
std::string charger_id(std::string_view prefix, std::uint64_t index, int width);

// The pattern with "{id}" replaced by the charger id and "{i}" by the index, e.g. a per-charger
// password "pw-{id}" or a client certificate "certs/{id}.pem".
std::string expand_pattern(std::string_view pattern, std::string_view id, std::uint64_t index);

// Whether charger `index` belongs to a `share` (0..1) of the fleet, spread evenly: any run of n
// consecutive chargers holds round(n * share) ± 1 of them.
bool pick_share(std::uint64_t index, double share);

// The OCPP version of charger `index` when `ocpp16_share` (0..1) of the fleet speaks 1.6 and the
// rest 2.0.1, spread evenly: any run of n consecutive chargers has round(n * share) ± 1 on 1.6.
ocpp::Version version_for(std::uint64_t index, double ocpp16_share);

// Charger i goes to item i % n (URLs, source addresses). n must be > 0.
inline std::size_t spread(std::uint64_t index, std::size_t n) {
  return static_cast<std::size_t>(index % n);
}

// Splits "a,b,c" (empty items dropped).
std::vector<std::string> split_list(std::string_view text, char separator = ',');

}  // namespace switchyard::loadgen
