// RAII sqlite3 connections and statements for the SQLite event log.
#include "common/runtime/bus/sqlite_file.h"

#include <sqlite3.h>

#include "common/runtime/sql/sqlite_config.h"

namespace switchyard::bus::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

std::unexpected<Error> failure(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db) & 0xff;
  // Lock contention past the busy timeout and I/O trouble may pass; anything else is a bug.
  const bool transient = code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_IOERR ||
                         code == SQLITE_CANTOPEN || code == SQLITE_FULL;
  return make_error(transient ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                    "sqlite event log " + std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace

void Statement::Finalize::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

Statement::Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}

Statement& Statement::bind_text(int index, std::string_view value) {
  sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view value) {
  // A zero-length blob, not NULL, for an empty value (data() may be null).
  sqlite3_bind_blob(stmt_.get(), index, value.empty() ? "" : value.data(),
                    static_cast<int>(value.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Result<void> Statement::run() {
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt_.get())) == SQLITE_ROW) {
  }
  return finish(rc);
}

Result<void> Statement::for_each(const std::function<void(const Statement&)>& row) {
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt_.get())) == SQLITE_ROW) row(*this);
  return finish(rc);
}

Result<void> Statement::finish(int rc) {
  // The error message must be read before reset.
  Result<void> outcome;
  if (rc != SQLITE_DONE)
    outcome = failure(sqlite3_db_handle(stmt_.get()), sqlite3_sql(stmt_.get()));
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  return outcome;
}

std::int64_t Statement::column_int64(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}

std::string_view Statement::column_bytes(int col) const {
  const void* data = sqlite3_column_blob(stmt_.get(), col);
  const int size = sqlite3_column_bytes(stmt_.get(), col);
  if (data == nullptr) return {};
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

void File::Close::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<File> File::open(const std::string& path, Sync sync) {
  sql::configure_sqlite_once();
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  File file;
  file.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return make_error(
        ErrorCode::kUnavailable,
        "sqlite event log open " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  const char* pragmas = sync == Sync::kFull ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  if (auto r = file.exec(pragmas); !r) return std::unexpected(r.error());
  return file;
}

Result<void> File::exec(const char* sql) {
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure(db_.get(), sql);
  }
  return {};
}

Result<Statement> File::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    return failure(db_.get(), "prepare");
  }
  return Statement(raw);
}

void File::rollback() {
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

std::int64_t File::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }

}  // namespace switchyard::bus::sqlite
