// The PostgreSQL adapter against a real server: migrations, prepared statements, errors.
#include <gtest/gtest.h>

#include <thread>

#include "common/runtime/postgres/migrations.h"
#include "common/runtime/postgres/pool.h"
#include "support/environment.h"

namespace switchyard::postgres {
namespace {

const Migration kMigrations[] = {
    {1, "create chargers", "CREATE TABLE chargers (id text PRIMARY KEY, vendor text)"},
    {2, "add firmware", "ALTER TABLE chargers ADD COLUMN firmware text"},
};

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::postgres_url();
    SWITCHYARD_REQUIRE(url_, "PostgreSQL");
    schema_ = testing::unique_name("t");
    pool_ = make_pool(schema_);
  }
  void TearDown() override {
    if (!pool_) return;
    auto lease = pool_->acquire();
    if (lease) (void)(*lease)->exec("DROP SCHEMA IF EXISTS \"" + schema_ + "\" CASCADE");
  }
  std::unique_ptr<Pool> make_pool(const std::string& schema, int size = 4) {
    Config config;
    config.url = *url_;
    config.schema = schema;
    config.pool_size = size;
    auto pool = Pool::create(config, nullptr);
    EXPECT_TRUE(pool) << pool.error().message;
    return pool ? std::move(*pool) : nullptr;
  }
  std::optional<std::string> url_;
  std::string schema_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PostgresTest, MigrationsApplyOnceAndAreIdempotent) {
  auto lease = pool_->acquire();
  ASSERT_TRUE(lease);
  auto first = migrate(**lease, kMigrations);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, 2);
  auto second = migrate(**lease, kMigrations);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, 0);
  auto versions = (*lease)->exec("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2);
  EXPECT_EQ(versions->text(1, 1), "add firmware");
  // The schema really has the column of migration 2.
  EXPECT_TRUE((*lease)->exec("SELECT firmware FROM chargers"));
}

TEST_F(PostgresTest, ConcurrentMigratorsApplyEachMigrationExactlyOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> applied{0}, failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto pool = make_pool(schema_, 1);
      if (!pool) return void(failures++);
      auto lease = pool->acquire();
      if (!lease) {
        ADD_FAILURE() << lease.error().message;
        return void(failures++);
      }
      auto r = migrate(**lease, kMigrations);
      if (!r) {
        ADD_FAILURE() << r.error().message;
        return void(failures++);
      }
      applied += *r;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), 2);
}

TEST_F(PostgresTest, EditedMigrationHistoryIsRefused) {
  auto lease = pool_->acquire();
  ASSERT_TRUE(migrate(**lease, kMigrations));
  const Migration edited[] = {{1, "something else", "SELECT 1"}};
  auto r = migrate(**lease, edited);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("create chargers"), std::string::npos) << r.error().message;
}

TEST_F(PostgresTest, FailedMigrationRollsBackAndNamesItself) {
  auto lease = pool_->acquire();
  const Migration broken[] = {{1, "create t", "CREATE TABLE t (x int)"},
                              {2, "broken", "CREATE TABLE u (x int); SELECT * FROM nope"}};
  auto r = migrate(**lease, broken);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("migration 2 (broken)"), std::string::npos) << r.error().message;
  // Migration 2 left nothing behind: table u does not exist, version 2 is not recorded.
  EXPECT_FALSE((*lease)->exec("SELECT * FROM u"));
  auto versions = (*lease)->exec("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(versions);
  EXPECT_EQ(versions->int64(0, 0), 1);
}

TEST_F(PostgresTest, PreparedStatementsTakeParametersAndNulls) {
  auto lease = pool_->acquire();
  ASSERT_TRUE(migrate(**lease, kMigrations));
  const Statement insert{"insert_charger", "INSERT INTO chargers (id, vendor) VALUES ($1, $2)"};
  const Statement select{"select_charger", "SELECT id, vendor FROM chargers WHERE id = $1"};
  auto r1 = (*lease)->exec(insert, {"CP1", "ABB"});
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->affected(), 1);
  ASSERT_TRUE((*lease)->exec(insert, {"CP2", std::nullopt}));
  auto row = (*lease)->exec(select, {"CP2"});
  ASSERT_TRUE(row);
  ASSERT_EQ(row->size(), 1);
  EXPECT_EQ(row->text(0, 0), "CP2");
  EXPECT_TRUE(row->is_null(0, 1));
  // Quotes in parameters are data, not SQL.
  ASSERT_TRUE((*lease)->exec(insert, {"x'); DROP TABLE chargers; --", "v"}));
  EXPECT_EQ((*lease)->exec("SELECT count(*) FROM chargers")->int64(0, 0), 3);
}

TEST_F(PostgresTest, UniqueViolationIsAlreadyExists) {
  auto lease = pool_->acquire();
  ASSERT_TRUE(migrate(**lease, kMigrations));
  const Statement insert{"insert_charger", "INSERT INTO chargers (id) VALUES ($1)"};
  ASSERT_TRUE((*lease)->exec(insert, {"CP1"}));
  auto dup = (*lease)->exec(insert, {"CP1"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(PostgresTest, PoolHandsOutAtMostItsSizeAndTimesOut) {
  Config config;
  config.url = *url_;
  config.schema = schema_;
  config.pool_size = 1;
  config.acquire_timeout = std::chrono::milliseconds(200);
  auto pool = Pool::create(config, nullptr);
  ASSERT_TRUE(pool);
  auto held = (*pool)->acquire();
  ASSERT_TRUE(held);
  auto second = (*pool)->acquire();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kResourceExhausted);
}

TEST(PostgresUnavailable, UnreachableServerIsUnavailable) {
  Config config;
  config.url = "postgresql://switchyard@127.0.0.1:1/switchyard?connect_timeout=1";
  auto pool = Pool::create(config, nullptr);
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace switchyard::postgres
