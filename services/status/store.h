// The status tables (PostgreSQL or SQLite): chargers, current connector states, the status
// history, configuration. Times are milliseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/sql/database.h"
#include "status/configuration.h"

namespace switchyard::status {

std::span<const sql::Migration> migrations();

struct ConnectorRow {
  int evse_id = 0;
  int connector_id = 0;
  std::string status;
  std::string error_code;
  std::string info;
  std::string vendor_id;
  std::string vendor_error_code;
  std::int64_t since = 0;  // the charger's timestamp, else received_at
};

struct ChargerRow {
  std::string charger_id;
  bool online = false;
  std::string pod_id;
  std::int64_t owner_epoch = 0;
  std::string ocpp_version;
  int security_profile = 0;
  std::int64_t last_seen = 0;
  std::optional<std::int64_t> connected_at;
  std::optional<std::int64_t> disconnected_at;
  std::string vendor;
  std::string model;
  std::string serial_number;
  std::string firmware_version;
  std::string registration_status;
  std::optional<std::int64_t> booted_at;
  std::string firmware_status;
  std::string log_status;
  std::vector<ConnectorRow> connectors;
};

struct HistoryRow {
  std::string record_id;  // the event id (":n" for the n-th entry of a NotifyEvent)
  std::string charger_id;
  ConnectorRow state;
  std::int64_t received_at = 0;
};

struct HistoryFilter {
  std::string charger_id;
  std::string error_code;
  std::string vendor_error_code;
  bool errors_only = false;
  std::optional<std::int64_t> since;
  std::optional<std::int64_t> until;
  int page_size = 100;
  // Resume after (received_at, record_id) of the last row.
  std::optional<std::int64_t> after_received;
  std::string after_record;
};

// A SecurityEventNotification (1.6 security extension, 2.x) as stored.
struct SecurityEventRow {
  std::string event_id;
  std::string charger_id;
  std::string type;
  std::string tech_info;
  std::int64_t occurred_at = 0;  // the charger's timestamp (ms)
  std::int64_t received_at = 0;
};

struct SecurityEventFilter {
  std::string charger_id;  // empty: every charger
  std::string type;        // empty: every type
  int page_size = 100;
  // Resume after (received_at, event_id) of the last row.
  std::optional<std::int64_t> after_received;
  std::string after_event;
};

struct ErrorCountRow {
  std::string error_code;
  std::string vendor_id;
  std::string vendor_error_code;
  std::int64_t count = 0;
};

// -- inside a projector transaction --
Result<bool> mark_processed(sql::Transaction& tx, const std::string& event_id, std::int64_t at);
// Creates the charger row if missing; moves last_seen forward.
Result<void> touch_charger(sql::Transaction& tx, const std::string& charger_id,
                           std::int64_t seen_at, const std::string& ocpp_version);
struct SeenRow {
  std::string_view charger_id;
  std::int64_t seen_at = 0;
  std::string_view ocpp_version;
};
// touch_charger() for many chargers, each at most once, in statements of up to 64 rows: a
// round trip (PostgreSQL) or a statement (SQLite) per 64 chargers instead of one each.
Result<void> touch_chargers(sql::Transaction& tx, std::span<const SeenRow> rows);
Result<std::optional<ChargerRow>> load_charger(sql::Transaction& tx, const std::string& charger_id);
Result<void> save_charger(sql::Transaction& tx, const ChargerRow& row);
// Inserts the record (a repeated record id changes nothing); returns whether it was new.
Result<bool> insert_history(sql::Transaction& tx, const HistoryRow& row);
// Inserts the event (a repeated event id changes nothing); returns whether it was new.
Result<bool> insert_security_event(sql::Transaction& tx, const SecurityEventRow& row);
// The connector's current state, unless the stored one is newer (by `since`).
Result<void> upsert_connector(sql::Transaction& tx, const std::string& charger_id,
                              const ConnectorRow& row, std::int64_t received_at);
Result<void> put_configuration(sql::Transaction& tx, const std::string& charger_id,
                               std::span<const ConfigValue> values, std::int64_t reported_at);

// -- for the API --
Result<std::vector<ChargerRow>> list_chargers(sql::Database& db, bool online_only,
                                              const std::string& after, int page_size);
Result<std::optional<ChargerRow>> get_charger(sql::Database& db, const std::string& charger_id);
Result<std::vector<HistoryRow>> status_history(sql::Database& db, const HistoryFilter& filter);
Result<std::vector<SecurityEventRow>> security_events(sql::Database& db,
                                                      const SecurityEventFilter& filter);
struct ErrorCounts {
  std::vector<ErrorCountRow> by_error_code;
  std::vector<ErrorCountRow> by_vendor_error_code;
};
Result<ErrorCounts> count_errors(sql::Database& db, const std::string& charger_id,
                                 std::optional<std::int64_t> since);
struct StoredConfigValue {
  ConfigValue value;
  std::int64_t reported_at = 0;
};
Result<std::vector<StoredConfigValue>> configuration(sql::Database& db,
                                                     const std::string& charger_id,
                                                     const std::string& key_prefix);
Result<std::int64_t> prune_processed(sql::Database& db, std::int64_t before_ms);

// An error record: an error code other than NoError.
bool is_error(const ConnectorRow& row);

}  // namespace switchyard::status
