// sql::Database against both engines: the same cases on a real PostgreSQL (own schema per test)
// and on a SQLite file (own temp file per test).
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/runtime/sql/database.h"
#include "support/environment.h"

namespace switchyard::sql {
namespace {

const Migration kMigrations[] = {
    {1, "create chargers",
     "CREATE TABLE chargers (id text PRIMARY KEY, vendor text, energy_wh bigint NOT NULL DEFAULT "
     "0)",
     ""},
    {2, "add firmware", "ALTER TABLE chargers ADD COLUMN firmware text", ""},
};

class SqlTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == Dialect::kPostgres) {
      url_ = testing::postgres_url();
      SWITCHYARD_REQUIRE(url_, "PostgreSQL");
      schema_ = testing::unique_name("sql");
    } else {
      path_ =
          (std::filesystem::temp_directory_path() / (testing::unique_name("sql") + ".db")).string();
    }
    db_ = open();
    ASSERT_NE(db_, nullptr);
  }

  void TearDown() override {
    if (GetParam() == Dialect::kPostgres && db_) {
      (void)db_->exec("DROP SCHEMA IF EXISTS \"" + schema_ + "\" CASCADE");
    }
    db_.reset();
    if (!path_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
    }
  }

  std::unique_ptr<Database> open(prometheus::Registry* metrics = nullptr, int pool_size = 4) {
    auto db = GetParam() == Dialect::kPostgres
                  ? open_postgres(PostgresOptions{*url_, schema_, pool_size}, metrics)
                  : open_sqlite(path_, metrics);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  void migrated() { ASSERT_TRUE(migrate(*db_, kMigrations)); }

  std::int64_t count(const std::string& table) {
    auto r = db_->exec("SELECT count(*) FROM " + table);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->int64(0, 0) : -1;
  }

  prometheus::Registry registry_;  // outlives db_, which holds its metrics
  std::optional<std::string> url_;
  std::string schema_;
  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_P(SqlTest, MigrationsApplyOnceAndAreIdempotent) {
  auto first = migrate(*db_, kMigrations);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 2);
  auto second = migrate(*db_, kMigrations);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, 0);
  auto versions = db_->exec("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2);
  EXPECT_EQ(versions->int64(1, 0), 2);
  EXPECT_EQ(versions->text(1, 1), "add firmware");
  EXPECT_TRUE(db_->exec("SELECT firmware FROM chargers"));  // migration 2 really ran
}

TEST_P(SqlTest, EngineSpecificMigrationTextIsUsed) {
  const Migration migrations[] = {{1, "dialect", "CREATE TABLE made_by_postgres (x bigint)",
                                   "CREATE TABLE made_by_sqlite (x)"}};
  ASSERT_TRUE(migrate(*db_, migrations));
  const bool pg = GetParam() == Dialect::kPostgres;
  EXPECT_EQ(db_->exec("SELECT x FROM made_by_postgres").has_value(), pg);
  EXPECT_EQ(db_->exec("SELECT x FROM made_by_sqlite").has_value(), !pg);
}

TEST_P(SqlTest, ConcurrentMigratorsApplyEachMigrationExactlyOnce) {
  std::vector<std::unique_ptr<Database>> migrators;
  for (int i = 0; i < 4; ++i) migrators.push_back(open(nullptr, 1));
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (auto& db : migrators) {
    threads.emplace_back([&, d = db.get()] {
      auto r = migrate(*d, kMigrations);
      if (!r) return void(failures++);
      applied += *r;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), 2);
  EXPECT_EQ(count("schema_migrations"), 2);
}

TEST_P(SqlTest, EditedMigrationHistoryIsRefused) {
  migrated();
  const Migration edited[] = {{1, "something else", "SELECT 1", ""}};
  auto r = migrate(*db_, edited);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("create chargers"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("something else"), std::string::npos) << r.error().message;
}

TEST_P(SqlTest, FailedMigrationRollsBackAndNamesItself) {
  const Migration broken[] = {{1, "create t", "CREATE TABLE t (x int)", ""},
                              {2, "broken", "CREATE TABLE u (x int); SELECT * FROM nope", ""}};
  auto r = migrate(*db_, broken);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("migration 2 (broken)"), std::string::npos) << r.error().message;
  EXPECT_FALSE(db_->exec("SELECT * FROM u"));  // the first statement of 2 was rolled back
  EXPECT_EQ(count("schema_migrations"), 1);
}

TEST_P(SqlTest, ParametersCarryNullsAndQuotes) {
  migrated();
  const char* insert = "INSERT INTO chargers (id, vendor) VALUES ($1, $2)";
  auto r = db_->exec(insert, {"CP1", "ABB"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->affected(), 1);
  ASSERT_TRUE(db_->exec(insert, {"CP2", std::nullopt}));
  ASSERT_TRUE(db_->exec(insert, {"x'); DROP TABLE chargers; --", "it's \"quoted\""}));
  auto row = db_->exec("SELECT id, vendor FROM chargers WHERE id = $1", {"CP2"});
  ASSERT_TRUE(row) << row.error().message;
  ASSERT_EQ(row->size(), 1);
  EXPECT_EQ(row->text(0, 0), "CP2");
  EXPECT_TRUE(row->is_null(0, 1));
  EXPECT_EQ(row->text(0, 1), "");
  auto quoted =
      db_->exec("SELECT vendor FROM chargers WHERE id = $1", {"x'); DROP TABLE chargers; --"});
  ASSERT_TRUE(quoted);
  ASSERT_EQ(quoted->size(), 1);
  EXPECT_EQ(quoted->text(0, 0), "it's \"quoted\"");
  EXPECT_EQ(count("chargers"), 3);
  // One parameter used twice.
  auto twice = db_->exec("SELECT count(*) FROM chargers WHERE id = $1 OR vendor = $1", {"ABB"});
  ASSERT_TRUE(twice) << twice.error().message;
  EXPECT_EQ(twice->int64(0, 0), 1);
}

TEST_P(SqlTest, OnConflictDoNothingAndDoUpdate) {
  migrated();
  ASSERT_TRUE(db_->exec("INSERT INTO chargers (id, vendor) VALUES ($1, $2)", {"CP1", "ABB"}));
  auto nothing =
      db_->exec("INSERT INTO chargers (id, vendor) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                {"CP1", "Alfen"});
  ASSERT_TRUE(nothing) << nothing.error().message;
  EXPECT_EQ(nothing->affected(), 0);
  auto update = db_->exec(
      "INSERT INTO chargers (id, vendor) VALUES ($1, $2) "
      "ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor",
      {"CP1", "Alfen"});
  ASSERT_TRUE(update) << update.error().message;
  EXPECT_EQ(update->affected(), 1);
  auto vendor = db_->exec("SELECT vendor FROM chargers WHERE id = $1", {"CP1"});
  ASSERT_TRUE(vendor);
  EXPECT_EQ(vendor->text(0, 0), "Alfen");
}

TEST_P(SqlTest, ReturningGivesTheRowsWritten) {
  migrated();
  auto inserted = db_->exec(
      "INSERT INTO chargers (id, energy_wh) VALUES ($1, CAST($2 AS BIGINT)) RETURNING id, "
      "energy_wh",
      {"CP1", "1500"});
  ASSERT_TRUE(inserted) << inserted.error().message;
  ASSERT_EQ(inserted->size(), 1);
  EXPECT_EQ(inserted->text(0, 0), "CP1");
  EXPECT_EQ(inserted->int64(0, 1), 1500);
  auto updated = db_->exec(
      "UPDATE chargers SET energy_wh = energy_wh + CAST($2 AS BIGINT) WHERE id = $1 "
      "RETURNING energy_wh",
      {"CP1", "250"});
  ASSERT_TRUE(updated) << updated.error().message;
  ASSERT_EQ(updated->size(), 1);
  EXPECT_EQ(updated->int64(0, 0), 1750);
  EXPECT_EQ(updated->affected(), 1);
}

TEST_P(SqlTest, BooleansReadTheSameOnBothEngines) {
  auto r = db_->exec("SELECT 1 = 1, 1 = 2");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->boolean(0, 0));
  EXPECT_FALSE(r->boolean(0, 1));
}

TEST_P(SqlTest, UniqueViolationIsAlreadyExists) {
  migrated();
  ASSERT_TRUE(db_->exec("INSERT INTO chargers (id) VALUES ($1)", {"CP1"}));
  auto dup = db_->exec("INSERT INTO chargers (id) VALUES ($1)", {"CP1"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists) << dup.error().message;
  auto null_id = db_->exec("INSERT INTO chargers (id, energy_wh) VALUES ($1, NULL)", {"CP2"});
  ASSERT_FALSE(null_id);
  EXPECT_EQ(null_id.error().code, ErrorCode::kFailedPrecondition) << null_id.error().message;
}

TEST_P(SqlTest, TransactionRollsBackWhenTheBodyFails) {
  migrated();
  auto r = db_->transaction([](Transaction& tx) -> Result<void> {
    if (auto i = tx.exec("INSERT INTO chargers (id) VALUES ($1)", {"CP1"}); !i) {
      return std::unexpected(i.error());
    }
    return make_error(ErrorCode::kFailedPrecondition, "changed my mind");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "changed my mind");
  EXPECT_EQ(count("chargers"), 0);
}

TEST_P(SqlTest, TransactionRollsBackWhenAStatementFails) {
  migrated();
  ASSERT_TRUE(db_->exec("INSERT INTO chargers (id) VALUES ($1)", {"CP1"}));
  auto r = db_->transaction([](Transaction& tx) -> Result<void> {
    for (const char* id : {"CP2", "CP1"}) {
      if (auto i = tx.exec("INSERT INTO chargers (id) VALUES ($1)", {id}); !i) {
        return std::unexpected(i.error());
      }
    }
    return {};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(count("chargers"), 1);  // CP2 went with the rollback
}

TEST_P(SqlTest, TransactionCommitsWhenTheBodySucceeds) {
  migrated();
  auto r = db_->transaction([](Transaction& tx) -> Result<void> {
    for (const char* id : {"CP1", "CP2"}) {
      if (auto i = tx.exec("INSERT INTO chargers (id) VALUES ($1)", {id}); !i) {
        return std::unexpected(i.error());
      }
    }
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(count("chargers"), 2);
}

TEST_P(SqlTest, SerializationFailureRunsTheBodyAgain) {
  // SQLite has one connection (the body may not use db_), and BEGIN IMMEDIATE cannot conflict.
  if (GetParam() != Dialect::kPostgres) GTEST_SKIP() << "PostgreSQL only";
  migrated();
  ASSERT_TRUE(db_->exec("INSERT INTO chargers (id, energy_wh) VALUES ($1, 0)", {"CP1"}));
  int attempts = 0;
  auto r = db_->transaction([&](Transaction& tx) -> Result<void> {
    ++attempts;
    if (auto s = tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); !s) {
      return std::unexpected(s.error());
    }
    if (auto s = tx.exec("SELECT energy_wh FROM chargers WHERE id = $1", {"CP1"}); !s) {
      return std::unexpected(s.error());
    }
    if (attempts == 1) {  // another connection changes the row after our snapshot
      auto other =
          db_->exec("UPDATE chargers SET energy_wh = energy_wh + 1 WHERE id = $1", {"CP1"});
      if (!other) return std::unexpected(other.error());
    }
    auto u = tx.exec("UPDATE chargers SET energy_wh = energy_wh + 10 WHERE id = $1", {"CP1"});
    if (!u) return std::unexpected(u.error());
    return {};
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(attempts, 2);
  auto energy = db_->exec("SELECT energy_wh FROM chargers WHERE id = $1", {"CP1"});
  ASSERT_TRUE(energy);
  EXPECT_EQ(energy->int64(0, 0), 11);
}

TEST_P(SqlTest, AffectedCountsTheRowsChanged) {
  migrated();
  for (const char* id : {"CP1", "CP2", "CP3"}) {
    ASSERT_TRUE(db_->exec("INSERT INTO chargers (id, vendor) VALUES ($1, $2)",
                          {id, std::string(id) == "CP3" ? "Alfen" : "ABB"}));
  }
  auto updated = db_->exec("UPDATE chargers SET firmware = $1 WHERE vendor = $2", {"1.2", "ABB"});
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->affected(), 2);
  auto none = db_->exec("UPDATE chargers SET firmware = $1 WHERE vendor = $2", {"1.2", "nobody"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->affected(), 0);
  auto deleted = db_->exec("DELETE FROM chargers");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->affected(), 3);
}

// $N binds the N-th parameter wherever it stands, on every run of a cached statement, in a
// statement of hundreds of placeholders too; a $N past the parameters given is refused.
TEST_P(SqlTest, PlaceholdersBindByTheirNumberWhereverTheyStand) {
  migrated();
  const char* swapped = "INSERT INTO chargers (id, vendor) VALUES ($2, $1)";
  ASSERT_TRUE(db_->exec(swapped, {"ABB", "CP1"}));
  ASSERT_TRUE(db_->exec(swapped, {"Alfen", "CP2"}));  // the cached statement
  auto vendor = db_->exec("SELECT vendor FROM chargers WHERE id = $1", {"CP2"});
  ASSERT_TRUE(vendor && vendor->size() == 1);
  EXPECT_EQ(vendor->text(0, 0), "Alfen");

  std::string many = "INSERT INTO chargers (id, vendor) VALUES ";
  std::vector<Param> params;
  for (int i = 0; i < 200; ++i) {
    if (i > 0) many += ", ";
    many += "($" + std::to_string(2 * i + 1) + ", $" + std::to_string(2 * i + 2) + ")";
    params.emplace_back("M" + std::to_string(i));
    params.emplace_back("V" + std::to_string(i));
  }
  for (int run = 0; run < 2; ++run) {
    if (run == 1) {
      ASSERT_TRUE(db_->exec("DELETE FROM chargers WHERE id LIKE 'M%'"));
      for (auto& p : params) *p += "x";
    }
    auto inserted = db_->exec(many, params);
    ASSERT_TRUE(inserted) << inserted.error().message;
    EXPECT_EQ(inserted->affected(), 200);
  }
  auto last = db_->exec("SELECT vendor FROM chargers WHERE id = $1", {"M199x"});
  ASSERT_TRUE(last && last->size() == 1);
  EXPECT_EQ(last->text(0, 0), "V199x");

  auto missing = db_->exec("SELECT id FROM chargers WHERE id = $3", {"CP1"});
  ASSERT_FALSE(missing);
  if (GetParam() == Dialect::kSqlite) {
    EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(missing.error().message.find("placeholder $3 has no parameter (1 given)"),
              std::string::npos)
        << missing.error().message;
  }
}

TEST_P(SqlTest, StatementsAreTimedPerEngine) {
  db_.reset();
  db_ = open(&registry_);
  ASSERT_NE(db_, nullptr);
  ASSERT_TRUE(db_->exec("SELECT 1"));
  EXPECT_FALSE(db_->exec("SELECT * FROM nope"));
  double queries = 0, errors = 0;
  for (const auto& family : registry_.Collect()) {
    for (const auto& metric : family.metric) {
      if (family.name == "switchyard_sql_query_seconds") {
        queries += static_cast<double>(metric.histogram.sample_count);
      }
      if (family.name == "switchyard_sql_errors_total") errors += metric.counter.value;
    }
  }
  EXPECT_GE(queries, 2);
  EXPECT_GE(errors, 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlTest, ::testing::Values(Dialect::kPostgres, Dialect::kSqlite),
                         [](const ::testing::TestParamInfo<Dialect>& param) {
                           return param.param == Dialect::kPostgres ? "Postgres" : "Sqlite";
                         });

}  // namespace
}  // namespace switchyard::sql
