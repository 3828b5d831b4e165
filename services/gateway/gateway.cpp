// Wiring of a gateway pod, the claim refresher and the graceful drain.
#include "gateway/gateway.h"

#include <algorithm>
#include <condition_variable>
#include <random>
#include <thread>

#include "common/runtime/core/log.h"
#include "gateway/command_router.h"
#include "gateway/connections.h"
#include "gateway/context.h"
#include "gateway/grpc_api.h"

namespace switchyard::gateway {

namespace {

AuthThrottleSettings throttle_settings(const GatewayConfig& c) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  AuthThrottleSettings s;
  s.charger_failures = c.auth_charger_failures;
  s.address_failures = c.auth_address_failures;
  s.window = std::max(seconds(1), duration_cast<seconds>(c.auth_failure_window));
  s.lockout = std::max(seconds(1), duration_cast<seconds>(c.auth_lockout));
  s.max_lockout = std::max(s.lockout, duration_cast<seconds>(c.auth_max_lockout));
  return s;
}

ConnectionAdmissionSettings connection_admission_settings(const GatewayConfig& c) {
  return {.rate = std::max(0.0, c.admission_rate),
          .burst = std::max(0.0, c.admission_burst),
          .retry_after_max = std::max(
              std::chrono::seconds(1),
              std::chrono::duration_cast<std::chrono::seconds>(c.admission_retry_after_max)),
          .address_share = std::clamp(c.admission_address_share, 0.0, 1.0)};
}

}  // namespace

struct Gateway::Impl {
  Impl(const GatewayConfig& c, GatewayPorts p, prometheus::Registry& registry)
      : config(c),
        metrics(registry),
        throttle(throttle_settings(c), system_clock()),
        connection_admission(connection_admission_settings(c), system_clock(),
                             std::random_device{}()),
        ctx{config,  p.publisher, p.owners, p.decisions, p.credentials,
            p.peers, sessions,    metrics,  {},          {}},
        router(config.pod_id, sessions, p.owners, p.peers, config.call_timeout),
        control(router, sessions),
        internal(router),
        connections(ctx) {
    ctx.auth_throttle = &throttle;
    if (connection_admission.enabled()) ctx.connection_admission = &connection_admission;
    ctx.lenient_chargers.insert(config.lenient_chargers.begin(), config.lenient_chargers.end());
    ctx.lenient_vendors.insert(config.lenient_vendors.begin(), config.lenient_vendors.end());
  }

  // Re-asserts every claim in one pipelined batch; closes connections whose claim another pod
  // took; claims again for connections that could not claim (registry down at connect).
  void refresh() {
    std::vector<std::shared_ptr<Session>> held;
    std::vector<registry::ClaimRef> claims;
    for (auto& session : sessions.all()) {
      if (session->epoch() == 0) {
        session->claim_again();
        continue;
      }
      registry::Owner owner{config.pod_id, session->epoch(), config.advertise_address,
                            std::string(ocpp::subprotocol(session->version()))};
      claims.push_back({session->charger_id(), std::move(owner)});
      held.push_back(std::move(session));
    }
    if (claims.empty()) return;
    ctx.owners.refresh(std::move(claims), [this,
                                           held = std::move(held)](Result<std::vector<bool>> r) {
      if (!r) {
        log::warn("owner refresh failed; connections stay open", {{"error", r.error().message}});
        return;
      }
      for (std::size_t i = 0; i < r->size() && i < held.size(); ++i) {
        if ((*r)[i]) continue;
        metrics.ownership("lost");
        log::info("claim lost to another pod; closing", {{"charger_id", held[i]->charger_id()}});
        held[i]->close(SessionCloseReason::kLostOwnership);
      }
    });
  }

  void refresher_loop(const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    while (!stop.stop_requested()) {
      cv.wait_for(lock, stop, config.owner_refresh, [] { return false; });
      if (!stop.stop_requested()) refresh();
    }
  }

  const GatewayConfig& config;
  GatewayMetrics metrics;
  AuthThrottle throttle;
  ConnectionAdmission connection_admission;
  SessionRegistry sessions;
  GatewayContext ctx;
  CommandRouter router;
  ChargerControlService control;
  GatewayInternalService internal;
  Connections connections;
  std::jthread refresher;
  bool stopped = false;
};

Gateway::Gateway(const GatewayConfig& config, GatewayPorts ports, prometheus::Registry& metrics)
    : impl_(std::make_unique<Impl>(config, ports, metrics)) {}

Gateway::~Gateway() { stop(); }

std::vector<grpc::Service*> Gateway::grpc_services() { return {&impl_->control, &impl_->internal}; }

Result<void> Gateway::start() {
  if (auto r = impl_->connections.start(); !r) return r;
  impl_->refresher =
      std::jthread([this](const std::stop_token& stop) { impl_->refresher_loop(stop); });
  log::info("gateway listening", {{"ws_port", impl_->connections.ws_port()},
                                  {"wss_port", impl_->connections.wss_port()},
                                  {"advertise_address", impl_->config.advertise_address}});
  return {};
}

void Gateway::drain() {
  impl_->ctx.draining = true;
  impl_->connections.stop_accepting();
  auto sessions = impl_->sessions.all();
  std::shuffle(sessions.begin(), sessions.end(), std::mt19937(std::random_device{}()));
  log::info("draining",
            {{"connections", static_cast<std::int64_t>(sessions.size())},
             {"window_ms", static_cast<std::int64_t>(impl_->config.drain_window.count())}});
  // Spread the closes so the other pods see a trickle of reconnects, not a storm.
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = sessions.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto at = start + impl_->config.drain_window * static_cast<std::int64_t>(i) /
                                static_cast<std::int64_t>(std::max<std::size_t>(n, 1));
    std::this_thread::sleep_until(at);
    sessions[i]->close(SessionCloseReason::kDrain);
  }
  sessions.clear();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (impl_->sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!impl_->ctx.publisher.flush(std::chrono::seconds(10))) {
    log::warn("events still in flight after the drain",
              {{"in_flight", static_cast<std::int64_t>(impl_->ctx.publisher.in_flight())}});
  }
  log::info("drained", {{"open_connections", static_cast<std::int64_t>(impl_->sessions.size())}});
}

void Gateway::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->refresher = {};
  impl_->connections.stop();
}

bool Gateway::draining() const { return impl_->ctx.draining; }
std::size_t Gateway::connections() const { return impl_->sessions.size(); }
int Gateway::ws_port() const { return impl_->connections.ws_port(); }
int Gateway::wss_port() const { return impl_->connections.wss_port(); }

}  // namespace switchyard::gateway
