// OCPI chargingprofiles against a fake smart-charging service and a fake eMSP on a real SQLite
// session store: each request is answered at once (ACCEPTED with a timeout, or why not), the
// smart-charging service is asked for the eMSP's own running session only, and its answer is
// POSTed to the response_url; a profile that is not valid is refused with 2001 naming the field.
#include "roaming/charging_profiles.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>

#include "common/runtime/http/server.h"
#include "roaming_test_support.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

// SmartCharging as the receiver sees it: records each call, answers `answer`.
class FakeLimits final : public SessionLimits {
 public:
  bool is_configured = true;
  Result<SessionPlanInfo> answer = SessionPlanInfo{.current_a = 16.0, .reason = "session_limit"};
  std::vector<std::string> calls;
  std::vector<ProfileLimit> limits;

  bool configured() const override { return is_configured; }
  Result<SessionPlanInfo> set(const std::string& charger, const std::string& tx,
                              const ProfileLimit& limit) override {
    std::lock_guard lock(mutex_);
    limits.push_back(limit);
    return record("set " + charger + " " + tx);
  }
  Result<SessionPlanInfo> clear(const std::string& charger, const std::string& tx) override {
    std::lock_guard lock(mutex_);
    return record("clear " + charger + " " + tx);
  }
  Result<SessionPlanInfo> get(const std::string& charger, const std::string& tx) override {
    std::lock_guard lock(mutex_);
    return record("get " + charger + " " + tx);
  }

 private:
  Result<SessionPlanInfo> record(std::string call) {
    calls.push_back(std::move(call));
    return answer;
  }
  std::mutex mutex_;
};

json::object profile(json::array periods, std::string_view unit = "A") {
  return {{"charging_rate_unit", unit}, {"charging_profile_period", std::move(periods)}};
}

class ChargingProfilesTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(partners_.put(emsp_));
    running("42", v1::TRANSACTION_STATE_ACTIVE);
  }
  void running(const std::string& tx, v1::TransactionState state, int at = 1) {
    v1::Transaction t;
    t.set_charger_id("CP1");
    t.set_transaction_id(tx);
    t.set_state(state);
    t.mutable_updated_at()->set_seconds(at);
    ASSERT_TRUE(sessions_.put_session(session_id_of("CP1", tx), {"ptr-emsp", "{}", "WHITELIST", ""},
                                      t, false));
  }
  // A request to chargingprofiles/<session>; the answer's envelope.
  json::object call(const std::string& method, const std::string& session,
                    const std::string& query = "", const json::object& body = {},
                    int expect_http = 200, const Partner* caller = nullptr) {
    http::Request r;
    r.method = method;
    r.path = "/ocpi/2.2.1/chargingprofiles/" + session;
    r.query = query;
    r.target = r.path + (query.empty() ? "" : "?" + query);
    r.body = body.empty() ? "" : json::serialize(body);
    auto answer = receiver().handle(caller ? *caller : emsp_, r, "/" + session);
    EXPECT_EQ(answer.status, expect_http) << answer.body;
    return json::parse(answer.body).as_object();
  }
  json::object put(const std::string& session, const json::object& profile_json,
                   int expect_http = 200) {
    return call("PUT", session, "",
                json::object{{"charging_profile", profile_json},
                             {"response_url", "https://emsp.test/ocpi/cp/1"}},
                expect_http);
  }
  ChargingProfilesReceiver& receiver() {
    if (!receiver_module_) {
      receiver_module_ = std::make_unique<ChargingProfilesReceiver>(
          sessions_, receiver_, limits_, clock_, &registry_, std::chrono::seconds(30));
    }
    return *receiver_module_;
  }
  std::vector<testing::Sent> results() {
    receiver().stop();
    receiver_module_.reset();
    return receiver_.sent;
  }

  Partner emsp_ = testing::registered_partner("ptr-emsp", {});
  FakeLimits limits_;
  SessionStore sessions_{*db_, clock_};
  std::unique_ptr<ChargingProfilesReceiver> receiver_module_;
  const std::string session_ = session_id_of("CP1", "42");
};

TEST_F(ChargingProfilesTest, APutLimitsTheSessionAndTheResultGoesToTheResponseUrl) {
  const auto answer =
      put(session_, profile(json::array{json::object{{"start_period", 0}, {"limit", 16}},
                                        json::object{{"start_period", 900}, {"limit", 8.5}}}));
  EXPECT_EQ(answer.at("status_code"), 1000);
  EXPECT_EQ(answer.at("data").at("result"), "ACCEPTED");
  EXPECT_EQ(answer.at("data").at("timeout"), 30);
  const auto sent = results();
  EXPECT_EQ(limits_.calls, std::vector<std::string>{"set CP1 42"});
  ASSERT_EQ(limits_.limits.size(), 1U);
  const ProfileLimit& l = limits_.limits[0];
  EXPECT_FALSE(l.watts);
  EXPECT_EQ(l.start_ms, unix_ms(clock_.now()));  // no start_date_time: from now
  ASSERT_EQ(l.periods.size(), 2U);
  EXPECT_EQ(l.periods[1].start_s, 900);
  EXPECT_DOUBLE_EQ(l.periods[1].limit, 8.5);
  EXPECT_EQ(l.source.rfind("eMSP ", 0), 0U) << l.source;
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, "https://emsp.test/ocpi/cp/1");
  EXPECT_EQ(sent[0].body.at("result"), "ACCEPTED");
}

TEST_F(ChargingProfilesTest, GetAnswersTheLimitInForceAndDeleteTakesItOff) {
  auto answer = call("GET", session_, "duration=3600&response_url=https%3A%2F%2Femsp.test%2Fa");
  EXPECT_EQ(answer.at("data").at("result"), "ACCEPTED");
  answer = call("DELETE", session_, "response_url=https://emsp.test/c");
  EXPECT_EQ(answer.at("data").at("result"), "ACCEPTED");
  const auto sent = results();
  EXPECT_EQ(limits_.calls, (std::vector<std::string>{"get CP1 42", "clear CP1 42"}));
  ASSERT_EQ(sent.size(), 2U);
  const auto& active = sent[0].url == "https://emsp.test/a" ? sent[0] : sent[1];
  const auto& cleared = sent[0].url == "https://emsp.test/a" ? sent[1] : sent[0];
  EXPECT_EQ(active.body.at("result"), "ACCEPTED");
  const auto& p = active.body.at("profile").at("charging_profile");
  EXPECT_EQ(p.at("charging_rate_unit"), "A");
  EXPECT_EQ(p.at("duration"), 3600);
  EXPECT_EQ(p.at("charging_profile_period").at(0).at("limit").to_number<double>(), 16.0);
  EXPECT_TRUE(active.body.at("profile").at("start_date_time").is_string());
  EXPECT_EQ(cleared.url, "https://emsp.test/c");
  EXPECT_EQ(cleared.body.at("result"), "ACCEPTED");
}

TEST_F(ChargingProfilesTest, OnlyTheEmspsOwnRunningSessionOnAPlannedSite) {
  const json::object ten = profile(json::array{json::object{{"start_period", 0}, {"limit", 10}}});
  EXPECT_EQ(put("0123456789abcdef", ten).at("data").at("result"), "UNKNOWN_SESSION");
  Partner other = testing::registered_partner("ptr-othr", {});
  other.roles = {{"EMSP", "NL", "OTH", "Other"}};
  EXPECT_EQ(call("DELETE", session_, "response_url=https://emsp.test/c", {}, 200, &other)
                .at("data")
                .at("result"),
            "UNKNOWN_SESSION");
  running("42", v1::TRANSACTION_STATE_ENDED, 2);
  const auto ended = put(session_, ten);
  EXPECT_EQ(ended.at("data").at("result"), "REJECTED");
  EXPECT_EQ(ended.at("status_message").as_string(), "session " + session_ + " has ended");
  running("43", v1::TRANSACTION_STATE_ACTIVE);
  // The smart-charging service does not plan the charger's site: UNKNOWN in the result.
  limits_.answer = make_error(ErrorCode::kNotFound, "no planned site has transaction 43");
  EXPECT_EQ(put(session_id_of("CP1", "43"), ten).at("data").at("result"), "ACCEPTED");
  const auto sent = results();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].body.at("result"), "UNKNOWN");
  EXPECT_EQ(limits_.calls, std::vector<std::string>{"set CP1 43"});

  limits_.is_configured = false;
  EXPECT_EQ(put(session_id_of("CP1", "43"), ten).at("data").at("result"), "NOT_SUPPORTED");
  EXPECT_EQ(limits_.calls.size(), 1U);
}

TEST_F(ChargingProfilesTest, AProfileThatIsNotValidIsRefusedNamingTheField) {
  auto refused = [&](const json::object& p, std::string_view expected) {
    const auto answer = put(session_, p, 400);
    EXPECT_EQ(answer.at("status_code"), 2001);
    const std::string message(answer.at("status_message").as_string());
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  refused(profile(json::array{json::object{{"start_period", 0}, {"limit", 10}}}, "kW"),
          "charging_profile.charging_rate_unit");
  refused(profile(json::array{}), "charging_profile.charging_profile_period: at least one");
  refused(profile(json::array{json::object{{"start_period", 60}, {"limit", 10}}}),
          "charging_profile_period[0].start_period: the first period starts at 0");
  refused(profile(json::array{json::object{{"start_period", 0}, {"limit", 10}},
                              json::object{{"start_period", 0}, {"limit", 8}}}),
          "charging_profile_period[1].start_period: not after");
  refused(profile(json::array{json::object{{"start_period", 0}, {"limit", -1}}}),
          "charging_profile_period[0].limit");
  auto late = profile(json::array{json::object{{"start_period", 0}, {"limit", 10}}});
  late["start_date_time"] = "tomorrow";
  refused(late, "charging_profile.start_date_time");
  // No response_url, no duration: 2001 as well.
  auto answer =
      call("PUT", session_, "",
           json::object{{"charging_profile",
                         profile(json::array{json::object{{"start_period", 0}, {"limit", 10}}})}},
           400);
  EXPECT_NE(std::string(answer.at("status_message").as_string()).find("response_url"),
            std::string::npos);
  answer = call("GET", session_, "response_url=https://emsp.test/a", {}, 400);
  EXPECT_NE(std::string(answer.at("status_message").as_string()).find("duration"),
            std::string::npos);
  EXPECT_EQ(call("POST", session_, "", {}, 405).at("status_code"), 2000);
  EXPECT_TRUE(results().empty());
  EXPECT_TRUE(limits_.calls.empty());
}

TEST_F(ChargingProfilesTest, WattsAndAStartTimeAreKept) {
  auto p = profile(json::array{json::object{{"start_period", 0}, {"limit", 11000}}}, "W");
  p["start_date_time"] = "2026-12-01T10:00:00Z";
  p["duration"] = 7200;
  auto limit = profile_limit_from_json(json::serialize(p), 0);
  ASSERT_TRUE(limit) << limit.error().message;
  EXPECT_TRUE(limit->watts);
  EXPECT_EQ(limit->start_ms, 1'796'119'200'000);
  EXPECT_EQ(limit->duration_s, 7200);
  EXPECT_DOUBLE_EQ(limit->periods[0].limit, 11000.0);
  EXPECT_DOUBLE_EQ(limit->min_rate, 0.0);
}

// min_charging_rate goes to the smart-charging service as the session's least worthwhile rate;
// a bad one is named.
TEST_F(ChargingProfilesTest, TheMinChargingRateIsKeptAndABadOneNamed) {
  auto p = profile(json::array{json::object{{"start_period", 0}, {"limit", 16}}});
  p["min_charging_rate"] = 8.5;
  auto limit = profile_limit_from_json(json::serialize(p), 0);
  ASSERT_TRUE(limit) << limit.error().message;
  EXPECT_DOUBLE_EQ(limit->min_rate, 8.5);
  p["min_charging_rate"] = -1;
  limit = profile_limit_from_json(json::serialize(p), 0);
  ASSERT_FALSE(limit);
  EXPECT_EQ(limit.error().message, "min_charging_rate: not a number of 0 or more");
  p["min_charging_rate"] = "6";
  EXPECT_FALSE(profile_limit_from_json(json::serialize(p), 0));
  p["min_charging_rate"] = nullptr;
  EXPECT_TRUE(profile_limit_from_json(json::serialize(p), 0));
}

}  // namespace
}  // namespace switchyard::roaming
