// The gateway's Prometheus metrics. Per-message updates go through per-thread caches of the
// labelled children, so I/O threads share no lock on the message path. Labels are bounded:
// actions come from the schema registry, never a charger id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/ocpp/decoder.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::gateway {

enum class MessageDirection : std::uint8_t { kIn, kOut };
enum class MessageOutcome : std::uint8_t {
  kOk,             // answered with a CALLRESULT / delivered
  kCallError,      // answered with a CALLERROR for a bad frame or payload
  kInternalError,  // the CSMS failed (event not durable, decision failed)
  kIgnored,        // nothing to answer (unknown CALLRESULT id, SEND, ...)
  kCrossedClose,   // a CALL read after our close frame: dropped unanswered, the charger resends
};

class GatewayMetrics {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);

  void connection_opened(std::string_view protocol, int security_profile);
  void connection_closed(std::string_view protocol, int security_profile, std::string_view reason);
  void handshake_refused(std::string_view reason);
  // `action` must be a string with static storage (from the schema registry) or "unknown".
  void message(std::string_view action, MessageDirection direction, MessageOutcome outcome);
  void ack_latency(std::string_view action, double seconds);
  // A decision asked of the auth / transactions service (or the built-in policy), from the ask
  // to its answer: `decision` a literal (boot, authorize, transaction, sign_certificate), `ok`
  // whether one came (else the charger gets a CALLERROR).
  void decision(std::string_view decision, bool ok, double seconds);
  void rpc_error(std::string_view code);
  void quirks(std::uint8_t quirk_bits);
  void throttled();
  // The event of a CALL that is answered once the event is durable (not a Heartbeat's, not a
  // SEND's): `direct` when written straight in wire format (MeterValues, event_wire.h), else
  // built as a message and serialized.
  void event_encoded(bool direct);
  // Rounds of an I/O thread since its last call (io_rounds.h): plain ones, ones that waited out
  // --io-coalesce, and the handlers they ran.
  void io_rounds(std::uint64_t plain, std::uint64_t waited, std::uint64_t handlers);
  void command(std::string_view action, std::string_view outcome, double seconds);
  // A ChargerControl RPC answered by this pod, from its handler's start to its answer: `rpc` a
  // literal, `route` local (this pod holds the charger), forwarded (to the owner pod) or unrouted
  // (answered before routing: bad request, charger offline, registry unreachable), `code` the
  // gRPC status code's name.
  void control_call(std::string_view rpc, std::string_view route, std::string_view code,
                    double seconds);
  void ownership(std::string_view event);  // claimed, claim_failed, lost, released, evicted
  void drain_closed();
  void heap_trimmed(std::int64_t returned_bytes);
  // switchyard_gateway_tls_small_object_bytes from the headerless heap, when OpenSSL uses it.
  void small_objects_seen();
  // A listener took this many connections from the kernel's queue at one readiness.
  void accept_burst(std::size_t connections);
  // Self-fencing (fencing.h): whether Kafka ("kafka") and Redis ("redis") answered the last
  // probe; the fence put up ("fenced") or lifted ("lifted"), and each connection it closed
  // ("connection_closed").
  void dependency_up(std::string_view dependency, bool up);
  void fencing(std::string_view event);
  // A charger id or source address locked after too many failed authentications.
  void auth_lockout(std::string_view key);
  // Certificate signing (SignCertificate -> CertificateSigned). step "sign": accepted or
  // rejected (a CA that cannot be reached is an InternalError in messages_total); step
  // "deliver": the charger's answer to CertificateSigned (Accepted, Rejected) or error.
  void certificate(std::string_view step, std::string_view result);
  // The TLS files were loaded (result "ok") or a changed set could not be ("failed"), and when
  // the server certificate in use expires (Unix seconds).
  void tls_loaded(std::string_view result);
  void tls_certificate_expiry(double unix_seconds);
  // A TLS handshake completed: a session resumed (--tls-session-cache) or a full one, and the
  // sessions its context now caches.
  void tls_handshake(bool resumed, long cached_sessions);  // NOLINT(google-runtime-int)
  // The sessions the TLS context caches (after a refused connection's session left it).
  void tls_cached_sessions(long cached_sessions);  // NOLINT(google-runtime-int)

 private:
  prometheus::Registry& registry_;
  std::uint64_t id_;
  prometheus::Family<prometheus::Gauge>* connections_;
  prometheus::Family<prometheus::Counter>* connects_;
  prometheus::Family<prometheus::Counter>* disconnects_;
  prometheus::Family<prometheus::Counter>* refused_;
  prometheus::Family<prometheus::Counter>* messages_;
  prometheus::Family<prometheus::Histogram>* ack_latency_;
  prometheus::Family<prometheus::Histogram>* decision_latency_;
  prometheus::Family<prometheus::Counter>* rpc_errors_;
  prometheus::Family<prometheus::Counter>* quirks_;
  prometheus::Counter* throttled_;
  prometheus::Counter* events_direct_;
  prometheus::Counter* events_message_;
  prometheus::Counter* io_rounds_waited_;
  prometheus::Counter* io_rounds_plain_;
  prometheus::Counter* io_handlers_;
  prometheus::Family<prometheus::Counter>* commands_;
  prometheus::Family<prometheus::Histogram>* command_latency_;
  prometheus::Family<prometheus::Counter>* control_calls_;
  prometheus::Family<prometheus::Histogram>* control_latency_;
  prometheus::Family<prometheus::Counter>* ownership_;
  prometheus::Counter* drain_closed_;
  prometheus::Histogram* accept_bursts_;
  prometheus::Counter* heap_trims_;
  prometheus::Counter* heap_returned_;
  prometheus::Family<prometheus::Gauge>* dependency_up_;
  prometheus::Family<prometheus::Counter>* fencing_;
  prometheus::Gauge* fenced_;
  prometheus::Family<prometheus::Counter>* auth_lockouts_;
  prometheus::Family<prometheus::Counter>* certificates_;
  prometheus::Family<prometheus::Counter>* tls_loads_;
  prometheus::Counter* tls_resumed_;
  prometheus::Counter* tls_full_;
  prometheus::Gauge* tls_cached_;
  prometheus::Gauge* tls_small_objects_;
  prometheus::Gauge* tls_small_chunks_;
  prometheus::Gauge* tls_expiry_;
};

}  // namespace switchyard::gateway
