// sql::Database on the libpq pool: statements with parameters are prepared once per connection
// (named after their SQL text), transactions retry serialization failures and deadlocks.
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/runtime/core/log.h"
#include "common/runtime/postgres/pool.h"
#include "common/runtime/sql/database.h"
#include "common/runtime/sql/metrics.h"

namespace switchyard::sql {
namespace {

constexpr int kMaxRetries = 3;

// Maps SQL text to the name it is prepared under on every connection of the pool. Names are
// handed out in order, so two texts never share one (a hash could collide). Services use a
// fixed set of statements, so the map stays small.
class StatementNames {
 public:
  const postgres::Statement& lookup(std::string_view sql) {
    std::lock_guard lock(mutex_);
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      std::string name = "switchyard_sql_" + std::to_string(statements_.size() + 1);
      it = statements_
               .emplace(std::string(sql), postgres::Statement{std::move(name), std::string(sql)})
               .first;
    }
    return it->second;  // nodes of an unordered_map never move
  }

 private:
  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, postgres::Statement, Hash, std::equal_to<>> statements_;
};

// SQLSTATE 40001 / 40P01: classify() in pool.cpp gives them, and only them, ABORTED.
bool is_conflict(const Error& e) { return e.code == ErrorCode::kAborted; }

Rows copy_rows(const postgres::Rows& r) {
  std::vector<std::vector<Param>> cells(static_cast<size_t>(r.size()));
  for (int row = 0; row < r.size(); ++row) {
    cells[row].reserve(static_cast<size_t>(r.columns()));
    for (int col = 0; col < r.columns(); ++col) {
      if (r.is_null(row, col)) {
        cells[row].emplace_back(std::nullopt);
      } else {
        cells[row].emplace_back(std::string(r.text(row, col)));
      }
    }
  }
  // pool.h does not expose column names: the names stay empty, one per column.
  return Rows(std::vector<std::string>(static_cast<size_t>(r.columns())), std::move(cells),
              r.affected());
}

// Everything a statement needs besides its connection.
struct Engine {
  StatementNames names;
  SqlMetrics metrics;
};

// Parameterless text goes through the simple protocol, which allows several statements in one
// string (migrations); anything with parameters is a prepared statement.
Result<Rows> run(Engine& engine, postgres::Connection& c, std::string_view sql,
                 std::span<const Param> params) {
  const auto started = std::chrono::steady_clock::now();
  auto r = params.empty() ? c.exec(sql) : c.exec(engine.names.lookup(sql), params);
  engine.metrics.observe(started, r.has_value());
  if (!r) return std::unexpected(r.error());
  return copy_rows(*r);
}

class PgTransaction final : public Transaction {
 public:
  PgTransaction(Engine& engine, postgres::Connection& c) : engine_(engine), c_(c) {}

  Result<Rows> exec(std::string_view sql, std::span<const Param> params) override {
    auto r = run(engine_, c_, sql, params);
    if (!r) {
      conflict_ = conflict_ || is_conflict(r.error());
      broken_ = broken_ || r.error().code == ErrorCode::kUnavailable;
    }
    return r;
  }
  using Transaction::exec;

  // The body failed because of another transaction: running it again may succeed.
  bool conflict() const { return conflict_; }
  bool broken() const { return broken_; }

 private:
  Engine& engine_;
  postgres::Connection& c_;
  bool conflict_ = false;
  bool broken_ = false;
};

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::unique_ptr<postgres::Pool> pool, prometheus::Registry* metrics)
      : pool_(std::move(pool)), engine_{{}, SqlMetrics(metrics, "postgres")} {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<void> transaction(const std::function<Result<void>(Transaction&)>& body) override {
    for (int attempt = 0;; ++attempt) {
      bool retry = false;
      auto r = attempt_transaction(body, retry);
      if (r || !retry || attempt == kMaxRetries) return r;
      log::debug("postgres transaction retried",
                 {{"attempt", attempt + 1}, {"error", r.error().message}});
    }
  }

  Result<Rows> exec(std::string_view sql, std::span<const Param> params) override {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_->acquire();
      if (!lease) return std::unexpected(lease.error());
      auto r = run(engine_, **lease, sql, params);
      if (r) return r;
      if (r.error().code == ErrorCode::kUnavailable) lease->discard();
      // A conflicting single statement was rolled back whole, so running it again is safe.
      if (!is_conflict(r.error()) || attempt == kMaxRetries) return r;
    }
  }
  using Database::exec;

 private:
  // One BEGIN..COMMIT; sets `retry` when running it again may succeed.
  Result<void> attempt_transaction(const std::function<Result<void>(Transaction&)>& body,
                                   bool& retry) {
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    if (auto r = (*lease)->exec("BEGIN"); !r) {
      // An idle connection the server closed fails here, before anything ran: use another.
      lease->discard();
      retry = r.error().code == ErrorCode::kUnavailable;
      return std::unexpected(r.error());
    }
    PgTransaction tx(engine_, **lease);
    auto outcome = body(tx);
    if (!outcome) {
      if (tx.broken() || !(*lease)->exec("ROLLBACK")) lease->discard();
      retry = tx.conflict();
      return outcome;
    }
    if (auto r = (*lease)->exec("COMMIT"); !r) {
      if (r.error().code == ErrorCode::kUnavailable) lease->discard();
      retry = is_conflict(r.error());
      return std::unexpected(r.error());
    }
    return {};
  }

  std::unique_ptr<postgres::Pool> pool_;
  Engine engine_;
};

}  // namespace

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options,
                                                prometheus::Registry* metrics) {
  postgres::Config config;
  config.url = options.url;
  config.schema = options.schema;
  config.pool_size = options.pool_size;
  auto pool = postgres::Pool::create(config, metrics);
  if (!pool) return std::unexpected(pool.error());
  return std::make_unique<PostgresDatabase>(std::move(*pool), metrics);
}

}  // namespace switchyard::sql
