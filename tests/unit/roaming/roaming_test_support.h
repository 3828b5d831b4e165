// What the roaming unit tests share: an OcpiClient whose every call is unimplemented (fakes
// override the calls they answer), and a roaming database on a temporary SQLite file.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/runtime/sql/database.h"
#include "roaming/ocpi_client.h"
#include "roaming/schema.h"

namespace switchyard::roaming::testing {

class UnimplementedOcpiClient : public OcpiClient {
 public:
  Result<std::vector<VersionInfo>> versions(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "versions");
  }
  Result<VersionDetails> version_details(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "version details");
  }
  Result<Credentials> post_credentials(const std::string&, const std::string&,
                                       const Credentials&) override {
    return make_error(ErrorCode::kUnimplemented, "POST credentials");
  }
  Result<Credentials> put_credentials(const std::string&, const std::string&,
                                      const Credentials&) override {
    return make_error(ErrorCode::kUnimplemented, "PUT credentials");
  }
  Result<void> delete_credentials(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "DELETE credentials");
  }
  Result<void> push(const std::string&, const std::string&, const std::string&, const std::string&,
                    std::string, const Party&) override {
    return make_error(ErrorCode::kUnimplemented, "push");
  }
  Result<std::string> request(const std::string&, const std::string&, const std::string&,
                              const std::string&, std::string, const Party&) override {
    return make_error(ErrorCode::kUnimplemented, "request");
  }
};

// The roaming migrations on a SQLite file named after the running test, removed afterwards.
class RoamingDb {
 public:
  RoamingDb() {
    path_ = std::filesystem::temp_directory_path() /
            ("roaming-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    remove_files();
    auto db = sql::open_sqlite(path_.string(), nullptr);
    EXPECT_TRUE(db) << db.error().message;
    if (!db) return;
    db_ = std::move(*db);
    auto m = sql::migrate(*db_, migrations(), "roaming");
    EXPECT_TRUE(m) << m.error().message;
  }
  ~RoamingDb() {
    db_.reset();
    remove_files();
  }
  RoamingDb(const RoamingDb&) = delete;
  RoamingDb& operator=(const RoamingDb&) = delete;
  sql::Database& operator*() { return *db_; }

 private:
  void remove_files() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }
  std::filesystem::path path_;
  std::unique_ptr<sql::Database> db_;
};

}  // namespace switchyard::roaming::testing
