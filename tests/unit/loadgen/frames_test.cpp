// The frames a simulated charger sends must be valid per the official schemas: each template is
// decoded here by the project's OCPP decoder as the CSMS would decode it. The answers to CSMS
// CALLs must validate as CALLRESULTs of their action.
#include "loadgen/frames.h"

#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"
#include "common/ocpp/schema.h"

namespace switchyard::loadgen {
namespace {

using ocpp::Version;

constexpr std::string_view kTimestamp = "2026-03-01T10:00:00.000Z";

class FramesTest : public ::testing::Test {
 protected:
  void expect_valid_call(Version version, Action action, const FrameParams& params) {
    std::string payload;
    append_payload(payload, version, action, params);
    std::string frame;
    append_call(frame, "42", action_name(action), payload);
    auto decoded = decoder_.decode(version, ocpp::Role::kCsms, frame);
    ASSERT_TRUE(decoded) << ocpp::version_label(version) << " " << action_name(action) << ": "
                         << decoded.error().description << "\n"
                         << frame;
    EXPECT_EQ(decoded->action, action_name(action));
  }

  FrameParams params() const {
    FrameParams p;
    p.timestamp = kTimestamp;
    p.meter_wh = 12'345;
    p.transaction_id_16 = 77;
    p.transaction_id = "3-1";
    return p;
  }

  ocpp::Decoder decoder_;
};

// --id-tags: the tokens tests/bench registers, each a valid 1.6 idTag and 2.0.1 idToken.
TEST_F(FramesTest, NumberedTokensArePaddedAndValid) {
  EXPECT_EQ(id_tag_of(0), "LG000000");
  EXPECT_EQ(id_tag_of(4711), "LG004711");
  EXPECT_EQ(id_tag_of(1'234'567), "LG1234567");
  const std::string tag = id_tag_of(99);
  auto p = params();
  p.id_tag = tag;
  for (Version version : {Version::k16, Version::k201}) {
    expect_valid_call(version, Action::kAuthorize, p);
    std::string payload;
    append_payload(payload, version, Action::kAuthorize, p);
    EXPECT_NE(payload.find("\"LG000099\""), std::string::npos) << payload;
  }
}

TEST_F(FramesTest, Ocpp16TemplatesValidate) {
  for (Action action : {Action::kBootNotification, Action::kHeartbeat, Action::kStatusNotification,
                        Action::kAuthorize, Action::kStartTransaction, Action::kMeterValues,
                        Action::kStopTransaction}) {
    expect_valid_call(Version::k16, action, params());
  }
  for (std::string_view status : {"Available", "Preparing", "Charging", "Finishing"}) {
    auto p = params();
    p.status = status;
    expect_valid_call(Version::k16, Action::kStatusNotification, p);
  }
  auto idle = params();
  idle.transaction_id_16 = 0;  // main meter values, no transaction
  idle.connector = 0;
  idle.context = "Sample.Clock";
  expect_valid_call(Version::k16, Action::kMeterValues, idle);
}

TEST_F(FramesTest, Ocpp201TemplatesValidate) {
  for (Action action : {Action::kBootNotification, Action::kHeartbeat, Action::kStatusNotification,
                        Action::kAuthorize, Action::kMeterValues}) {
    expect_valid_call(Version::k201, action, params());
  }
  auto occupied = params();
  occupied.status = "Occupied";
  expect_valid_call(Version::k201, Action::kStatusNotification, occupied);
  struct Event {
    std::string_view type, trigger, context;
  };
  for (const Event& e : {Event{"Started", "Authorized", "Transaction.Begin"},
                         Event{"Updated", "MeterValuePeriodic", "Sample.Periodic"},
                         Event{"Ended", "StopAuthorized", "Transaction.End"}}) {
    auto p = params();
    p.event_type = e.type;
    p.trigger_reason = e.trigger;
    p.context = e.context;
    expect_valid_call(Version::k201, Action::kTransactionEvent, p);
    p.meter = false;
    expect_valid_call(Version::k201, Action::kTransactionEvent, p);
  }
}

TEST_F(FramesTest, MeterValuesFrameIsAboutTheSizeOfARealCharger) {
  std::string payload;
  append_payload(payload, Version::k16, Action::kMeterValues, params());
  std::string frame;
  append_call(frame, "1234", "MeterValues", payload);
  EXPECT_GT(frame.size(), 350u);  // three sampled values, as the parse benchmark's 451 bytes
  EXPECT_LT(frame.size(), 600u);
}

TEST_F(FramesTest, AnswersToEveryCsmsCallValidate) {
  for (Version version : {Version::k16, Version::k201}) {
    int answered = 0;
    for (const auto& message : ocpp::messages(version)) {
      if (message.direction == ocpp::Direction::kChargerToCsms || message.response == nullptr) {
        continue;
      }
      const auto payload = answer_for(version, message.action, kTimestamp);
      ASSERT_TRUE(payload) << message.action;
      std::string frame;
      append_result(frame, "srv-1", *payload);
      const ocpp::PendingCall pending{"srv-1", &message};
      auto decoded = decoder_.decode(version, ocpp::Role::kCsms, frame, &pending);
      ASSERT_TRUE(decoded) << ocpp::version_label(version) << " " << message.action << ": "
                           << decoded.error().description << "\n"
                           << frame;
      ++answered;
    }
    EXPECT_GT(answered, 15) << ocpp::version_label(version);
  }
  EXPECT_EQ(*answer_for(Version::k16, "Reset", kTimestamp), R"({"status":"Accepted"})");
  EXPECT_EQ(*answer_for(Version::k201, "TriggerMessage", kTimestamp), R"({"status":"Accepted"})");
  EXPECT_FALSE(answer_for(Version::k16, "BootNotification", kTimestamp));  // charger -> CSMS
  EXPECT_FALSE(answer_for(Version::k16, "NoSuchAction", kTimestamp));
}

TEST_F(FramesTest, SplitsServerFrames) {
  auto result = split_frame(R"([3,"17",{"status":"Accepted","interval":300}])");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->type, 3);
  EXPECT_EQ(result->message_id, "17");
  EXPECT_EQ(result->payload, R"({"status":"Accepted","interval":300})");

  auto call = split_frame(" [ 2 , \"abc\" , \"Reset\" , {\"type\":\"Soft\"} ] ");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->type, 2);
  EXPECT_EQ(call->message_id, "abc");
  EXPECT_EQ(call->action, "Reset");
  EXPECT_EQ(call->payload, R"({"type":"Soft"})");

  auto error = split_frame(R"([4,"9","FormationViolation","bad \"x\"",{}])");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->type, 4);
  EXPECT_EQ(error->error_code, "FormationViolation");

  EXPECT_FALSE(split_frame("not json"));
  EXPECT_FALSE(split_frame("[3,17,{}]"));      // id must be a string
  EXPECT_FALSE(split_frame(R"([3,"1",{})"));   // unterminated
  EXPECT_FALSE(split_frame(R"([9,"1",{}])"));  // unknown type
}

TEST_F(FramesTest, BuiltFramesSplitBack) {
  std::string frame;
  append_call(frame, "5", "Heartbeat", "{}");
  auto view = split_frame(frame);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->action, "Heartbeat");
  EXPECT_EQ(view->payload, "{}");
  frame.clear();
  append_error(frame, "6", "NotImplemented", "quote \" inside");
  view = split_frame(frame);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->error_code, "NotImplemented");
}

TEST_F(FramesTest, ActionNamesRoundTrip) {
  for (std::size_t i = 0; i < kActionCount; ++i) {
    const auto action = static_cast<Action>(i);
    EXPECT_EQ(parse_action(action_name(action)), action);
  }
  EXPECT_FALSE(parse_action("Nope"));
}

}  // namespace
}  // namespace switchyard::loadgen
