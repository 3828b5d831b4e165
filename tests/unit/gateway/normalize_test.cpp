// Normalization of inbound OCPP 1.6 / 2.0.1 / 2.1 requests into version-neutral ChargerEvents,
// driven by real frames through the decoder.
#include "gateway/normalize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string_view>

#include "meter_values_frames.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

using ocpp::Version;
using test_frames::kMeterValues16;
using test_frames::kMeterValues201;

// Decodes `frame` as the CSMS and normalizes it. The event owns its strings, so it outlives the
// decoder.
v1::ChargerEvent normalized(Version version, std::string_view frame) {
  ocpp::Decoder decoder;
  auto decoded = decoder.decode(version, ocpp::Role::kCsms, frame);
  v1::ChargerEvent event;
  if (!decoded) {
    ADD_FAILURE() << decoded.error().description << " in " << frame;
    return event;
  }
  EXPECT_TRUE(normalize_inbound(version, *decoded, event)) << frame;
  return event;
}

std::int64_t millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

std::int64_t millis(std::string_view rfc3339) {
  return ocpp::DateTime::parse(rfc3339)->time().time_since_epoch().count();
}

// ---- BootNotification ----

TEST(NormalizeBootNotification, V16CopiesTheChargePointFieldsAndLeavesTheDecisionUnset) {
  const auto event = normalized(
      Version::k16,
      R"([2,"b1","BootNotification",{"chargePointVendor":"Alfen","chargePointModel":"NG920",)"
      R"("chargePointSerialNumber":"ACE0001","chargeBoxSerialNumber":"BOX7","firmwareVersion":"4.1",)"
      R"("iccid":"8931","imsi":"2040","meterType":"ABB B23","meterSerialNumber":"M-42"}])");
  ASSERT_TRUE(event.has_boot_notification());
  const auto& boot = event.boot_notification();
  EXPECT_EQ(boot.vendor(), "Alfen");
  EXPECT_EQ(boot.model(), "NG920");
  EXPECT_EQ(boot.serial_number(), "ACE0001");
  EXPECT_EQ(boot.charge_box_serial_number(), "BOX7");
  EXPECT_EQ(boot.firmware_version(), "4.1");
  EXPECT_EQ(boot.iccid(), "8931");
  EXPECT_EQ(boot.imsi(), "2040");
  EXPECT_EQ(boot.meter_type(), "ABB B23");
  EXPECT_EQ(boot.meter_serial_number(), "M-42");
  EXPECT_EQ(boot.reason(), "");
  EXPECT_EQ(boot.registration_status(), "");
  EXPECT_EQ(boot.interval_s(), 0);
}

TEST(NormalizeBootNotification, V201ReadsTheChargingStationModemAndReason) {
  const auto event = normalized(
      Version::k201,
      R"([2,"b2","BootNotification",{"reason":"PowerUp","chargingStation":{"vendorName":"Zaptec",)"
      R"("model":"Pro","serialNumber":"ZAP9","firmwareVersion":"2.0","modem":{"iccid":"8931",)"
      R"("imsi":"2040"}}}])");
  ASSERT_TRUE(event.has_boot_notification());
  const auto& boot = event.boot_notification();
  EXPECT_EQ(boot.vendor(), "Zaptec");
  EXPECT_EQ(boot.model(), "Pro");
  EXPECT_EQ(boot.serial_number(), "ZAP9");
  EXPECT_EQ(boot.firmware_version(), "2.0");
  EXPECT_EQ(boot.iccid(), "8931");
  EXPECT_EQ(boot.imsi(), "2040");
  EXPECT_EQ(boot.reason(), "PowerUp");
  EXPECT_EQ(boot.charge_box_serial_number(), "");
  EXPECT_EQ(boot.registration_status(), "");
}

TEST(NormalizeBootNotification, V21WithoutModemLeavesIccidAndImsiEmpty) {
  const auto event =
      normalized(Version::k21, R"([2,"b3","BootNotification",{"reason":"Watchdog",)"
                               R"("chargingStation":{"vendorName":"Kempower","model":"S"}}])");
  ASSERT_TRUE(event.has_boot_notification());
  EXPECT_EQ(event.boot_notification().vendor(), "Kempower");
  EXPECT_EQ(event.boot_notification().reason(), "Watchdog");
  EXPECT_EQ(event.boot_notification().iccid(), "");
  EXPECT_EQ(event.boot_notification().serial_number(), "");
}

// ---- Heartbeat ----

TEST(NormalizeHeartbeat, IsAHeartbeatInEveryVersion) {
  EXPECT_TRUE(normalized(Version::k16, R"([2,"h1","Heartbeat",{}])").has_heartbeat());
  EXPECT_TRUE(normalized(Version::k201, R"([2,"h2","Heartbeat",{}])").has_heartbeat());
  EXPECT_TRUE(normalized(Version::k21, R"([2,"h3","Heartbeat",{}])").has_heartbeat());
}

// ---- StatusNotification ----

TEST(NormalizeStatusNotification, V16PutsTheConnectorInBothPlacesAndKeepsTheErrorDetail) {
  const auto event = normalized(
      Version::k16,
      R"([2,"s1","StatusNotification",{"connectorId":2,"errorCode":"GroundFailure",)"
      R"("info":"RCD tripped","status":"Faulted","timestamp":"2026-12-01T10:00:00.250Z",)"
      R"("vendorId":"com.alfen","vendorErrorCode":"E42"}])");
  ASSERT_TRUE(event.has_status_notification());
  const auto& status = event.status_notification();
  EXPECT_EQ(status.location().evse_id(), 2);
  EXPECT_EQ(status.location().connector_id(), 2);
  EXPECT_EQ(status.status(), "Faulted");
  EXPECT_EQ(status.error_code(), "GroundFailure");
  EXPECT_EQ(status.info(), "RCD tripped");
  EXPECT_EQ(status.vendor_id(), "com.alfen");
  EXPECT_EQ(status.vendor_error_code(), "E42");
  EXPECT_EQ(millis(status.timestamp()), millis("2026-12-01T10:00:00.250Z"));
}

TEST(NormalizeStatusNotification, V16WithoutTimestampLeavesItUnset) {
  const auto event = normalized(Version::k16, R"([2,"s2","StatusNotification",{"connectorId":0,)"
                                              R"("errorCode":"NoError","status":"Available"}])");
  ASSERT_TRUE(event.has_status_notification());
  EXPECT_FALSE(event.status_notification().has_timestamp());
  EXPECT_EQ(event.status_notification().location().evse_id(), 0);
  EXPECT_EQ(event.status_notification().error_code(), "NoError");
  EXPECT_EQ(event.status_notification().info(), "");
}

TEST(NormalizeStatusNotification, V201ReadsEvseConnectorAndConnectorStatus) {
  const auto event = normalized(
      Version::k201, R"([2,"s3","StatusNotification",{"timestamp":"2026-12-01T10:00:00Z",)"
                     R"("connectorStatus":"Occupied","evseId":1,"connectorId":2}])");
  ASSERT_TRUE(event.has_status_notification());
  const auto& status = event.status_notification();
  EXPECT_EQ(status.location().evse_id(), 1);
  EXPECT_EQ(status.location().connector_id(), 2);
  EXPECT_EQ(status.status(), "Occupied");
  EXPECT_EQ(status.error_code(), "");
  EXPECT_EQ(millis(status.timestamp()), millis("2026-12-01T10:00:00Z"));
}

TEST(NormalizeStatusNotification, V21ReadsEvseConnectorAndConnectorStatus) {
  const auto event = normalized(
      Version::k21, R"([2,"s4","StatusNotification",{"timestamp":"2026-12-01T10:00:00Z",)"
                    R"("connectorStatus":"Unavailable","evseId":3,"connectorId":1}])");
  ASSERT_TRUE(event.has_status_notification());
  EXPECT_EQ(event.status_notification().location().evse_id(), 3);
  EXPECT_EQ(event.status_notification().status(), "Unavailable");
}

// ---- MeterValues ----

TEST(NormalizeMeterValues, V16ReadsConnectorTransactionAndStampsEachSampleWithItsMeterValue) {
  const auto event = normalized(Version::k16, kMeterValues16);
  ASSERT_TRUE(event.has_meter_values());
  const auto& mv = event.meter_values();
  EXPECT_EQ(mv.location().evse_id(), 1);
  EXPECT_EQ(mv.location().connector_id(), 1);
  EXPECT_EQ(mv.transaction_id(), "123456");
  ASSERT_EQ(mv.samples_size(), 8);
  EXPECT_EQ(millis(mv.samples(0).timestamp()), millis("2026-12-01T10:00:00Z"));
  EXPECT_EQ(millis(mv.samples(2).timestamp()), millis("2026-12-01T10:00:00Z"));
  EXPECT_EQ(millis(mv.samples(3).timestamp()), millis("2026-12-01T10:00:15Z"));
}

TEST(NormalizeMeterValues, V16NormalizesKwhToWhAndKeepsTheRawText) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(0);
  EXPECT_EQ(sample.measurand(), "Energy.Active.Import.Register");
  EXPECT_EQ(sample.context(), "Sample.Periodic");
  EXPECT_EQ(sample.location(), "Outlet");
  EXPECT_EQ(sample.phase(), "");
  EXPECT_EQ(sample.unit(), "kWh");
  EXPECT_EQ(sample.raw_value(), "12.3456");
  EXPECT_DOUBLE_EQ(sample.value(), 12.3456);
  EXPECT_EQ(sample.normalized_unit(), "Wh");
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 12345.6);
  EXPECT_FALSE(sample.signed_data());
}

TEST(NormalizeMeterValues, V16DefaultsTheMeasurandToEnergyImportAndTheUnitToWh) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(1);
  EXPECT_EQ(sample.measurand(), "Energy.Active.Import.Register");
  EXPECT_EQ(sample.unit(), "Wh");
  EXPECT_EQ(sample.normalized_unit(), "Wh");
  EXPECT_DOUBLE_EQ(sample.value(), 7400);
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 7400);
  EXPECT_EQ(sample.context(), "");
  EXPECT_EQ(sample.location(), "");
}

TEST(NormalizeMeterValues, V16KeepsPhaseAndUnitsThatNeedNoConversion) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(2);
  EXPECT_EQ(sample.measurand(), "Current.Import");
  EXPECT_EQ(sample.phase(), "L1");
  EXPECT_EQ(sample.unit(), "A");
  EXPECT_EQ(sample.normalized_unit(), "A");
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 31.5);
}

TEST(NormalizeMeterValues, V16SpellsCelsiusOneWayWhicheverSpellingTheChargerUsed) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& typo = event.meter_values().samples(3);
  EXPECT_EQ(typo.unit(), "Celcius");
  EXPECT_EQ(typo.normalized_unit(), "Celsius");
  EXPECT_DOUBLE_EQ(typo.normalized_value(), 21.5);
  EXPECT_EQ(event.meter_values().samples(4).unit(), "Celsius");
  EXPECT_EQ(event.meter_values().samples(4).normalized_unit(), "Celsius");
}

TEST(NormalizeMeterValues, V16ValueThatIsNoNumberReadsAsNaNButKeepsItsText) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(5);
  EXPECT_EQ(sample.raw_value(), "n/a");
  EXPECT_TRUE(std::isnan(sample.value()));
  EXPECT_TRUE(std::isnan(sample.normalized_value()));
  EXPECT_FALSE(sample.signed_data());
}

TEST(NormalizeMeterValues, V16SignedDataIsFlaggedAndHasNoNumericValue) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(6);
  EXPECT_TRUE(sample.signed_data());
  EXPECT_EQ(sample.raw_value(), "AP7B8x==");
  EXPECT_TRUE(std::isnan(sample.value()));
}

TEST(NormalizeMeterValues, V16HertzIsNormalizedToHz) {
  const auto event = normalized(Version::k16, kMeterValues16);
  const auto& sample = event.meter_values().samples(7);
  EXPECT_EQ(sample.unit(), "Hertz");
  EXPECT_EQ(sample.normalized_unit(), "Hz");
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 50);
}

TEST(NormalizeMeterValues, V16OutsideATransactionHasNoTransactionId) {
  const auto event = normalized(
      Version::k16, R"([2,"m2","MeterValues",{"connectorId":0,"meterValue":[)"
                    R"({"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"1"}]}]}])");
  ASSERT_TRUE(event.has_meter_values());
  EXPECT_EQ(event.meter_values().transaction_id(), "");
}

TEST(NormalizeMeterValues, MeterValuesApplyTheMultiplierAndNormalizeKwhToWh) {
  const auto event = normalized(Version::k201, kMeterValues201);
  ASSERT_TRUE(event.has_meter_values());
  ASSERT_EQ(event.meter_values().samples_size(), 7);
  const auto& sample = event.meter_values().samples(0);
  EXPECT_EQ(sample.raw_value(), "123.4");
  EXPECT_EQ(sample.unit(), "kWh");
  EXPECT_DOUBLE_EQ(sample.value(), 12.34);
  EXPECT_EQ(sample.normalized_unit(), "Wh");
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 12340);
  EXPECT_EQ(sample.context(), "Sample.Clock");
  EXPECT_EQ(millis(sample.timestamp()), millis("2026-12-01T10:00:00Z"));
}

TEST(NormalizeMeterValues, V201ReadsTheEvseAndHasNoTransactionId) {
  const auto event = normalized(Version::k201, kMeterValues201);
  EXPECT_EQ(event.meter_values().location().evse_id(), 2);
  EXPECT_EQ(event.meter_values().location().connector_id(), 0);
  EXPECT_EQ(event.meter_values().transaction_id(), "");
}

TEST(NormalizeMeterValues, V201NormalizesKwToWAndKeepsPhaseAndLocation) {
  const auto event = normalized(Version::k201, kMeterValues201);
  const auto& sample = event.meter_values().samples(1);
  EXPECT_EQ(sample.measurand(), "Power.Active.Import");
  EXPECT_EQ(sample.phase(), "L2");
  EXPECT_EQ(sample.location(), "Outlet");
  EXPECT_EQ(sample.unit(), "kW");
  EXPECT_DOUBLE_EQ(sample.value(), 11);
  EXPECT_EQ(sample.normalized_unit(), "W");
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 11000);
}

TEST(NormalizeMeterValues, V201AppliesTheMultiplierToTheDefaultUnitWh) {
  const auto event = normalized(Version::k201, kMeterValues201);
  const auto& sample = event.meter_values().samples(2);
  EXPECT_EQ(sample.measurand(), "Energy.Active.Import.Register");
  EXPECT_EQ(sample.unit(), "Wh");
  EXPECT_EQ(sample.raw_value(), "4.5");
  EXPECT_DOUBLE_EQ(sample.value(), 4500);
  EXPECT_DOUBLE_EQ(sample.normalized_value(), 4500);
}

TEST(NormalizeMeterValues, V201WithoutUnitOfMeasureIsWhWithMultiplierZero) {
  const auto event = normalized(Version::k201, kMeterValues201);
  const auto& sample = event.meter_values().samples(3);
  EXPECT_EQ(sample.measurand(), "Energy.Active.Import.Register");
  EXPECT_EQ(sample.unit(), "Wh");
  EXPECT_EQ(sample.normalized_unit(), "Wh");
  EXPECT_EQ(sample.raw_value(), "20.25");
  EXPECT_DOUBLE_EQ(sample.value(), 20.25);
  EXPECT_FALSE(sample.signed_data());
}

TEST(NormalizeMeterValues, V201SignedMeterValueIsFlaggedAndKeepsItsNumber) {
  const auto event = normalized(Version::k201, kMeterValues201);
  const auto& sample = event.meter_values().samples(5);
  EXPECT_TRUE(sample.signed_data());
  EXPECT_EQ(sample.raw_value(), "1500");
  EXPECT_DOUBLE_EQ(sample.value(), 1500);
}

TEST(NormalizeMeterValues, V201KeepsVoltsAndPercentUnchanged) {
  const auto event = normalized(Version::k201, kMeterValues201);
  EXPECT_EQ(event.meter_values().samples(4).phase(), "L1-N");
  EXPECT_EQ(event.meter_values().samples(4).normalized_unit(), "V");
  EXPECT_DOUBLE_EQ(event.meter_values().samples(4).normalized_value(), 230.1);
  EXPECT_EQ(event.meter_values().samples(6).normalized_unit(), "Percent");
  EXPECT_EQ(event.meter_values().samples(6).measurand(), "SoC");
}

TEST(NormalizeMeterValues, V21UnitsCompareIgnoringCaseAndUnknownUnitsStayAsSent) {
  const auto event = normalized(
      Version::k21,
      R"([2,"m4","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z",)"
      R"("sampledValue":[{"value":2,"unitOfMeasure":{"unit":"KWH"}},)"
      R"({"value":-60,"measurand":"Power.Offered","unitOfMeasure":{"unit":"dBm"}}]}]}])");
  ASSERT_EQ(event.meter_values().samples_size(), 2);
  EXPECT_EQ(event.meter_values().samples(0).normalized_unit(), "Wh");
  EXPECT_DOUBLE_EQ(event.meter_values().samples(0).normalized_value(), 2000);
  EXPECT_EQ(event.meter_values().samples(1).unit(), "dBm");
  EXPECT_EQ(event.meter_values().samples(1).normalized_unit(), "dBm");
  EXPECT_DOUBLE_EQ(event.meter_values().samples(1).normalized_value(), -60);
}

// ---- TransactionEvent ----

TEST(NormalizeTransactionEvent, V16StartTransactionIsAStartWithoutTransactionId) {
  const auto event = normalized(
      Version::k16,
      R"([2,"t1","StartTransaction",{"connectorId":2,"idTag":"04A2B3C4","meterStart":1500,)"
      R"("reservationId":77,"timestamp":"2026-12-01T10:00:00.500Z"}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.kind(), v1::TransactionEvent::KIND_STARTED);
  EXPECT_EQ(tx.transaction_id(), "");
  EXPECT_EQ(tx.location().evse_id(), 2);
  EXPECT_EQ(tx.location().connector_id(), 2);
  EXPECT_EQ(tx.id_token().id(), "04A2B3C4");
  EXPECT_EQ(tx.id_token().type(), "IdTag");
  EXPECT_EQ(tx.meter_wh(), 1500);
  EXPECT_TRUE(tx.has_meter_wh());
  EXPECT_EQ(tx.reservation_id(), 77);
  EXPECT_EQ(millis(tx.timestamp()), millis("2026-12-01T10:00:00.500Z"));
  EXPECT_FALSE(tx.has_decision());
}

TEST(NormalizeTransactionEvent, V16StopTransactionIsAnEndWithItsReasonAndTransactionData) {
  const auto event = normalized(
      Version::k16,
      R"([2,"t2","StopTransaction",{"idTag":"04A2B3C4","meterStop":9800,)"
      R"("timestamp":"2026-12-01T11:00:00Z","transactionId":987654,"reason":"EVDisconnected",)"
      R"("transactionData":[{"timestamp":"2026-12-01T11:00:00Z","sampledValue":[)"
      R"({"value":"9.8","context":"Transaction.End","unit":"kWh"}]}]}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.kind(), v1::TransactionEvent::KIND_ENDED);
  EXPECT_EQ(tx.transaction_id(), "987654");
  EXPECT_EQ(tx.id_token().id(), "04A2B3C4");
  EXPECT_EQ(tx.id_token().type(), "IdTag");
  EXPECT_EQ(tx.meter_wh(), 9800);
  EXPECT_TRUE(tx.has_meter_wh());
  EXPECT_EQ(tx.stopped_reason(), "EVDisconnected");
  EXPECT_EQ(millis(tx.timestamp()), millis("2026-12-01T11:00:00Z"));
  ASSERT_EQ(tx.samples_size(), 1);
  EXPECT_EQ(tx.samples(0).context(), "Transaction.End");
  EXPECT_EQ(tx.samples(0).measurand(), "Energy.Active.Import.Register");
  EXPECT_DOUBLE_EQ(tx.samples(0).normalized_value(), 9800);
}

TEST(NormalizeTransactionEvent, V16StopTransactionWithoutReasonStoppedLocallyAndHasNoToken) {
  const auto event =
      normalized(Version::k16, R"([2,"t3","StopTransaction",{"meterStop":0,)"
                               R"("timestamp":"2026-12-01T11:00:00Z","transactionId":5}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.stopped_reason(), "Local");
  EXPECT_FALSE(tx.has_id_token());
  EXPECT_TRUE(tx.has_meter_wh());
  EXPECT_EQ(tx.samples_size(), 0);
}

TEST(NormalizeTransactionEvent, V201StartedReadsTransactionInfoEvseTokenAndSamples) {
  const auto event = normalized(
      Version::k201,
      R"([2,"t4","TransactionEvent",{"eventType":"Started","timestamp":"2026-12-01T10:00:00Z",)"
      R"("triggerReason":"Authorized","seqNo":0,"offline":true,"reservationId":12,)"
      R"("transactionInfo":{"transactionId":"tx-0001","chargingState":"EVConnected",)"
      R"("remoteStartId":42},"evse":{"id":1,"connectorId":2},)"
      R"("idToken":{"idToken":"04A2B3C4","type":"ISO14443"},)"
      R"("meterValue":[{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[)"
      R"({"value":0.5,"context":"Transaction.Begin","unitOfMeasure":{"unit":"kWh"}}]}]}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.kind(), v1::TransactionEvent::KIND_STARTED);
  EXPECT_EQ(tx.transaction_id(), "tx-0001");
  EXPECT_EQ(tx.location().evse_id(), 1);
  EXPECT_EQ(tx.location().connector_id(), 2);
  EXPECT_EQ(tx.id_token().id(), "04A2B3C4");
  EXPECT_EQ(tx.id_token().type(), "ISO14443");
  EXPECT_EQ(millis(tx.timestamp()), millis("2026-12-01T10:00:00Z"));
  EXPECT_EQ(tx.seq_no(), 0);
  EXPECT_TRUE(tx.offline());
  EXPECT_EQ(tx.trigger_reason(), "Authorized");
  EXPECT_EQ(tx.charging_state(), "EVConnected");
  EXPECT_EQ(tx.stopped_reason(), "");
  EXPECT_EQ(tx.remote_start_id(), 42);
  EXPECT_EQ(tx.reservation_id(), 12);
  EXPECT_FALSE(tx.has_meter_wh());
  ASSERT_EQ(tx.samples_size(), 1);
  EXPECT_DOUBLE_EQ(tx.samples(0).normalized_value(), 500);
  EXPECT_FALSE(tx.has_decision());
}

TEST(NormalizeTransactionEvent, V201UpdatedWithoutEvseOrTokenLeavesThemUnset) {
  const auto event = normalized(
      Version::k201,
      R"([2,"t5","TransactionEvent",{"eventType":"Updated","timestamp":"2026-12-01T10:30:00Z",)"
      R"("triggerReason":"MeterValuePeriodic","seqNo":3,)"
      R"("transactionInfo":{"transactionId":"tx-0001","chargingState":"Charging"}}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.kind(), v1::TransactionEvent::KIND_UPDATED);
  EXPECT_EQ(tx.seq_no(), 3);
  EXPECT_FALSE(tx.offline());
  EXPECT_FALSE(tx.has_location());
  EXPECT_FALSE(tx.has_id_token());
  EXPECT_EQ(tx.stopped_reason(), "");
  EXPECT_EQ(tx.charging_state(), "Charging");
}

TEST(NormalizeTransactionEvent, V201EndedKeepsTheStoppedReason) {
  const auto event = normalized(
      Version::k201,
      R"([2,"t6","TransactionEvent",{"eventType":"Ended","timestamp":"2026-12-01T11:00:00Z",)"
      R"("triggerReason":"EVDeparted","seqNo":9,)"
      R"("transactionInfo":{"transactionId":"tx-0001","stoppedReason":"EVDisconnected"}}])");
  ASSERT_TRUE(event.has_transaction_event());
  EXPECT_EQ(event.transaction_event().kind(), v1::TransactionEvent::KIND_ENDED);
  EXPECT_EQ(event.transaction_event().stopped_reason(), "EVDisconnected");
}

TEST(NormalizeTransactionEvent, V201EndedWithoutStoppedReasonStoppedLocally) {
  const auto event = normalized(
      Version::k201,
      R"([2,"t7","TransactionEvent",{"eventType":"Ended","timestamp":"2026-12-01T11:00:00Z",)"
      R"("triggerReason":"StopAuthorized","seqNo":9,"transactionInfo":{"transactionId":"tx-2"}}])");
  ASSERT_TRUE(event.has_transaction_event());
  EXPECT_EQ(event.transaction_event().stopped_reason(), "Local");
}

TEST(NormalizeTransactionEvent, V21TakesTheTokenTypeAsAString) {
  const auto event = normalized(
      Version::k21,
      R"([2,"t8","TransactionEvent",{"eventType":"Started","timestamp":"2026-12-01T10:00:00Z",)"
      R"("triggerReason":"Authorized","seqNo":1,"transactionInfo":{"transactionId":"tx-21",)"
      R"("remoteStartId":8},"evse":{"id":2},)"
      R"("idToken":{"idToken":"DE-ABC-C12345678-X","type":"eMAID"}}])");
  ASSERT_TRUE(event.has_transaction_event());
  const auto& tx = event.transaction_event();
  EXPECT_EQ(tx.kind(), v1::TransactionEvent::KIND_STARTED);
  EXPECT_EQ(tx.transaction_id(), "tx-21");
  EXPECT_EQ(tx.id_token().id(), "DE-ABC-C12345678-X");
  EXPECT_EQ(tx.id_token().type(), "eMAID");
  EXPECT_EQ(tx.location().evse_id(), 2);
  EXPECT_EQ(tx.location().connector_id(), 0);
  EXPECT_EQ(tx.seq_no(), 1);
  EXPECT_EQ(tx.remote_start_id(), 8);
}

// ---- Authorize ----

TEST(NormalizeAuthorize, V16IdTagIsAnIdTagToken) {
  const auto event = normalized(Version::k16, R"([2,"a1","Authorize",{"idTag":"04A2B3C4"}])");
  ASSERT_TRUE(event.has_authorize());
  EXPECT_EQ(event.authorize().id_token().id(), "04A2B3C4");
  EXPECT_EQ(event.authorize().id_token().type(), "IdTag");
  EXPECT_FALSE(event.authorize().has_decision());
}

TEST(NormalizeAuthorize, V201KeepsTheTokenType) {
  const auto event = normalized(
      Version::k201, R"([2,"a2","Authorize",{"idToken":{"idToken":"1234","type":"KeyCode"}}])");
  ASSERT_TRUE(event.has_authorize());
  EXPECT_EQ(event.authorize().id_token().id(), "1234");
  EXPECT_EQ(event.authorize().id_token().type(), "KeyCode");
}

TEST(NormalizeAuthorize, V21KeepsTheTokenType) {
  const auto event = normalized(
      Version::k21, R"([2,"a3","Authorize",{"idToken":{"idToken":"AA:BB","type":"MacAddress"}}])");
  ASSERT_TRUE(event.has_authorize());
  EXPECT_EQ(event.authorize().id_token().type(), "MacAddress");
}

// ---- DataTransfer ----

TEST(NormalizeDataTransfer, V16DataBecomesAJsonStringLiteral) {
  const auto event = normalized(
      Version::k16, R"([2,"d1","DataTransfer",{"vendorId":"com.alfen","messageId":"Diag",)"
                    R"("data":"{\"a\":1}\nline \\ 2"}])");
  ASSERT_TRUE(event.has_data_transfer());
  const auto& dt = event.data_transfer();
  EXPECT_EQ(dt.vendor_id(), "com.alfen");
  EXPECT_EQ(dt.message_id(), "Diag");
  EXPECT_EQ(dt.data_json(), R"("{\"a\":1}\nline \\ 2")");
}

TEST(NormalizeDataTransfer, V16WithoutDataLeavesDataJsonEmpty) {
  const auto event = normalized(Version::k16, R"([2,"d2","DataTransfer",{"vendorId":"x"}])");
  ASSERT_TRUE(event.has_data_transfer());
  EXPECT_EQ(event.data_transfer().message_id(), "");
  EXPECT_EQ(event.data_transfer().data_json(), "");
}

TEST(NormalizeDataTransfer, V201DataIsKeptAsJson) {
  const auto event = normalized(
      Version::k201, R"([2,"d3","DataTransfer",{"vendorId":"com.zaptec","messageId":"Cfg",)"
                     R"("data":{"limits":[16,32],"on":true}}])");
  ASSERT_TRUE(event.has_data_transfer());
  EXPECT_EQ(event.data_transfer().vendor_id(), "com.zaptec");
  EXPECT_EQ(event.data_transfer().message_id(), "Cfg");
  EXPECT_EQ(event.data_transfer().data_json(), R"({"limits":[16,32],"on":true})");
}

TEST(NormalizeDataTransfer, V21StringDataStaysQuoted) {
  const auto event =
      normalized(Version::k21, R"([2,"d4","DataTransfer",{"vendorId":"v","data":"hello"}])");
  ASSERT_TRUE(event.has_data_transfer());
  EXPECT_EQ(event.data_transfer().data_json(), R"("hello")");
}

// ---- FirmwareStatus ----

TEST(NormalizeFirmwareStatus, V16NotificationHasNoRequestId) {
  const auto event =
      normalized(Version::k16, R"([2,"f1","FirmwareStatusNotification",{"status":"Downloading"}])");
  ASSERT_TRUE(event.has_firmware_status());
  EXPECT_EQ(event.firmware_status().status(), "Downloading");
  EXPECT_EQ(event.firmware_status().request_id(), 0);
}

TEST(NormalizeFirmwareStatus, V16SignedNotificationCarriesTheRequestId) {
  const auto event = normalized(
      Version::k16,
      R"([2,"f2","SignedFirmwareStatusNotification",{"status":"SignatureVerified","requestId":5}])");
  ASSERT_TRUE(event.has_firmware_status());
  EXPECT_EQ(event.firmware_status().status(), "SignatureVerified");
  EXPECT_EQ(event.firmware_status().request_id(), 5);
}

TEST(NormalizeFirmwareStatus, V201CarriesTheRequestId) {
  const auto event =
      normalized(Version::k201,
                 R"([2,"f3","FirmwareStatusNotification",{"status":"Installed","requestId":17}])");
  ASSERT_TRUE(event.has_firmware_status());
  EXPECT_EQ(event.firmware_status().status(), "Installed");
  EXPECT_EQ(event.firmware_status().request_id(), 17);
}

// ---- LogStatus ----

TEST(NormalizeLogStatus, V16DiagnosticsStatusIsALogStatus) {
  const auto event =
      normalized(Version::k16, R"([2,"l1","DiagnosticsStatusNotification",{"status":"Uploaded"}])");
  ASSERT_TRUE(event.has_log_status());
  EXPECT_EQ(event.log_status().status(), "Uploaded");
  EXPECT_EQ(event.log_status().request_id(), 0);
}

TEST(NormalizeLogStatus, V16SecurityExtensionLogStatusCarriesTheRequestId) {
  const auto event = normalized(
      Version::k16, R"([2,"l2","LogStatusNotification",{"status":"Uploading","requestId":3}])");
  ASSERT_TRUE(event.has_log_status());
  EXPECT_EQ(event.log_status().status(), "Uploading");
  EXPECT_EQ(event.log_status().request_id(), 3);
}

TEST(NormalizeLogStatus, V201CarriesTheRequestId) {
  const auto event =
      normalized(Version::k201,
                 R"([2,"l3","LogStatusNotification",{"status":"UploadFailure","requestId":9}])");
  ASSERT_TRUE(event.has_log_status());
  EXPECT_EQ(event.log_status().status(), "UploadFailure");
  EXPECT_EQ(event.log_status().request_id(), 9);
}

// ---- SecurityEvent ----

TEST(NormalizeSecurityEvent, V16SecurityExtensionKeepsTypeTimeAndTechInfo) {
  const auto event = normalized(
      Version::k16, R"([2,"e1","SecurityEventNotification",{"type":"TamperDetectionActivated",)"
                    R"("timestamp":"2026-12-01T10:00:00Z","techInfo":"lid open"}])");
  ASSERT_TRUE(event.has_security_event());
  EXPECT_EQ(event.security_event().type(), "TamperDetectionActivated");
  EXPECT_EQ(millis(event.security_event().timestamp()), millis("2026-12-01T10:00:00Z"));
  EXPECT_EQ(event.security_event().tech_info(), "lid open");
}

TEST(NormalizeSecurityEvent, V201KeepsTypeAndTime) {
  const auto event = normalized(
      Version::k201, R"([2,"e2","SecurityEventNotification",{"type":"StartupOfTheDevice",)"
                     R"("timestamp":"2026-12-01T09:59:59.999Z"}])");
  ASSERT_TRUE(event.has_security_event());
  EXPECT_EQ(event.security_event().type(), "StartupOfTheDevice");
  EXPECT_EQ(millis(event.security_event().timestamp()), millis("2026-12-01T09:59:59.999Z"));
  EXPECT_EQ(event.security_event().timestamp().nanos(), 999'000'000);
  EXPECT_EQ(event.security_event().tech_info(), "");
}

// ---- DeviceEvent ----

TEST(NormalizeDeviceEvent, V201NotifyEventIsOneEntryPerEventData) {
  const auto event = normalized(
      Version::k201,
      R"([2,"n1","NotifyEvent",{"generatedAt":"2026-12-01T10:00:01Z","seqNo":0,"eventData":[)"
      R"({"eventId":1,"timestamp":"2026-12-01T10:00:00Z","trigger":"Alerting",)"
      R"("actualValue":"true","techCode":"E17","techInfo":"stuck relay","cleared":false,)"
      R"("eventNotificationType":"HardWiredNotification",)"
      R"("component":{"name":"Connector","evse":{"id":1,"connectorId":2}},)"
      R"("variable":{"name":"Problem"}},)"
      R"({"eventId":2,"timestamp":"2026-12-01T10:00:01Z","trigger":"Delta","actualValue":"Closed",)"
      R"("cleared":true,"eventNotificationType":"PreconfiguredMonitor",)"
      R"("component":{"name":"ChargingStation"},"variable":{"name":"DoorState"}}]}])");
  ASSERT_TRUE(event.has_device_event());
  ASSERT_EQ(event.device_event().entries_size(), 2);
  const auto& first = event.device_event().entries(0);
  EXPECT_EQ(first.event_id(), 1);
  EXPECT_EQ(millis(first.timestamp()), millis("2026-12-01T10:00:00Z"));
  EXPECT_EQ(first.trigger(), "Alerting");
  EXPECT_EQ(first.actual_value(), "true");
  EXPECT_EQ(first.tech_code(), "E17");
  EXPECT_EQ(first.tech_info(), "stuck relay");
  EXPECT_FALSE(first.cleared());
  EXPECT_EQ(first.component(), "Connector");
  EXPECT_EQ(first.location().evse_id(), 1);
  EXPECT_EQ(first.location().connector_id(), 2);
  EXPECT_EQ(first.variable(), "Problem");
  EXPECT_EQ(first.event_notification_type(), "HardWiredNotification");
  const auto& second = event.device_event().entries(1);
  EXPECT_EQ(second.event_id(), 2);
  EXPECT_TRUE(second.cleared());
  EXPECT_EQ(second.component(), "ChargingStation");
  EXPECT_FALSE(second.has_location());
  EXPECT_EQ(second.tech_code(), "");
  EXPECT_EQ(second.event_notification_type(), "PreconfiguredMonitor");
}

TEST(NormalizeDeviceEvent, V21NotifyEventIsADeviceEvent) {
  const auto event = normalized(
      Version::k21,
      R"([2,"n2","NotifyEvent",{"generatedAt":"2026-12-01T10:00:01Z","seqNo":0,"eventData":[)"
      R"({"eventId":4,"timestamp":"2026-12-01T10:00:00Z","trigger":"Periodic","actualValue":"42",)"
      R"("eventNotificationType":"CustomMonitor","component":{"name":"EVSE","evse":{"id":2}},)"
      R"("variable":{"name":"Power"}}]}])");
  ASSERT_TRUE(event.has_device_event());
  ASSERT_EQ(event.device_event().entries_size(), 1);
  EXPECT_EQ(event.device_event().entries(0).location().evse_id(), 2);
  EXPECT_EQ(event.device_event().entries(0).location().connector_id(), 0);
  EXPECT_EQ(event.device_event().entries(0).trigger(), "Periodic");
}

// ---- no version-neutral form ----

bool normalizes(Version version, std::string_view frame, v1::ChargerEvent& event,
                const ocpp::PendingCall* pending = nullptr) {
  ocpp::Decoder decoder;
  auto decoded = decoder.decode(version, ocpp::Role::kCsms, frame, pending);
  if (!decoded) {
    ADD_FAILURE() << decoded.error().description << " in " << frame;
    return false;
  }
  return normalize_inbound(version, *decoded, event);
}

TEST(NormalizeUnsupported, V16SignCertificateHasNoVersionNeutralForm) {
  v1::ChargerEvent event;
  EXPECT_FALSE(
      normalizes(Version::k16, R"([2,"u1","SignCertificate",{"csr":"-----BEGIN"}])", event));
  EXPECT_EQ(event.payload_case(), v1::ChargerEvent::PAYLOAD_NOT_SET);
}

TEST(NormalizeUnsupported, V201NotifyReportHasNoVersionNeutralForm) {
  v1::ChargerEvent event;
  EXPECT_FALSE(normalizes(
      Version::k201,
      R"([2,"u2","NotifyReport",{"requestId":1,"generatedAt":"2026-12-01T10:00:00Z","seqNo":0}])",
      event));
  EXPECT_EQ(event.payload_case(), v1::ChargerEvent::PAYLOAD_NOT_SET);
}

TEST(NormalizeUnsupported, CallResultIsNotAnInboundRequest) {
  const ocpp::PendingCall pending{"r1", ocpp::find_message(Version::k16, "Reset")};
  ASSERT_NE(pending.message, nullptr);
  v1::ChargerEvent event;
  EXPECT_FALSE(normalizes(Version::k16, R"([3,"r1",{"status":"Accepted"}])", event, &pending));
  EXPECT_EQ(event.payload_case(), v1::ChargerEvent::PAYLOAD_NOT_SET);
}

}  // namespace
}  // namespace switchyard::gateway
