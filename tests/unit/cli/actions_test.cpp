// ChargerControl actions found by name in any case style and their requests built from flags.
#include "cli/ctl_actions.h"

#include <gtest/gtest.h>

#include "switchyard/v1/charger_control.pb.h"

namespace switchyard::ctl {
namespace {

const google::protobuf::MethodDescriptor* action(std::string_view name) {
  return find_action(charger_control_service(), name);
}

TEST(CtlActions, MatchesActionsInKebabCamelAndSnakeCase) {
  for (const char* name :
       {"remote-start", "RemoteStart", "remotestart", "REMOTE_START", "remote_start"}) {
    const auto* method = action(name);
    ASSERT_NE(method, nullptr) << name;
    EXPECT_EQ(method->name(), "RemoteStart") << name;
  }
  ASSERT_NE(action("get-configuration"), nullptr);
  EXPECT_EQ(action("get-configuration")->name(), "GetConfiguration");
  EXPECT_EQ(action("GetCompositeSchedule")->name(), "GetCompositeSchedule");
  EXPECT_EQ(action("reboot"), nullptr);
}

TEST(CtlActions, NamesActionsInKebabCase) {
  EXPECT_EQ(action_name(*action("GetLocalListVersion")), "get-local-list-version");
}

TEST(CtlActions, BuildsRequestWithChargerIdJsonThenFlags) {
  const auto* method = action("remote-start");
  std::vector<std::string> args{"--json",
                                R"({"idToken":{"id":"FROM_JSON","type":"ISO14443"},"evseId":1})",
                                "--id-token.id", "FROM_FLAG", "--remote-start-id=9"};
  auto parsed = parse_action_args(*method->input_type(), args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto request = build_action_request(*method, "CP-1", *parsed);
  ASSERT_TRUE(request) << request.error().message;
  v1::RemoteStartRequest typed;
  typed.CopyFrom(**request);
  EXPECT_EQ(typed.charger_id(), "CP-1");
  EXPECT_EQ(typed.id_token().id(), "FROM_FLAG");
  EXPECT_EQ(typed.id_token().type(), "ISO14443");
  EXPECT_EQ(typed.evse_id(), 1);
  EXPECT_EQ(typed.remote_start_id(), 9);
}

TEST(CtlActions, LetsBoolFlagsStandAlone) {
  const auto* method = action("reset");
  std::vector<std::string> args{"--hard", "--evse-id", "0"};
  auto parsed = parse_action_args(*method->input_type(), args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto request = build_action_request(*method, "CP-1", *parsed);
  ASSERT_TRUE(request);
  v1::ResetRequest typed;
  typed.CopyFrom(**request);
  EXPECT_TRUE(typed.hard());
}

TEST(CtlActions, RejectsUnknownFieldNamingValidOnes) {
  const auto* method = action("reset");
  std::vector<std::string> args{"--type", "hard"};
  auto parsed = parse_action_args(*method->input_type(), args);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("valid fields: --charger-id, --hard, --evse-id"),
            std::string::npos)
      << parsed.error().message;
}

TEST(CtlActions, RejectsInvalidJson) {
  const auto* method = action("reset");
  ActionArgs args;
  args.json = R"({"hardd": true})";
  auto request = build_action_request(*method, "CP-1", args);
  ASSERT_FALSE(request);
  EXPECT_NE(request.error().message.find("--json"), std::string::npos);
}

TEST(CtlActions, RejectsStrayWordsAndMissingValues) {
  const auto* method = action("remote-stop");
  std::vector<std::string> stray{"17"};
  EXPECT_FALSE(parse_action_args(*method->input_type(), stray));
  std::vector<std::string> missing{"--transaction-id"};
  EXPECT_FALSE(parse_action_args(*method->input_type(), missing));
}

TEST(CtlActions, RepeatsFlagsForListsAndBuildsNestedMessages) {
  const auto* method = action("set-charging-profile");
  std::vector<std::string> args{
      "--evse-id",
      "1",
      "--profile.id",
      "5",
      "--profile.purpose",
      "tx-default",
      "--profile.schedules",
      R"({"rateUnit":"CHARGING_RATE_UNIT_AMPERES","periods":[{"limit":16}]})"};
  auto parsed = parse_action_args(*method->input_type(), args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto request = build_action_request(*method, "CP-1", *parsed);
  ASSERT_TRUE(request) << request.error().message;
  v1::SetChargingProfileRequest typed;
  typed.CopyFrom(**request);
  EXPECT_EQ(typed.profile().id(), 5);
  EXPECT_EQ(typed.profile().purpose(), v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
  ASSERT_EQ(typed.profile().schedules_size(), 1);
  EXPECT_DOUBLE_EQ(typed.profile().schedules(0).periods(0).limit(), 16.0);
}

TEST(CtlActions, HelpListsEveryActionWithItsFields) {
  std::string help = actions_help(charger_control_service());
  EXPECT_NE(help.find("remote-start"), std::string::npos);
  EXPECT_NE(help.find("--id-token.id <string>"), std::string::npos);
  EXPECT_NE(help.find("get-connection"), std::string::npos);
  EXPECT_EQ(help.find("--charger-id"), std::string::npos);
  EXPECT_NE(new_action_response(*action("reset")), nullptr);
}

}  // namespace
}  // namespace switchyard::ctl
