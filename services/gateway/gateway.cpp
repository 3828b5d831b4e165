// Wiring of a gateway pod, the claim refresher, the dependency watch with its self-fencing, and
// the graceful drain.
#include "gateway/gateway.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <future>
#include <optional>
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

// How often the watch probes Kafka and Redis and announces the pod; a pod not announced for
// kAliveFor is no longer asked about an outage.
constexpr std::chrono::milliseconds kProbeInterval{1000};
constexpr std::chrono::milliseconds kProbeTimeout{1000};
constexpr std::chrono::milliseconds kAliveFor{15000};

// Closes `sessions` spread evenly over `window`, so the other pods see a trickle of reconnects,
// not a storm; stops early when `stop()` says so.
void close_spread(std::vector<std::shared_ptr<Session>> sessions, std::chrono::milliseconds window,
                  SessionCloseReason reason, const std::function<bool()>& stop) {
  std::shuffle(sessions.begin(), sessions.end(), std::mt19937(std::random_device{}()));
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = sessions.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto at = start + window * static_cast<std::int64_t>(i) /
                                static_cast<std::int64_t>(std::max<std::size_t>(n, 1));
    while (std::chrono::steady_clock::now() < at) {
      if (stop()) return;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          at - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    if (stop()) return;
    sessions[i]->close(reason);
  }
}

// Waits until `sessions` is empty, `deadline` passes or `stop()` says so.
void wait_closed(SessionRegistry& sessions, std::chrono::steady_clock::time_point deadline,
                 const std::function<bool()>& stop) {
  while (sessions.size() > 0 && !stop() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Waits for an asynchronous answer up to `timeout`; nullopt when none came.
template <typename T>
std::optional<T> wait_for(const std::shared_ptr<std::promise<T>>& promise,
                          std::chrono::milliseconds timeout) {
  auto future = promise->get_future();
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace

struct Gateway::Impl {
  Impl(const GatewayConfig& c, GatewayPorts p, prometheus::Registry& registry)
      : config(c),
        metrics(registry),
        throttle(throttle_settings(c), system_clock()),
        connection_admission(connection_admission_settings(c), system_clock(),
                             std::random_device{}()),
        heap_trim(c.heap_trim_quiet, &metrics),
        ctx{config,  p.publisher, p.owners, p.decisions, p.credentials,
            p.peers, sessions,    metrics,  {},          {}},
        pods(p.pods),
        fencing(config.fence_after, std::chrono::steady_clock::now()),
        router(config.pod_id, sessions, p.owners, p.peers, config.call_timeout, ctx.outside_calls),
        control(router, sessions, metrics),
        internal(router, fencing, config.pod_id),
        connections(ctx) {
    ctx.auth_throttle = &throttle;
    if (config.heap_trim_quiet.count() > 0) ctx.heap_trim = &heap_trim;
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
    // The answer holds the sessions: counted, so the I/O threads outlive it (OutsideCalls).
    ctx.owners.refresh(std::move(claims), [this, held = ctx.outside_calls.hold(std::move(held))](
                                              Result<std::vector<bool>> r) {
      if (!r) {
        log::warn("owner refresh failed; connections stay open", {{"error", r.error().message}});
        return;
      }
      const auto& sessions = held.value;
      for (std::size_t i = 0; i < r->size() && i < sessions.size(); ++i) {
        if ((*r)[i]) continue;
        metrics.ownership("lost");
        log::info("claim lost to another pod; closing",
                  {{"charger_id", sessions[i]->charger_id()}});
        sessions[i]->close(SessionCloseReason::kLostOwnership);
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

  // -- the dependency watch and self-fencing (fencing.h) --

  void watcher_loop(const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    while (!stop.stop_requested()) {
      cv.wait_for(lock, stop, kProbeInterval, [] { return false; });
      if (!stop.stop_requested()) watch_once();
    }
  }

  void watch_once() {
    const Reachability now_reachable{.bus = ctx.publisher.probe(kProbeTimeout).has_value(),
                                     .registry = announce()};
    const Reachability before = fencing.last();
    const auto now = std::chrono::steady_clock::now();
    fencing.probed(now_reachable, now);
    metrics.dependency_up("kafka", now_reachable.bus);
    metrics.dependency_up("redis", now_reachable.registry);
    if (before.bus != now_reachable.bus)
      log::write(now_reachable.bus ? log::Level::kInfo : log::Level::kWarn,
                 now_reachable.bus ? "kafka reachable again" : "kafka unreachable", {});
    if (before.registry != now_reachable.registry)
      log::write(now_reachable.registry ? log::Level::kInfo : log::Level::kWarn,
                 now_reachable.registry ? "redis reachable again" : "redis unreachable", {});
    switch (fencing.next(now)) {
      case Fencing::Step::kAskPeers:
        if (fencing.fence_if_a_peer_reaches(ask_peers(), now)) fence();
        break;
      case Fencing::Step::kLift:
        lift();
        break;
      case Fencing::Step::kNone:
        break;
    }
  }

  // Announces this pod and keeps the others' addresses; false when Redis did not answer.
  bool announce() {
    auto answer = std::make_shared<std::promise<Result<std::vector<registry::Pod>>>>();
    pods->announce({config.pod_id, config.advertise_address}, kAliveFor,
                   [answer](Result<std::vector<registry::Pod>> r) { answer->set_value(r); });
    auto listed = wait_for(answer, std::chrono::seconds(3));
    if (!listed || !*listed) return false;
    std::vector<registry::Pod> others;
    for (registry::Pod& pod : **listed) {
      if (pod.id != config.pod_id) others.push_back(std::move(pod));
    }
    std::lock_guard lock(peers_mutex);
    known_peers = std::move(others);
    return true;
  }

  // The peers' reachability, from the pods Redis listed last (a cut-off pod keeps that list).
  std::vector<PeerAnswer> ask_peers() {
    std::vector<registry::Pod> peers;
    {
      std::lock_guard lock(peers_mutex);
      peers = known_peers;
    }
    std::vector<std::shared_ptr<std::promise<Result<PeerAnswer>>>> asked;
    for (const registry::Pod& peer : peers) {
      auto answer = std::make_shared<std::promise<Result<PeerAnswer>>>();
      ctx.peers.reachability(peer.address, config.pod_id, kProbeTimeout,
                             [answer](Result<PeerAnswer> r) { answer->set_value(std::move(r)); });
      asked.push_back(std::move(answer));
    }
    std::vector<PeerAnswer> answers;
    for (std::size_t i = 0; i < asked.size(); ++i) {
      auto answer = wait_for(asked[i], kProbeTimeout + std::chrono::seconds(1));
      if (answer && *answer) {
        answers.push_back(std::move(**answer));
      } else {
        log::info("peer did not answer about its reachability",
                  {{"pod", peers[i].id}, {"address", peers[i].address}});
      }
    }
    return answers;
  }

  void fence() {
    ctx.fenced = true;
    metrics.fencing("fenced");
    auto held = sessions.all();
    log::warn("fencing this pod: closing its connections over the drain window, refusing new ones",
              {{"reason", fencing.reason()},
               {"connections", static_cast<std::int64_t>(held.size())},
               {"window_ms", static_cast<std::int64_t>(config.drain_window.count())}});
    fence_closer = std::jthread([this, held = std::move(held)](const std::stop_token& stop) {
      const auto stopped = [&] { return stop.stop_requested() || !ctx.fenced; };
      close_spread(held, config.drain_window, SessionCloseReason::kFenced, stopped);
      // Each connection closes once its CALL in flight is answered: at worst a CALLERROR when
      // Kafka gives up on its event, after the publish budget or, for an event already in a
      // produce request, the request's timeout (librdkafka's request.timeout.ms, 30 s).
      wait_closed(
          sessions,
          std::chrono::steady_clock::now() + config.publish_timeout + std::chrono::seconds(35),
          stopped);
      log::info("fenced pod closed its connections",
                {{"open_connections", static_cast<std::int64_t>(sessions.size())}});
    });
  }

  void lift() {
    fencing.lift();
    ctx.fenced = false;
    metrics.fencing("lifted");
    log::info("fence lifted: kafka and redis reachable again; accepting connections", {});
  }

  const GatewayConfig& config;
  GatewayMetrics metrics;
  AuthThrottle throttle;
  ConnectionAdmission connection_admission;
  HeapTrim heap_trim;
  SessionRegistry sessions;
  GatewayContext ctx;
  registry::PodDirectory* pods;
  Fencing fencing;
  std::mutex peers_mutex;
  std::vector<registry::Pod> known_peers;
  CommandRouter router;
  ChargerControlService control;
  GatewayInternalService internal;
  Connections connections;
  std::jthread refresher;
  std::jthread watcher;
  std::jthread fence_closer;
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
  if (impl_->pods != nullptr) {
    impl_->watcher =
        std::jthread([this](const std::stop_token& stop) { impl_->watcher_loop(stop); });
  }
  log::info("gateway listening",
            {{"ws_port", impl_->connections.ws_port()},
             {"wss_port", impl_->connections.wss_port()},
             {"advertise_address", impl_->config.advertise_address},
             {"io_coalesce_ms", static_cast<std::int64_t>(impl_->config.io_coalesce.count())},
             {"io_coalesce_from_connections", impl_->config.io_coalesce_from_connections}});
  return {};
}

void Gateway::drain() {
  impl_->ctx.draining = true;
  impl_->connections.stop_accepting();
  impl_->watcher = {};  // a draining pod neither fences nor lifts
  impl_->fence_closer = {};
  auto sessions = impl_->sessions.all();
  log::info("draining",
            {{"connections", static_cast<std::int64_t>(sessions.size())},
             {"window_ms", static_cast<std::int64_t>(impl_->config.drain_window.count())},
             {"quiet_ms", static_cast<std::int64_t>(impl_->config.drain_quiet.count())}});
  close_spread(std::move(sessions), impl_->config.drain_window, SessionCloseReason::kDrain,
               [] { return false; });
  wait_closed(impl_->sessions, std::chrono::steady_clock::now() + std::chrono::seconds(10),
              [] { return false; });
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
  impl_->watcher = {};
  impl_->fence_closer = {};
  impl_->connections.stop();
}

bool Gateway::draining() const { return impl_->ctx.draining; }
std::string Gateway::fenced_reason() const { return impl_->fencing.reason(); }
std::size_t Gateway::connections() const { return impl_->sessions.size(); }
int Gateway::ws_port() const { return impl_->connections.ws_port(); }
int Gateway::wss_port() const { return impl_->connections.wss_port(); }

}  // namespace switchyard::gateway
