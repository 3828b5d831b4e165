// sql::Database on one sqlite3 connection guarded by a mutex: WAL, cached prepared statements,
// $1..$N bound by name, BEGIN IMMEDIATE transactions retried while the file is busy.
#include <sqlite3.h>

#include <charconv>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/runtime/core/log.h"
#include "common/runtime/sql/database.h"
#include "common/runtime/sql/metrics.h"
#include "common/runtime/sql/sqlite_config.h"

namespace switchyard::sql {
namespace {

constexpr int kMaxRetries = 3;
constexpr int kBusyTimeoutMs = 5000;
// Services use a fixed set of statements; past this many texts the cache starts over, so SQL
// built on the fly cannot grow it without bound.
constexpr size_t kMaxCachedStatements = 512;

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

struct ConnectionDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using ConnectionPtr = std::unique_ptr<sqlite3, ConnectionDeleter>;

ErrorCode classify(int extended) {
  switch (extended & 0xff) {
    case SQLITE_CONSTRAINT:
      return extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY
                 ? ErrorCode::kAlreadyExists
                 : ErrorCode::kFailedPrecondition;
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return ErrorCode::kInvalidArgument;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
      return ErrorCode::kResourceExhausted;
    case SQLITE_INTERRUPT:
      return ErrorCode::kDeadlineExceeded;
    default:
      return ErrorCode::kInternal;
  }
}

bool is_busy(int extended) {
  return (extended & 0xff) == SQLITE_BUSY || (extended & 0xff) == SQLITE_LOCKED;
}

std::unexpected<Error> engine_error(sqlite3* db, int extended) {
  return make_error(classify(extended), std::string("sqlite: ") + sqlite3_errmsg(db));
}

bool blank(const char* begin, const char* end) {
  for (; begin != end; ++begin) {
    if (*begin != ' ' && *begin != '\n' && *begin != '\t' && *begin != '\r' && *begin != ';') {
      return false;
    }
  }
  return true;
}

// The number N of each placeholder "$N" of the statement, by index (from 1: numbers[index - 1]);
// 0 for any other placeholder. sqlite3_bind_parameter_name() walks a list of all the names, so
// asking it at every run cost a statement of n placeholders O(n^2): asked once, at prepare.
std::vector<std::size_t> placeholder_numbers(sqlite3_stmt* stmt) {
  const int count = sqlite3_bind_parameter_count(stmt);
  std::vector<std::size_t> numbers(static_cast<std::size_t>(count), 0);
  for (int index = 1; index <= count; ++index) {
    const char* name = sqlite3_bind_parameter_name(stmt, index);
    const std::string_view text = name != nullptr ? std::string_view(name) : "?";
    std::size_t n = 0;
    const auto parsed = std::from_chars(text.data() + 1, text.data() + text.size(), n);
    if (text.starts_with('$') && parsed.ec == std::errc{} &&
        parsed.ptr == text.data() + text.size()) {
      numbers[static_cast<std::size_t>(index - 1)] = n;
    }
  }
  return numbers;
}

// Binds params[N - 1] to "$N" wherever the statement names it. Any other placeholder, or $N past
// the parameters given, is refused as PostgreSQL would.
Result<void> bind_params(sqlite3* db, sqlite3_stmt* stmt, std::span<const std::size_t> numbers,
                         std::span<const Param> params) {
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    const std::size_t n = numbers[i];
    if (n < 1 || n > params.size()) {
      const char* name = sqlite3_bind_parameter_name(stmt, index);
      return make_error(ErrorCode::kInvalidArgument,
                        "sqlite: placeholder " + std::string(name != nullptr ? name : "?") +
                            " has no parameter (" + std::to_string(params.size()) + " given)");
    }
    const Param& p = params[n - 1];
    // SQLITE_STATIC: the parameters outlive the statement's run (bindings are cleared after).
    const int rc =
        p ? sqlite3_bind_text(stmt, index, p->data(), static_cast<int>(p->size()), SQLITE_STATIC)
          : sqlite3_bind_null(stmt, index);
    if (rc != SQLITE_OK) return engine_error(db, sqlite3_extended_errcode(db));
  }
  return {};
}

std::vector<std::string> column_names(sqlite3_stmt* stmt) {
  const int columns = sqlite3_column_count(stmt);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(columns));
  for (int col = 0; col < columns; ++col) {
    names.emplace_back(sqlite3_column_name(stmt, col));
  }
  return names;
}

std::vector<Param> read_row(sqlite3_stmt* stmt) {
  std::vector<Param> row;
  const int columns = sqlite3_column_count(stmt);
  row.reserve(static_cast<size_t>(columns));
  for (int col = 0; col < columns; ++col) {
    const int type = sqlite3_column_type(stmt, col);
    if (type == SQLITE_NULL) {
      row.emplace_back(std::nullopt);
      continue;
    }
    const void* data =
        type == SQLITE_BLOB ? sqlite3_column_blob(stmt, col) : sqlite3_column_text(stmt, col);
    const int size = sqlite3_column_bytes(stmt, col);
    row.emplace_back(std::string(static_cast<const char*>(data), static_cast<size_t>(size)));
  }
  return row;
}

// Steps a bound statement to the end and copies its rows out; the statement is reset after.
// `busy` tells whether it failed for want of the file lock.
Result<Rows> step_all(sqlite3* db, sqlite3_stmt* stmt, bool& busy) {
  std::vector<std::vector<Param>> cells;
  const auto changes_before = sqlite3_total_changes64(db);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) cells.push_back(read_row(stmt));
  // sqlite3_reset repeats the error of the failed step, so take the code first.
  const int extended = sqlite3_extended_errcode(db);
  busy = rc != SQLITE_DONE && is_busy(extended);
  auto error = rc == SQLITE_DONE ? Result<void>{} : Result<void>(engine_error(db, extended));
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (!error) return std::unexpected(error.error());
  // Like PostgreSQL's command tag: rows returned by a query, rows changed by a change; DDL 0.
  std::int64_t affected = static_cast<std::int64_t>(cells.size());
  if (!sqlite3_stmt_readonly(stmt)) {
    affected = sqlite3_total_changes64(db) != changes_before ? sqlite3_changes64(db) : 0;
  }
  return Rows(column_names(stmt), std::move(cells), affected);
}

class SqliteDatabase;

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(SqliteDatabase& db) : db_(db) {}
  Result<Rows> exec(std::string_view sql, std::span<const Param> params) override;
  using Transaction::exec;
  bool busy() const { return busy_; }

 private:
  SqliteDatabase& db_;
  bool busy_ = false;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(ConnectionPtr db, prometheus::Registry* metrics)
      : db_(std::move(db)), metrics_(metrics, "sqlite") {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  // The connection mutex is held for the whole body: the body must use `tx`, never this
  // database, or it deadlocks.
  Result<void> transaction(const std::function<Result<void>(Transaction&)>& body) override {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      bool busy = false;
      auto r = attempt_transaction(body, busy);
      if (r || !busy) return r;
      if (attempt == kMaxRetries) return make_error(ErrorCode::kUnavailable, r.error().message);
      log::debug("sqlite transaction retried", {{"attempt", attempt + 1}});
    }
  }

  Result<Rows> exec(std::string_view sql, std::span<const Param> params) override {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      bool busy = false;
      auto r = run(sql, params, busy);
      if (r || !busy) return r;
      if (attempt == kMaxRetries) return r;
    }
  }
  using Database::exec;

  // Runs one statement (or a script of several, uncached) with the mutex held by the caller.
  Result<Rows> run(std::string_view sql, std::span<const Param> params, bool& busy) {
    const auto started = std::chrono::steady_clock::now();
    auto r = run_unmetered(sql, params);
    metrics_.observe(started, r.has_value());
    busy = !r && busy_;
    return r;
  }

 private:
  Result<void> attempt_transaction(const std::function<Result<void>(Transaction&)>& body,
                                   bool& busy) {
    // IMMEDIATE takes the write lock now, so the body cannot fail half way for want of it.
    if (auto r = run("BEGIN IMMEDIATE", {}, busy); !r) return std::unexpected(r.error());
    SqliteTransaction tx(*this);
    auto outcome = body(tx);
    if (!outcome) {
      rollback();
      busy = tx.busy();
      return outcome;
    }
    if (auto r = run("COMMIT", {}, busy); !r) {
      rollback();
      return std::unexpected(r.error());
    }
    return {};
  }

  void rollback() {
    // Some errors (e.g. SQLITE_FULL) already rolled the transaction back.
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Result<Rows> run_unmetered(std::string_view sql, std::span<const Param> params) {
    busy_ = false;
    auto cached = statements_.find(sql);
    if (cached != statements_.end()) return execute(cached->second, params);
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StatementPtr stmt(raw);
    if (rc != SQLITE_OK) return fail(sqlite3_extended_errcode(db_.get()));
    if (!blank(tail, sql.data() + sql.size())) {
      return run_script(std::move(stmt), tail, sql, params);
    }
    if (stmt == nullptr) return Rows();  // only comments or whitespace
    if (statements_.size() >= kMaxCachedStatements) statements_.clear();
    std::vector<std::size_t> numbers = placeholder_numbers(stmt.get());
    auto& kept =
        statements_.emplace(std::string(sql), Prepared{std::move(stmt), std::move(numbers)})
            .first->second;
    return execute(kept, params);
  }

  // Several statements in one text (a migration): each in turn, the last one's rows returned.
  Result<Rows> run_script(StatementPtr first, const char* tail, std::string_view sql,
                          std::span<const Param> params) {
    auto rows = execute(Prepared{std::move(first), {}}, params);
    const char* end = sql.data() + sql.size();
    while (rows && !blank(tail, end)) {
      sqlite3_stmt* raw = nullptr;
      const char* next = nullptr;
      const int rc = sqlite3_prepare_v2(db_.get(), tail, static_cast<int>(end - tail), &raw, &next);
      StatementPtr stmt(raw);
      if (rc != SQLITE_OK) return fail(sqlite3_extended_errcode(db_.get()));
      tail = next;
      if (stmt) rows = execute(Prepared{std::move(stmt), {}}, params);
    }
    return rows;
  }

  // A prepared statement and its placeholders' numbers (placeholder_numbers()).
  struct Prepared {
    StatementPtr stmt;
    std::vector<std::size_t> numbers;
  };

  // A statement of a script is run once: its placeholders are read here.
  Result<Rows> execute(Prepared&& once, std::span<const Param> params) {
    once.numbers = placeholder_numbers(once.stmt.get());
    return execute(once, params);
  }

  Result<Rows> execute(Prepared& prepared, std::span<const Param> params) {
    sqlite3_stmt* stmt = prepared.stmt.get();
    if (auto b = bind_params(db_.get(), stmt, prepared.numbers, params); !b) {
      sqlite3_clear_bindings(stmt);
      return std::unexpected(b.error());
    }
    return step_all(db_.get(), stmt, busy_);
  }

  std::unexpected<Error> fail(int extended) {
    busy_ = is_busy(extended);
    return engine_error(db_.get(), extended);
  }

  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  std::mutex mutex_;
  ConnectionPtr db_;
  // Declared after db_ so the statements are finalized before the connection closes.
  std::unordered_map<std::string, Prepared, Hash, std::equal_to<>> statements_;
  SqlMetrics metrics_;
  bool busy_ = false;  // the last failure was SQLITE_BUSY / SQLITE_LOCKED
};

Result<Rows> SqliteTransaction::exec(std::string_view sql, std::span<const Param> params) {
  bool busy = false;
  auto r = db_.run(sql, params, busy);
  busy_ = busy_ || busy;
  return r;
}

Result<void> configure(sqlite3* db) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // NORMAL in WAL mode: a commit survives a crash of the process, an fsync per checkpoint.
  const char* pragmas =
      "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";
  if (sqlite3_exec(db, pragmas, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return engine_error(db, sqlite3_extended_errcode(db));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const std::string& path,
                                              prometheus::Registry* metrics) {
  configure_sqlite_once();
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  ConnectionPtr db(raw);
  if (rc != SQLITE_OK) {
    return make_error(
        ErrorCode::kUnavailable,
        "sqlite open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  if (auto r = configure(db.get()); !r) {
    return make_error(r.error().code, "sqlite open " + path + ": " + r.error().message);
  }
  return std::make_unique<SqliteDatabase>(std::move(db), metrics);
}

}  // namespace switchyard::sql
