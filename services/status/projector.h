// Turns ocpp.events.v1 into the status tables: connections (online / offline by ownership
// epoch), boot info, connector status and its history, firmware and log upload state, last seen,
// configuration from command answers and reports. Each event that changes a state is applied
// with its event id, so replaying a topic changes nothing. The others (MeterValues, Heartbeat,
// TransactionEvent, Authorize, ...) only move the charger's last_seen, which takes the latest
// time whatever the order: they are gathered per charger. handle() only stages; flush(), which
// the consumer runs before it commits a poll's positions, writes the whole poll in one
// transaction (a reconnect storm's 60,000 events in a few hundred commits, not 60,000).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
  ~StatusProjector();
  StatusProjector(const StatusProjector&) = delete;
  StatusProjector& operator=(const StatusProjector&) = delete;

  // The bus handler: stages the event for flush(). Unparseable events are counted and skipped.
  Result<void> handle(const bus::Event& event);
  // Applies one event now, in a transaction of its own (last_seen-only events are staged).
  Result<void> apply(const v1::ChargerEvent& event);
  // Writes what was staged since the last flush in one transaction: the state changes in order,
  // then the last_seen of every charger whose events changed nothing else. On an error nothing
  // is written; the staged state changes are dropped (the consumer delivers the poll again) and
  // the last_seen values stay pending.
  Result<void> flush();

 private:
  struct Seen {
    std::int64_t at = 0;  // ms since the epoch
    std::string ocpp_version;
  };
  enum class Staged { kDone, kStateChange };
  // What applying one event found, for the metrics and logs once it is committed.
  struct Applied {
    bool duplicate = false;
    std::vector<ConnectorRow> new_errors;
    std::string config_problem;
    std::optional<SecurityEventRow> security_event;
  };

  // Skips a malformed event, gathers a last_seen-only one; kStateChange: the caller applies it.
  Staged stage(const v1::ChargerEvent& event);
  // Gathers last_seen for flush(); an event without charger or event id is counted malformed.
  void stage_seen(std::string_view charger_id, std::string_view event_id, std::int64_t received,
                  int protocol_version);
  Result<void> apply_in(sql::Transaction& tx, const v1::ChargerEvent& event, Applied& out);
  void report(const v1::ChargerEvent& event, const Applied& applied);

  sql::Database& db_;
  struct IdHash {  // looks up a peeked id without making a string of it
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  // charger id → latest pending last_seen
  std::unordered_map<std::string, Seen, IdHash, std::equal_to<>> seen_;
  std::vector<SeenRow> seen_rows_;         // flush()'s view of seen_, kept for its capacity
  std::vector<v1::ChargerEvent> pending_;  // state changes staged by handle()
  prometheus::Family<prometheus::Counter>* errors_ = nullptr;
  prometheus::Family<prometheus::Counter>* security_ = nullptr;
  prometheus::Family<prometheus::Counter>* events_ = nullptr;
  prometheus::Counter* duplicates_ = nullptr;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Counter* last_seen_events_ = nullptr;
  prometheus::Counter* last_seen_writes_ = nullptr;
  prometheus::Counter* transactions_ = nullptr;
};

}  // namespace switchyard::status
