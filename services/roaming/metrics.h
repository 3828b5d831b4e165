// The roaming service's Prometheus metrics: OCPI requests in and out, partners by state.
// prometheus-cpp stays in the .cpp.
#pragma once

#include <memory>
#include <string_view>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace switchyard::roaming {

class RoamingMetrics {
 public:
  explicit RoamingMetrics(prometheus::Registry& registry);
  ~RoamingMetrics();
  RoamingMetrics(const RoamingMetrics&) = delete;
  RoamingMetrics& operator=(const RoamingMetrics&) = delete;

  // switchyard_roaming_requests_total{direction, protocol, module, method, status}.
  // `direction` "in" or "out"; `status` the HTTP status, 0 for no answer ("error"). Labels are
  // bounded: a module or method outside the known set counts as "other".
  // `protocol` "ocpi" (modules: versions, credentials, locations, ...) or "oicp" (operations:
  // evse-data, evse-status, ...).
  void request(std::string_view direction, std::string_view module, std::string_view method,
               int status, std::string_view protocol = "ocpi");
  // switchyard_roaming_partners{state}.
  void partners(int invited, int registered, int unregistered);

  struct Impl;  // defined in metrics.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::roaming
