// Transactions, CDRs, tariffs and id counters in SQL (portable: PostgreSQL and SQLite).
#include "transactions/store.h"

#include <algorithm>

#include "common/runtime/core/base64.h"

namespace switchyard::transactions {
namespace {

using sql::Param;

const sql::Migration kMigrations[] = {
    {1, "transactions tables",
     R"sql(
CREATE TABLE tx_transactions (
  charger_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  evse_id INTEGER NOT NULL DEFAULT 0,
  connector_id INTEGER NOT NULL DEFAULT 0,
  id_token TEXT NOT NULL DEFAULT '',
  id_token_type TEXT NOT NULL DEFAULT '',
  group_id TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  started_at BIGINT,
  ended_at BIGINT,
  first_register_wh BIGINT,
  first_register_at BIGINT,
  last_register_wh BIGINT,
  last_register_at BIGINT,
  stopped_reason TEXT NOT NULL DEFAULT '',
  offline INTEGER NOT NULL DEFAULT 0,
  ocpp_version TEXT NOT NULL DEFAULT '',
  start_missing INTEGER NOT NULL DEFAULT 0,
  seq_no BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL,
  cdr_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (charger_id, transaction_id)
);
CREATE INDEX tx_transactions_token ON tx_transactions (id_token, state);
CREATE INDEX tx_transactions_group ON tx_transactions (group_id, state);
CREATE INDEX tx_transactions_started ON tx_transactions (started_at);
CREATE TABLE tx_processed_events (
  event_id TEXT PRIMARY KEY,
  processed_at BIGINT NOT NULL
);
CREATE INDEX tx_processed_events_at ON tx_processed_events (processed_at);
CREATE TABLE tx_tariffs (
  tariff_id TEXT PRIMARY KEY,
  product_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  energy_minor_per_mwh BIGINT NOT NULL,
  time_minor_per_hour BIGINT NOT NULL,
  session_fee_minor BIGINT NOT NULL,
  vat_basis_points INTEGER NOT NULL,
  charger_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE tx_cdrs (
  cdr_id TEXT PRIMARY KEY,
  charger_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  evse_id INTEGER NOT NULL,
  connector_id INTEGER NOT NULL,
  id_token TEXT NOT NULL,
  id_token_type TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  ended_at BIGINT NOT NULL,
  energy_wh BIGINT NOT NULL,
  duration_s BIGINT NOT NULL,
  tariff_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  energy_minor BIGINT NOT NULL,
  time_minor BIGINT NOT NULL,
  session_fee_minor BIGINT NOT NULL,
  total_excl_vat_minor BIGINT NOT NULL,
  vat_minor BIGINT NOT NULL,
  total_incl_vat_minor BIGINT NOT NULL,
  vat_basis_points INTEGER NOT NULL,
  stopped_reason TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (charger_id, transaction_id)
);
CREATE INDEX tx_cdrs_ended ON tx_cdrs (ended_at);
CREATE TABLE tx_id_counters (
  name TEXT PRIMARY KEY,
  next_value BIGINT NOT NULL
);
INSERT INTO tx_id_counters (name, next_value) VALUES ('ocpp16', 0);
)sql",
     ""},
    // Messages committed with the rows they describe, published to the bus afterwards.
    {2, "outbox",
     R"sql(
CREATE TABLE tx_outbox (
  id BIGSERIAL PRIMARY KEY,
  topic TEXT NOT NULL,
  msg_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql",
     R"sql(
CREATE TABLE tx_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  msg_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"},
    // The active-sessions gauge counts these every few seconds: a partial index keeps that
    // cheap however many ended transactions the table holds.
    {3, "active transactions index",
     "CREATE INDEX tx_transactions_active ON tx_transactions (charger_id) WHERE state = 'ACTIVE'",
     ""},
};

Param opt(const std::optional<std::int64_t>& v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}
std::optional<std::int64_t> opt_int(const sql::Rows& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return r.int64(row, col);
}
std::string flag(bool b) { return b ? "1" : "0"; }
int clamp_page(int size) { return std::clamp(size <= 0 ? 100 : size, 1, 1000); }

constexpr std::string_view kTxColumns =
    "charger_id, transaction_id, evse_id, connector_id, id_token, id_token_type, group_id, state, "
    "started_at, ended_at, first_register_wh, first_register_at, last_register_wh, "
    "last_register_at, stopped_reason, offline, ocpp_version, start_missing, seq_no, updated_at, "
    "cdr_id";

TransactionRow tx_row(const sql::Rows& r, int i) {
  TransactionRow t;
  t.charger_id = r.text(i, 0);
  t.transaction_id = r.text(i, 1);
  t.evse_id = static_cast<int>(r.int64(i, 2));
  t.connector_id = static_cast<int>(r.int64(i, 3));
  t.id_token = r.text(i, 4);
  t.id_token_type = r.text(i, 5);
  t.group_id = r.text(i, 6);
  t.state = r.text(i, 7);
  t.started_at = opt_int(r, i, 8);
  t.ended_at = opt_int(r, i, 9);
  t.registers.first_wh = opt_int(r, i, 10);
  t.registers.first_at_ms = opt_int(r, i, 11);
  t.registers.last_wh = opt_int(r, i, 12);
  t.registers.last_at_ms = opt_int(r, i, 13);
  t.stopped_reason = r.text(i, 14);
  t.offline = r.boolean(i, 15);
  t.ocpp_version = r.text(i, 16);
  t.start_missing = r.boolean(i, 17);
  t.seq_no = r.int64(i, 18);
  t.updated_at = r.int64(i, 19);
  t.cdr_id = r.text(i, 20);
  return t;
}

constexpr std::string_view kCdrColumns =
    "cdr_id, charger_id, transaction_id, evse_id, connector_id, id_token, id_token_type, "
    "started_at, ended_at, energy_wh, duration_s, tariff_id, product_id, currency, energy_minor, "
    "time_minor, session_fee_minor, total_excl_vat_minor, vat_minor, total_incl_vat_minor, "
    "vat_basis_points, stopped_reason, created_at";

CdrRow cdr_row(const sql::Rows& r, int i) {
  CdrRow c;
  c.cdr_id = r.text(i, 0);
  c.charger_id = r.text(i, 1);
  c.transaction_id = r.text(i, 2);
  c.evse_id = static_cast<int>(r.int64(i, 3));
  c.connector_id = static_cast<int>(r.int64(i, 4));
  c.id_token = r.text(i, 5);
  c.id_token_type = r.text(i, 6);
  c.started_at = r.int64(i, 7);
  c.ended_at = r.int64(i, 8);
  c.energy_wh = r.int64(i, 9);
  c.duration_s = r.int64(i, 10);
  c.tariff_id = r.text(i, 11);
  c.product_id = r.text(i, 12);
  c.price.currency = r.text(i, 13);
  c.price.energy_minor = r.int64(i, 14);
  c.price.time_minor = r.int64(i, 15);
  c.price.session_fee_minor = r.int64(i, 16);
  c.price.total_excl_vat_minor = r.int64(i, 17);
  c.price.vat_minor = r.int64(i, 18);
  c.price.total_incl_vat_minor = r.int64(i, 19);
  c.price.vat_basis_points = static_cast<int>(r.int64(i, 20));
  c.stopped_reason = r.text(i, 21);
  c.created_at = r.int64(i, 22);
  return c;
}

constexpr std::string_view kTariffColumns =
    "tariff_id, product_id, currency, energy_minor_per_mwh, time_minor_per_hour, "
    "session_fee_minor, vat_basis_points, charger_id";

Tariff tariff_row(const sql::Rows& r, int i) {
  return Tariff{r.text(i, 0),
                r.text(i, 1),
                r.text(i, 2),
                r.int64(i, 3),
                r.int64(i, 4),
                r.int64(i, 5),
                static_cast<int>(r.int64(i, 6)),
                r.text(i, 7)};
}

template <typename T, typename F>
Result<std::vector<T>> rows(Result<sql::Rows> r, F convert) {
  if (!r) return std::unexpected(r.error());
  std::vector<T> out;
  out.reserve(r->size());
  for (int i = 0; i < r->size(); ++i) out.push_back(convert(*r, i));
  return out;
}

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

Result<bool> mark_processed(sql::Transaction& tx, const std::string& event_id, std::int64_t now) {
  auto r = tx.exec(
      "INSERT INTO tx_processed_events (event_id, processed_at) VALUES ($1, $2) "
      "ON CONFLICT (event_id) DO NOTHING",
      {event_id, std::to_string(now)});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<std::optional<TransactionRow>> load_transaction(sql::Transaction& tx,
                                                       const std::string& charger_id,
                                                       const std::string& transaction_id) {
  auto r = tx.exec("SELECT " + std::string(kTxColumns) +
                       " FROM tx_transactions WHERE charger_id = $1 AND transaction_id = $2",
                   {charger_id, transaction_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<TransactionRow>{};
  return tx_row(*r, 0);
}

Result<void> save_transaction(sql::Transaction& tx, const TransactionRow& t) {
  const std::vector<Param> params{t.charger_id,
                                  t.transaction_id,
                                  std::to_string(t.evse_id),
                                  std::to_string(t.connector_id),
                                  t.id_token,
                                  t.id_token_type,
                                  t.group_id,
                                  t.state,
                                  opt(t.started_at),
                                  opt(t.ended_at),
                                  opt(t.registers.first_wh),
                                  opt(t.registers.first_at_ms),
                                  opt(t.registers.last_wh),
                                  opt(t.registers.last_at_ms),
                                  t.stopped_reason,
                                  flag(t.offline),
                                  t.ocpp_version,
                                  flag(t.start_missing),
                                  std::to_string(t.seq_no),
                                  std::to_string(t.updated_at),
                                  t.cdr_id};
  auto r = tx.exec(
      "INSERT INTO tx_transactions (" + std::string(kTxColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
          "$18, $19, $20, $21) ON CONFLICT (charger_id, transaction_id) DO UPDATE SET "
          "evse_id = excluded.evse_id, connector_id = excluded.connector_id, "
          "id_token = excluded.id_token, id_token_type = excluded.id_token_type, "
          "group_id = excluded.group_id, state = excluded.state, started_at = excluded.started_at, "
          "ended_at = excluded.ended_at, first_register_wh = excluded.first_register_wh, "
          "first_register_at = excluded.first_register_at, last_register_wh = "
          "excluded.last_register_wh, "
          "last_register_at = excluded.last_register_at, stopped_reason = excluded.stopped_reason, "
          "offline = excluded.offline, ocpp_version = excluded.ocpp_version, "
          "start_missing = excluded.start_missing, seq_no = excluded.seq_no, "
          "updated_at = excluded.updated_at, cdr_id = excluded.cdr_id",
      params);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<Tariff>> tariff_for(sql::Transaction& tx, const std::string& charger_id) {
  // The charger's own tariff, else the default one (charger_id '').
  auto r = tx.exec("SELECT " + std::string(kTariffColumns) +
                       " FROM tx_tariffs WHERE charger_id = $1 OR charger_id = '' "
                       "ORDER BY charger_id DESC, tariff_id LIMIT 1",
                   {charger_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<Tariff>{};
  return tariff_row(*r, 0);
}

Result<void> insert_cdr(sql::Transaction& tx, const CdrRow& c) {
  auto r = tx.exec(
      "INSERT INTO tx_cdrs (" + std::string(kCdrColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
          "$18, $19, $20, $21, $22, $23) ON CONFLICT (cdr_id) DO NOTHING",
      {c.cdr_id,
       c.charger_id,
       c.transaction_id,
       std::to_string(c.evse_id),
       std::to_string(c.connector_id),
       c.id_token,
       c.id_token_type,
       std::to_string(c.started_at),
       std::to_string(c.ended_at),
       std::to_string(c.energy_wh),
       std::to_string(c.duration_s),
       c.tariff_id,
       c.product_id,
       c.price.currency,
       std::to_string(c.price.energy_minor),
       std::to_string(c.price.time_minor),
       std::to_string(c.price.session_fee_minor),
       std::to_string(c.price.total_excl_vat_minor),
       std::to_string(c.price.vat_minor),
       std::to_string(c.price.total_incl_vat_minor),
       std::to_string(c.price.vat_basis_points),
       c.stopped_reason,
       std::to_string(c.created_at)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<TransactionRow>> get_transaction(sql::Database& db,
                                                      const std::string& charger_id,
                                                      const std::string& transaction_id) {
  auto r = db.exec("SELECT " + std::string(kTxColumns) +
                       " FROM tx_transactions WHERE charger_id = $1 AND transaction_id = $2",
                   {charger_id, transaction_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<TransactionRow>{};
  return tx_row(*r, 0);
}

Result<std::vector<TransactionRow>> list_transactions(sql::Database& db,
                                                      const TransactionFilter& f) {
  return rows<TransactionRow>(
      db.exec("SELECT " + std::string(kTxColumns) +
                  " FROM tx_transactions WHERE ($1 = '' OR charger_id = $1) "
                  "AND ($2 = '' OR id_token = $2) AND ($3 = '' OR state = $3) "
                  "AND (started_at >= $4 OR $4 IS NULL) AND (started_at < $5 OR $5 IS NULL) "
                  "AND (charger_id > $6 OR (charger_id = $6 AND transaction_id > $7)) "
                  "ORDER BY charger_id, transaction_id LIMIT " +
                  std::to_string(clamp_page(f.page_size)),
              {f.charger_id, f.id_token, f.state, opt(f.started_after), opt(f.started_before),
               f.after_charger, f.after_transaction}),
      tx_row);
}

Result<int> count_active(sql::Database& db, const std::string& id_token,
                         const std::string& group_id, const TransactionKey& except) {
  auto r = db.exec(
      "SELECT COUNT(*) FROM tx_transactions WHERE state = 'ACTIVE' AND "
      "((id_token <> '' AND id_token = $1) OR ($2 <> '' AND group_id = $2)) AND "
      "NOT (charger_id = $3 AND transaction_id = $4)",
      {id_token, group_id, except.charger_id, except.transaction_id});
  if (!r) return std::unexpected(r.error());
  return static_cast<int>(r->int64(0, 0));
}

Result<std::int64_t> prune_processed(sql::Database& db, std::int64_t before_ms) {
  auto r = db.exec("DELETE FROM tx_processed_events WHERE processed_at < $1",
                   {std::to_string(before_ms)});
  if (!r) return std::unexpected(r.error());
  return r->affected();
}

Result<std::optional<CdrRow>> get_cdr(sql::Database& db, const std::string& cdr_id) {
  auto r =
      db.exec("SELECT " + std::string(kCdrColumns) + " FROM tx_cdrs WHERE cdr_id = $1", {cdr_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<CdrRow>{};
  return cdr_row(*r, 0);
}

Result<std::vector<CdrRow>> list_cdrs(sql::Database& db, const CdrFilter& f) {
  return rows<CdrRow>(
      db.exec("SELECT " + std::string(kCdrColumns) +
                  " FROM tx_cdrs WHERE ($1 = '' OR charger_id = $1) AND ($2 = '' OR id_token = $2) "
                  "AND (ended_at >= $3 OR $3 IS NULL) AND (ended_at < $4 OR $4 IS NULL) "
                  "AND cdr_id > $5 ORDER BY cdr_id LIMIT " +
                  std::to_string(clamp_page(f.page_size)),
              {f.charger_id, f.id_token, opt(f.ended_after), opt(f.ended_before), f.after}),
      cdr_row);
}

Result<void> enqueue(sql::Transaction& tx, const std::string& topic, const std::string& key,
                     std::string_view payload, std::int64_t now) {
  auto r =
      tx.exec("INSERT INTO tx_outbox (topic, msg_key, payload, created_at) VALUES ($1, $2, $3, $4)",
              {topic, key, base64_encode(payload), std::to_string(now)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<OutboxMessage>> outbox_batch(sql::Database& db, int limit) {
  return rows<OutboxMessage>(
      db.exec("SELECT id, topic, msg_key, payload FROM tx_outbox ORDER BY id LIMIT " +
              std::to_string(limit)),
      [](const sql::Rows& r, int i) {
        return OutboxMessage{r.int64(i, 0), r.text(i, 1), r.text(i, 2),
                             base64_decode(r.text(i, 3)).value_or(std::string())};
      });
}

Result<void> outbox_delete(sql::Database& db, std::span<const std::int64_t> ids) {
  if (ids.empty()) return {};
  std::string list;
  for (auto id : ids) {
    if (!list.empty()) list += ',';
    list += std::to_string(id);
  }
  auto r = db.exec("DELETE FROM tx_outbox WHERE id IN (" + list + ")");
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<OutboxStats> outbox_stats(sql::Database& db) {
  auto r = db.exec("SELECT COUNT(*), MIN(created_at) FROM tx_outbox");
  if (!r) return std::unexpected(r.error());
  OutboxStats stats;
  stats.pending = r->int64(0, 0);
  if (!r->is_null(0, 1)) stats.oldest_created_at = r->int64(0, 1);
  return stats;
}

Result<std::int64_t> count_all_active(sql::Database& db) {
  auto r = db.exec("SELECT COUNT(*) FROM tx_transactions WHERE state = 'ACTIVE'");
  if (!r) return std::unexpected(r.error());
  return r->int64(0, 0);
}

Result<void> put_tariff(sql::Database& db, const Tariff& t) {
  auto r =
      db.exec("INSERT INTO tx_tariffs (" + std::string(kTariffColumns) +
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tariff_id) DO UPDATE SET "
                  "product_id = excluded.product_id, currency = excluded.currency, "
                  "energy_minor_per_mwh = excluded.energy_minor_per_mwh, "
                  "time_minor_per_hour = excluded.time_minor_per_hour, "
                  "session_fee_minor = excluded.session_fee_minor, "
                  "vat_basis_points = excluded.vat_basis_points, charger_id = excluded.charger_id",
              {t.tariff_id, t.product_id, t.currency, std::to_string(t.energy_minor_per_mwh),
               std::to_string(t.time_minor_per_hour), std::to_string(t.session_fee_minor),
               std::to_string(t.vat_basis_points), t.charger_id});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<Tariff>> list_tariffs(sql::Database& db) {
  return rows<Tariff>(
      db.exec("SELECT " + std::string(kTariffColumns) + " FROM tx_tariffs ORDER BY tariff_id"),
      tariff_row);
}

Result<std::int64_t> allocate_transaction_id(sql::Database& db) {
  auto r = db.exec(
      "UPDATE tx_id_counters SET next_value = next_value + 1 WHERE name = 'ocpp16' RETURNING "
      "next_value");
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return make_error(ErrorCode::kInternal, "the ocpp16 id counter is missing");
  return r->int64(0, 0);
}

Result<void> raise_transaction_id_counter(sql::Transaction& tx, std::int64_t used) {
  auto r =
      tx.exec("UPDATE tx_id_counters SET next_value = $1 WHERE name = 'ocpp16' AND next_value < $1",
              {std::to_string(used)});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace switchyard::transactions
