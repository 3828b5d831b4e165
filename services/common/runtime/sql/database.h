// The system of record as services see it: PostgreSQL in distributed mode, SQLite in standalone
// mode, behind one interface. Statements use $1, $2, ... placeholders and SQL both engines
// understand (ON CONFLICT DO NOTHING / DO UPDATE, RETURNING, BIGINT, TEXT); parameters and
// values travel as text. libpq and sqlite3 stay in the .cpp files.
#pragma once

#include <cstdint>
#include <functional>
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

namespace switchyard::sql {

using Param = std::optional<std::string>;  // nullopt is SQL NULL

// A result, copied out of the engine: rows of nullable text cells.
class Rows {
 public:
  Rows() = default;
  Rows(std::vector<std::string> columns, std::vector<std::vector<Param>> cells,
       std::int64_t affected)
      : columns_(std::move(columns)), cells_(std::move(cells)), affected_(affected) {}

  int size() const { return static_cast<int>(cells_.size()); }
  bool empty() const { return cells_.empty(); }
  bool is_null(int row, int col) const { return !cells_[row][col].has_value(); }
  // "" for NULL.
  const std::string& text(int row, int col) const;
  // 0 for NULL or a non-number.
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;  // "t", "true", "1"
  // Rows changed by INSERT / UPDATE / DELETE (for a SELECT, like PostgreSQL's command tag: the
  // rows returned; DDL: 0).
  std::int64_t affected() const { return affected_; }
  // Column names. PostgreSQL: one empty name per column (postgres::Rows does not expose names).
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Param>> cells_;
  std::int64_t affected_ = 0;
};

// Statements inside one transaction.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Result<Rows> exec(std::string_view sql, std::span<const Param> params) = 0;
  Result<Rows> exec(std::string_view sql, std::initializer_list<Param> params = {}) {
    return exec(sql, std::span<const Param>(params.begin(), params.size()));
  }
};

enum class Dialect { kPostgres, kSqlite };

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  // Runs `body` in a transaction: COMMIT when it succeeds, ROLLBACK when it returns an error.
  // A serialization failure or deadlock is retried (up to 3 times). UNAVAILABLE when the
  // database cannot be reached. `body` may run more than once; it must use only `tx` (SQLite
  // holds its one connection for the whole body, so calling this Database from it deadlocks).
  virtual Result<void> transaction(const std::function<Result<void>(Transaction&)>& body) = 0;

  // One statement in its own transaction. Statements with parameters are prepared once per
  // connection, keyed by their text; a text without parameters may hold several statements
  // separated by ';' (the rows of the last are returned).
  virtual Result<Rows> exec(std::string_view sql, std::span<const Param> params) = 0;
  Result<Rows> exec(std::string_view sql, std::initializer_list<Param> params = {}) {
    return exec(sql, std::span<const Param>(params.begin(), params.size()));
  }
};

struct PostgresOptions {
  std::string url = "postgresql://switchyard@127.0.0.1:5432/switchyard";
  std::string schema;  // when set: created if missing and used as search_path
  int pool_size = 4;
};
Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options,
                                                prometheus::Registry* metrics);

// WAL mode, busy timeout, foreign keys on. The file is created if missing.
Result<std::unique_ptr<Database>> open_sqlite(const std::string& path,
                                              prometheus::Registry* metrics);

// Versioned schema migrations for either engine: each applies once, in order, in its own
// transaction; a version recorded under another name is an error. `sqlite` empty: `postgres`
// is used for both.
struct Migration {
  int version;
  std::string name;
  std::string postgres;
  std::string sqlite;
};
// Returns how many were applied.
// `scope` names the history table ("<scope>_schema_migrations"; empty: "schema_migrations"), so
// several services can keep their own version sequences in one database.
Result<int> migrate(Database& db, std::span<const Migration> migrations,
                    std::string_view scope = "");

}  // namespace switchyard::sql
