// Roaming metrics (see metrics.h).
#include "roaming/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <string>

namespace switchyard::roaming {

namespace {

constexpr std::array<std::string_view, 11> kModules = {
    "versions", "credentials", "locations",        "sessions",      "cdrs",   "tariffs",
    "tokens",   "commands",    "chargingprofiles", "hubclientinfo", "unknown"};
constexpr std::array<std::string_view, 9> kOicpOperations = {
    "evse-data",    "evse-status", "charge-detail-record", "authorize-start", "authorize-stop",
    "remote-start", "remote-stop", "pricing-products",     "evse-pricing"};
constexpr std::array<std::string_view, 6> kMethods = {"GET",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};

template <std::size_t N>
std::string bounded(std::string_view value, const std::array<std::string_view, N>& known) {
  return std::find(known.begin(), known.end(), value) != known.end() ? std::string(value)
                                                                     : std::string("other");
}

}  // namespace

struct RoamingMetrics::Impl {
  explicit Impl(prometheus::Registry& registry)
      : requests(prometheus::BuildCounter()
                     .Name("switchyard_roaming_requests_total")
                     .Help("Roaming requests by direction (in: partners call us, out: we call "
                           "them), protocol, module, method and HTTP status (error: no answer)")
                     .Register(registry)),
        partners(prometheus::BuildGauge()
                     .Name("switchyard_roaming_partners")
                     .Help("Roaming partners by state (invited, registered, unregistered)")
                     .Register(registry)),
        invited(partners.Add({{"state", "invited"}})),
        registered(partners.Add({{"state", "registered"}})),
        unregistered(partners.Add({{"state", "unregistered"}})) {}

  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Gauge>& partners;
  prometheus::Gauge& invited;
  prometheus::Gauge& registered;
  prometheus::Gauge& unregistered;
};

RoamingMetrics::RoamingMetrics(prometheus::Registry& registry)
    : impl_(std::make_unique<Impl>(registry)) {}
RoamingMetrics::~RoamingMetrics() = default;

void RoamingMetrics::request(std::string_view direction, std::string_view module,
                             std::string_view method, int status, std::string_view protocol) {
  const bool oicp = protocol == "oicp";
  impl_->requests
      .Add({{"direction", direction == "in" ? "in" : "out"},
            {"protocol", oicp ? "oicp" : "ocpi"},
            {"module", oicp ? bounded(module, kOicpOperations) : bounded(module, kModules)},
            {"method", bounded(method, kMethods)},
            {"status", status > 0 ? std::to_string(status) : std::string("error")}})
      .Increment();
}

void RoamingMetrics::partners(int invited, int registered, int unregistered) {
  impl_->invited.Set(invited);
  impl_->registered.Set(registered);
  impl_->unregistered.Set(unregistered);
}

}  // namespace switchyard::roaming
