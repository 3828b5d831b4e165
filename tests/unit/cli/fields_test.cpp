// Setting request fields from command-line text by reflection: paths, enums, repeated fields,
// timestamps and the errors an operator sees.
#include "cli/ctl_fields.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/ctl_enums.h"
#include "switchyard/v1/authorization.pb.h"
#include "switchyard/v1/charger_control.pb.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

using google::protobuf::util::TimeUtil;

TEST(CtlFields, SetsNestedFieldsByDottedKebabPath) {
  v1::RemoteStartRequest request;
  ASSERT_TRUE(set_field(request, "id-token.id", "ABC123"));
  ASSERT_TRUE(set_field(request, "id-token.type", "ISO14443"));
  ASSERT_TRUE(set_field(request, "evse-id", "2"));
  EXPECT_EQ(request.id_token().id(), "ABC123");
  EXPECT_EQ(request.id_token().type(), "ISO14443");
  EXPECT_EQ(request.evse_id(), 2);
}

TEST(CtlFields, AcceptsSnakeAndCamelCaseSegments) {
  v1::RemoteStartRequest request;
  ASSERT_TRUE(set_field(request, "id_token.id", "A"));
  ASSERT_TRUE(set_field(request, "remoteStartId", "7"));
  EXPECT_EQ(request.id_token().id(), "A");
  EXPECT_EQ(request.remote_start_id(), 7);
}

TEST(CtlFields, SetsDeeplyNestedEnumWithOrWithoutPrefix) {
  v1::SetChargingProfileRequest request;
  ASSERT_TRUE(set_field(request, "profile.purpose", "tx-default"));
  EXPECT_EQ(request.profile().purpose(), v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
  ASSERT_TRUE(set_field(request, "profile.purpose", "CHARGING_PROFILE_PURPOSE_STATION_MAX"));
  EXPECT_EQ(request.profile().purpose(), v1::CHARGING_PROFILE_PURPOSE_STATION_MAX);
  ASSERT_TRUE(set_field(request, "profile.purpose", "Tx"));
  EXPECT_EQ(request.profile().purpose(), v1::CHARGING_PROFILE_PURPOSE_TX);
  ASSERT_TRUE(set_field(request, "profile.kind", "absolute"));
  EXPECT_EQ(request.profile().kind(), v1::CHARGING_PROFILE_KIND_ABSOLUTE);
}

TEST(CtlFields, RejectsUnknownEnumValueListingChoices) {
  v1::ClearChargingProfileRequest request;
  auto set = set_field(request, "purpose", "sometimes");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("--purpose"), std::string::npos) << set.error().message;
  EXPECT_NE(set.error().message.find("station-max, tx-default, tx, external-constraints"),
            std::string::npos)
      << set.error().message;
}

TEST(CtlFields, ParsesEnumsOfVersionsAndShowsThemShort) {
  const auto& type = *v1::OcppVersion_descriptor();
  auto value = parse_enum_value(type, "2.0.1");
  ASSERT_TRUE(value);
  EXPECT_EQ((*value)->number(), v1::OCPP_VERSION_2_0_1);
  EXPECT_EQ(enum_display_name(**value), "2.0.1");
  EXPECT_EQ(enum_display_name(*type.FindValueByNumber(0)), "");
  EXPECT_EQ(enum_prefix(*v1::TokenStatus_descriptor()), "TOKEN_STATUS_");
  EXPECT_EQ(enum_prefix(*v1::AdmitChargerResponse::Verdict_descriptor()), "VERDICT_");
}

TEST(CtlFields, AppendsRepeatedScalarsOnePerFlag) {
  v1::GetConfigurationRequest request;
  ASSERT_TRUE(set_field(request, "keys", "HeartbeatInterval"));
  ASSERT_TRUE(set_field(request, "keys", "MeterValueSampleInterval"));
  ASSERT_EQ(request.keys_size(), 2);
  EXPECT_EQ(request.keys(0), "HeartbeatInterval");
  EXPECT_EQ(request.keys(1), "MeterValueSampleInterval");
}

TEST(CtlFields, AppendsRepeatedMessagesFromJsonObjects) {
  v1::GetVariablesRequest request;
  ASSERT_TRUE(set_field(request, "variables",
                        R"({"component":"OCPPCommCtrlr","variable":"HeartbeatInterval"})"));
  ASSERT_TRUE(
      set_field(request, "variables", R"({"component":"EVSE","evseId":1,"variable":"Power"})"));
  ASSERT_EQ(request.variables_size(), 2);
  EXPECT_EQ(request.variables(0).component(), "OCPPCommCtrlr");
  EXPECT_EQ(request.variables(1).evse_id(), 1);
}

TEST(CtlFields, RefusesDottedPathThroughList) {
  v1::GetVariablesRequest request;
  auto set = set_field(request, "variables.component", "EVSE");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("is a list"), std::string::npos) << set.error().message;
}

TEST(CtlFields, SetsMessageFieldFromJsonObject) {
  v1::RemoteStartRequest request;
  ASSERT_TRUE(set_field(request, "id-token", R"({"id":"X1","type":"Central"})"));
  EXPECT_EQ(request.id_token().id(), "X1");
  EXPECT_EQ(request.id_token().type(), "Central");
}

TEST(CtlFields, ExplainsMessageFieldGivenPlainText) {
  v1::RemoteStartRequest request;
  auto set = set_field(request, "id-token", "ABC");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("--id-token.id"), std::string::npos) << set.error().message;
}

TEST(CtlFields, ParsesRfc3339TimestampsWithOffsets) {
  v1::ReserveNowRequest request;
  ASSERT_TRUE(set_field(request, "expires-at", "2024-05-01T14:00:00+02:00"));
  EXPECT_EQ(TimeUtil::ToString(request.expires_at()), "2024-05-01T12:00:00Z");
  ASSERT_TRUE(set_field(request, "expires-at", "2024-05-01T12:00:00.250Z"));
  EXPECT_EQ(request.expires_at().nanos(), 250'000'000);
}

TEST(CtlFields, RejectsMalformedTimestamp) {
  v1::ReserveNowRequest request;
  auto set = set_field(request, "expires-at", "tomorrow");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("RFC 3339"), std::string::npos) << set.error().message;
}

TEST(CtlFields, NamesValidFieldsForUnknownField) {
  v1::ResetRequest request;
  auto set = set_field(request, "type", "hard");
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().message,
            "unknown field --type for ResetRequest; valid fields: --charger-id, --hard, --evse-id");
}

TEST(CtlFields, NamesValidNestedFieldsForUnknownNestedField) {
  v1::RemoteStartRequest request;
  auto set = set_field(request, "id-token.idd", "A");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message.find("--id-token.id, --id-token.type"), std::string::npos)
      << set.error().message;
}

TEST(CtlFields, ParsesBoolsAndRejectsOthers) {
  v1::ResetRequest request;
  ASSERT_TRUE(set_field(request, "hard", "true"));
  EXPECT_TRUE(request.hard());
  ASSERT_TRUE(set_field(request, "hard", "FALSE"));
  EXPECT_FALSE(request.hard());
  EXPECT_FALSE(set_field(request, "hard", "maybe"));
}

TEST(CtlFields, RejectsIntegersOutOfRangeOrMalformed) {
  v1::ResetRequest request;
  auto too_big = set_field(request, "evse-id", "3000000000");
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("out of range"), std::string::npos);
  EXPECT_FALSE(set_field(request, "evse-id", "1.5"));
  EXPECT_FALSE(set_field(request, "evse-id", ""));
  ASSERT_TRUE(set_field(request, "evse-id", "-1"));
  EXPECT_EQ(request.evse_id(), -1);
}

TEST(CtlFields, ParsesDoubles) {
  v1::SetChargingProfileRequest request;
  auto& schedule = *request.mutable_profile()->add_schedules();
  ASSERT_TRUE(set_field(schedule, "min-charging-rate", "6.5"));
  EXPECT_DOUBLE_EQ(schedule.min_charging_rate(), 6.5);
  EXPECT_FALSE(set_field(schedule, "min-charging-rate", "six"));
}

TEST(CtlFields, ConvertsNamesBetweenCases) {
  EXPECT_EQ(to_snake_case("id-token"), "id_token");
  EXPECT_EQ(to_snake_case("idToken"), "id_token");
  EXPECT_EQ(to_snake_case("RemoteStart"), "remote_start");
  EXPECT_EQ(to_kebab_case("retry_interval_s"), "retry-interval-s");
  EXPECT_EQ(to_upper_snake_case("ChargingProfilePurpose"), "CHARGING_PROFILE_PURPOSE");
}

TEST(CtlFields, DescribesFieldsForHelp) {
  auto lines = describe_fields(*v1::RemoteStartRequest::descriptor());
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("--evse-id <int32>"));
  EXPECT_TRUE(has("--id-token.id <string>"));
  EXPECT_TRUE(has("--charging-profile.purpose <station-max|tx-default|tx|external-constraints>"));
  EXPECT_TRUE(has("--charging-profile.valid-from <RFC3339>"));
}

}  // namespace
}  // namespace switchyard::ctl
