// Turns ocpp.events.v1 into the facts the smart-charging service plans with: connections,
// sessions (1.6 Start/StopTransaction and 2.x TransactionEvent alike) and per-phase currents
// from meter values. Unparseable events are counted and skipped; nothing here fails the consumer.
#pragma once

#include "common/runtime/bus/event_consumer.h"
#include "smart_charging/smart_charging.h"

namespace prometheus {
class Registry;
class Counter;
}  // namespace prometheus

namespace switchyard::v1 {
class ChargerEvent;
}

namespace switchyard::smart_charging {

// switchyard.v1.OcppVersion (as its number) -> the planner's view of it.
ChargerProtocol protocol_of(int ocpp_version);

class ChargerEvents {
 public:
  ChargerEvents(SmartChargingService& service, prometheus::Registry* metrics);

  // The bus handler.
  Result<void> handle(const bus::Event& event);
  void apply(const v1::ChargerEvent& event);

 private:
  // Currents of an EVSE named by its id, or else by its running transaction.
  void evse_meter(const std::string& charger, std::int32_t evse_id,
                  const std::string& transaction_id, const PhaseCurrents& currents);

  SmartChargingService& service_;
  prometheus::Counter* malformed_ = nullptr;
};

}  // namespace switchyard::smart_charging
