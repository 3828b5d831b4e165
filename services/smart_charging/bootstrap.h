// What the service knows at start before any event: which chargers are online (status service,
// Chargers.ListChargers) and which sessions run (transactions service, active transactions).
// The events after the committed offset then move these facts on as usual. Without this a
// restarted service would count every charger as offline (its worst case) until it reconnects,
// and forget the sessions that run, until their chargers' next events.
#pragma once

#include <chrono>
#include <memory>

#include "smart_charging/smart_charging.h"

namespace grpc {
class Channel;
}

namespace switchyard::smart_charging {

struct BootstrapCounts {
  std::size_t chargers_online = 0;
  std::size_t sessions = 0;
};

// Pages through both lists (each call within `timeout`); an error names the service that failed.
Result<BootstrapCounts> bootstrap_facts(const std::shared_ptr<grpc::Channel>& status,
                                        const std::shared_ptr<grpc::Channel>& transactions,
                                        SmartChargingService& service,
                                        std::chrono::milliseconds timeout);

}  // namespace switchyard::smart_charging
