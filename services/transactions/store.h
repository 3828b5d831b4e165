// The transactions tables (PostgreSQL or SQLite) and the statements the projector and the API
// run on them. Times are milliseconds since the epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/sql/database.h"
#include "transactions/pricing.h"

namespace switchyard::transactions {

std::span<const sql::Migration> migrations();

struct TransactionRow {
  std::string charger_id;
  std::string transaction_id;
  int evse_id = 0;
  int connector_id = 0;
  std::string id_token;
  std::string id_token_type;
  std::string group_id;
  std::string state = "ACTIVE";  // ACTIVE, ENDED
  std::optional<std::int64_t> started_at;
  std::optional<std::int64_t> ended_at;
  RegisterSpan registers;
  std::string stopped_reason;
  bool offline = false;
  std::string ocpp_version;
  bool start_missing = false;
  std::int64_t seq_no = 0;
  std::int64_t updated_at = 0;
  std::string cdr_id;
};

struct CdrRow {
  std::string cdr_id;
  std::string charger_id;
  std::string transaction_id;
  int evse_id = 0;
  int connector_id = 0;
  std::string id_token;
  std::string id_token_type;
  std::int64_t started_at = 0;
  std::int64_t ended_at = 0;
  std::int64_t energy_wh = 0;
  std::int64_t duration_s = 0;
  std::string tariff_id;
  std::string product_id;
  Price price;
  std::string stopped_reason;
  std::int64_t created_at = 0;
};

struct TransactionFilter {
  std::string charger_id;
  std::string id_token;
  std::optional<std::int64_t> started_after;
  std::optional<std::int64_t> started_before;
  std::string state;
  int page_size = 100;
  std::string after_charger;
  std::string after_transaction;
};

struct CdrFilter {
  std::string charger_id;
  std::string id_token;
  std::optional<std::int64_t> ended_after;
  std::optional<std::int64_t> ended_before;
  int page_size = 100;
  std::string after;
};

// Inside a transaction of the projector.
Result<bool> mark_processed(sql::Transaction& tx, const std::string& event_id, std::int64_t now);
Result<std::optional<TransactionRow>> load_transaction(sql::Transaction& tx,
                                                       const std::string& charger_id,
                                                       const std::string& transaction_id);
Result<void> save_transaction(sql::Transaction& tx, const TransactionRow& row);
Result<std::optional<Tariff>> tariff_for(sql::Transaction& tx, const std::string& charger_id);
Result<void> insert_cdr(sql::Transaction& tx, const CdrRow& cdr);

// For the API.
Result<std::optional<TransactionRow>> get_transaction(sql::Database& db,
                                                      const std::string& charger_id,
                                                      const std::string& transaction_id);
Result<std::vector<TransactionRow>> list_transactions(sql::Database& db,
                                                      const TransactionFilter& filter);
// Active transactions with the token or any token of the group, other than `except` (a
// transaction's own row when it is being decided).
struct TransactionKey {
  std::string charger_id;
  std::string transaction_id;
};
Result<int> count_active(sql::Database& db, const std::string& id_token,
                         const std::string& group_id, const TransactionKey& except = {});
// Forgets processed event ids older than `before_ms` (the topic's retention is shorter).
Result<std::int64_t> prune_processed(sql::Database& db, std::int64_t before_ms);

Result<std::optional<CdrRow>> get_cdr(sql::Database& db, const std::string& cdr_id);
Result<std::vector<CdrRow>> list_cdrs(sql::Database& db, const CdrFilter& filter);

// The outbox: messages committed together with the rows they describe (inside the projector's
// transaction), published and deleted by the Outbox afterwards. Payloads are bytes.
struct OutboxMessage {
  std::int64_t id = 0;
  std::string topic;
  std::string key;
  std::string payload;
};
Result<void> enqueue(sql::Transaction& tx, const std::string& topic, const std::string& key,
                     std::string_view payload, std::int64_t now);
Result<std::vector<OutboxMessage>> outbox_batch(sql::Database& db, int limit);
Result<void> outbox_delete(sql::Database& db, std::span<const std::int64_t> ids);
struct OutboxStats {
  std::int64_t pending = 0;
  std::optional<std::int64_t> oldest_created_at;  // ms since the epoch; none when empty
};
Result<OutboxStats> outbox_stats(sql::Database& db);
// Transactions in state ACTIVE, over every charger.
Result<std::int64_t> count_all_active(sql::Database& db);
Result<void> put_tariff(sql::Database& db, const Tariff& tariff);
Result<std::vector<Tariff>> list_tariffs(sql::Database& db);
// The next 1.6 transaction id: one counter for every pod of every service replica.
Result<std::int64_t> allocate_transaction_id(sql::Database& db);
// Moves the counter up to `used` (an id seen in a 1.6 start) when it is behind: a database
// rebuilt by replaying the events topic never hands out an id that is already taken.
Result<void> raise_transaction_id_counter(sql::Transaction& tx, std::int64_t used);

}  // namespace switchyard::transactions
