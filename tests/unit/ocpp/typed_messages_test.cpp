// Typed messages: decoding into structs, encoding hand-built structs, round trips, open objects,
// lenient mode and the arena's reuse.
#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"
#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"

namespace switchyard::ocpp {
namespace {

constexpr std::string_view kMeterValues =
    R"([2,"19223201","MeterValues",{"connectorId":1,"transactionId":123456,"meterValue":[)"
    R"({"timestamp":"2026-12-01T10:00:00.000Z","sampledValue":[)"
    R"({"value":"12345.6","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"kWh"},)"
    R"({"value":"7400","measurand":"Power.Active.Import","unit":"W"},)"
    R"({"value":"32.1","measurand":"Current.Import","phase":"L1","unit":"A"}]}]}])";

TEST(TypedMessages, MeterValuesDecodeIntoListsEnumsAndDateTimes) {
  Decoder decoder;
  auto r = decoder.decode(Version::k16, Role::kCsms, kMeterValues);
  ASSERT_TRUE(r) << r.error().description;
  const auto* mv = r->as<v16::MeterValuesRequest>();
  ASSERT_NE(mv, nullptr);
  EXPECT_EQ(mv->connector_id, 1);
  EXPECT_EQ(mv->transaction_id, 123456);
  ASSERT_EQ(mv->meter_value.size(), 1u);
  const auto& samples = mv->meter_value[0].sampled_value;
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].measurand, v16::Measurand::kEnergyActiveImportRegister);
  EXPECT_EQ(samples[0].unit, v16::UnitOfMeasure::kKWh);
  EXPECT_EQ(samples[2].phase, v16::Phase::kL1);
  EXPECT_EQ(samples[1].value, "7400");
  EXPECT_EQ(to_string(*samples[0].measurand), "Energy.Active.Import.Register");
  EXPECT_EQ(mv->meter_value[0].timestamp.time().time_since_epoch(),
            std::chrono::milliseconds(1796119200000));
}

TEST(TypedMessages, HandBuiltRequestEncodesAndDecodesBackEqual) {
  v201::SetVariablesRequest request{};
  std::vector<v201::SetVariableData> data(2);
  data[0].attribute_value = "60";
  data[0].component.name = "OCPPCommCtrlr";
  data[0].variable.name = "HeartbeatInterval";
  data[1].attribute_type = v201::AttributeEnum::kTarget;
  data[1].attribute_value = "true";
  data[1].component.name = "AuthCtrlr";
  data[1].component.evse = v201::EVSE{};
  data[1].component.evse->id = 1;
  data[1].variable.name = "Enabled";
  request.set_variable_data = data;

  Encoder encoder;
  const std::string frame(encoder.call("m-1", request));
  Decoder decoder;
  auto r = decoder.decode(Version::k201, Role::kCharger, frame);
  ASSERT_TRUE(r) << r.error().description << " in " << frame;
  const auto* back = r->as<v201::SetVariablesRequest>();
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(*back, request);
}

TEST(TypedMessages, OpenObjectsKeepTheirVendorMembersThroughARoundTrip) {
  Decoder decoder;
  const std::string_view json =
      R"({"reason":"PowerUp","chargingStation":{"model":"m","vendorName":"v",)"
      R"("customData":{"vendorId":"com.example","firmwareChannel":"beta","limits":[1,{"a":null}]}}})";
  auto r = decoder.decode_payload<v201::BootNotificationRequest>(Version::k201, json);
  ASSERT_TRUE(r) << r.error().description;
  const auto& custom = *(*r)->charging_station.custom_data;
  EXPECT_EQ(custom.vendor_id, "com.example");
  EXPECT_EQ(custom.extra.members(), R"("firmwareChannel":"beta","limits":[1,{"a":null}])");
  Encoder encoder;
  EXPECT_NE(
      encoder.payload(v201::BootNotificationRequest::schema(), *r)
          .find(
              R"("customData":{"vendorId":"com.example","firmwareChannel":"beta","limits":[1,{"a":null}]})"),
      std::string_view::npos);
}

TEST(TypedMessages, DataTransferDataKeepsAnyJsonValue) {
  Decoder decoder;
  auto r = decoder.decode_payload<v201::DataTransferRequest>(
      Version::k201, R"({"vendorId":"v","data":{"k":[true,"\u00e9\n",1.5e3]}})");
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_EQ((*r)->data->json(), R"({"k":[true,"é\n",1.5e3]})");
}

TEST(TypedMessages, ErrorsNameTheFieldPath) {
  Decoder decoder;
  std::string bad(kMeterValues);
  bad.replace(bad.find("\"L1\""), 4, "\"L9\"");
  auto r = decoder.decode(Version::k16, Role::kCsms, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, RpcErrorCode::kPropertyConstraintViolation);
  EXPECT_EQ(r.error().description.substr(0, 33), "meterValue[0].sampledValue[2].pha");
}

TEST(TypedMessages, MissingRequiredMemberIsAnOccurrenceViolationNamingIt) {
  Decoder decoder;
  auto r = decoder.decode(Version::k16, Role::kCsms,
                          R"([2,"1","BootNotification",{"chargePointVendor":"x"}])");
  ASSERT_FALSE(r);
  EXPECT_EQ(rpc_error_name(r.error().code, Version::k16), "OccurenceConstraintViolation");
  EXPECT_NE(r.error().description.find("chargePointModel"), std::string::npos);
}

TEST(TypedMessages, StringLimitsCountCharactersNotBytes) {
  Decoder decoder;
  // 20 two-byte characters fit a CiString20.
  std::string vendor;
  for (int i = 0; i < 20; ++i) vendor += "é";
  const std::string ok = R"({"chargePointVendor":")" + vendor + R"(","chargePointModel":"m"})";
  EXPECT_TRUE(decoder.decode_payload<v16::BootNotificationRequest>(Version::k16, ok));
  const std::string too_long =
      R"({"chargePointVendor":")" + vendor + R"(x","chargePointModel":"m"})";
  auto r = decoder.decode_payload<v16::BootNotificationRequest>(Version::k16, too_long);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, RpcErrorCode::kPropertyConstraintViolation);
}

TEST(TypedMessages, Draft4IntegersRejectOneDotZeroDraft6AcceptIt) {
  Decoder decoder;
  auto d4 = decoder.decode_payload<v16::HeartbeatResponse>(
      Version::k16, R"({"currentTime":"2025-01-01T00:00:00Z"})");
  ASSERT_TRUE(d4);
  auto v16_float = decoder.decode_payload<v16::ChangeAvailabilityRequest>(
      Version::k16, R"({"connectorId":1.0,"type":"Operative"})");
  ASSERT_FALSE(v16_float);
  EXPECT_EQ(v16_float.error().code, RpcErrorCode::kTypeConstraintViolation);
  auto v201_float = decoder.decode_payload<v201::ChangeAvailabilityRequest>(
      Version::k201, R"({"operationalStatus":"Operative","evse":{"id":1.0}})");
  EXPECT_TRUE(v201_float) << v201_float.error().description;
}

TEST(TypedMessages, MultipleOfUsesDecimalArithmetic) {
  Decoder decoder;
  const auto payload = [](std::string limit) {
    return R"({"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,)"
           R"("chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute",)"
           R"("chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":)" +
           limit + "}]}}}";
  };
  EXPECT_TRUE(
      decoder.decode_payload<v16::SetChargingProfileRequest>(Version::k16, payload("21.4")));
  EXPECT_TRUE(decoder.decode_payload<v16::SetChargingProfileRequest>(Version::k16, payload("32")));
  auto r = decoder.decode_payload<v16::SetChargingProfileRequest>(Version::k16, payload("21.45"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, RpcErrorCode::kPropertyConstraintViolation);
}

TEST(TypedMessages, LenientModeAcceptsKnownQuirksAndCountsThem) {
  Decoder decoder;
  const std::string_view quirky =
      R"({"connectorId":"1","errorCode":"groundFailure","status":"Faulted",)"
      R"("timestamp":"2025-01-01T10:00:00","vendorBlob":7})";
  auto strict = decoder.decode_payload<v16::StatusNotificationRequest>(Version::k16, quirky);
  EXPECT_FALSE(strict);
  DecodeOptions lenient;
  lenient.lenient = true;
  std::uint8_t quirks = 0;
  auto r = decoder.decode_payload(Version::k16, v16::StatusNotificationRequest::schema(), quirky,
                                  lenient, &quirks);
  ASSERT_TRUE(r) << r.error().description;
  const auto* status = static_cast<const v16::StatusNotificationRequest*>(*r);
  EXPECT_EQ(status->connector_id, 1);
  EXPECT_EQ(status->error_code, v16::ChargePointErrorCode::kGroundFailure);
  EXPECT_EQ(status->timestamp->text(), "2025-01-01T10:00:00Z");
  EXPECT_EQ(quirks,
            kQuirkEnumCase | kQuirkNumberAsString | kQuirkDateTimeWithoutZone | kQuirkUnknownField);
}

TEST(TypedMessages, DecodingTheSameFrameAgainAllocatesNothingNew) {
  Decoder decoder;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(decoder.decode(Version::k16, Role::kCsms, kMeterValues));
  const std::size_t footprint = decoder.footprint();
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(decoder.decode(Version::k16, Role::kCsms, kMeterValues));
  EXPECT_EQ(decoder.footprint(), footprint);
}

TEST(TypedMessages, RegistryKnowsEveryActionOfEveryVersion) {
  EXPECT_EQ(messages(Version::k16).size(), 39u);
  EXPECT_EQ(messages(Version::k201).size(), 64u);
  EXPECT_EQ(messages(Version::k21).size(), 91u);
  const MessageInfo* sign = find_message(Version::k16, "SignCertificate");
  ASSERT_NE(sign, nullptr);  // 1.6 security extension
  EXPECT_EQ(sign->direction, Direction::kChargerToCsms);
  EXPECT_EQ(find_message(Version::k21, "NotifyPeriodicEventStream")->response, nullptr);
}

}  // namespace
}  // namespace switchyard::ocpp
