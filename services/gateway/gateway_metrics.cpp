// Gateway metrics with per-thread child caches.
#include "gateway/gateway_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <string>
#include <unordered_map>

#include "common/runtime/core/small_objects.h"

namespace switchyard::gateway {
namespace {

std::atomic<std::uint64_t> next_id{1};

const prometheus::Histogram::BucketBoundaries kLatency{
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// Decisions and ChargerControl RPCs: sub-millisecond resolution (an Authorize's gRPC round trip
// is a fraction of one, a command through a peer pod one or two).
const prometheus::Histogram::BucketBoundaries kRpcLatency{
    0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01,
    0.025,   0.05,   0.1,     0.25,  0.5,    1,     2.5,   5,     10};

std::string_view outcome_name(MessageOutcome o) {
  switch (o) {
    case MessageOutcome::kOk:
      return "ok";
    case MessageOutcome::kCallError:
      return "callerror";
    case MessageOutcome::kInternalError:
      return "internal_error";
    case MessageOutcome::kIgnored:
      return "ignored";
    case MessageOutcome::kCrossedClose:
      return "crossed_close";
  }
  return "unknown";
}

struct MessageKey {
  std::uint64_t metrics;
  const char* action;
  std::size_t action_size;
  std::uint8_t direction;
  std::uint8_t outcome;
  bool operator==(const MessageKey&) const = default;
};
struct MessageKeyHash {
  std::size_t operator()(const MessageKey& k) const {
    return std::hash<const void*>{}(k.action) ^ (k.metrics * 0x9E3779B97F4A7C15ull) ^
           (static_cast<std::size_t>(k.direction) << 8) ^ k.outcome ^ k.action_size;
  }
};

}  // namespace

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : registry_(registry), id_(next_id++) {
  connections_ = &prometheus::BuildGauge()
                      .Name("switchyard_gateway_connections")
                      .Help("Open charger connections by OCPP version and security profile")
                      .Register(registry);
  connects_ = &prometheus::BuildCounter()
                   .Name("switchyard_gateway_connects_total")
                   .Help("Chargers that completed the WebSocket upgrade")
                   .Register(registry);
  disconnects_ = &prometheus::BuildCounter()
                      .Name("switchyard_gateway_disconnects_total")
                      .Help("Closed charger connections by reason")
                      .Register(registry);
  refused_ = &prometheus::BuildCounter()
                  .Name("switchyard_gateway_handshakes_refused_total")
                  .Help("Upgrade attempts refused, by reason")
                  .Register(registry);
  messages_ = &prometheus::BuildCounter()
                   .Name("switchyard_gateway_messages_total")
                   .Help("OCPP messages by action, direction and outcome")
                   .Register(registry);
  ack_latency_ = &prometheus::BuildHistogram()
                      .Name("switchyard_gateway_ack_latency_seconds")
                      .Help("From a charger's CALL to its answer, Kafka acknowledgement included")
                      .Register(registry);
  rpc_errors_ = &prometheus::BuildCounter()
                     .Name("switchyard_gateway_rpc_errors_total")
                     .Help("CALLERRORs sent to chargers, by RPC error code")
                     .Register(registry);
  quirks_ = &prometheus::BuildCounter()
                 .Name("switchyard_gateway_quirks_total")
                 .Help("Lenient-mode deviations accepted, by quirk")
                 .Register(registry);
  auth_lockouts_ = &prometheus::BuildCounter()
                        .Name("switchyard_gateway_auth_lockouts_total")
                        .Help(
                            "Charger ids (key=charger) or source addresses (key=address) locked "
                            "after too many failed authentications")
                        .Register(registry);
  auth_lockouts_->Add({{"key", "charger"}});
  auth_lockouts_->Add({{"key", "address"}});
  certificates_ = &prometheus::BuildCounter()
                       .Name("switchyard_gateway_certificates_total")
                       .Help(
                           "Chargers' certificate signing requests (step sign: accepted, "
                           "rejected) and the delivery of the signed certificate (step "
                           "deliver: the charger's Accepted / Rejected, or error)")
                       .Register(registry_);
  tls_loads_ = &prometheus::BuildCounter()
                    .Name("switchyard_gateway_tls_loads_total")
                    .Help(
                        "TLS certificate files loaded at start or reloaded after a change "
                        "(result ok), or changed files that could not be loaded (failed: the "
                        "previous ones stay in use)")
                    .Register(registry_);
  tls_loads_->Add({{"result", "ok"}});
  tls_loads_->Add({{"result", "failed"}});
  auto& handshakes = prometheus::BuildCounter()
                         .Name("switchyard_gateway_tls_handshakes_total")
                         .Help(
                             "TLS handshakes completed, by session: resumed (from the pod's "
                             "session cache, --tls-session-cache) or full (a new session: "
                             "certificate signature and key exchange)")
                         .Register(registry_);
  tls_resumed_ = &handshakes.Add({{"session", "resumed"}});
  tls_full_ = &handshakes.Add({{"session", "full"}});
  tls_cached_ = &prometheus::BuildGauge()
                     .Name("switchyard_gateway_tls_cached_sessions")
                     .Help(
                         "TLS sessions the pod keeps for resumption (--tls-session-cache), as of "
                         "the last handshake: one per charger connected or gone for less than "
                         "--tls-session-timeout, about 1 KB each beyond its connection's")
                     .Register(registry_)
                     .Add({});
  auto& small = prometheus::BuildGauge()
                    .Name("switchyard_gateway_tls_small_object_bytes")
                    .Help(
                        "OpenSSL's small objects on the headerless heap (--tls-small-objects), as "
                        "of the last TLS handshake or heap trim: kind=objects in use, "
                        "kind=chunks resident (objects, freed ones kept for reuse, room)")
                    .Register(registry_);
  tls_small_objects_ = &small.Add({{"kind", "objects"}});
  tls_small_chunks_ = &small.Add({{"kind", "chunks"}});
  tls_expiry_ = &prometheus::BuildGauge()
                     .Name("switchyard_gateway_tls_certificate_expiry_seconds")
                     .Help(
                         "When the first of the server certificates in use expires (Unix "
                         "time; 0 without TLS)")
                     .Register(registry_)
                     .Add({});
  throttled_ = &prometheus::BuildCounter()
                    .Name("switchyard_gateway_throttled_total")
                    .Help("Frames delayed because a charger exceeded its rate")
                    .Register(registry)
                    .Add({});
  auto& encoded = prometheus::BuildCounter()
                      .Name("switchyard_gateway_events_encoded_total")
                      .Help(
                          "Events of CALLs answered once their event is durable, by how the "
                          "event was encoded: direct (wire format written straight from the "
                          "frame: MeterValues) or message")
                      .Register(registry);
  events_direct_ = &encoded.Add({{"encoding", "direct"}});
  events_message_ = &encoded.Add({{"encoding", "message"}});
  auto& rounds = prometheus::BuildCounter()
                     .Name("switchyard_gateway_io_rounds_total")
                     .Help(
                         "Rounds of the I/O threads: each a wake-up that served what was ready; "
                         "waited=true when it also waited out --io-coalesce and served what came "
                         "meanwhile")
                     .Register(registry);
  io_rounds_waited_ = &rounds.Add({{"waited", "true"}});
  io_rounds_plain_ = &rounds.Add({{"waited", "false"}});
  io_handlers_ = &prometheus::BuildCounter()
                      .Name("switchyard_gateway_io_handlers_total")
                      .Help(
                          "Handlers the I/O threads ran (frames, writes, acknowledgements, "
                          "timers); over switchyard_gateway_io_rounds_total: work per wake-up")
                      .Register(registry)
                      .Add({});
  decision_latency_ =
      &prometheus::BuildHistogram()
           .Name("switchyard_gateway_decision_seconds")
           .Help(
               "From asking the auth / transactions service (or the built-in policy) for a "
               "decision to its answer, by decision (boot, authorize, transaction, "
               "sign_certificate) and outcome (ok, failed)")
           .Register(registry);
  // Every series from the start, so a first failure shows in rate() and the panels have data.
  for (const char* decision : {"boot", "authorize", "transaction", "sign_certificate"}) {
    for (const char* outcome : {"ok", "failed"}) {
      decision_latency_->Add({{"decision", decision}, {"outcome", outcome}}, kRpcLatency);
    }
  }
  commands_ = &prometheus::BuildCounter()
                   .Name("switchyard_gateway_commands_total")
                   .Help("Commands sent to chargers, by action and outcome")
                   .Register(registry);
  command_latency_ = &prometheus::BuildHistogram()
                          .Name("switchyard_gateway_command_latency_seconds")
                          .Help("From a command's arrival on this pod to the charger's answer")
                          .Register(registry);
  control_calls_ = &prometheus::BuildCounter()
                        .Name("switchyard_gateway_control_calls_total")
                        .Help(
                            "ChargerControl RPCs answered by this pod, by rpc, route (local: "
                            "this pod holds the charger, forwarded: to the owner pod, unrouted: "
                            "answered before routing) and gRPC status code")
                        .Register(registry);
  control_latency_ = &prometheus::BuildHistogram()
                          .Name("switchyard_gateway_control_call_seconds")
                          .Help(
                              "From a ChargerControl RPC's handler starting on this pod to its "
                              "answer, by route (local, forwarded, unrouted)")
                          .Register(registry);
  for (const char* route : {"local", "forwarded", "unrouted"}) {
    control_latency_->Add({{"route", route}}, kRpcLatency);
  }
  ownership_ = &prometheus::BuildCounter()
                    .Name("switchyard_gateway_ownership_total")
                    .Help("Owner registry events: claimed, claim_failed, lost, released, evicted")
                    .Register(registry);
  // Every connection series exists from the start (0), so dashboards never show a gap.
  for (const char* protocol : {"ocpp1.6", "ocpp2.0.1", "ocpp2.1"}) {
    for (int profile = 0; profile <= 3; ++profile) {
      connections_->Add({{"protocol", protocol}, {"security_profile", std::to_string(profile)}});
    }
  }
  drain_closed_ = &prometheus::BuildCounter()
                       .Name("switchyard_gateway_drain_closed_total")
                       .Help("Connections closed by a graceful drain")
                       .Register(registry)
                       .Add({});
  heap_trims_ = &prometheus::BuildCounter()
                     .Name("switchyard_gateway_heap_trims_total")
                     .Help("Free heap pages given back to the system after a wave of connections")
                     .Register(registry)
                     .Add({});
  heap_returned_ = &prometheus::BuildCounter()
                        .Name("switchyard_gateway_heap_returned_bytes_total")
                        .Help("Bytes of RSS the heap trims gave back")
                        .Register(registry)
                        .Add({});
  accept_bursts_ =
      &prometheus::BuildHistogram()
           .Name("switchyard_gateway_accepts_per_wakeup")
           .Help(
               "Connections a listener took from the kernel's accept queue at once "
               "(more than one in a storm; 256 at most)")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256});
  dependency_up_ = &prometheus::BuildGauge()
                        .Name("switchyard_gateway_dependency_up")
                        .Help("1 when the dependency (kafka, redis) answered the pod's last probe")
                        .Register(registry);
  fencing_ = &prometheus::BuildCounter()
                  .Name("switchyard_gateway_fencing_total")
                  .Help("Self-fencing: fenced, lifted, and connection_closed per connection closed")
                  .Register(registry);
  fenced_ = &prometheus::BuildGauge()
                 .Name("switchyard_gateway_fenced")
                 .Help("1 while the pod is fenced: cut off from Kafka or Redis while a peer is not")
                 .Register(registry)
                 .Add({});
  for (const char* event : {"fenced", "lifted", "connection_closed"})
    fencing_->Add({{"event", event}});
}

void GatewayMetrics::dependency_up(std::string_view dependency, bool up) {
  dependency_up_->Add({{"dependency", std::string(dependency)}}).Set(up ? 1 : 0);
}

void GatewayMetrics::fencing(std::string_view event) {
  fencing_->Add({{"event", std::string(event)}}).Increment();
  if (event == "fenced") fenced_->Set(1);
  if (event == "lifted") fenced_->Set(0);
}

void GatewayMetrics::connection_opened(std::string_view protocol, int profile) {
  const std::map<std::string, std::string> labels{{"protocol", std::string(protocol)},
                                                  {"security_profile", std::to_string(profile)}};
  connections_->Add(labels).Increment();
  connects_->Add(labels).Increment();
}

void GatewayMetrics::connection_closed(std::string_view protocol, int profile,
                                       std::string_view reason) {
  connections_
      ->Add({{"protocol", std::string(protocol)}, {"security_profile", std::to_string(profile)}})
      .Decrement();
  disconnects_->Add({{"reason", std::string(reason)}}).Increment();
}

void GatewayMetrics::handshake_refused(std::string_view reason) {
  refused_->Add({{"reason", std::string(reason)}}).Increment();
}

void GatewayMetrics::message(std::string_view action, MessageDirection direction,
                             MessageOutcome outcome) {
  thread_local std::unordered_map<MessageKey, prometheus::Counter*, MessageKeyHash> cache;
  const MessageKey key{id_, action.data(), action.size(), static_cast<std::uint8_t>(direction),
                       static_cast<std::uint8_t>(outcome)};
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto& child = messages_->Add({{"action", std::string(action)},
                                  {"direction", direction == MessageDirection::kIn ? "in" : "out"},
                                  {"outcome", std::string(outcome_name(outcome))}});
    it = cache.emplace(key, &child).first;
  }
  it->second->Increment();
}

void GatewayMetrics::ack_latency(std::string_view action, double seconds) {
  thread_local std::unordered_map<MessageKey, prometheus::Histogram*, MessageKeyHash> cache;
  const MessageKey key{id_, action.data(), action.size(), 0, 0};
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto& child = ack_latency_->Add({{"action", std::string(action)}}, kLatency);
    it = cache.emplace(key, &child).first;
  }
  it->second->Observe(seconds);
}

void GatewayMetrics::decision(std::string_view decision, bool ok, double seconds) {
  thread_local std::unordered_map<MessageKey, prometheus::Histogram*, MessageKeyHash> cache;
  const MessageKey key{id_, decision.data(), decision.size(), static_cast<std::uint8_t>(ok), 0};
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto& child = decision_latency_->Add(
        {{"decision", std::string(decision)}, {"outcome", ok ? "ok" : "failed"}}, kRpcLatency);
    it = cache.emplace(key, &child).first;
  }
  it->second->Observe(seconds);
}

void GatewayMetrics::rpc_error(std::string_view code) {
  rpc_errors_->Add({{"code", std::string(code)}}).Increment();
}

void GatewayMetrics::quirks(std::uint8_t bits) {
  ocpp::for_each_quirk(bits, [this](ocpp::Quirk q) {
    quirks_->Add({{"quirk", std::string(ocpp::quirk_name(q))}}).Increment();
  });
}

void GatewayMetrics::throttled() { throttled_->Increment(); }

void GatewayMetrics::io_rounds(std::uint64_t plain, std::uint64_t waited, std::uint64_t handlers) {
  io_rounds_plain_->Increment(static_cast<double>(plain));
  io_rounds_waited_->Increment(static_cast<double>(waited));
  io_handlers_->Increment(static_cast<double>(handlers));
}

void GatewayMetrics::event_encoded(bool direct) {
  (direct ? events_direct_ : events_message_)->Increment();
}

void GatewayMetrics::certificate(std::string_view step, std::string_view result) {
  certificates_->Add({{"step", std::string(step)}, {"result", std::string(result)}}).Increment();
}

void GatewayMetrics::tls_loaded(std::string_view result) {
  tls_loads_->Add({{"result", std::string(result)}}).Increment();
}

void GatewayMetrics::tls_handshake(bool resumed, long cached_sessions) {  // NOLINT
  (resumed ? tls_resumed_ : tls_full_)->Increment();
  tls_cached_sessions(cached_sessions);
  small_objects_seen();
}

void GatewayMetrics::tls_cached_sessions(long cached_sessions) {  // NOLINT
  tls_cached_->Set(static_cast<double>(cached_sessions));
}

void GatewayMetrics::small_objects_seen() {
  if (!small_objects::used_for_openssl()) return;
  const auto stats = small_objects::heap().stats();
  tls_small_objects_->Set(static_cast<double>(stats.object_bytes));
  tls_small_chunks_->Set(static_cast<double>(stats.chunk_bytes));
}

void GatewayMetrics::tls_certificate_expiry(double unix_seconds) { tls_expiry_->Set(unix_seconds); }

void GatewayMetrics::auth_lockout(std::string_view key) {
  auth_lockouts_->Add({{"key", std::string(key)}}).Increment();
}

void GatewayMetrics::command(std::string_view action, std::string_view outcome, double seconds) {
  commands_->Add({{"action", std::string(action)}, {"outcome", std::string(outcome)}}).Increment();
  command_latency_->Add({{"action", std::string(action)}}, kLatency).Observe(seconds);
}

void GatewayMetrics::control_call(std::string_view rpc, std::string_view route,
                                  std::string_view code, double seconds) {
  control_calls_
      ->Add({{"rpc", std::string(rpc)}, {"route", std::string(route)}, {"code", std::string(code)}})
      .Increment();
  control_latency_->Add({{"route", std::string(route)}}, kRpcLatency).Observe(seconds);
}

void GatewayMetrics::ownership(std::string_view event) {
  ownership_->Add({{"event", std::string(event)}}).Increment();
}

void GatewayMetrics::drain_closed() { drain_closed_->Increment(); }

void GatewayMetrics::accept_burst(std::size_t connections) {
  accept_bursts_->Observe(static_cast<double>(connections));
}

void GatewayMetrics::heap_trimmed(std::int64_t returned_bytes) {
  small_objects_seen();
  heap_trims_->Increment();
  heap_returned_->Increment(static_cast<double>(returned_bytes));
}

}  // namespace switchyard::gateway
