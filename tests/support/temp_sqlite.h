// A SQLite database of one test: a file in the temp directory named after the test and the
// process, migrated; removed (with its -wal and -shm) when the test ends. Header-only: the
// tests that use it link the SQL runtime already.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/runtime/sql/database.h"

namespace switchyard::testing {

class TempSqlite {
 public:
  // Check ok() with ASSERT_TRUE before using db().
  explicit TempSqlite(const std::string& prefix, std::span<const sql::Migration> migrations = {})
      : path_((std::filesystem::temp_directory_path() /
               (prefix + "_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                  .string()) {
    remove_files();  // a leftover of a crashed run
    auto db = sql::open_sqlite(path_, nullptr);
    if (!db) {
      error_ = db.error().message;
      return;
    }
    if (auto migrated = sql::migrate(**db, migrations); !migrated) {
      error_ = migrated.error().message;
      return;
    }
    db_ = std::move(*db);
  }
  ~TempSqlite() {
    db_.reset();
    remove_files();
  }
  TempSqlite(const TempSqlite&) = delete;
  TempSqlite& operator=(const TempSqlite&) = delete;

  ::testing::AssertionResult ok() const {
    if (db_ != nullptr) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << path_ << ": " << error_;
  }
  sql::Database& db() { return *db_; }
  const std::string& path() const { return path_; }

 private:
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  std::string path_;
  std::string error_;
  std::unique_ptr<sql::Database> db_;
};

}  // namespace switchyard::testing
