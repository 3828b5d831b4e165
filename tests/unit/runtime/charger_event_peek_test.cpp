// The peek at a serialized ChargerEvent agrees with the full parse on the payload and envelope,
// for every payload case the contract has, and refuses what is not well-formed, so that the full
// parse decides there.
#include "common/runtime/bus/charger_event_peek.h"

#include <gtest/gtest.h>

#include <string>

#include "switchyard/v1/events.pb.h"

namespace switchyard::bus {
namespace {

v1::ChargerEvent envelope() {
  v1::ChargerEvent e;
  e.set_event_id("0190f3c2-1a2b-7000-8000-0123456789ab");
  e.set_charger_id("CP-Ä-001");
  e.set_pod_id("gateway-0");
  e.mutable_received_at()->set_seconds(1'764'900'000);
  e.mutable_received_at()->set_nanos(123'456'789);
  e.set_protocol_version(v1::OCPP_VERSION_2_0_1);
  e.set_message_id("42");
  e.set_action("MeterValues");
  e.set_raw_frame(R"([2,"42","MeterValues",{"evseId":1,"meterValue":[]}])");
  e.add_quirks("enum_case");
  return e;
}

TEST(ChargerEventPeekTest, FindsEveryPayloadCaseOfTheContract) {
  const auto* oneof = v1::ChargerEvent::descriptor()->FindOneofByName("payload");
  ASSERT_NE(oneof, nullptr);
  ASSERT_GT(oneof->field_count(), 10);
  for (int i = 0; i < oneof->field_count(); ++i) {
    const auto* field = oneof->field(i);
    v1::ChargerEvent e = envelope();
    // Set the case with an empty message: the payload field is on the wire even then.
    e.GetReflection()->MutableMessage(&e, field);
    const std::string bytes = e.SerializeAsString();
    const auto peek = peek_charger_event(bytes);
    ASSERT_TRUE(peek.has_value()) << field->name();
    EXPECT_EQ(peek->payload, field->number()) << field->name();
    EXPECT_EQ(peek->payload, static_cast<int>(e.payload_case())) << field->name();
  }
}

TEST(ChargerEventPeekTest, ReadsTheEnvelopeAsTheFullParseDoes) {
  v1::ChargerEvent e = envelope();
  auto* sample = e.mutable_meter_values()->add_samples();
  sample->set_measurand("Energy.Active.Import.Register");
  sample->set_value(1234.5);
  const std::string bytes = e.SerializeAsString();
  const auto peek = peek_charger_event(bytes);
  ASSERT_TRUE(peek.has_value());
  EXPECT_EQ(peek->payload, v1::ChargerEvent::kMeterValues);
  EXPECT_EQ(peek->event_id, e.event_id());
  EXPECT_EQ(peek->charger_id, e.charger_id());
  EXPECT_EQ(peek->received_at_ms, 1'764'900'000'123);
  EXPECT_EQ(peek->protocol_version, v1::OCPP_VERSION_2_0_1);
}

TEST(ChargerEventPeekTest, ReadsAStringFieldOfThePayload) {
  v1::ChargerEvent e = envelope();
  e.mutable_meter_values()->mutable_location()->set_evse_id(2);
  e.mutable_meter_values()->add_samples()->set_value(1.5);
  const std::string without = e.SerializeAsString();  // the views point into it
  auto peek = peek_charger_event(without);
  ASSERT_TRUE(peek.has_value());
  auto tx = peek_string_field(peek->payload_bytes, v1::MeterValues::kTransactionIdFieldNumber);
  ASSERT_TRUE(tx.has_value());
  EXPECT_TRUE(tx->empty());

  e.mutable_meter_values()->set_transaction_id("tx-17");
  const std::string bytes = e.SerializeAsString();
  peek = peek_charger_event(bytes);
  ASSERT_TRUE(peek.has_value());
  tx = peek_string_field(peek->payload_bytes, v1::MeterValues::kTransactionIdFieldNumber);
  ASSERT_TRUE(tx.has_value());
  EXPECT_EQ(*tx, "tx-17");
  EXPECT_FALSE(peek_string_field("	tx", v1::MeterValues::kTransactionIdFieldNumber));
}

// Serialized events one after the other parse as one: occurrences of the same payload member
// merge, so the last one's bytes are not the whole payload (payload_split); a different member
// replaces the earlier one (a oneof), so its bytes are.
TEST(ChargerEventPeekTest, SaysWhenThePayloadIsSplitOverOccurrences) {
  v1::ChargerEvent first = envelope();
  first.mutable_meter_values()->mutable_location()->set_evse_id(1);
  v1::ChargerEvent second;
  second.mutable_meter_values()->set_transaction_id("tx-1");
  const std::string one = first.SerializeAsString();
  auto peek = peek_charger_event(one);
  ASSERT_TRUE(peek.has_value());
  EXPECT_FALSE(peek->payload_split);
  const std::string merged = one + second.SerializeAsString();
  peek = peek_charger_event(merged);
  ASSERT_TRUE(peek.has_value());
  EXPECT_TRUE(peek->payload_split);
  v1::ChargerEvent other;
  other.mutable_heartbeat();
  const std::string replaced = one + other.SerializeAsString();
  peek = peek_charger_event(replaced);
  ASSERT_TRUE(peek.has_value());
  EXPECT_EQ(peek->payload, v1::ChargerEvent::kHeartbeat);
  EXPECT_FALSE(peek->payload_split);
}

TEST(ChargerEventPeekTest, AnEventWithoutPayloadOrEnvelopeHasZeros) {
  const auto peek = peek_charger_event("");
  ASSERT_TRUE(peek.has_value());
  EXPECT_EQ(peek->payload, 0);
  EXPECT_TRUE(peek->charger_id.empty());
  EXPECT_EQ(peek->received_at_ms, 0);
}

TEST(ChargerEventPeekTest, RefusesWhatIsNotWellFormed) {
  v1::ChargerEvent e = envelope();
  e.mutable_heartbeat();
  const std::string bytes = e.SerializeAsString();
  // Every truncation that cuts a field short.
  for (std::size_t n = 1; n < bytes.size(); ++n) {
    const auto peek = peek_charger_event(std::string_view(bytes).substr(0, n));
    v1::ChargerEvent parsed;
    if (!parsed.ParseFromArray(bytes.data(), static_cast<int>(n))) {
      EXPECT_FALSE(peek.has_value()) << "cut at " << n;
    }
  }
  EXPECT_FALSE(peek_charger_event(std::string("\x0b\x0c", 2)).has_value());  // a group
  EXPECT_FALSE(peek_charger_event(std::string("\x00\x01", 2)).has_value());  // field 0
  EXPECT_FALSE(peek_charger_event("\x12\x7f"
                                  "ab")
                   .has_value());                                         // length past end
  EXPECT_FALSE(peek_charger_event(std::string(11, '\xff')).has_value());  // endless varint
}

TEST(ChargerEventPeekTest, RefusesIdsThatAreNotUtf8LikeTheFullParse) {
  for (const std::string& bad : {std::string("CP\xff"), std::string("CP\xc0\xaf"),
                                 std::string("CP\xed\xa0\x80"), std::string("CP\xe2\x82")}) {
    v1::ChargerEvent e = envelope();
    e.mutable_heartbeat();
    std::string bytes = e.SerializeAsString();
    // Put the bad id in by hand: the serializer would refuse (and log) it.
    std::string id = "\x12";
    id += static_cast<char>(bad.size());
    id += bad;
    bytes += id;
    EXPECT_FALSE(peek_charger_event(bytes).has_value());
    v1::ChargerEvent parsed;
    EXPECT_FALSE(parsed.ParseFromString(bytes));
  }
}

}  // namespace
}  // namespace switchyard::bus
