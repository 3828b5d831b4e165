// The auth service on a real SQLite database: token statuses (unknown, blocked, expired, group
// concurrency), CSV import errors, boot policies, charger admission with hashed passwords,
// differential local lists.
#include "auth/auth.h"

#include <gtest/gtest.h>

#include "auth/sql_store.h"
#include "support/fake_clock.h"
#include "support/temp_sqlite.h"

namespace switchyard::auth {
namespace {

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    store_ = std::make_unique<SqlAuthStore>(db_.db());
    config_.password_iterations = 1000;  // fast in tests; the format records the count
    service_ = std::make_unique<AuthService>(config_, *store_, clock_, nullptr);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
  }
  void recreate(AuthConfig config) {
    config.password_iterations = 1000;
    service_ = std::make_unique<AuthService>(config, *store_, clock_, nullptr);
  }

  testing::TempSqlite db_{"auth", migrations()};
  std::unique_ptr<SqlAuthStore> store_;
  testing::FakeClock clock_;
  AuthConfig config_;
  std::unique_ptr<AuthService> service_;
};

TEST_F(AuthServiceTest, TokensAreDecidedByStatusExpiryAndCase) {
  TokenRecord ok;
  ok.id_token = "04A1B2C3";
  ASSERT_TRUE(service_->put_token(ok));
  TokenRecord blocked;
  blocked.id_token = "BLOCKED-1";
  blocked.status = "Blocked";
  ASSERT_TRUE(service_->put_token(blocked));
  TokenRecord expiring;
  expiring.id_token = "EXP-1";
  expiring.expires_at = clock_.now() + std::chrono::hours(1);
  ASSERT_TRUE(service_->put_token(expiring));

  EXPECT_EQ(service_->authorize("04A1B2C3", "CP-1")->status, "Accepted");
  EXPECT_EQ(service_->authorize("04a1b2c3", "CP-1")->status, "Accepted");  // CiString
  EXPECT_EQ(service_->authorize("NOPE", "CP-1")->status, "Unknown");
  EXPECT_EQ(service_->authorize("BLOCKED-1", "CP-1")->status, "Blocked");
  EXPECT_EQ(service_->authorize("EXP-1", "CP-1")->status, "Accepted");
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(service_->authorize("EXP-1", "CP-1")->status, "Expired");

  ASSERT_TRUE(service_->block_token("04A1B2C3"));
  EXPECT_EQ(service_->authorize("04A1B2C3", "CP-1")->status, "Blocked");
}

TEST_F(AuthServiceTest, BadTokensAreRefusedWithTheReason) {
  TokenRecord empty;
  auto r = service_->put_token(empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  TokenRecord odd;
  odd.id_token = "X";
  odd.status = "Maybe";
  r = service_->put_token(odd);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("status"), std::string::npos);
}

TEST_F(AuthServiceTest, GroupsCanRefuseConcurrentTransactions) {
  ASSERT_TRUE(store_->put_group({"FLEET", "Fleet cards", true}));
  TokenRecord member;
  member.id_token = "CARD-7";
  member.group_id = "FLEET";
  ASSERT_TRUE(service_->put_token(member));
  auto d = service_->authorize("CARD-7", "CP-1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->group_id, "FLEET");
  EXPECT_TRUE(d->refuse_concurrent);
}

TEST_F(AuthServiceTest, CsvImportReportsEveryBadLineAndKeepsTheGoodOnes) {
  const auto result = service_->import_tokens(
      "id_token,type,status,expires_at,group_id,refuse_concurrent\n"
      "TAG-1,ISO14443,Accepted,,,\n"
      "TAG-2,ISO14443,Blocked,2030-01-01T00:00:00Z,FLEET,true\n"
      "TAG-3,ISO14443,Sleepy\n"
      "only-one-field\n");
  EXPECT_EQ(result.imported, 2);
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_EQ(service_->authorize("TAG-2", "CP-1")->status, "Blocked");
}

TEST_F(AuthServiceTest, BootFollowsTheChargerPolicyThenTheDefault) {
  ChargerRecord pending;
  pending.charger_id = "CP-P";
  pending.security_profile = 0;
  pending.boot_policy = "Pending";
  ASSERT_TRUE(service_->put_charger(pending, ""));
  EXPECT_EQ(service_->boot("CP-P")->status, "Pending");
  // An unknown charger is rejected unless the operator accepts unknown chargers; then the
  // default policy answers.
  EXPECT_EQ(service_->boot("CP-OTHER")->status, "Rejected");
  AuthConfig open;
  open.accept_unknown_chargers = true;
  recreate(open);
  EXPECT_EQ(service_->boot("CP-OTHER")->status, "Accepted");
  EXPECT_EQ(service_->boot("CP-P")->status, "Pending");
  AuthConfig strict;
  strict.accept_unknown_chargers = true;
  strict.default_boot_policy = "Reject";
  recreate(strict);
  EXPECT_EQ(service_->boot("CP-OTHER")->status, "Rejected");
}

TEST_F(AuthServiceTest, AdmissionChecksProfileAndHashedPassword) {
  ChargerRecord c;
  c.charger_id = "CP-1";
  c.security_profile = 1;
  ASSERT_FALSE(service_->put_charger(c, "short"));  // OCPP: 16 to 40 characters
  ASSERT_TRUE(service_->put_charger(c, "correct-horse-battery"));
  auto stored = store_->charger("CP-1");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->password_hash.find("correct-horse"), std::string::npos);  // never in clear
  EXPECT_EQ((*stored)->password_hash.rfind("pbkdf2-sha256$", 0), 0u);

  EXPECT_EQ(service_->admit("CP-1", 1, "correct-horse-battery")->verdict, Admission::kAccepted);
  EXPECT_EQ(service_->admit("CP-1", 1, "correct-horse-battery")->verdict,
            Admission::kAccepted);  // cached
  EXPECT_EQ(service_->admit("CP-1", 1, "wrong-horse-battery!!")->verdict,
            Admission::kWrongPassword);
  auto profile = service_->admit("CP-1", 0, "");
  EXPECT_EQ(profile->verdict, Admission::kWrongSecurityProfile);
  EXPECT_EQ(profile->required_profile, 1);
  EXPECT_EQ(service_->admit("CP-UNKNOWN", 0, "")->verdict, Admission::kUnknownCharger);
}

TEST_F(AuthServiceTest, UnknownChargersAreRegisteredWhenTheOperatorSaysSo) {
  AuthConfig open;
  open.accept_unknown_chargers = true;
  recreate(open);
  EXPECT_EQ(service_->admit("CP-NEW", 1, "first-connection-password")->verdict,
            Admission::kAccepted);
  auto stored = store_->charger("CP-NEW");
  ASSERT_TRUE(stored && *stored);
  EXPECT_TRUE((*stored)->auto_registered);
  EXPECT_EQ((*stored)->security_profile, 1);
  // From now on the first connection's password is the charger's.
  EXPECT_EQ(service_->admit("CP-NEW", 1, "another-password-here")->verdict,
            Admission::kWrongPassword);
}

TEST_F(AuthServiceTest, LocalListSyncSendsTheDifferenceAfterAFullList) {
  ASSERT_TRUE(service_->put_local_list(
      "CP-1", {{"A", "ISO14443", "Accepted", {}}, {"B", "ISO14443", "Accepted", {}}}));
  std::vector<LocalListUpdate> sent;
  auto sender = [&](const LocalListUpdate& u) -> Result<std::string> {
    sent.push_back(u);
    return std::string("Accepted");
  };
  auto first = service_->sync_local_list("CP-1", false, sender);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->sent_full);  // nothing confirmed yet: a full list
  ASSERT_TRUE(service_->put_local_list(
      "CP-1", {{"A", "ISO14443", "Blocked", {}}, {"C", "ISO14443", "Accepted", {}}}));
  auto second = service_->sync_local_list("CP-1", false, sender);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->sent_full);
  ASSERT_EQ(sent.size(), 2u);
  const auto& diff = sent[1];
  EXPECT_FALSE(diff.full);
  EXPECT_EQ(diff.version, second->version);
  EXPECT_EQ(diff.entries.size(), 2u);  // A changed, C added
  ASSERT_EQ(diff.removed.size(), 1u);  // B removed
  EXPECT_EQ(diff.removed[0], "B");
}

TEST_F(AuthServiceTest, UnknownTokensAreAskedOfRoamingAndOwnTokensAreNot) {
  TokenRecord own;
  own.id_token = "OWN-1";
  ASSERT_TRUE(service_->put_token(own));
  std::vector<std::string> asked;
  bool roaming_up = true;
  service_->set_roaming(
      [&](const std::string& id_token, const std::string&) -> Result<std::optional<TokenDecision>> {
        asked.push_back(id_token);
        if (!roaming_up) return make_error(ErrorCode::kUnavailable, "roaming down");
        if (id_token != "EMSP-1") return std::optional<TokenDecision>{};
        TokenDecision d;
        d.status = "Accepted";
        d.group_id = "NL-EMS-CONTRACT-7";
        return std::optional<TokenDecision>(d);
      });
  EXPECT_EQ(service_->authorize("OWN-1", "CP-1")->status, "Accepted");
  auto theirs = service_->authorize("EMSP-1", "CP-1");
  ASSERT_TRUE(theirs);
  EXPECT_EQ(theirs->status, "Accepted");
  EXPECT_EQ(theirs->group_id, "NL-EMS-CONTRACT-7");
  EXPECT_EQ(service_->authorize("NOBODYS", "CP-1")->status, "Unknown");
  roaming_up = false;
  EXPECT_EQ(service_->authorize("EMSP-1", "CP-1")->status, "Unknown");
  EXPECT_EQ(asked, (std::vector<std::string>{"EMSP-1", "NOBODYS", "EMSP-1"}));
}

}  // namespace
}  // namespace switchyard::auth
