// The partner store on SQLite (the engine of standalone mode; PostgreSQL runs the same SQL).
#include "roaming/partners.h"
#include "roaming/schema.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace switchyard::roaming {
namespace {

class SqlPartnerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("roaming-partners-" + std::to_string(::getpid()) + "-" + new_partner_id() + ".db");
    auto db = sql::open_sqlite(path_.string(), nullptr);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto m = sql::migrate(*db_, migrations(), "roaming");
    ASSERT_TRUE(m) << m.error().message;
    store_ = std::make_unique<SqlPartnerStore>(*db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }

  std::filesystem::path path_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlPartnerStore> store_;
};

Partner sample() {
  Partner p;
  p.id = new_partner_id();
  p.name = "Example eMSP";
  p.state = PartnerState::kRegistered;
  p.initiated_by_us = true;
  p.our_token_sha256 = std::string(64, 'a');
  p.their_token = "their-token";
  p.versions_url = "https://emsp.test/ocpi/versions";
  p.version = "2.2.1";
  p.endpoints = {{"credentials", "RECEIVER", "https://emsp.test/ocpi/2.2.1/credentials"}};
  p.roles = {{"EMSP", "NL", "EXA", "Example Provider"}};
  p.created_at = Time(std::chrono::milliseconds(1'800'000'000'123));
  p.updated_at = Time(std::chrono::milliseconds(1'800'000'001'456));
  p.last_error = "GET x: refused";
  return p;
}

TEST_F(SqlPartnerStoreTest, KeepsEveryFieldOfAPartner) {
  const Partner p = sample();
  ASSERT_TRUE(store_->put(p));
  auto got = store_->get(p.id);
  ASSERT_TRUE(got && *got);
  const Partner& g = **got;
  EXPECT_EQ(g.name, p.name);
  EXPECT_EQ(g.state, PartnerState::kRegistered);
  EXPECT_TRUE(g.initiated_by_us);
  EXPECT_EQ(g.our_token_sha256, p.our_token_sha256);
  EXPECT_EQ(g.their_token, "their-token");
  EXPECT_EQ(g.versions_url, p.versions_url);
  EXPECT_EQ(g.version, "2.2.1");
  ASSERT_EQ(g.endpoints.size(), 1U);
  EXPECT_EQ(g.endpoints[0].url, p.endpoints[0].url);
  ASSERT_EQ(g.roles.size(), 1U);
  EXPECT_EQ(g.roles[0].business_name, "Example Provider");
  EXPECT_EQ(g.created_at, p.created_at);
  EXPECT_EQ(g.updated_at, p.updated_at);
  EXPECT_EQ(g.last_error, p.last_error);
}

TEST_F(SqlPartnerStoreTest, FindsByTokenHashReplacesAndRemoves) {
  Partner p = sample();
  ASSERT_TRUE(store_->put(p));
  auto by_token = store_->find_by_token(p.our_token_sha256);
  ASSERT_TRUE(by_token && *by_token);
  EXPECT_EQ((*by_token)->id, p.id);
  EXPECT_FALSE(*store_->find_by_token(std::string(64, 'b')));
  EXPECT_FALSE(*store_->find_by_token(""));

  p.state = PartnerState::kUnregistered;
  p.our_token_sha256.clear();
  ASSERT_TRUE(store_->put(p));
  EXPECT_EQ((*store_->get(p.id))->state, PartnerState::kUnregistered);
  EXPECT_EQ(store_->load_all()->size(), 1U);

  EXPECT_TRUE(*store_->remove(p.id));
  EXPECT_FALSE(*store_->remove(p.id));
  EXPECT_FALSE(*store_->get(p.id));
}

TEST(PartnerIds, ArePtrAnd12HexDigits) {
  const std::string id = new_partner_id();
  ASSERT_EQ(id.size(), 16U);
  EXPECT_TRUE(id.starts_with("ptr-"));
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(id, new_partner_id());
}

}  // namespace
}  // namespace switchyard::roaming
