// The direct wire encoding of MeterValues events against the protobuf message the rest of the
// gateway builds: for every frame, the same bytes as SerializeToString of the event that the
// envelope setters, normalize_inbound and the quirks make.
#include "gateway/event_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gateway/normalize.h"
#include "meter_values_frames.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

using ocpp::Version;

EventEnvelope envelope_of(Version version, std::string_view raw_frame) {
  EventEnvelope e;
  e.event_id = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
  e.charger_id = "CP-0001";
  e.pod_id = "gateway-7f9c-2";
  e.received_seconds = 1764583200;
  e.received_nanos = 123456789;
  e.protocol_version = version == Version::k16    ? v1::OCPP_VERSION_1_6
                       : version == Version::k201 ? v1::OCPP_VERSION_2_0_1
                                                  : v1::OCPP_VERSION_2_1;
  e.message_id = "m-1";
  e.action = "MeterValues";
  e.raw_frame = raw_frame;
  return e;
}

// What the gateway's protobuf path publishes for the same frame.
std::string through_the_message(const EventEnvelope& e, Version version,
                                const ocpp::DecodedFrame& frame) {
  v1::ChargerEvent event;
  event.set_event_id(std::string(e.event_id));
  event.set_charger_id(std::string(e.charger_id));
  event.set_pod_id(std::string(e.pod_id));
  event.mutable_received_at()->set_seconds(e.received_seconds);
  event.mutable_received_at()->set_nanos(e.received_nanos);
  event.set_protocol_version(static_cast<v1::OcppVersion>(e.protocol_version));
  event.set_message_id(std::string(e.message_id));
  event.set_action(std::string(e.action));
  event.set_raw_frame(std::string(e.raw_frame));
  EXPECT_TRUE(normalize_inbound(version, frame, event));
  ocpp::for_each_quirk(frame.quirks, [&event](ocpp::Quirk q) {
    event.add_quirks(std::string(ocpp::quirk_name(q)));
  });
  std::string bytes;
  EXPECT_TRUE(event.SerializeToString(&bytes));
  return bytes;
}

std::string direct(const EventEnvelope& e, Version version, const ocpp::DecodedFrame& frame) {
  std::string bytes = "kept";  // appends: what the buffer held stays in front
  append_envelope(e, bytes);
  EXPECT_TRUE(append_meter_values(version, frame, bytes));
  append_quirks(frame.quirks, bytes);
  EXPECT_EQ(bytes.substr(0, 4), "kept");
  return bytes.substr(4);
}

// The frame's quirks, for tests that want some.
std::uint8_t expect_same_bytes(Version version, std::string_view text, bool lenient = false) {
  ocpp::Decoder decoder;
  ocpp::DecodeOptions options;
  options.lenient = lenient;
  auto frame = decoder.decode(version, ocpp::Role::kCsms, text, nullptr, options);
  if (!frame) {
    ADD_FAILURE() << frame.error().description << " in " << text;
    return 0;
  }
  const EventEnvelope e = envelope_of(version, text);
  const std::string expected = through_the_message(e, version, *frame);
  const std::string got = direct(e, version, *frame);
  EXPECT_EQ(got, expected) << text;
  // And it reads back as the same event.
  v1::ChargerEvent a;
  v1::ChargerEvent b;
  EXPECT_TRUE(a.ParseFromString(got));
  EXPECT_TRUE(b.ParseFromString(expected));
  EXPECT_EQ(a.DebugString(), b.DebugString());
  return frame->quirks;
}

TEST(EventWire, V16SamplesWithDefaultsSignedDataNonNumbersAndBothCelsiusSpellings) {
  expect_same_bytes(Version::k16, test_frames::kMeterValues16);
}

TEST(EventWire, V16ZeroIsLeftOutAndMinusZeroIsWritten) {
  // proto3 leaves out +0.0 only; "-0" reads as -0.0, whose bits are not zero.
  expect_same_bytes(Version::k16,
                    R"([2,"m2","MeterValues",{"connectorId":0,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[)"
                    R"({"value":"0"},{"value":"-0"},{"value":"-12.5","unit":"kW"}]}]}])");
}

TEST(EventWire, V16TransactionIdsZeroAndNegativeAreText) {
  expect_same_bytes(Version::k16,
                    R"([2,"m3","MeterValues",{"connectorId":2,"transactionId":0,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"1"}]}]}])");
  expect_same_bytes(Version::k16,
                    R"([2,"m4","MeterValues",{"connectorId":2,"transactionId":-7,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"1"}]}]}])");
}

TEST(EventWire, LocationsPastInt32NarrowAsTheMessageNarrowsThem) {
  // The schema bounds connector and EVSE ids below only; Location's fields are int32, so
  // 2147483648 narrows to a negative number: a ten-byte varint in both ways.
  expect_same_bytes(Version::k16,
                    R"([2,"m11","MeterValues",{"connectorId":2147483648,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"1"}]}]}])");
  expect_same_bytes(Version::k201,
                    R"([2,"m12","MeterValues",{"evseId":4294967297,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":1}]}]}])");
}

TEST(EventWire, ASampleOfMoreThan127BytesHasATwoByteLength) {
  const std::string signed_data(400, 'Q');
  expect_same_bytes(Version::k16,
                    R"([2,"m13","MeterValues",{"connectorId":1,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":")" +
                        signed_data + R"(","format":"SignedData"}]}]}])");
}

TEST(EventWire, ATimestampBefore1970HasNegativeSecondsAndPositiveNanos) {
  expect_same_bytes(Version::k16,
                    R"([2,"m5","MeterValues",{"connectorId":1,"meterValue":[)"
                    R"({"timestamp":"1969-12-31T23:59:59.500Z","sampledValue":[{"value":"1"}]},)"
                    R"({"timestamp":"1970-01-01T00:00:00Z","sampledValue":[{"value":"2"}]}]}])");
}

TEST(EventWire, V201MultipliersDefaultUnitsSignedValuesAndPercent) {
  expect_same_bytes(Version::k201, test_frames::kMeterValues201);
  // A zero with a multiplier, and a product past the largest double.
  expect_same_bytes(
      Version::k201,
      R"([2,"m6","MeterValues",{"evseId":2,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z",)"
      R"("sampledValue":[{"value":0,"unitOfMeasure":{"multiplier":2}},)"
      R"({"value":1e308,"unitOfMeasure":{"unit":"kWh","multiplier":3}}]}]}])");
}

TEST(EventWire, V21UnitsInAnyCaseUnknownUnitsAndNonAsciiText) {
  expect_same_bytes(
      Version::k21,
      R"([2,"m7","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z",)"
      R"("sampledValue":[{"value":2,"unitOfMeasure":{"unit":"KWH"}},)"
      R"({"value":-60,"measurand":"Power.Offered","unitOfMeasure":{"unit":"dBm"}},)"
      R"({"value":21.5,"unitOfMeasure":{"unit":"°C"}}]}]}])");
}

TEST(EventWire, ManySamplesNeedMultiByteLengthsAndStillMatch) {
  // 300 sampled values: the MeterValues body runs past 16 KiB, a three-byte length.
  std::string text = R"([2,"m8","MeterValues",{"connectorId":3,"transactionId":99,"meterValue":[)";
  for (int m = 0; m < 30; ++m) {
    if (m > 0) text += ",";
    text += R"({"timestamp":"2026-12-01T10:)" + std::string(m < 10 ? "0" : "") + std::to_string(m) +
            R"(:00Z","sampledValue":[)";
    for (int s = 0; s < 10; ++s) {
      if (s > 0) text += ",";
      text += R"({"value":")" + std::to_string(m * 1000 + s) +
              R"(.5","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register",)"
              R"("phase":"L2","location":"Outlet","unit":"kWh"})";
    }
    text += "]}";
  }
  text += "]}]";
  expect_same_bytes(Version::k16, text);
}

TEST(EventWire, QuirksOfALenientDecodeFollowThePayload) {
  // connectorId as a string and an enum in the wrong case: two quirks, in bit order.
  const std::uint8_t quirks =
      expect_same_bytes(Version::k16,
                        R"([2,"m9","MeterValues",{"connectorId":"1","meterValue":[)"
                        R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[)"
                        R"({"value":"5","context":"sample.periodic"}]}]}])",
                        /*lenient=*/true);
  EXPECT_EQ(quirks, ocpp::kQuirkEnumCase | ocpp::kQuirkNumberAsString);
}

TEST(EventWire, AnEmptyPodIdAndALongRawFrameAreWrittenAsTheMessageWritesThem) {
  const std::string text =
      R"([2,"m10","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z",)"
      R"("sampledValue":[{"value":"1"}]}]}])";
  ocpp::Decoder decoder;
  auto frame = decoder.decode(Version::k16, ocpp::Role::kCsms, text);
  ASSERT_TRUE(frame);
  EventEnvelope e = envelope_of(Version::k16, text);
  e.pod_id = "";
  e.received_nanos = 0;
  EXPECT_EQ(direct(e, Version::k16, *frame), through_the_message(e, Version::k16, *frame));
}

TEST(EventWire, OtherActionsAreNotWrittenAtAll) {
  ocpp::Decoder decoder;
  for (auto [version, text] : {
           std::pair{Version::k16, std::string_view(R"([2,"h1","Heartbeat",{}])")},
           std::pair{Version::k16,
                     std::string_view(R"([2,"s1","StatusNotification",{"connectorId":1,)"
                                      R"("errorCode":"NoError","status":"Available"}])")},
           std::pair{Version::k201,
                     std::string_view(R"([2,"t1","TransactionEvent",{"eventType":"Updated",)"
                                      R"("timestamp":"2026-12-01T10:00:00Z","triggerReason":)"
                                      R"("MeterValuePeriodic","seqNo":1,"transactionInfo":)"
                                      R"({"transactionId":"tx-1"}}])")},
       }) {
    auto frame = decoder.decode(version, ocpp::Role::kCsms, text);
    ASSERT_TRUE(frame) << frame.error().description;
    std::string bytes = "x";
    EXPECT_FALSE(append_meter_values(version, *frame, bytes)) << text;
    EXPECT_EQ(bytes, "x");
  }
}

}  // namespace
}  // namespace switchyard::gateway
