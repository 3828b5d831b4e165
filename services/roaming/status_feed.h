// ocpp.events.v1 into the locations' EVSE statuses: StatusNotifications (connector, EVSE or
// whole charger) and connections opened / closed (an offline charger's EVSEs are UNKNOWN, as
// OCPI asks). Idempotent: a redelivered or older event changes nothing. A database failure
// fails the handler, so the consumer retries the event.
#pragma once

#include "common/runtime/bus/event_consumer.h"
#include "roaming/location_store.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::v1 {
class ChargerEvent;
}

namespace switchyard::roaming {

class StatusFeed {
 public:
  StatusFeed(LocationStore& store, prometheus::Registry* metrics);

  // The bus handler.
  Result<void> handle(const bus::Event& event);
  Result<void> apply(const v1::ChargerEvent& event);

 private:
  void count(const std::vector<EvseChange>& changes);

  LocationStore& store_;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Family<prometheus::Counter>* changes_ = nullptr;
};

}  // namespace switchyard::roaming
