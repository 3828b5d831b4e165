// Answers to chargers' CALLs: each version's answer validates against its response schema.
#include "gateway/inbound_calls.h"

#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

using ocpp::Version;
constexpr Version kAll[] = {Version::k16, Version::k201, Version::k21};

void expect_valid_answer(Version v, std::string_view action, const std::string& json) {
  const ocpp::MessageInfo* m = ocpp::find_message(v, action);
  ASSERT_NE(m, nullptr);
  ocpp::Decoder decoder;
  auto r = decoder.decode_payload(v, *m->response, json);
  EXPECT_TRUE(r) << action << " " << ocpp::version_label(v) << ": "
                 << (r ? "" : r.error().description) << "\n"
                 << json;
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
  // SignCertificate's answer needs a CA this gateway does not have yet.
  EXPECT_EQ(classify_inbound(*ocpp::find_message(Version::k16, "SignCertificate")),
            InboundKind::kNotSupported);
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
