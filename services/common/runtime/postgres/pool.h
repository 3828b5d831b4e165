// PostgreSQL on libpq: a small blocking connection pool, prepared statements and parameters
// in text form. libpq stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace prometheus {
class Registry;
}

namespace switchyard::postgres {

struct Config {
  // libpq connection string or URI, e.g. "postgresql://switchyard@127.0.0.1:5432/switchyard".
  std::string url = "postgresql://switchyard@127.0.0.1:5432/switchyard";
  int pool_size = 4;
  // When set, every connection works in this schema (created if missing): one per test, or
  // one per tenant.
  std::string schema;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::milliseconds statement_timeout{10000};
};

// A statement the pool prepares once per connection, on first use.
struct Statement {
  std::string name;
  std::string sql;
};

// A query result; values are text (PostgreSQL's text format).
class Rows {
 public:
  Rows() = default;
  explicit Rows(void* pg_result);
  int size() const;
  int columns() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

 private:
  std::shared_ptr<void> result_;
};

using Param = std::optional<std::string>;  // nullopt is SQL NULL

class Connection {
 public:
  virtual ~Connection() = default;
  // One or more statements without parameters (DDL, BEGIN/COMMIT).
  virtual Result<Rows> exec(std::string_view sql) = 0;
  virtual Result<Rows> exec(const Statement& statement, std::span<const Param> params) = 0;
  Result<Rows> exec(const Statement& statement, std::initializer_list<Param> params) {
    return exec(statement, std::span<const Param>(params.begin(), params.size()));
  }
};

class Pool;

// A borrowed connection; goes back to the pool when destroyed.
class Lease {
 public:
  Lease(Pool* pool, std::unique_ptr<Connection> connection);
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&&) noexcept = default;
  ~Lease();
  Connection* operator->() { return connection_.get(); }
  Connection& operator*() { return *connection_; }
  // A connection that saw a connection-level error is dropped instead of returned.
  void discard() { discard_ = true; }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> connection_;
  bool discard_ = false;
};

class Pool {
 public:
  // Opens one connection to check the configuration; others open on demand.
  static Result<std::unique_ptr<Pool>> create(const Config& config, prometheus::Registry* metrics);
  virtual ~Pool() = default;
  // Waits up to acquire_timeout for a free connection; UNAVAILABLE if the server is down.
  virtual Result<Lease> acquire() = 0;

 protected:
  friend class Lease;
  virtual void release(std::unique_ptr<Connection> connection, bool discard) = 0;
};

// Runs `body` inside BEGIN/COMMIT on one connection; ROLLBACK if it returns an error.
template <typename F>
auto in_transaction(Connection& connection, F&& body) -> decltype(body(connection)) {
  if (auto r = connection.exec("BEGIN"); !r) return std::unexpected(r.error());
  auto result = body(connection);
  if (!result) {
    (void)connection.exec("ROLLBACK");
    return result;
  }
  if (auto r = connection.exec("COMMIT"); !r) return std::unexpected(r.error());
  return result;
}

}  // namespace switchyard::postgres
