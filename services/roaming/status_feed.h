// ocpp.events.v1 into the locations' EVSE statuses: StatusNotifications (connector, EVSE or
// whole charger) and connections opened / closed (an offline charger's EVSEs are UNKNOWN, as
// OCPI asks). Each change goes into the push outbox of every partner that receives locations, in
// the same transaction. The handler gathers a poll's facts and flush() applies them in one
// transaction (a reconnect storm brings four per charger: a transaction each was a fifth of the
// standalone's CPU). Idempotent: a redelivered or older event changes nothing. A database
// failure fails the flush, so the consumer delivers the poll again.
#pragma once

#include <vector>

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

  // The bus handler: keeps the event's fact for flush().
  Result<void> handle(const bus::Event& event);
  // The bus flush handler: applies the facts gathered since the last flush, in one transaction,
  // and forgets them whatever the outcome (on an error the consumer delivers them again).
  Result<void> flush();

 private:
  void gather(const v1::ChargerEvent& event);
  // flush()'s work on facts_, which flush() then forgets whatever the outcome.
  Result<void> apply_gathered();
  void count(const std::vector<EvseChange>& changes);

  LocationStore& store_;
  std::vector<LocationStore::Fact> facts_;
  Pusher* pusher_;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Family<prometheus::Counter>* changes_ = nullptr;
};

}  // namespace switchyard::roaming
