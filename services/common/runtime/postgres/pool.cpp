// libpq connections and the blocking pool.
#include "common/runtime/postgres/pool.h"

#include <libpq-fe.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "common/runtime/core/log.h"

namespace switchyard::postgres {

Rows::Rows(void* pg_result)
    : result_(pg_result, [](void* r) { PQclear(static_cast<PGresult*>(r)); }) {}

int Rows::size() const { return result_ ? PQntuples(static_cast<PGresult*>(result_.get())) : 0; }
int Rows::columns() const { return result_ ? PQnfields(static_cast<PGresult*>(result_.get())) : 0; }
bool Rows::is_null(int row, int col) const {
  return PQgetisnull(static_cast<PGresult*>(result_.get()), row, col) != 0;
}
std::string_view Rows::text(int row, int col) const {
  auto* r = static_cast<PGresult*>(result_.get());
  return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
}
std::int64_t Rows::int64(int row, int col) const {
  const std::string_view t = text(row, col);
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}
std::int64_t Rows::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(static_cast<PGresult*>(result_.get()));
  std::int64_t v = 0;
  std::from_chars(n, n + std::strlen(n), v);
  return v;
}

namespace {

// Serializes CREATE SCHEMA among processes ("SWYS"); migrations take their own key.
constexpr const char* kSchemaLockKey = "1398233427";

struct PoolMetrics {
  prometheus::Histogram* latency = nullptr;
  prometheus::Counter* errors = nullptr;
  explicit PoolMetrics(prometheus::Registry* registry) {
    if (registry == nullptr) return;
    latency =
        &prometheus::BuildHistogram()
             .Name("switchyard_postgres_query_seconds")
             .Help("Time of one PostgreSQL statement")
             .Register(*registry)
             .Add({}, prometheus::Histogram::BucketBoundaries{0.0002, 0.0005, 0.001, 0.002, 0.005,
                                                              0.01, 0.025, 0.05, 0.1, 0.25, 1, 5});
    errors = &prometheus::BuildCounter()
                  .Name("switchyard_postgres_errors_total")
                  .Help("Failed PostgreSQL statements")
                  .Register(*registry)
                  .Add({});
  }
};

ErrorCode classify(PGresult* result, PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return ErrorCode::kUnavailable;
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (!state) return ErrorCode::kInternal;
  const std::string_view s(state);
  if (s == "23505") return ErrorCode::kAlreadyExists;              // unique_violation
  if (s.starts_with("23")) return ErrorCode::kFailedPrecondition;  // integrity
  if (s.starts_with("22")) return ErrorCode::kInvalidArgument;     // data exception
  if (s == "40001" || s == "40P01") return ErrorCode::kAborted;    // serialization, deadlock
  if (s == "57014") return ErrorCode::kDeadlineExceeded;           // query_canceled (timeout)
  if (s.starts_with("08") || s.starts_with("57")) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, PoolMetrics* metrics) : conn_(conn, &PQfinish), metrics_(metrics) {}

  bool healthy() const { return PQstatus(conn_.get()) == CONNECTION_OK; }

  Result<Rows> exec(std::string_view sql) override {
    const std::string text(sql);
    const auto started = std::chrono::steady_clock::now();
    return finish(PQexec(conn_.get(), text.c_str()), "exec", started);
  }

  Result<Rows> exec(const Statement& statement, std::span<const Param> params) override {
    if (!prepared_.contains(statement.name)) {
      PGresult* r = PQprepare(conn_.get(), statement.name.c_str(), statement.sql.c_str(),
                              static_cast<int>(params.size()), nullptr);
      auto prepared = finish(r, "prepare " + statement.name, std::chrono::steady_clock::now());
      if (!prepared) return prepared;
      prepared_.insert(statement.name);
    }
    const auto started = std::chrono::steady_clock::now();
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      values[i] = params[i] ? params[i]->c_str() : nullptr;
    }
    return finish(
        PQexecPrepared(conn_.get(), statement.name.c_str(), static_cast<int>(params.size()),
                       values.data(), nullptr, nullptr, 0),
        statement.name, started);
  }

 private:
  Result<Rows> finish(PGresult* result, const std::string& what,
                      std::chrono::steady_clock::time_point started) {
    if (metrics_ && metrics_->latency) {
      metrics_->latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      return Rows(result);
    }
    const ErrorCode code = classify(result, conn_.get());
    std::string message = "postgres " + what + ": " +
                          (result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
    while (!message.empty() && message.back() == '\n') message.pop_back();
    if (result) PQclear(result);
    if (metrics_ && metrics_->errors) metrics_->errors->Increment();
    return make_error(code, std::move(message));
  }

  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
  PoolMetrics* metrics_;
  std::unordered_set<std::string> prepared_;
};

class BlockingPool final : public Pool {
 public:
  BlockingPool(const Config& config, prometheus::Registry* registry)
      : config_(config), metrics_(registry) {}

  Result<std::unique_ptr<PgConnection>> open() {
    PGconn* raw = PQconnectdb(config_.url.c_str());
    auto conn = std::make_unique<PgConnection>(raw, &metrics_);
    if (PQstatus(raw) != CONNECTION_OK) {
      std::string message = std::string("postgres connect: ") + PQerrorMessage(raw);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return make_error(ErrorCode::kUnavailable, std::move(message));
    }
    std::string setup =
        "SET statement_timeout = " + std::to_string(config_.statement_timeout.count()) + ";";
    if (!config_.schema.empty()) {
      const std::string quoted = "\"" + config_.schema + "\"";
      // Concurrent CREATE SCHEMA IF NOT EXISTS races on the catalog (the loser gets a unique
      // violation), so processes opening connections together take turns: the statements of one
      // query string are one implicit transaction, which holds the advisory lock to its end.
      setup += std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey +
               "); CREATE SCHEMA IF NOT EXISTS " + quoted + "; SET search_path TO " + quoted + ";";
    }
    auto r = conn->exec(setup);
    if (!r) return std::unexpected(r.error());
    return conn;
  }

  Result<Lease> acquire() override {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + config_.acquire_timeout;
    for (;;) {
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(conn));
      }
      if (open_count_ < config_.pool_size) {
        ++open_count_;
        lock.unlock();
        auto conn = open();
        if (!conn) {
          std::lock_guard relock(mutex_);
          --open_count_;
          return std::unexpected(conn.error());
        }
        return Lease(this, std::move(*conn));
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return make_error(ErrorCode::kResourceExhausted,
                          "postgres pool: no connection free within " +
                              std::to_string(config_.acquire_timeout.count()) + " ms");
      }
    }
  }

 protected:
  void release(std::unique_ptr<Connection> connection, bool discard) override {
    auto* pg = static_cast<PgConnection*>(connection.get());
    std::lock_guard lock(mutex_);
    if (discard || !pg->healthy()) {
      --open_count_;
    } else {
      idle_.push_back(std::move(connection));
    }
    cv_.notify_one();
  }

 private:
  Config config_;
  PoolMetrics metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_count_ = 0;
};

}  // namespace

Lease::Lease(Pool* pool, std::unique_ptr<Connection> connection)
    : pool_(pool), connection_(std::move(connection)) {}

Lease::~Lease() {
  if (pool_ && connection_) pool_->release(std::move(connection_), discard_);
}

Result<std::unique_ptr<Pool>> Pool::create(const Config& config, prometheus::Registry* metrics) {
  auto pool = std::make_unique<BlockingPool>(config, metrics);
  {
    auto lease = pool->acquire();
    if (!lease) return std::unexpected(lease.error());
  }
  return std::unique_ptr<Pool>(std::move(pool));
}

}  // namespace switchyard::postgres
