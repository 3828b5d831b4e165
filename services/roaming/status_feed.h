// ocpp.events.v1 into the locations' EVSE statuses: StatusNotifications (connector, EVSE or
// whole charger) and connections opened / closed (an offline charger's EVSEs are UNKNOWN, as
// OCPI asks). Each change goes into the push outbox of every partner that receives locations, in
// the same transaction. Idempotent: a redelivered or older event changes nothing. A database
// failure fails the handler, so the consumer retries the event.
#pragma once

#include "common/runtime/bus/event_consumer.h"
#include "roaming/location_store.h"
#include "roaming/pusher.h"

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
  // `pusher` (may be null) names the partners each change goes to and is woken by changes.
  StatusFeed(LocationStore& store, Pusher* pusher, prometheus::Registry* metrics);

  // The bus handler.
  Result<void> handle(const bus::Event& event);
  Result<void> apply(const v1::ChargerEvent& event);

 private:
  void count(const std::vector<EvseChange>& changes);

  LocationStore& store_;
  Pusher* pusher_;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Family<prometheus::Counter>* changes_ = nullptr;
};

}  // namespace switchyard::roaming
