// The standalone gateway's direct line to its auth service: the same verdicts and boot
// decisions the gRPC adapters give, answered from the auth service's work pool; a full pool
// refuses at once instead of leaving the charger waiting; the other decisions go on to gRPC.
#include "standalone/direct_auth.h"

#include <gtest/gtest.h>
#include <future>
#include <latch>

#include "auth/auth.h"
#include "auth/sql_store.h"
#include "common/runtime/grpc/work_pool.h"
#include "support/fake_clock.h"
#include "support/temp_sqlite.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::standalone {
namespace {

using gateway::Admission;
using gateway::CredentialVerdict;

// The decisions that are not the auth service's alone: counts what reaches it.
class OtherDecisions final : public gateway::DecisionService {
 public:
  void boot(const std::string&, const v1::BootNotification&,
            std::move_only_function<void(Result<gateway::BootDecision>)> done) override {
    done(make_error(ErrorCode::kInternal, "boot went to gRPC"));
  }
  void authorize(const std::string&, const v1::IdToken&,
                 std::move_only_function<void(Result<gateway::TokenDecision>)> done) override {
    ++authorized;
    done(gateway::TokenDecision{});
  }
  void transaction(const std::string&, ocpp::Version, const v1::TransactionEvent&,
                   std::move_only_function<void(Result<gateway::TransactionDecision>)>) override {}
  void sign_certificate(
      const std::string&, const gateway::SigningRequest&,
      std::move_only_function<void(Result<gateway::CertificateDecision>)>) override {}
  int authorized = 0;
};

class DirectAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    store_ = std::make_unique<auth::SqlAuthStore>(db_.db());
    config_.password_iterations = 1000;
    service_ = std::make_unique<auth::AuthService>(config_, *store_, clock_, nullptr);
    auth::ChargerRecord c;
    c.charger_id = "CP-1";
    c.security_profile = 1;
    ASSERT_TRUE(service_->put_charger(c, "correct-horse-battery"));
  }

  static Admission admit(gateway::CredentialStore& store, const std::string& charger, int profile,
                         const std::string& password) {
    std::promise<Admission> answer;
    store.admit(charger, profile, password, [&](Admission a) { answer.set_value(a); });
    return answer.get_future().get();
  }
  static Result<gateway::BootDecision> boot(gateway::DecisionService& decisions,
                                            const std::string& charger) {
    std::promise<Result<gateway::BootDecision>> answer;
    decisions.boot(charger, v1::BootNotification{},
                   [&](Result<gateway::BootDecision> d) { answer.set_value(std::move(d)); });
    return answer.get_future().get();
  }

  testing::TempSqlite db_{"direct_auth", auth::migrations()};
  std::unique_ptr<auth::SqlAuthStore> store_;
  testing::FakeClock clock_;
  auth::AuthConfig config_;
  std::unique_ptr<auth::AuthService> service_;
};

TEST_F(DirectAuthTest, AdmissionGivesTheAuthServicesVerdicts) {
  WorkPool pool(1);
  DirectCredentials credentials(*service_, pool);
  const Admission ok = admit(credentials, "CP-1", 1, "correct-horse-battery");
  EXPECT_EQ(ok.verdict, CredentialVerdict::kAccepted);
  EXPECT_EQ(ok.required_profile, 1);
  EXPECT_EQ(admit(credentials, "CP-1", 1, "wrong-horse-battery!!").verdict,
            CredentialVerdict::kWrongPassword);
  const Admission profile = admit(credentials, "CP-1", 0, "");
  EXPECT_EQ(profile.verdict, CredentialVerdict::kWrongSecurityProfile);
  EXPECT_EQ(profile.required_profile, 1);
  const Admission unknown = admit(credentials, "CP-UNKNOWN", 0, "");
  EXPECT_EQ(unknown.verdict, CredentialVerdict::kUnknownCharger);
  EXPECT_EQ(unknown.required_profile, -1);
}

TEST_F(DirectAuthTest, BootsAreDecidedByTheAuthServiceAndTheRestGoesOn) {
  WorkPool pool(1);
  auto others = std::make_unique<OtherDecisions>();
  OtherDecisions& other = *others;
  DirectBootDecisions decisions(*service_, pool, std::move(others));
  auto known = boot(decisions, "CP-1");
  ASSERT_TRUE(known) << known.error().message;
  EXPECT_EQ(known->status, "Accepted");
  auto unknown = boot(decisions, "CP-OTHER");  // unknown chargers are not accepted here
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(unknown->status, "Rejected");

  decisions.authorize("CP-1", v1::IdToken{}, [](Result<gateway::TokenDecision>) {});
  EXPECT_EQ(other.authorized, 1);
}

TEST_F(DirectAuthTest, AFullPoolRefusesAtOnce) {
  WorkPool pool(1, 1);
  std::latch release(1);
  std::latch running(1);
  ASSERT_TRUE(pool.post([&] {
    running.count_down();
    release.wait();
  }));
  running.wait();
  ASSERT_TRUE(pool.post([] {}));  // the queue's one place

  DirectCredentials credentials(*service_, pool);
  EXPECT_EQ(admit(credentials, "CP-1", 1, "correct-horse-battery").verdict,
            CredentialVerdict::kUnavailable);  // the upgrade gets 503, the charger retries
  DirectBootDecisions decisions(*service_, pool, std::make_unique<OtherDecisions>());
  auto refused = boot(decisions, "CP-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  release.count_down();
}

}  // namespace
}  // namespace switchyard::standalone
