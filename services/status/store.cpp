// Status tables in portable SQL (PostgreSQL and SQLite).
#include "status/store.h"

#include <algorithm>

namespace switchyard::status {
namespace {

using sql::Param;

const sql::Migration kMigrations[] = {
    {1, "status tables",
     R"sql(
CREATE TABLE st_chargers (
  charger_id TEXT PRIMARY KEY,
  online INTEGER NOT NULL DEFAULT 0,
  pod_id TEXT NOT NULL DEFAULT '',
  owner_epoch BIGINT NOT NULL DEFAULT 0,
  ocpp_version TEXT NOT NULL DEFAULT '',
  security_profile INTEGER NOT NULL DEFAULT 0,
  last_seen BIGINT NOT NULL DEFAULT 0,
  connected_at BIGINT,
  disconnected_at BIGINT,
  vendor TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  serial_number TEXT NOT NULL DEFAULT '',
  firmware_version TEXT NOT NULL DEFAULT '',
  registration_status TEXT NOT NULL DEFAULT '',
  booted_at BIGINT,
  firmware_status TEXT NOT NULL DEFAULT '',
  log_status TEXT NOT NULL DEFAULT ''
);
CREATE INDEX st_chargers_online ON st_chargers (online, charger_id);
CREATE TABLE st_connectors (
  charger_id TEXT NOT NULL,
  evse_id INTEGER NOT NULL,
  connector_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT NOT NULL,
  info TEXT NOT NULL,
  vendor_id TEXT NOT NULL,
  vendor_error_code TEXT NOT NULL,
  since BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (charger_id, evse_id, connector_id)
);
CREATE TABLE st_status_history (
  record_id TEXT PRIMARY KEY,
  charger_id TEXT NOT NULL,
  evse_id INTEGER NOT NULL,
  connector_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT NOT NULL,
  info TEXT NOT NULL,
  vendor_id TEXT NOT NULL,
  vendor_error_code TEXT NOT NULL,
  charger_time BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX st_status_history_charger ON st_status_history (charger_id, received_at);
CREATE INDEX st_status_history_time ON st_status_history (received_at, record_id);
CREATE INDEX st_status_history_error ON st_status_history (error_code, received_at);
CREATE TABLE st_configuration (
  charger_id TEXT NOT NULL,
  config_key TEXT NOT NULL,
  config_value TEXT NOT NULL,
  readonly INTEGER NOT NULL,
  reported_at BIGINT NOT NULL,
  PRIMARY KEY (charger_id, config_key)
);
CREATE TABLE st_processed_events (
  event_id TEXT PRIMARY KEY,
  processed_at BIGINT NOT NULL
);
CREATE INDEX st_processed_events_at ON st_processed_events (processed_at);
)sql",
     ""},
    {2, "security events",
     R"sql(
CREATE TABLE st_security_events (
  event_id TEXT PRIMARY KEY,
  charger_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  tech_info TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX st_security_events_charger ON st_security_events (charger_id, received_at, event_id);
)sql",
     ""},
};

Param opt(const std::optional<std::int64_t>& v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}
std::optional<std::int64_t> opt_int(const sql::Rows& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return r.int64(row, col);
}
int clamp_page(int size) { return std::clamp(size <= 0 ? 100 : size, 1, 1000); }

constexpr std::string_view kChargerColumns =
    "charger_id, online, pod_id, owner_epoch, ocpp_version, security_profile, last_seen, "
    "connected_at, disconnected_at, vendor, model, serial_number, firmware_version, "
    "registration_status, booted_at, firmware_status, log_status";

ChargerRow charger_row(const sql::Rows& r, int i) {
  ChargerRow c;
  c.charger_id = r.text(i, 0);
  c.online = r.boolean(i, 1);
  c.pod_id = r.text(i, 2);
  c.owner_epoch = r.int64(i, 3);
  c.ocpp_version = r.text(i, 4);
  c.security_profile = static_cast<int>(r.int64(i, 5));
  c.last_seen = r.int64(i, 6);
  c.connected_at = opt_int(r, i, 7);
  c.disconnected_at = opt_int(r, i, 8);
  c.vendor = r.text(i, 9);
  c.model = r.text(i, 10);
  c.serial_number = r.text(i, 11);
  c.firmware_version = r.text(i, 12);
  c.registration_status = r.text(i, 13);
  c.booted_at = opt_int(r, i, 14);
  c.firmware_status = r.text(i, 15);
  c.log_status = r.text(i, 16);
  return c;
}

constexpr std::string_view kHistoryColumns =
    "record_id, charger_id, evse_id, connector_id, status, error_code, info, vendor_id, "
    "vendor_error_code, charger_time, received_at";

HistoryRow history_row(const sql::Rows& r, int i) {
  HistoryRow h;
  h.record_id = r.text(i, 0);
  h.charger_id = r.text(i, 1);
  h.state.evse_id = static_cast<int>(r.int64(i, 2));
  h.state.connector_id = static_cast<int>(r.int64(i, 3));
  h.state.status = r.text(i, 4);
  h.state.error_code = r.text(i, 5);
  h.state.info = r.text(i, 6);
  h.state.vendor_id = r.text(i, 7);
  h.state.vendor_error_code = r.text(i, 8);
  h.state.since = r.int64(i, 9);
  h.received_at = r.int64(i, 10);
  return h;
}

// SQL text for "this record is an error" (see is_error).
constexpr std::string_view kIsError = "(error_code <> '' AND error_code <> 'NoError')";

template <typename Exec>
Result<std::vector<ConnectorRow>> connectors_of(Exec& exec, const std::string& charger_id) {
  auto r = exec.exec(
      "SELECT evse_id, connector_id, status, error_code, info, vendor_id, vendor_error_code, since "
      "FROM st_connectors WHERE charger_id = $1 ORDER BY evse_id, connector_id",
      {charger_id});
  if (!r) return std::unexpected(r.error());
  std::vector<ConnectorRow> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({static_cast<int>(r->int64(i, 0)), static_cast<int>(r->int64(i, 1)),
                   r->text(i, 2), r->text(i, 3), r->text(i, 4), r->text(i, 5), r->text(i, 6),
                   r->int64(i, 7)});
  }
  return out;
}

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

bool is_error(const ConnectorRow& row) {
  return !row.error_code.empty() && row.error_code != "NoError";
}

Result<bool> mark_processed(sql::Transaction& tx, const std::string& event_id, std::int64_t at) {
  auto r = tx.exec(
      "INSERT INTO st_processed_events (event_id, processed_at) VALUES ($1, $2) "
      "ON CONFLICT (event_id) DO NOTHING",
      {event_id, std::to_string(at)});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

namespace {

// last_seen only moves forward; the version comes with the newest sighting.
constexpr const char* kTouchConflict =
    " ON CONFLICT (charger_id) DO UPDATE SET "
    "last_seen = CASE WHEN excluded.last_seen > st_chargers.last_seen THEN excluded.last_seen "
    "ELSE st_chargers.last_seen END, "
    "ocpp_version = CASE WHEN excluded.ocpp_version <> '' AND "
    "excluded.last_seen >= st_chargers.last_seen THEN excluded.ocpp_version "
    "ELSE st_chargers.ocpp_version END";

// The upsert of `rows` chargers in one statement.
std::string touch_sql(std::size_t rows) {
  std::string sql = "INSERT INTO st_chargers (charger_id, last_seen, ocpp_version) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t p = i * 3;
    if (i > 0) sql += ", ";
    sql += "($" + std::to_string(p + 1) + ", $" + std::to_string(p + 2) + ", $" +
           std::to_string(p + 3) + ")";
  }
  return sql + kTouchConflict;
}

// Statement sizes, largest first: a batch of n rows takes at most n / 64 + 9 statements, and
// the statement caches hold four texts.
constexpr std::size_t kTouchSizes[] = {64, 16, 4, 1};

}  // namespace

Result<void> touch_charger(sql::Transaction& tx, const std::string& charger_id,
                           std::int64_t seen_at, const std::string& ocpp_version) {
  const SeenRow row{charger_id, seen_at, ocpp_version};
  return touch_chargers(tx, std::span<const SeenRow>(&row, 1));
}

Result<void> touch_chargers(sql::Transaction& tx, std::span<const SeenRow> rows) {
  static const std::string kSql[] = {touch_sql(kTouchSizes[0]), touch_sql(kTouchSizes[1]),
                                     touch_sql(kTouchSizes[2]), touch_sql(kTouchSizes[3])};
  std::vector<sql::Param> params;
  std::size_t next = 0;
  for (std::size_t s = 0; s < std::size(kTouchSizes); ++s) {
    const std::size_t size = kTouchSizes[s];
    while (rows.size() - next >= size) {
      params.clear();
      for (const SeenRow& row : rows.subspan(next, size)) {
        params.emplace_back(std::string(row.charger_id));
        params.emplace_back(std::to_string(row.seen_at));
        params.emplace_back(std::string(row.ocpp_version));
      }
      if (auto r = tx.exec(kSql[s], params); !r) return std::unexpected(r.error());
      next += size;
    }
  }
  return {};
}

Result<std::optional<ChargerRow>> load_charger(sql::Transaction& tx,
                                               const std::string& charger_id) {
  auto r =
      tx.exec("SELECT " + std::string(kChargerColumns) + " FROM st_chargers WHERE charger_id = $1",
              {charger_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<ChargerRow>{};
  return charger_row(*r, 0);
}

Result<void> save_charger(sql::Transaction& tx, const ChargerRow& c) {
  auto r = tx.exec(
      "UPDATE st_chargers SET online = $2, pod_id = $3, owner_epoch = $4, ocpp_version = $5, "
      "security_profile = $6, last_seen = $7, connected_at = $8, disconnected_at = $9, vendor = "
      "$10, "
      "model = $11, serial_number = $12, firmware_version = $13, registration_status = $14, "
      "booted_at = $15, firmware_status = $16, log_status = $17 WHERE charger_id = $1",
      {c.charger_id, c.online ? "1" : "0", c.pod_id, std::to_string(c.owner_epoch), c.ocpp_version,
       std::to_string(c.security_profile), std::to_string(c.last_seen), opt(c.connected_at),
       opt(c.disconnected_at), c.vendor, c.model, c.serial_number, c.firmware_version,
       c.registration_status, opt(c.booted_at), c.firmware_status, c.log_status});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> insert_history(sql::Transaction& tx, const HistoryRow& h) {
  auto r = tx.exec("INSERT INTO st_status_history (" + std::string(kHistoryColumns) +
                       ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                       "ON CONFLICT (record_id) DO NOTHING",
                   {h.record_id, h.charger_id, std::to_string(h.state.evse_id),
                    std::to_string(h.state.connector_id), h.state.status, h.state.error_code,
                    h.state.info, h.state.vendor_id, h.state.vendor_error_code,
                    std::to_string(h.state.since), std::to_string(h.received_at)});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<bool> insert_security_event(sql::Transaction& tx, const SecurityEventRow& e) {
  auto r = tx.exec(
      "INSERT INTO st_security_events (event_id, charger_id, event_type, tech_info, occurred_at, "
      "received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
      {e.event_id, e.charger_id, e.type, e.tech_info, std::to_string(e.occurred_at),
       std::to_string(e.received_at)});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<std::vector<SecurityEventRow>> security_events(sql::Database& db,
                                                      const SecurityEventFilter& f) {
  auto r = db.exec(
      "SELECT event_id, charger_id, event_type, tech_info, occurred_at, received_at "
      "FROM st_security_events WHERE ($1 = '' OR charger_id = $1) AND ($2 = '' OR event_type = "
      "$2) AND (received_at > $3 OR (received_at = $3 AND event_id > $4) OR $3 IS NULL) "
      "ORDER BY received_at, event_id LIMIT " +
          std::to_string(clamp_page(f.page_size)),
      {f.charger_id, f.type, opt(f.after_received), f.after_event});
  if (!r) return std::unexpected(r.error());
  std::vector<SecurityEventRow> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->int64(i, 4),
                   r->int64(i, 5)});
  }
  return out;
}

Result<void> upsert_connector(sql::Transaction& tx, const std::string& charger_id,
                              const ConnectorRow& c, std::int64_t received_at) {
  auto r = tx.exec(
      "INSERT INTO st_connectors (charger_id, evse_id, connector_id, status, error_code, info, "
      "vendor_id, vendor_error_code, since, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
      "$9, $10) "
      "ON CONFLICT (charger_id, evse_id, connector_id) DO UPDATE SET status = excluded.status, "
      "error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id, "
      "vendor_error_code = excluded.vendor_error_code, since = excluded.since, "
      "received_at = excluded.received_at WHERE excluded.since >= st_connectors.since",
      {charger_id, std::to_string(c.evse_id), std::to_string(c.connector_id), c.status,
       c.error_code, c.info, c.vendor_id, c.vendor_error_code, std::to_string(c.since),
       std::to_string(received_at)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> put_configuration(sql::Transaction& tx, const std::string& charger_id,
                               std::span<const ConfigValue> values, std::int64_t reported_at) {
  for (const auto& v : values) {
    if (v.key.empty()) continue;
    auto r = tx.exec(
        "INSERT INTO st_configuration (charger_id, config_key, config_value, readonly, "
        "reported_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charger_id, config_key) DO UPDATE SET "
        "config_value = excluded.config_value, readonly = excluded.readonly, "
        "reported_at = excluded.reported_at WHERE excluded.reported_at >= "
        "st_configuration.reported_at",
        {charger_id, v.key, v.value, v.readonly ? "1" : "0", std::to_string(reported_at)});
    if (!r) return std::unexpected(r.error());
  }
  return {};
}

Result<std::vector<ChargerRow>> list_chargers(sql::Database& db, bool online_only,
                                              const std::string& after, int page_size) {
  auto r = db.exec("SELECT " + std::string(kChargerColumns) +
                       " FROM st_chargers WHERE ($1 = '0' OR online = 1) AND charger_id > $2 "
                       "ORDER BY charger_id LIMIT " +
                       std::to_string(clamp_page(page_size)),
                   {online_only ? "1" : "0", after});
  if (!r) return std::unexpected(r.error());
  std::vector<ChargerRow> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back(charger_row(*r, i));
    auto connectors = connectors_of(db, out.back().charger_id);
    if (!connectors) return std::unexpected(connectors.error());
    out.back().connectors = std::move(*connectors);
  }
  return out;
}

Result<std::optional<ChargerRow>> get_charger(sql::Database& db, const std::string& charger_id) {
  auto r =
      db.exec("SELECT " + std::string(kChargerColumns) + " FROM st_chargers WHERE charger_id = $1",
              {charger_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<ChargerRow>{};
  ChargerRow row = charger_row(*r, 0);
  auto connectors = connectors_of(db, charger_id);
  if (!connectors) return std::unexpected(connectors.error());
  row.connectors = std::move(*connectors);
  return row;
}

Result<std::vector<HistoryRow>> status_history(sql::Database& db, const HistoryFilter& f) {
  auto r =
      db.exec("SELECT " + std::string(kHistoryColumns) +
                  " FROM st_status_history WHERE ($1 = '' OR charger_id = $1) AND ($2 = '' OR "
                  "error_code = $2) "
                  "AND ($3 = '' OR vendor_error_code = $3) AND ($4 = '0' OR " +
                  std::string(kIsError) +
                  ") AND (received_at >= $5 OR $5 IS NULL) AND (received_at < $6 OR $6 IS NULL) "
                  "AND (received_at > $7 OR (received_at = $7 AND record_id > $8) OR $7 IS NULL) "
                  "ORDER BY received_at, record_id LIMIT " +
                  std::to_string(clamp_page(f.page_size)),
              {f.charger_id, f.error_code, f.vendor_error_code, f.errors_only ? "1" : "0",
               opt(f.since), opt(f.until), opt(f.after_received), f.after_record});
  if (!r) return std::unexpected(r.error());
  std::vector<HistoryRow> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(history_row(*r, i));
  return out;
}

Result<ErrorCounts> count_errors(sql::Database& db, const std::string& charger_id,
                                 std::optional<std::int64_t> since) {
  const std::string where =
      " FROM st_status_history WHERE " + std::string(kIsError) +
      " AND ($1 = '' OR charger_id = $1) AND (received_at >= $2 OR $2 IS NULL) ";
  ErrorCounts out;
  auto by_code =
      db.exec("SELECT error_code, COUNT(*)" + where + "GROUP BY error_code ORDER BY error_code",
              {charger_id, opt(since)});
  if (!by_code) return std::unexpected(by_code.error());
  for (int i = 0; i < by_code->size(); ++i) {
    out.by_error_code.push_back({by_code->text(i, 0), "", "", by_code->int64(i, 1)});
  }
  auto by_vendor = db.exec("SELECT vendor_id, vendor_error_code, COUNT(*)" + where +
                               "AND vendor_error_code <> '' GROUP BY vendor_id, vendor_error_code "
                               "ORDER BY vendor_id, vendor_error_code",
                           {charger_id, opt(since)});
  if (!by_vendor) return std::unexpected(by_vendor.error());
  for (int i = 0; i < by_vendor->size(); ++i) {
    out.by_vendor_error_code.push_back(
        {"", by_vendor->text(i, 0), by_vendor->text(i, 1), by_vendor->int64(i, 2)});
  }
  return out;
}

Result<std::vector<StoredConfigValue>> configuration(sql::Database& db,
                                                     const std::string& charger_id,
                                                     const std::string& key_prefix) {
  auto r = db.exec(
      "SELECT config_key, config_value, readonly, reported_at FROM st_configuration "
      "WHERE charger_id = $1 AND substr(config_key, 1, length(CAST($2 AS TEXT))) = CAST($2 AS "
      "TEXT) ORDER BY config_key",
      {charger_id, key_prefix});
  if (!r) return std::unexpected(r.error());
  std::vector<StoredConfigValue> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({{r->text(i, 0), r->text(i, 1), r->boolean(i, 2)}, r->int64(i, 3)});
  }
  return out;
}

Result<std::int64_t> prune_processed(sql::Database& db, std::int64_t before_ms) {
  auto r = db.exec("DELETE FROM st_processed_events WHERE processed_at < $1",
                   {std::to_string(before_ms)});
  if (!r) return std::unexpected(r.error());
  return r->affected();
}

}  // namespace switchyard::status
