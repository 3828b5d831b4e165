// What the gateway does with each CALL a charger sends, and the answers it builds. Decisions come
// from DecisionService; the answer goes out only after the event is durable (except Heartbeat).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/ocpp/encoder.h"
#include "common/ocpp/schema.h"
#include "gateway/ports.h"

namespace switchyard::v1 {
class ChargerEvent;
}

namespace switchyard::gateway {

enum class InboundKind {
  kHeartbeat,     // answered at once with the time, no event
  kBoot,          // decision: BootDecision
  kAuthorize,     // decision: TokenDecision
  kTransaction,   // decision: TransactionDecision (1.6 start allocates the id)
  kAcknowledge,   // no decision: a fixed answer once the event is durable
  kNotSupported,  // the answer needs logic this CSMS does not have: CALLERROR NotSupported
};

InboundKind classify_inbound(const ocpp::MessageInfo& message);

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

// Records the decision in the event that is published with it.
void record_decision(v1::ChargerEvent& event, const BootDecision& decision);
void record_decision(v1::ChargerEvent& event, const TokenDecision& decision);
void record_decision(v1::ChargerEvent& event, const TransactionDecision& decision);

}  // namespace switchyard::gateway
