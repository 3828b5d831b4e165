// What the gateway does with each CALL a charger sends, and the answers it builds. Decisions come
// from DecisionService; the answer goes out only after the event is durable (except Heartbeat).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ocpp/encoder.h"
#include "common/ocpp/schema.h"
#include "gateway/ports.h"

namespace switchyard::v1 {
class ChargerEvent;
}
namespace switchyard::ocpp {
struct DecodedFrame;
}

namespace switchyard::gateway {

enum class InboundKind {
  kHeartbeat,        // answered at once with the time, no event
  kBoot,             // decision: BootDecision
  kAuthorize,        // decision: TokenDecision
  kTransaction,      // decision: TransactionDecision (1.6 start allocates the id)
  kSignCertificate,  // decision: CertificateDecision; a signed one goes out in CertificateSigned
  kAcknowledge,      // no decision: a fixed answer once the event is durable
  kNotSupported,     // the answer needs logic this CSMS does not have: CALLERROR NotSupported
};

InboundKind classify_inbound(const ocpp::MessageInfo& message);

// nullopt when the frame is no SignCertificate CALL.
std::optional<SigningRequest> signing_request(const ocpp::DecodedFrame& frame);

// Answers (payload JSON) per version. `now` is the CSMS clock.
std::string heartbeat_answer(ocpp::Encoder& encoder, ocpp::Version version,
                             std::chrono::system_clock::time_point now);
std::string boot_answer(ocpp::Encoder& encoder, ocpp::Version version, const BootDecision& decision,
                        std::chrono::system_clock::time_point now);
std::string authorize_answer(ocpp::Encoder& encoder, ocpp::Version version,
                             const TokenDecision& decision);
// `action`: StartTransaction, StopTransaction (1.6) or TransactionEvent (2.x). Fails when a 1.6
// start got no valid transaction id.
Result<std::string> transaction_answer(ocpp::Encoder& encoder, ocpp::Version version,
                                       std::string_view action,
                                       const TransactionDecision& decision);
std::string acknowledge_answer(ocpp::Encoder& encoder, const ocpp::MessageInfo& message);
// SignCertificateResponse: Accepted, or Rejected with the reason (2.x statusInfo).
std::string sign_certificate_answer(ocpp::Encoder& encoder, ocpp::Version version,
                                    const CertificateDecision& decision);
// The CertificateSigned request that delivers a signed chain.
std::string certificate_signed_request(ocpp::Encoder& encoder, ocpp::Version version,
                                       const SigningRequest& request,
                                       const std::string& certificate_chain);

// Records the decision in the event that is published with it.
void record_decision(v1::ChargerEvent& event, const BootDecision& decision);
void record_decision(v1::ChargerEvent& event, const TokenDecision& decision);
void record_decision(v1::ChargerEvent& event, const TransactionDecision& decision);

}  // namespace switchyard::gateway
