// Answers to chargers' CALLs: each version's answer validates against its response schema.
#include "gateway/inbound_calls.h"

#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

using ocpp::Version;
constexpr Version kAll[] = {Version::k16, Version::k201, Version::k21};

// `json` validates as the request (or, by default, the answer) of `action` in version `v`.
void expect_valid(Version v, std::string_view action, const std::string& json,
                  bool request = false) {
  const ocpp::MessageInfo* m = ocpp::find_message(v, action);
  ASSERT_NE(m, nullptr);
  ocpp::Decoder decoder;
  auto r = decoder.decode_payload(v, request ? *m->request : *m->response, json);
  EXPECT_TRUE(r) << action << " " << ocpp::version_label(v) << ": "
                 << (r ? "" : r.error().description) << "\n"
                 << json;
}

void expect_valid_answer(Version v, std::string_view action, const std::string& json) {
  expect_valid(v, action, json);
}

TEST(InboundCalls, ClassifiesByWhatTheAnswerNeeds) {
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k16, "Heartbeat")),
            InboundKind::kHeartbeat);
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k16, "StartTransaction")),
            InboundKind::kTransaction);
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k201, "TransactionEvent")),
            InboundKind::kTransaction);
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k16, "StatusNotification")),
            InboundKind::kAcknowledge);
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k201, "NotifyEvent")),
            InboundKind::kAcknowledge);
  for (Version v : kAll) {
    EXPECT_EQ(classify_inbound(*ocpp::find_message(v, "SignCertificate")),
              InboundKind::kSignCertificate);
  }
}

TEST(InboundCalls, SignCertificateAnswersAndCertificateSignedValidateInEveryVersion) {
  ocpp::Encoder e;
  const CertificateDecision accepted{.accepted = true,
                                     .reason_code = {},
                                     .reason = {},
                                     .certificate_chain = "-----BEGIN CERTIFICATE-----\n"};
  // A reason longer than statusInfo allows is cut, not sent as an invalid frame.
  const CertificateDecision refused{.accepted = false,
                                    .reason_code = "InvalidCSRWithALongCode",
                                    .reason = std::string(600, 'x') + "\u00e9",
                                    .certificate_chain = {}};
  for (Version v : kAll) {
    SCOPED_TRACE(std::string(ocpp::version_label(v)));
    expect_valid_answer(v, "SignCertificate", sign_certificate_answer(e, v, accepted));
    expect_valid_answer(v, "SignCertificate", sign_certificate_answer(e, v, refused));
    const SigningRequest request{.csr = "csr",
                                 .certificate_type = "ChargingStationCertificate",
                                 .request_id = 7,
                                 .root = {}};
    expect_valid(v, "CertificateSigned",
                 certificate_signed_request(e, v, request, accepted.certificate_chain),
                 /*request=*/true);
  }
  EXPECT_EQ(sign_certificate_answer(e, Version::k16, refused), R"({"status":"Rejected"})");
  const std::string v201_refused = sign_certificate_answer(e, Version::k201, refused);
  EXPECT_NE(v201_refused.find(R"("reasonCode":"InvalidCSRWithALongC")"), std::string::npos)
      << v201_refused;
  const SigningRequest with_id{
      .csr = "c", .certificate_type = "V2GCertificate", .request_id = 7, .root = {}};
  const std::string v21_signed = certificate_signed_request(e, Version::k21, with_id, "PEM");
  EXPECT_NE(v21_signed.find(R"("requestId":7)"), std::string::npos) << v21_signed;
  EXPECT_NE(v21_signed.find(R"("certificateType":"V2GCertificate")"), std::string::npos)
      << v21_signed;
}

TEST(InboundCalls, ReadsTheSigningRequestOfEachVersion) {
  ocpp::Decoder decoder;
  auto v16 = decoder.decode(Version::k16, ocpp::Role::kCsms,
                            R"([2,"1","SignCertificate",{"csr":"PEM16"}])");
  ASSERT_TRUE(v16);
  auto r16 = signing_request(*v16);
  ASSERT_TRUE(r16);
  EXPECT_EQ(r16->csr, "PEM16");
  EXPECT_EQ(r16->certificate_type, "");
  auto v21 = decoder.decode(
      Version::k21, ocpp::Role::kCsms,
      R"([2,"2","SignCertificate",{"csr":"PEM21","certificateType":"V2GCertificate","requestId":9}])");
  ASSERT_TRUE(v21);
  auto r21 = signing_request(*v21);
  ASSERT_TRUE(r21);
  EXPECT_EQ(r21->csr, "PEM21");
  EXPECT_EQ(r21->certificate_type, "V2GCertificate");
  EXPECT_EQ(r21->request_id, 9);
  EXPECT_FALSE(r21->root);
  auto rooted = decoder.decode(
      Version::k21, ocpp::Role::kCsms,
      R"([2,"4","SignCertificate",{"csr":"P","hashRootCertificate":{"hashAlgorithm":"SHA384","issuerNameHash":"aa","issuerKeyHash":"bb","serialNumber":"0c"}}])");
  ASSERT_TRUE(rooted);
  auto r_rooted = signing_request(*rooted);
  ASSERT_TRUE(r_rooted && r_rooted->root);
  EXPECT_EQ(r_rooted->root->hash_algorithm, "SHA384");
  EXPECT_EQ(r_rooted->root->issuer_key_hash, "bb");
  EXPECT_EQ(r_rooted->root->serial_number, "0c");
  auto heartbeat = decoder.decode(Version::k201, ocpp::Role::kCsms, R"([2,"3","Heartbeat",{}])");
  ASSERT_TRUE(heartbeat);
  EXPECT_FALSE(signing_request(*heartbeat));
}

TEST(InboundCalls, EveryAnswerValidatesInEveryVersion) {
  ocpp::Encoder e;
  const auto now = std::chrono::system_clock::now();
  TokenDecision expiring{"Accepted", now + std::chrono::hours(1), "G1"};
  for (Version v : kAll) {
    SCOPED_TRACE(std::string(ocpp::version_label(v)));
    expect_valid_answer(v, "Heartbeat", heartbeat_answer(e, v, now));
    expect_valid_answer(v, "BootNotification", boot_answer(e, v, BootDecision{"Pending", 60}, now));
    expect_valid_answer(v, "Authorize", authorize_answer(e, v, expiring));
    expect_valid_answer(v, "Authorize", authorize_answer(e, v, TokenDecision{"Blocked", {}, {}}));
    // A status one version lacks falls back to Invalid rather than producing a bad frame.
    expect_valid_answer(v, "Authorize",
                        authorize_answer(e, v, TokenDecision{"NotAtThisLocation", {}, {}}));
  }
  TransactionDecision start{"17", TokenDecision{}};
  expect_valid_answer(Version::k16, "StartTransaction",
                      *transaction_answer(e, Version::k16, "StartTransaction", start));
  expect_valid_answer(Version::k16, "StopTransaction",
                      *transaction_answer(e, Version::k16, "StopTransaction", start));
  expect_valid_answer(Version::k201, "TransactionEvent",
                      *transaction_answer(e, Version::k201, "TransactionEvent", start));
  expect_valid_answer(Version::k21, "TransactionEvent",
                      *transaction_answer(e, Version::k21, "TransactionEvent", {}));
  expect_valid_answer(Version::k16, "DataTransfer",
                      acknowledge_answer(e, *ocpp::find_message(Version::k16, "DataTransfer")));
}

TEST(InboundCalls, TheTokensGroupGoesToTheChargerSoACardOfTheGroupMayStop) {
  ocpp::Encoder e;
  const TokenDecision grouped{"Accepted", {}, "HBS-3f2a9c1d"};
  EXPECT_NE(authorize_answer(e, Version::k16, grouped).find(R"("parentIdTag":"HBS-3f2a9c1d")"),
            std::string::npos);
  for (Version v : {Version::k201, Version::k21}) {
    const std::string answer = authorize_answer(e, v, grouped);
    EXPECT_NE(answer.find(R"("groupIdToken":{"idToken":"HBS-3f2a9c1d","type":"Central"})"),
              std::string::npos)
        << answer;
    expect_valid_answer(v, "Authorize", answer);
  }
  expect_valid_answer(Version::k16, "Authorize", authorize_answer(e, Version::k16, grouped));
  // A group 1.6 cannot carry (over 20 characters) is left out, never a frame the charger refuses.
  const TokenDecision long_group{"Accepted", {}, std::string(21, 'g')};
  const std::string answer = authorize_answer(e, Version::k16, long_group);
  EXPECT_EQ(answer.find("parentIdTag"), std::string::npos) << answer;
  expect_valid_answer(Version::k16, "Authorize", answer);
  // Without a group: nothing.
  EXPECT_EQ(authorize_answer(e, Version::k201, TokenDecision{}).find("groupIdToken"),
            std::string::npos);
}

TEST(InboundCalls, A16StartWithoutAnIntegerIdIsAnError) {
  ocpp::Encoder e;
  auto r =
      transaction_answer(e, Version::k16, "StartTransaction", TransactionDecision{"uuid-x", {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
}

TEST(InboundCalls, DecisionsAreRecordedInTheEvent) {
  v1::ChargerEvent event;
  record_decision(event, BootDecision{"Accepted", 120});
  EXPECT_EQ(event.boot_notification().registration_status(), "Accepted");
  EXPECT_EQ(event.boot_notification().interval_s(), 120);
  v1::ChargerEvent tx;
  record_decision(tx, TransactionDecision{"5", TokenDecision{"Invalid", {}, {}}});
  EXPECT_EQ(tx.transaction_event().transaction_id(), "5");
  EXPECT_EQ(tx.transaction_event().decision().status(), "Invalid");
}

}  // namespace
}  // namespace switchyard::gateway
