// A sqlite3 connection and its prepared statements as RAII values, for the event log's positions
// (internal to the bus library; services never include sqlite3).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace switchyard::bus::sqlite {

// One prepared statement. Bound text and blobs are not copied: they must live until the
// statement has run (run() / for_each() reset it and clear its bindings at the end).
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt);

  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view value);
  Statement& bind_int64(int index, std::int64_t value);

  // Steps to the end, discarding rows.
  Result<void> run();
  // Steps to the end, calling `row` for each row; the columns are valid during the call.
  Result<void> for_each(const std::function<void(const Statement&)>& row);

  std::int64_t column_int64(int col) const;
  // Text or blob bytes of a column, valid until the next step.
  std::string_view column_bytes(int col) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* stmt) const;
  };
  Result<void> finish(int rc);
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

enum class Sync { kNormal, kFull };

class File {
 public:
  // Opens (creating) `path` in WAL mode with a busy timeout. kFull fsyncs every commit.
  static Result<File> open(const std::string& path, Sync sync);

  // Statements without parameters or rows (DDL, BEGIN, COMMIT).
  Result<void> exec(const char* sql);
  Result<Statement> prepare(std::string_view sql);
  // ROLLBACK when a transaction is open; errors are moot here.
  void rollback();
  // The rowid the last successful INSERT on this connection gave its row.
  std::int64_t last_insert_rowid() const;

 private:
  struct Close {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, Close> db_;
};

}  // namespace switchyard::bus::sqlite
