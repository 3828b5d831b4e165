// Turns ocpp.events.v1 into the status tables: connections (online / offline by ownership
// epoch), boot info, connector status and its history, firmware and log upload state, last seen,
// configuration from command answers and reports. Each event that changes a state is applied in
// one SQL transaction with its event id, so replaying a topic changes nothing. The others
// (MeterValues, Heartbeat, TransactionEvent, Authorize, ...) only move the charger's last_seen,
// which takes the latest time whatever the order: they are gathered per charger and written in
// one transaction by flush(), which the consumer runs before it commits a poll's positions.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/sql/database.h"
#include "status/store.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::v1 {
class ChargerEvent;
class DeviceEvent;
class StatusNotification;
}  // namespace switchyard::v1

namespace switchyard::status {

// A StatusNotification as a connector state (1.6: the connector is the EVSE).
ConnectorRow connector_state(const v1::StatusNotification& status, std::int64_t received_at);

// What a 2.x NotifyEvent entry means for the status: a history record, and whether it is the
// connector's (or EVSE's) availability, i.e. its current status.
struct DeviceRecord {
  ConnectorRow state;
  bool availability = false;
};
std::vector<DeviceRecord> device_records(const v1::DeviceEvent& event, std::int64_t received_at);

class StatusProjector {
 public:
  StatusProjector(sql::Database& db, prometheus::Registry* metrics);

  // The bus handler: unparseable events are counted and skipped; database errors are returned.
  Result<void> handle(const bus::Event& event);
  Result<void> apply(const v1::ChargerEvent& event);
  // Writes the last_seen of every charger whose events since the last flush changed nothing
  // else; on an error they stay pending (and their events are delivered again).
  Result<void> flush();

 private:
  struct Seen {
    std::int64_t at = 0;  // ms since the epoch
    std::string ocpp_version;
  };

  sql::Database& db_;
  std::unordered_map<std::string, Seen> seen_;  // charger id → latest pending last_seen
  prometheus::Family<prometheus::Counter>* errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* security_ = nullptr;
  prometheus::Family<prometheus::Counter>* events_ = nullptr;
  prometheus::Counter* duplicates_ = nullptr;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Counter* last_seen_events_ = nullptr;
  prometheus::Counter* last_seen_writes_ = nullptr;
};

}  // namespace switchyard::status
