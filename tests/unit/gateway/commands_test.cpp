// Typed commands become the right action for each OCPP version, and every payload they produce
// validates against that version's schema.
#include "gateway/commands.h"

#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"

namespace switchyard::gateway {
namespace {

using ocpp::Version;

constexpr Version kAll[] = {Version::k16, Version::k201, Version::k21};

// The payload must validate as a CSMS -> charger request of the version.
void expect_valid(const Result<OcppCall>& call, Version v) {
  ASSERT_TRUE(call) << call.error().message;
  const ocpp::MessageInfo* m = ocpp::find_message(v, call->action);
  ASSERT_NE(m, nullptr) << call->action << " in " << ocpp::version_label(v);
  EXPECT_NE(m->direction, ocpp::Direction::kChargerToCsms) << call->action;
  ocpp::Decoder decoder;
  auto r = decoder.decode_payload(v, *m->request, call->payload_json);
  EXPECT_TRUE(r) << call->action << " " << ocpp::version_label(v) << ": "
                 << (r ? "" : r.error().description) << "\n"
                 << call->payload_json;
}

v1::ChargingProfile profile() {
  v1::ChargingProfile p;
  p.set_id(7);
  p.set_stack_level(2);
  p.set_purpose(v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
  p.set_kind(v1::CHARGING_PROFILE_KIND_ABSOLUTE);
  auto* s = p.add_schedules();
  s->set_id(1);
  s->set_rate_unit(v1::CHARGING_RATE_UNIT_AMPERES);
  auto* period = s->add_periods();
  period->set_start_period_s(0);
  period->set_limit(16.5);
  period->set_number_phases(3);
  s->mutable_start_schedule()->set_seconds(1800000000);
  p.set_max_offline_duration_s(600);
  return p;
}

TEST(Commands, RemoteStartIsRemoteStartTransactionIn16AndRequestStartTransactionIn2x) {
  v1::RemoteStartRequest r;
  r.set_charger_id("CP1");
  r.mutable_id_token()->set_id("04A1B2");
  r.set_evse_id(1);
  *r.mutable_charging_profile() = profile();
  r.mutable_charging_profile()->set_purpose(v1::CHARGING_PROFILE_PURPOSE_TX);
  EXPECT_EQ(translate(r, Version::k16)->action, "RemoteStartTransaction");
  EXPECT_EQ(translate(r, Version::k201)->action, "RequestStartTransaction");
  for (Version v : kAll) expect_valid(translate(r, v), v);
}

TEST(Commands, EveryTypedCommandValidatesInEveryVersionItExists) {
  v1::RemoteStopRequest stop;
  stop.set_transaction_id("42");
  v1::ResetRequest reset;
  reset.set_hard(true);
  v1::ChangeAvailabilityRequest availability;
  availability.set_evse_id(1);
  v1::UnlockConnectorRequest unlock;
  unlock.set_evse_id(1);
  v1::TriggerMessageRequest trigger;
  trigger.set_requested_message("StatusNotification");
  trigger.set_evse_id(1);
  v1::SetChargingProfileRequest set_profile;
  set_profile.set_evse_id(1);
  *set_profile.mutable_profile() = profile();
  v1::ClearChargingProfileRequest clear;
  clear.set_has_evse_id(true);
  clear.set_evse_id(1);
  clear.set_purpose(v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
  v1::GetCompositeScheduleRequest composite;
  composite.set_evse_id(1);
  composite.set_duration_s(3600);
  composite.set_rate_unit(v1::CHARGING_RATE_UNIT_WATTS);
  v1::SendLocalListRequest list;
  list.set_version(3);
  list.set_full(true);
  auto* entry = list.add_entries();
  entry->mutable_id_token()->set_id("04A1");
  entry->mutable_info()->set_status("Accepted");
  entry->mutable_info()->mutable_expires_at()->set_seconds(1900000000);
  v1::GetLocalListVersionRequest list_version;
  v1::ReserveNowRequest reserve;
  reserve.set_reservation_id(5);
  reserve.set_evse_id(1);
  reserve.mutable_id_token()->set_id("04A1");
  reserve.mutable_expires_at()->set_seconds(1900000000);
  v1::CancelReservationRequest cancel;
  cancel.set_reservation_id(5);
  v1::UpdateFirmwareRequest firmware;
  firmware.set_location("https://fw.example.com/v2.bin");
  firmware.set_request_id(9);
  firmware.set_signing_certificate("-----BEGIN CERTIFICATE-----x");
  firmware.set_signature("c2ln");
  v1::GetLogRequest log;
  log.set_location("ftp://logs.example.com/up");
  log.set_request_id(3);
  v1::DataTransferRequest data;
  data.set_vendor_id("com.example");
  data.set_message_id("m");
  data.set_data(R"({"a":1})");
  for (Version v : kAll) {
    SCOPED_TRACE(std::string(ocpp::version_label(v)));
    expect_valid(translate(stop, v), v);
    expect_valid(translate(reset, v), v);
    expect_valid(translate(availability, v), v);
    expect_valid(translate(unlock, v), v);
    expect_valid(translate(trigger, v), v);
    expect_valid(translate(set_profile, v), v);
    expect_valid(translate(clear, v), v);
    expect_valid(translate(composite, v), v);
    expect_valid(translate(list, v), v);
    expect_valid(translate(list_version, v), v);
    expect_valid(translate(reserve, v), v);
    expect_valid(translate(cancel, v), v);
    expect_valid(translate(firmware, v), v);
    expect_valid(translate(log, v), v);
    expect_valid(translate(data, v), v);
  }
}

TEST(Commands, ConfigurationIs16AndVariablesAre2x) {
  v1::GetConfigurationRequest get;
  get.add_keys("HeartbeatInterval");
  v1::ChangeConfigurationRequest change;
  change.set_key("HeartbeatInterval");
  change.set_value("60");
  expect_valid(translate(get, Version::k16), Version::k16);
  expect_valid(translate(change, Version::k16), Version::k16);
  EXPECT_EQ(translate(get, Version::k201).error().code, ErrorCode::kUnimplemented);
  EXPECT_EQ(translate(change, Version::k21).error().code, ErrorCode::kUnimplemented);

  v1::GetVariablesRequest vars;
  auto* s = vars.add_variables();
  s->set_component("OCPPCommCtrlr");
  s->set_variable("HeartbeatInterval");
  v1::SetVariablesRequest set;
  auto* e = set.add_entries();
  e->mutable_variable()->set_component("AuthCtrlr");
  e->mutable_variable()->set_evse_id(1);
  e->mutable_variable()->set_variable("Enabled");
  e->set_value("true");
  v1::GetBaseReportRequest report;
  report.set_request_id(1);
  for (Version v : {Version::k201, Version::k21}) {
    expect_valid(translate(vars, v), v);
    expect_valid(translate(set, v), v);
    expect_valid(translate(report, v), v);
  }
  EXPECT_EQ(translate(vars, Version::k16).error().code, ErrorCode::kUnimplemented);
}

TEST(Commands, A16TransactionIdMustBeAnInteger) {
  v1::RemoteStopRequest stop;
  stop.set_transaction_id("abc-uuid");
  auto r = translate(stop, Version::k16);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("transaction_id"), std::string::npos);
  EXPECT_TRUE(translate(stop, Version::k201));
}

TEST(Commands, A16ProfileTakesExactlyOneSchedule) {
  v1::SetChargingProfileRequest r;
  *r.mutable_profile() = profile();
  *r.mutable_profile()->add_schedules() = r.profile().schedules(0);
  EXPECT_EQ(translate(r, Version::k16).error().code, ErrorCode::kInvalidArgument);
  r.mutable_profile()->mutable_schedules(1)->set_id(2);
  expect_valid(translate(r, Version::k201), Version::k201);
}

constexpr const char* kPem =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----\n";

// One typed shape for the certificate messages of the 1.6 security extension and 2.x: the type's
// name per version, and the types a version lacks refused before anything is sent.
TEST(Commands, CertificateMessagesInEveryVersion) {
  v1::InstallCertificateRequest install;
  install.set_charger_id("CP-1");
  install.set_certificate_pem(kPem);
  install.set_certificate_type(v1::CERTIFICATE_TYPE_CSMS_ROOT);
  for (Version v : kAll) expect_valid(translate(install, v), v);
  EXPECT_NE(translate(install, Version::k16)->payload_json.find("CentralSystemRootCertificate"),
            std::string::npos);
  EXPECT_NE(translate(install, Version::k201)->payload_json.find("\"CSMSRootCertificate\""),
            std::string::npos);
  install.set_certificate_type(v1::CERTIFICATE_TYPE_V2G_ROOT);
  expect_valid(translate(install, Version::k201), Version::k201);
  auto refused = translate(install, Version::k16);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnimplemented);
  EXPECT_EQ(refused.error().message, "a V2G root certificate does not exist in OCPP 1.6");
  install.set_certificate_type(v1::CERTIFICATE_TYPE_OEM_ROOT);
  expect_valid(translate(install, Version::k21), Version::k21);
  EXPECT_EQ(translate(install, Version::k201).error().code, ErrorCode::kUnimplemented);
  install.set_certificate_type(v1::CERTIFICATE_TYPE_UNSPECIFIED);
  EXPECT_EQ(translate(install, Version::k201).error().message, "certificate_type is required");
  install.set_certificate_type(v1::CERTIFICATE_TYPE_CSMS_ROOT);
  install.set_certificate_pem("not a certificate");
  EXPECT_EQ(translate(install, Version::k201).error().code, ErrorCode::kInvalidArgument);

  v1::GetInstalledCertificateIdsRequest list;
  list.set_charger_id("CP-1");
  for (Version v : {Version::k201, Version::k21}) expect_valid(translate(list, v), v);  // all
  EXPECT_EQ(translate(list, Version::k16).error().code, ErrorCode::kInvalidArgument)
      << "1.6 asks for exactly one type";
  list.add_certificate_types(v1::CERTIFICATE_TYPE_MANUFACTURER_ROOT);
  for (Version v : kAll) expect_valid(translate(list, v), v);
  list.add_certificate_types(v1::CERTIFICATE_TYPE_V2G_CHAIN);
  expect_valid(translate(list, Version::k201), Version::k201);

  v1::DeleteCertificateRequest del;
  del.set_charger_id("CP-1");
  EXPECT_EQ(translate(del, Version::k201).error().code, ErrorCode::kInvalidArgument);
  auto* h = del.mutable_hash();
  h->set_issuer_name_hash("aa11");
  h->set_issuer_key_hash("bb22");
  h->set_serial_number("0c");
  for (Version v : kAll) expect_valid(translate(del, v), v);
  EXPECT_NE(translate(del, Version::k16)->payload_json.find("\"SHA256\""), std::string::npos);

  v1::GetInstalledCertificateIdsResponse got16;
  fill(
      got16, Version::k16,
      R"({"status":"Accepted","certificateHashData":[{"hashAlgorithm":"SHA256","issuerNameHash":"aa11","issuerKeyHash":"bb22","serialNumber":"0c"}]})",
      v1::CERTIFICATE_TYPE_CSMS_ROOT);
  ASSERT_EQ(got16.certificates_size(), 1);
  EXPECT_EQ(got16.certificates(0).certificate_type(), v1::CERTIFICATE_TYPE_CSMS_ROOT);
  EXPECT_EQ(got16.certificates(0).hash().serial_number(), "0c");
  v1::GetInstalledCertificateIdsResponse got201;
  fill(
      got201, Version::k201,
      R"({"status":"Accepted","certificateHashDataChain":[{"certificateType":"V2GCertificateChain","certificateHashData":{"hashAlgorithm":"SHA384","issuerNameHash":"a","issuerKeyHash":"b","serialNumber":"1"},"childCertificateHashData":[{"hashAlgorithm":"SHA384","issuerNameHash":"c","issuerKeyHash":"d","serialNumber":"2"}]}]})",
      v1::CERTIFICATE_TYPE_UNSPECIFIED);
  ASSERT_EQ(got201.certificates_size(), 1);
  EXPECT_EQ(got201.certificates(0).certificate_type(), v1::CERTIFICATE_TYPE_V2G_CHAIN);
  EXPECT_EQ(got201.certificates(0).hash().hash_algorithm(), "SHA384");
  ASSERT_EQ(got201.certificates(0).children_size(), 1);
  EXPECT_EQ(got201.certificates(0).children(0).serial_number(), "2");
}

TEST(Commands, AnswersFillTheTypedResponses) {
  v1::GetConfigurationResponse config;
  fill(
      config,
      R"({"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}],"unknownKey":["Nope"]})");
  ASSERT_EQ(config.entries_size(), 1);
  EXPECT_EQ(config.entries(0).value(), "300");
  EXPECT_EQ(config.unknown_keys(0), "Nope");

  v1::GetVariablesResponse vars;
  fill(
      vars,
      R"({"getVariableResult":[{"attributeStatus":"Accepted","attributeValue":"60","component":{"name":"OCPPCommCtrlr","evse":{"id":1}},"variable":{"name":"HeartbeatInterval"}}]})");
  ASSERT_EQ(vars.results_size(), 1);
  EXPECT_EQ(vars.results(0).value(), "60");
  EXPECT_EQ(vars.results(0).variable().evse_id(), 1);

  v1::GetCompositeScheduleResponse composite;
  fill(
      composite, Version::k201,
      R"({"status":"Accepted","schedule":{"evseId":1,"duration":600,"scheduleStart":"2026-01-01T00:00:00Z","chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":11000.0}]}})");
  EXPECT_EQ(composite.schedule().rate_unit(), v1::CHARGING_RATE_UNIT_WATTS);
  EXPECT_DOUBLE_EQ(composite.schedule().periods(0).limit(), 11000.0);

  v1::CommandOutcome outcome;
  fill_outcome("Reset", Version::k16, R"({"status":"Accepted"})", outcome);
  EXPECT_EQ(outcome.status(), "Accepted");
  EXPECT_EQ(outcome.ocpp_version(), v1::OCPP_VERSION_1_6);
}

}  // namespace
}  // namespace switchyard::gateway
