// The smart-charging service object (see smart_charging.h).
#include "smart_charging/smart_charging.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/core/thread_name.h"

namespace switchyard::smart_charging {

std::string evse_key(const EvseAddress& evse) {
  return evse.charger_id + "/" + std::to_string(evse.evse_id);
}

void add_service_settings(Settings& settings, ServiceSettings& service) {
  settings
      .add("fail-safe-retry", service.fallback_retry,
           "A fail-safe rejected or unanswered is sent again after this (and at every connect)")
      .add("verify-after", service.verify_after,
           "Ask a charger what it applies (GetCompositeSchedule) this long after it accepted a "
           "profile; above the plan it counts at its worst case (0: never)")
      .add("start-reserve", service.planner.start_reserve_a,
           "Amperes per phase every grid connection and circuit keeps free under scarcity, so a "
           "session that starts gets its minimum at once instead of after the lowers settle "
           "(spent when it would keep a vehicle waiting; 0: off)");
}

Result<void> check_service_settings(const ServiceSettings& service) {
  const double reserve = service.planner.start_reserve_a;
  if (!std::isfinite(reserve) || reserve < 0.0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--start-reserve must be a number of amperes >= 0, not " + std::to_string(reserve));
  }
  return {};
}

std::string_view to_string(ChargerProtocol protocol) {
  switch (protocol) {
    case ChargerProtocol::k16:
      return "1.6";
    case ChargerProtocol::k201:
      return "2.0.1";
    case ChargerProtocol::k21:
      return "2.1";
    case ChargerProtocol::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

// A session limit kept across a restart is dropped once it is this old: its session surely
// ended while the service did not listen.
constexpr auto kSessionLimitKeep = std::chrono::hours(24 * 7);

std::string transaction_key(const std::string& charger_id, const std::string& transaction_id) {
  return charger_id + "\n" + transaction_id;
}

std::string_view outcome_name(ProfileOutcome outcome) {
  switch (outcome) {
    case ProfileOutcome::kAccepted:
      return "accepted";
    case ProfileOutcome::kRejected:
      return "rejected";
    case ProfileOutcome::kLost:
      return "lost";
  }
  return "lost";
}

// "<charger>/<evse>" back into its parts (the service writes every EVSE id so).
EvseAddress address_of(const EvseSpec& spec) {
  const auto slash = spec.id.rfind('/');
  EvseAddress out{spec.charger, 0};
  if (slash != std::string::npos) out.evse_id = std::atoi(spec.id.c_str() + slash + 1);
  return out;
}

}  // namespace

struct SmartChargingService::SiteRuntime {
  std::string id;
  std::uint64_t generation = 0;
  std::string json;
  std::unique_ptr<SitePlanner> planner;
  std::vector<EvseAddress> addresses;                // per EvseIndex
  std::map<std::string, StoredSite::Limits> limits;  // by node id
  std::uint64_t plan_id = 0;
  Time planned_at{};
  std::size_t admitted = 0;
  std::size_t waiting = 0;
  // Gauges of this site's grid connection and circuits: limit, planned, exposure, measured per
  // phase.
  std::vector<prometheus::Gauge*> gauges;
  // What each EVSE's meter last said, per grid phase (0 without a session); published as the
  // nodes' "measured" when it changed.
  std::vector<PhaseCurrents> measured;
  bool measured_changed = false;
  // When the service learnt of each EVSE's session, until that session's first TxProfile goes out.
  std::vector<std::optional<std::chrono::steady_clock::time_point>> session_seen;
  // Whether a plan since then kept it waiting for its turn (kWaiting), for that metric's label.
  std::vector<std::uint8_t> session_waited;
  prometheus::Gauge* at_limit = nullptr;

  // Fail-safes: per EVSE what all may fall back to at once (recomputed when a limit changes),
  // per charger what it accepted on its current connection.
  bool fail_safe_stale = true;
  std::vector<double> fail_safe;
  struct Fallback {
    std::vector<double> installed;  // per EVSE of the charger, in site order
    bool current = false;           // accepted on this connection
    bool pending = false;
    Time retry_at{};
  };
  std::unordered_map<std::string, Fallback> fallbacks;  // by charger id
  Time fallback_check_at{};  // when collect_fallbacks next has work (epoch: now)
  // Checks of what chargers apply: per EVSE when due (Time::max(): none), whether one runs.
  std::vector<Time> check_at;
  std::vector<std::uint8_t> checking;
  Time next_check = Time::max();
  std::size_t without_fail_safe = 0;  // online chargers with none accepted on this connection
};

struct SmartChargingService::Check {
  std::string site;
  std::uint64_t generation = 0;
  EvseIndex evse = 0;
  EvseAddress address;
  RateUnit unit = RateUnit::kAmperes;
  Setpoint expected;
  double expected_limit = 0.0;  // in `unit`
};

struct SmartChargingService::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : replans(prometheus::BuildCounter()
                    .Name("switchyard_smart_charging_replans_total")
                    .Help("Plans made (all sites)")
                    .Register(registry)
                    .Add({})),
        replan_seconds(prometheus::BuildHistogram()
                           .Name("switchyard_smart_charging_replan_seconds")
                           .Help("Time to re-plan one site")
                           .Register(registry)
                           .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001,
                                                                            0.002, 0.005, 0.01,
                                                                            0.02, 0.05, 0.1, 0.5})),
        sent(prometheus::BuildCounter()
                 .Name("switchyard_smart_charging_profiles_sent_total")
                 .Help("Charging profiles sent, by plan step (lower goes before raise)")
                 .Register(registry)),
        answers(prometheus::BuildCounter()
                    .Name("switchyard_smart_charging_profile_answers_total")
                    .Help("Answers to charging profiles: accepted, rejected, lost (no answer, "
                          "charger not connected)")
                    .Register(registry)),
        node_current(prometheus::BuildGauge()
                         .Name("switchyard_smart_charging_node_current_amperes")
                         .Help("Per grid connection and circuit and phase: the binding limit, "
                               "the plan (targets plus loads nobody plans), the worst case "
                               "that may flow now and what the chargers below measured "
                               "(their last Current.Import per phase)")
                         .Register(registry)),
        at_limit(prometheus::BuildGauge()
                     .Name("switchyard_smart_charging_nodes_at_limit")
                     .Help("Grid connections and circuits whose plan is within 0.5 A of a limit")
                     .Register(registry)),
        sessions(prometheus::BuildGauge()
                     .Name("switchyard_smart_charging_sessions")
                     .Help("Sessions on planned sites: charging (admitted) or waiting for a turn")
                     .Register(registry)),
        charging(&sessions.Add({{"state", "charging"}})),
        waiting(&sessions.Add({{"state", "waiting"}})),
        fail_safes(prometheus::BuildCounter()
                       .Name("switchyard_smart_charging_fail_safes_total")
                       .Help("Fail-safes (offline fallback currents) sent to chargers, by answer")
                       .Register(registry)),
        without_fail_safe(prometheus::BuildGauge()
                              .Name("switchyard_smart_charging_chargers_without_fail_safe")
                              .Help("Online chargers on planned sites with no fail-safe accepted "
                                    "on this connection (counted at their worst case offline)")
                              .Register(registry)
                              .Add({})),
        session_to_profile(
            prometheus::BuildHistogram()
                .Name("switchyard_smart_charging_session_to_profile_seconds")
                .Help("From a session's start reaching the service to its first TxProfile sent, "
                      "by the plan step that sent it (raise_now: at once, on the start reserve; "
                      "raise: after the lowers it needs were accepted and settled) and whether "
                      "it waited for its turn first")
                .Register(registry)),
        checks(prometheus::BuildCounter()
                   .Name("switchyard_smart_charging_schedule_checks_total")
                   .Help("GetCompositeSchedule checks of accepted profiles: match, above_plan "
                         "(counted at its worst case), unverifiable")
                   .Register(registry)),
        session_limits(prometheus::BuildCounter()
                           .Name("switchyard_smart_charging_session_limits_total")
                           .Help("Limits other parties put on sessions (OCPI charging "
                                 "profiles): set, cleared, unknown_session")
                           .Register(registry)) {
    // Every step's series from the start, so a dashboard shows 0 rather than nothing.
    for (PlanStep step : {PlanStep::kLower, PlanStep::kRaiseNow, PlanStep::kRaise}) {
      first_profile(step, false);
      first_profile(step, true);
    }
  }

  prometheus::Histogram& first_profile(PlanStep step, bool waited) {
    return session_to_profile.Add(
        {{"step", std::string(to_string(step))}, {"waited", waited ? "true" : "false"}},
        prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60});
  }

  prometheus::Counter& replans;
  prometheus::Histogram& replan_seconds;
  prometheus::Family<prometheus::Counter>& sent;
  prometheus::Family<prometheus::Counter>& answers;
  prometheus::Family<prometheus::Gauge>& node_current;
  prometheus::Family<prometheus::Gauge>& at_limit;
  prometheus::Family<prometheus::Gauge>& sessions;
  prometheus::Gauge* charging;
  prometheus::Gauge* waiting;
  prometheus::Family<prometheus::Counter>& fail_safes;
  prometheus::Gauge& without_fail_safe;
  prometheus::Family<prometheus::Histogram>& session_to_profile;
  prometheus::Family<prometheus::Counter>& checks;
  prometheus::Family<prometheus::Counter>& session_limits;
};

SmartChargingService::SmartChargingService(ProfileSender& sender, SiteStore& store,
                                           const Clock& clock, ServiceSettings settings,
                                           prometheus::Registry* metrics, FallbackSender* fallback,
                                           ScheduleReader* reader)
    : sender_(sender),
      fallback_(fallback),
      reader_(reader),
      store_(store),
      clock_(clock),
      settings_(settings) {
  if (metrics != nullptr) metrics_ = std::make_unique<Metrics>(*metrics);
}

SmartChargingService::~SmartChargingService() {
  for (auto& [id, runtime] : sites_) unindex_site(*runtime);
}

Result<std::size_t> SmartChargingService::load(
    const std::function<Result<SiteDefinition>(const std::string& json)>& parse) {
  auto stored = store_.load_all();
  if (!stored) return std::unexpected(stored.error());
  std::size_t loaded = 0;
  for (auto& s : *stored) {
    auto definition = parse(s.definition_json);
    if (!definition) {
      log::error("stored site does not parse; skipped",
                 {{"site_id", s.id}, {"error", definition.error().message}});
      continue;
    }
    if (auto r = put_site(std::move(*definition)); !r) {
      log::error("stored site is not valid; skipped",
                 {{"site_id", s.id}, {"error", r.error().message}});
      continue;
    }
    for (auto& limits : s.limits) {
      auto r = set_limits(s.id, limits.node_id, limits.schedule,
                          std::optional<std::optional<LimitSlot>>(limits.override_slot));
      if (r && !limits.forecast.empty()) r = set_forecast(s.id, limits.node_id, limits.forecast);
      if (!r) log::warn("stored limits skipped", {{"site_id", s.id}, {"error", r.error().message}});
    }
    ++loaded;
  }
  if (auto r = load_session_limits(); !r) return std::unexpected(r.error());
  return loaded;
}

Result<void> SmartChargingService::load_session_limits() {
  auto stored = store_.load_session_limits();
  if (!stored) return std::unexpected(stored.error());
  const Time now = clock_.now();
  std::size_t kept = 0;
  std::lock_guard lock(mutex_);
  for (StoredSessionLimit& s : *stored) {
    // Over, or so old that its session surely ended while nobody listened: gone.
    if ((s.limit.end && *s.limit.end <= now) || s.limit.start < now - kSessionLimitKeep) {
      if (auto r = store_.remove_session_limit(s.charger_id, s.transaction_id); !r) {
        log::warn("stale session limit not removed", {{"error", r.error().message}});
      }
      continue;
    }
    pending_limits_[transaction_key(s.charger_id, s.transaction_id)] = std::move(s.limit);
    ++kept;
  }
  if (kept > 0) log::info("session limits kept from before the restart", {{"count", kept}});
  return {};
}

void SmartChargingService::forget_session_limit(const std::string& charger_id,
                                                const std::string& transaction_id, bool stored) {
  const bool pending = pending_limits_.erase(transaction_key(charger_id, transaction_id)) > 0;
  if (!stored && !pending) return;
  if (auto r = store_.remove_session_limit(charger_id, transaction_id); !r) {
    log::warn("ended session's limit not removed from the store",
              {{"charger_id", charger_id},
               {"transaction_id", transaction_id},
               {"error", r.error().message}});
  }
}

std::unique_ptr<SmartChargingService::SiteRuntime> SmartChargingService::build_runtime(
    SiteDefinition definition, Result<Site>& built) {
  built = Site::build(std::move(definition.spec));
  if (!built) return nullptr;
  auto runtime = std::make_unique<SiteRuntime>();
  runtime->id = built->id();
  runtime->json = std::move(definition.json);
  for (const Evse& evse : built->evses()) runtime->addresses.push_back(address_of(evse.spec));
  runtime->check_at.assign(runtime->addresses.size(), Time::max());
  runtime->measured.assign(runtime->addresses.size(), PhaseCurrents{});
  runtime->session_seen.assign(runtime->addresses.size(), std::nullopt);
  runtime->session_waited.assign(runtime->addresses.size(), 0);
  runtime->checking.assign(runtime->addresses.size(), 0);
  runtime->planner = std::make_unique<SitePlanner>(std::move(*built), settings_.planner);
  return runtime;
}

Result<bool> SmartChargingService::put_site(SiteDefinition definition) {
  for (const EvseSpec& evse : definition.spec.evses) {
    if (evse.id != evse.charger + "/" + std::to_string(address_of(evse).evse_id)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "EVSE id " + evse.id + " is not <charger>/<evse id>");
    }
  }
  Result<Site> built = make_error(ErrorCode::kInternal, "unbuilt");
  auto runtime = build_runtime(std::move(definition), built);
  if (!runtime) return std::unexpected(built.error());
  std::vector<std::string> node_ids;
  for (const Node& node : runtime->planner->site().nodes()) node_ids.push_back(node.spec.id);

  std::lock_guard lock(mutex_);
  // A charger belongs to one site.
  for (const Node& node : runtime->planner->site().nodes()) {
    if (node.spec.kind != NodeKind::kCharger) continue;
    auto other = site_of_charger_.find(node.spec.id);
    if (other != site_of_charger_.end() && other->second != runtime->id) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "charger " + node.spec.id + " is already in site " + other->second);
    }
  }
  auto created = store_.put(runtime->id, runtime->json, node_ids);
  if (!created) return std::unexpected(created.error());

  const Time now = clock_.now();
  runtime->generation = next_generation_++;
  if (auto old = sites_.find(runtime->id); old != sites_.end()) {
    // Limits of nodes that are still there carry over.
    for (auto& [node_id, limits] : old->second->limits) {
      auto node = runtime->planner->site().find_node(node_id);
      if (!node) continue;
      runtime->planner->set_schedule(*node, limits.schedule);
      runtime->planner->set_override(*node, limits.override_slot);
      runtime->planner->set_forecast(*node, limits.forecast);
      runtime->limits[node_id] = limits;
    }
    release_left(*old->second, runtime.get());
    unindex_site(*old->second);
    sites_.erase(old);
  }
  SitePlanner& planner = *runtime->planner;
  for (const Node& node : planner.site().nodes()) {
    if (node.spec.kind == NodeKind::kCharger) to_release_.erase(node.spec.id);  // back in a site
  }
  for (const Node& node : planner.site().nodes()) {
    if (node.spec.kind == NodeKind::kCharger && online_.contains(node.spec.id)) {
      planner.charger_connected(static_cast<NodeIndex>(&node - planner.site().nodes().data()), now);
    }
  }
  for (EvseIndex e = 0; e < runtime->addresses.size(); ++e) {
    if (transactions_.contains(evse_key(runtime->addresses[e]))) planner.session_started(e, now);
  }
  auto& stored = *runtime;
  sites_[runtime->id] = std::move(runtime);
  index_site(stored);
  log::info("site planned", {{"site_id", stored.id},
                             {"nodes", planner.site().nodes().size()},
                             {"evses", planner.site().evses().size()},
                             {"created", *created}});
  wake_locked();
  return *created;
}

void SmartChargingService::index_site(SiteRuntime& runtime) {
  const Site& site = runtime.planner->site();
  for (const Node& node : site.nodes()) {
    if (node.spec.kind == NodeKind::kCharger) site_of_charger_[node.spec.id] = runtime.id;
    if (metrics_ == nullptr || node.spec.kind == NodeKind::kCharger) continue;
    for (std::string_view kind : {"limit", "planned", "exposure", "measured"}) {
      for (int p = 0; p < kPhaseCount; ++p) {
        runtime.gauges.push_back(
            &metrics_->node_current.Add({{"site", runtime.id},
                                         {"node", node.spec.id},
                                         {"phase", std::string(to_string(static_cast<Phase>(p)))},
                                         {"kind", std::string(kind)}}));
      }
    }
  }
  if (metrics_ != nullptr) runtime.at_limit = &metrics_->at_limit.Add({{"site", runtime.id}});
}

void SmartChargingService::unindex_site(const SiteRuntime& runtime) {
  for (const Node& node : runtime.planner->site().nodes()) {
    auto it = site_of_charger_.find(node.spec.id);
    if (it != site_of_charger_.end() && it->second == runtime.id) site_of_charger_.erase(it);
  }
  if (metrics_ == nullptr) return;
  for (auto* gauge : runtime.gauges) metrics_->node_current.Remove(gauge);
  if (runtime.at_limit != nullptr) metrics_->at_limit.Remove(runtime.at_limit);
}

Result<void> SmartChargingService::delete_site(const std::string& site_id) {
  std::lock_guard lock(mutex_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  if (auto r = store_.remove(site_id); !r) return std::unexpected(r.error());
  release_left(*it->second, nullptr);
  wake_locked();
  unindex_site(*it->second);
  sites_.erase(it);
  log::info("site deleted", {{"site_id", site_id}});
  return {};
}

void SmartChargingService::release_left(const SiteRuntime& old, const SiteRuntime* replacement) {
  const Site& site = old.planner->site();
  for (const Node& node : site.nodes()) {
    if (node.spec.kind != NodeKind::kCharger) continue;
    if (replacement != nullptr && replacement->planner->site().find_node(node.spec.id)) continue;
    std::vector<int> evses;
    for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e)
      evses.push_back(old.addresses[e].evse_id);
    to_release_[node.spec.id] = std::move(evses);
  }
}

void SmartChargingService::release_answer(const std::string& charger_id,
                                          const ProfileAnswer& answer) {
  std::lock_guard lock(mutex_);
  releasing_.erase(charger_id);
  if (answer.outcome == ProfileOutcome::kAccepted) {
    to_release_.erase(charger_id);
    log::info("charger released: the service's profiles are off it", {{"charger_id", charger_id}});
    return;
  }
  // Tried again when it next connects.
  log::warn("charger not released; tried again at its next connect",
            {{"charger_id", charger_id},
             {"outcome", outcome_name(answer.outcome)},
             {"detail", answer.detail}});
}

SmartChargingService::SiteRuntime* SmartChargingService::find_site(
    const std::string& site_id) const {
  auto it = sites_.find(site_id);
  return it == sites_.end() ? nullptr : it->second.get();
}

Result<StoredSite> SmartChargingService::site(const std::string& site_id) const {
  std::lock_guard lock(mutex_);
  const SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  StoredSite out{runtime->id, runtime->json, {}};
  for (const auto& [node, limits] : runtime->limits) out.limits.push_back(limits);
  return out;
}

std::vector<SiteSummary> SmartChargingService::sites() const {
  std::lock_guard lock(mutex_);
  std::vector<SiteSummary> out;
  for (const auto& [id, runtime] : sites_) {
    const SitePlanner& planner = *runtime->planner;
    SiteSummary summary{id, planner.site().nodes().size(), planner.site().evses().size(), 0, 0};
    for (NodeIndex n = 0; n < planner.site().nodes().size(); ++n) {
      if (planner.site().node(n).spec.kind == NodeKind::kCharger && planner.charger_online(n))
        ++summary.chargers_online;
    }
    for (EvseIndex e = 0; e < planner.site().evses().size(); ++e) {
      if (planner.status(e).session) ++summary.sessions;
    }
    out.push_back(summary);
  }
  return out;
}

Result<void> SmartChargingService::set_limits(
    const std::string& site_id, const std::string& node_id,
    std::optional<std::vector<LimitSlot>> schedule,
    std::optional<std::optional<LimitSlot>> override_slot) {
  for (const LimitSlot& slot : schedule.value_or(std::vector<LimitSlot>{})) {
    if (slot.until <= slot.from)
      return make_error(ErrorCode::kInvalidArgument, "a schedule slot ends before it starts");
  }
  if (override_slot && *override_slot && (*override_slot)->until <= (*override_slot)->from)
    return make_error(ErrorCode::kInvalidArgument, "the override ends before it starts");
  std::lock_guard lock(mutex_);
  SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  auto node = runtime->planner->site().find_node(node_id);
  if (!node) return make_error(ErrorCode::kNotFound, "site " + site_id + " has no node " + node_id);
  StoredSite::Limits limits = runtime->limits.contains(node_id)
                                  ? runtime->limits[node_id]
                                  : StoredSite::Limits{node_id, {}, std::nullopt, {}};
  if (schedule) limits.schedule = std::move(*schedule);
  if (override_slot) limits.override_slot = *override_slot;
  return store_limits(*runtime, std::move(limits));
}

Result<void> SmartChargingService::set_forecast(const std::string& site_id,
                                                const std::string& node_id,
                                                std::vector<LimitSlot> slots) {
  for (const LimitSlot& slot : slots) {
    if (slot.until <= slot.from)
      return make_error(ErrorCode::kInvalidArgument, "a forecast slot ends before it starts");
  }
  std::lock_guard lock(mutex_);
  SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  if (!runtime->planner->site().find_node(node_id))
    return make_error(ErrorCode::kNotFound, "site " + site_id + " has no node " + node_id);
  StoredSite::Limits limits = runtime->limits.contains(node_id)
                                  ? runtime->limits[node_id]
                                  : StoredSite::Limits{node_id, {}, std::nullopt, {}};
  limits.forecast = std::move(slots);
  return store_limits(*runtime, std::move(limits));
}

Result<void> SmartChargingService::store_limits(SiteRuntime& runtime, StoredSite::Limits limits) {
  auto node = runtime.planner->site().find_node(limits.node_id);
  if (auto r = store_.put_limits(runtime.id, limits); !r) return r;
  runtime.planner->set_schedule(*node, limits.schedule);
  runtime.planner->set_override(*node, limits.override_slot);
  runtime.planner->set_forecast(*node, limits.forecast);
  // A lower limit anywhere can lower what every charger may fall back to.
  runtime.fail_safe_stale = true;
  runtime.fallback_check_at = Time{};
  const std::string node_id = limits.node_id;
  runtime.limits[node_id] = std::move(limits);
  wake_locked();
  return {};
}

Result<void> SmartChargingService::meter_reading(const std::string& site_id,
                                                 const std::string& node_id, Time taken_at,
                                                 const PhaseCurrents& load_a) {
  for (double a : load_a) {
    if (!(a >= 0.0) || a > 1e6)
      return make_error(ErrorCode::kInvalidArgument, "a reading is negative or not a number");
  }
  std::lock_guard lock(mutex_);
  SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  auto node = runtime->planner->site().find_node(node_id);
  if (!node) return make_error(ErrorCode::kNotFound, "site " + site_id + " has no node " + node_id);
  if (!runtime->planner->site().node(*node).spec.meter) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "node " + node_id + " has no site meter (set `meter` on the node)");
  }
  runtime->planner->site_meter(*node, load_a, taken_at);
  wake_locked();
  return {};
}

Result<PlanView> SmartChargingService::plan(const std::string& site_id) const {
  std::lock_guard lock(mutex_);
  const SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  const SitePlanner& planner = *runtime->planner;
  PlanView view{runtime->plan_id, runtime->planned_at, runtime->admitted, runtime->waiting, {}, {}};
  for (EvseIndex e = 0; e < runtime->addresses.size(); ++e) {
    view.evses.push_back(
        {runtime->addresses[e], planner.target(e), planner.reason(e), planner.status(e)});
  }
  const auto loads = planner.node_loads(clock_.now());
  for (NodeIndex n = 0; n < loads.size(); ++n) {
    const Node& node = planner.site().node(n);
    if (node.spec.kind == NodeKind::kCharger) continue;
    view.nodes.push_back({node.spec.id, node.spec.kind, loads[n]});
  }
  return view;
}

Result<ExplanationView> SmartChargingService::explain(const std::string& site_id,
                                                      const EvseAddress& evse) const {
  std::lock_guard lock(mutex_);
  const SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr) return make_error(ErrorCode::kNotFound, "no site " + site_id);
  auto index = runtime->planner->site().find_evse(evse_key(evse));
  if (!index) {
    return make_error(ErrorCode::kNotFound, "site " + site_id + " has no EVSE " + evse_key(evse));
  }
  ExplanationView out{runtime->planner->explain(*index), {}};
  if (out.explanation.node != kNoNode)
    out.node_id = runtime->planner->site().node(out.explanation.node).spec.id;
  return out;
}

std::optional<std::pair<SmartChargingService::SiteRuntime*, EvseIndex>>
SmartChargingService::locate(const EvseAddress& evse) const {
  auto site = site_of_charger_.find(evse.charger_id);
  if (site == site_of_charger_.end()) return std::nullopt;
  SiteRuntime* runtime = find_site(site->second);
  if (runtime == nullptr) return std::nullopt;
  auto index = runtime->planner->site().find_evse(evse_key(evse));
  if (!index) return std::nullopt;
  return std::make_pair(runtime, *index);
}

void SmartChargingService::charger_connected(const std::string& charger_id,
                                             ChargerProtocol protocol) {
  std::lock_guard lock(mutex_);
  online_.insert(charger_id);
  bool installability_changed = false;
  if (protocol != ChargerProtocol::kUnknown) {
    auto& known = protocol_[charger_id];
    auto installable = [this](ChargerProtocol p) {
      return p == ChargerProtocol::kUnknown || (fallback_ != nullptr && fallback_->can_install(p));
    };
    installability_changed = installable(known) != installable(protocol);
    known = protocol;
  }
  auto site = site_of_charger_.find(charger_id);
  if (site == site_of_charger_.end()) {
    if (to_release_.contains(charger_id)) wake_locked();
    return;
  }
  SiteRuntime* runtime = find_site(site->second);
  if (installability_changed) runtime->fail_safe_stale = true;
  // A charger may have been reset or replaced while away: its fail-safe goes out again.
  auto fallback = runtime->fallbacks.find(charger_id);
  if (fallback != runtime->fallbacks.end()) {
    fallback->second.current = false;
    fallback->second.retry_at = Time{};
  }
  runtime->fallback_check_at = Time{};
  auto node = runtime->planner->site().find_node(charger_id);
  runtime->planner->charger_connected(*node, clock_.now());
  wake_locked();
}

void SmartChargingService::charger_disconnected(const std::string& charger_id) {
  std::lock_guard lock(mutex_);
  online_.erase(charger_id);
  auto site = site_of_charger_.find(charger_id);
  if (site == site_of_charger_.end()) return;
  SiteRuntime* runtime = find_site(site->second);
  auto node = runtime->planner->site().find_node(charger_id);
  runtime->planner->charger_disconnected(*node, clock_.now());
  wake_locked();
}

void SmartChargingService::session_started(const EvseAddress& evse,
                                           const std::string& transaction_id) {
  std::lock_guard lock(mutex_);
  auto known = transactions_.find(evse_key(evse));
  if (known != transactions_.end() && known->second == transaction_id) return;  // again
  const bool replaced = known != transactions_.end();
  auto where = locate(evse);
  if (replaced) {
    // The end of the previous session was missed: that one is over.
    const std::string previous = known->second;
    evse_of_transaction_.erase(transaction_key(evse.charger_id, previous));
    const bool limited = where && where->first->planner->has_session_limit(where->second);
    forget_session_limit(evse.charger_id, previous, limited);
    if (where) where->first->planner->session_ended(where->second, clock_.now());
  }
  transactions_[evse_key(evse)] = transaction_id;
  evse_of_transaction_[transaction_key(evse.charger_id, transaction_id)] = evse;
  if (!where) return;
  where->first->planner->session_started(where->second, clock_.now());
  if (auto kept = pending_limits_.find(transaction_key(evse.charger_id, transaction_id));
      kept != pending_limits_.end()) {
    where->first->planner->set_session_limit(where->second, std::move(kept->second));
    pending_limits_.erase(kept);
    log::info("session limit restored", {{"charger_id", evse.charger_id},
                                         {"transaction_id", transaction_id},
                                         {"site", where->first->id}});
  }
  where->first->session_seen[where->second] = clock_.steady_now();
  where->first->session_waited[where->second] = 0;
  wake_locked();
}

std::optional<EvseAddress> SmartChargingService::evse_of_transaction(
    const std::string& charger_id, const std::string& transaction_id) const {
  if (transaction_id.empty()) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = evse_of_transaction_.find(transaction_key(charger_id, transaction_id));
  if (it == evse_of_transaction_.end()) return std::nullopt;
  return it->second;
}

void SmartChargingService::session_ended(const EvseAddress& evse,
                                         const std::string& transaction_id) {
  std::lock_guard lock(mutex_);
  auto known = transactions_.find(evse_key(evse));
  if (known == transactions_.end()) return;
  if (!transaction_id.empty() && known->second != transaction_id) return;
  const std::string ended = known->second;
  evse_of_transaction_.erase(transaction_key(evse.charger_id, ended));
  transactions_.erase(known);
  auto where = locate(evse);
  forget_session_limit(evse.charger_id, ended,
                       where && where->first->planner->has_session_limit(where->second));
  if (!where) return;
  where->first->planner->session_ended(where->second, clock_.now());
  where->first->measured[where->second] = PhaseCurrents{};
  where->first->measured_changed = true;
  where->first->session_seen[where->second].reset();
  wake_locked();
}

Result<std::pair<SmartChargingService::SiteRuntime*, EvseIndex>>
SmartChargingService::locate_transaction(const std::string& charger_id,
                                         const std::string& transaction_id) const {
  auto it = evse_of_transaction_.find(transaction_key(charger_id, transaction_id));
  std::optional<std::pair<SiteRuntime*, EvseIndex>> where;
  if (it != evse_of_transaction_.end()) where = locate(it->second);
  if (!where) {
    if (metrics_) metrics_->session_limits.Add({{"event", "unknown_session"}}).Increment();
    return make_error(ErrorCode::kNotFound, "no planned site has transaction " + transaction_id +
                                                " of charger " + charger_id + " running");
  }
  return *where;
}

SessionPlanView SmartChargingService::session_view(const SiteRuntime& runtime,
                                                   EvseIndex evse) const {
  SessionPlanView view;
  view.site_id = runtime.id;
  view.evse = runtime.addresses[evse];
  view.planned = runtime.planner->target(evse);
  view.reason = runtime.planner->reason(evse);
  view.limit = runtime.planner->session_limit(evse);
  view.voltage_v = runtime.planner->site().nominal_voltage_v();
  return view;
}

Result<SessionPlanView> SmartChargingService::set_session_limit(const std::string& charger_id,
                                                                const std::string& transaction_id,
                                                                std::optional<SessionLimit> limit) {
  if (limit) {
    if (limit->periods.empty() || limit->periods.front().offset != Duration::zero()) {
      return make_error(ErrorCode::kInvalidArgument, "the first period must start at 0");
    }
    for (std::size_t i = 0; i < limit->periods.size(); ++i) {
      const SessionLimit::Period& p = limit->periods[i];
      if (!std::isfinite(p.limit) || p.limit < 0) {
        return make_error(ErrorCode::kInvalidArgument,
                          "period " + std::to_string(i) + ": the limit must be 0 or more");
      }
      if (i > 0 && p.offset <= limit->periods[i - 1].offset) {
        return make_error(ErrorCode::kInvalidArgument,
                          "period " + std::to_string(i) + " does not start after the one before");
      }
    }
    if (limit->end && *limit->end <= limit->start) {
      return make_error(ErrorCode::kInvalidArgument, "the limit ends before it starts");
    }
    if (!std::isfinite(limit->min_rate) || limit->min_rate < 0) {
      return make_error(ErrorCode::kInvalidArgument, "the min rate must be 0 or more");
    }
  }
  std::lock_guard lock(mutex_);
  auto where = locate_transaction(charger_id, transaction_id);
  if (!where) return std::unexpected(where.error());
  auto [runtime, evse] = *where;
  const bool set = limit.has_value();
  const std::string source = set ? limit->source : std::string();
  // Kept first: a limit the service cannot keep across a restart is refused, not half set.
  auto stored = set ? store_.put_session_limit({charger_id, transaction_id, *limit})
                    : store_.remove_session_limit(charger_id, transaction_id);
  if (!stored) {
    return make_error(ErrorCode::kUnavailable,
                      "the session limit could not be stored: " + stored.error().message);
  }
  runtime->planner->set_session_limit(evse, std::move(limit));
  if (metrics_) metrics_->session_limits.Add({{"event", set ? "set" : "cleared"}}).Increment();
  log::info(set ? "session limit set" : "session limit cleared",
            {{"charger_id", charger_id},
             {"transaction_id", transaction_id},
             {"site", runtime->id},
             {"source", source}});
  wake_locked();
  return session_view(*runtime, evse);
}

Result<SessionPlanView> SmartChargingService::session_plan(
    const std::string& charger_id, const std::string& transaction_id) const {
  std::lock_guard lock(mutex_);
  auto where = locate_transaction(charger_id, transaction_id);
  if (!where) return std::unexpected(where.error());
  return session_view(*where->first, where->second);
}

void SmartChargingService::evse_meter(const EvseAddress& evse, const PhaseCurrents& connector_a) {
  std::lock_guard lock(mutex_);
  auto where = locate(evse);
  if (!where) return;
  SitePlanner& planner = *where->first->planner;
  const Time now = clock_.now();
  planner.evse_meter(where->second, connector_a, now);
  if (planner.status(where->second).session) {
    const Evse& ev = planner.site().evse(where->second);
    PhaseCurrents grid{};
    for (int c = 0; c < kPhaseCount; ++c) grid[ev.grid_phase[c]] += connector_a[c];
    where->first->measured[where->second] = grid;
    where->first->measured_changed = true;
  }
  // Meter values are the most frequent fact: the driver runs for one only when it changed the
  // plan's inputs (a wake-up it schedules is seen within the driver's longest sleep).
  if (planner.needs_replan(now)) wake_locked();
}

void SmartChargingService::collect(SiteRuntime& runtime, std::vector<ProfileCommand>& commands,
                                   std::vector<ProfileRequest>& out) {
  for (ProfileCommand& command : commands) {
    ProfileRequest request{runtime.addresses[command.evse], command, {}};
    if (command.purpose == ProfilePurpose::kTx) {
      auto tx = transactions_.find(evse_key(request.evse));
      if (tx != transactions_.end()) request.transaction_id = tx->second;
    }
    auto& seen = runtime.session_seen[command.evse];
    if (command.purpose == ProfilePurpose::kTx && seen) {
      if (metrics_ != nullptr) {
        const std::chrono::duration<double> took = clock_.steady_now() - *seen;
        metrics_->first_profile(command.step, runtime.session_waited[command.evse] != 0)
            .Observe(took.count());
      }
      seen.reset();
    }
    if (metrics_ != nullptr) {
      metrics_->sent
          .Add({{"step", std::string(to_string(command.step))},
                {"purpose", command.purpose == ProfilePurpose::kTx ? "tx" : "tx_default"}})
          .Increment();
    }
    out.push_back(std::move(request));
  }
}

void SmartChargingService::note_waiting(SiteRuntime& runtime) {
  for (EvseIndex e = 0; e < runtime.session_seen.size(); ++e) {
    if (runtime.session_seen[e] && runtime.planner->reason(e) == Reason::kWaiting) {
      runtime.session_waited[e] = 1;
    }
  }
}

void SmartChargingService::publish_measured(SiteRuntime& runtime) {
  runtime.measured_changed = false;
  if (metrics_ == nullptr) return;
  const Site& site = runtime.planner->site();
  std::vector<PhaseCurrents> per_node(site.nodes().size(), PhaseCurrents{});
  for (EvseIndex e = 0; e < runtime.measured.size(); ++e) {
    for (NodeIndex n = site.evse(e).charger; n != kNoNode; n = site.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) per_node[n][p] += runtime.measured[e][p];
    }
  }
  std::size_t gauge = 0;
  for (NodeIndex n = 0; n < site.nodes().size(); ++n) {
    if (site.node(n).spec.kind == NodeKind::kCharger) continue;
    gauge += std::size_t{3} * kPhaseCount;  // limit, planned, exposure: publish_metrics
    for (int p = 0; p < kPhaseCount; ++p) runtime.gauges[gauge++]->Set(per_node[n][p]);
  }
}

void SmartChargingService::publish_metrics(SiteRuntime& runtime, Time now) {
  if (metrics_ == nullptr) return;
  const SitePlanner& planner = *runtime.planner;
  const auto loads = planner.node_loads(now);
  std::size_t gauge = 0;
  double at_limit = 0;
  for (NodeIndex n = 0; n < loads.size(); ++n) {
    if (planner.site().node(n).spec.kind == NodeKind::kCharger) continue;
    const NodeLoad& load = loads[n];
    bool binding = false;
    for (const PhaseCurrents* values : {&load.limit.current_a, &load.planned_a, &load.exposure_a}) {
      for (int p = 0; p < kPhaseCount; ++p) runtime.gauges[gauge++]->Set((*values)[p]);
    }
    gauge += kPhaseCount;  // measured: publish_measured
    for (int p = 0; p < kPhaseCount; ++p)
      binding = binding || load.planned_a[p] >= load.limit.current_a[p] - 0.5;
    if (binding) ++at_limit;
  }
  runtime.at_limit->Set(at_limit);
  publish_measured(runtime);
  double charging = 0;
  double waiting = 0;
  for (const auto& [id, site] : sites_) {
    charging += static_cast<double>(site->admitted);
    waiting += static_cast<double>(site->waiting);
  }
  metrics_->charging->Set(charging);
  metrics_->waiting->Set(waiting);
}

void SmartChargingService::collect_fallbacks(SiteRuntime& runtime, Time now,
                                             std::vector<FallbackRequest>& out) {
  if (now < runtime.fallback_check_at) return;
  SitePlanner& planner = *runtime.planner;
  const Site& site = planner.site();
  if (runtime.fail_safe_stale && fallback_ != nullptr) {
    // Chargers whose version takes no fail-safe here count at their worst case; a charger not
    // seen yet is assumed to take one (it is counted at its maximum offline until it does).
    std::vector<std::uint8_t> no_fail_safe(site.evses().size(), 0);
    for (EvseIndex e = 0; e < site.evses().size(); ++e) {
      auto known = protocol_.find(site.evse(e).spec.charger);
      if (known != protocol_.end() && !fallback_->can_install(known->second)) no_fail_safe[e] = 1;
    }
    runtime.fail_safe = planner.fail_safe_currents(now, no_fail_safe);
    runtime.fail_safe_stale = false;
  }
  runtime.fallback_check_at = Time::max();
  runtime.without_fail_safe = 0;
  for (NodeIndex n = 0; n < site.nodes().size(); ++n) {
    const Node& node = site.node(n);
    if (node.spec.kind != NodeKind::kCharger || !planner.charger_online(n)) continue;
    if (node.evse_begin == node.evse_end) continue;
    auto known = protocol_.find(node.spec.id);
    const ChargerProtocol protocol =
        known == protocol_.end() ? ChargerProtocol::kUnknown : known->second;
    // A charger without smart charging takes no fail-safe either (it counts at its maximum).
    const bool smart = site.evse(node.evse_begin).spec.supports_smart_charging;
    if (fallback_ == nullptr || !smart || !fallback_->can_install(protocol)) {
      ++runtime.without_fail_safe;
      continue;
    }
    auto& state = runtime.fallbacks[node.spec.id];
    std::vector<double> desired(runtime.fail_safe.begin() + node.evse_begin,
                                runtime.fail_safe.begin() + node.evse_end);
    // 1.6 and 2.0.1 take one value for the charger: the lowest of its EVSEs'.
    if (protocol != ChargerProtocol::k21)
      std::ranges::fill(desired, *std::ranges::min_element(desired));
    if (state.current && desired == state.installed) continue;
    ++runtime.without_fail_safe;
    if (state.pending) continue;
    if (now < state.retry_at) {
      runtime.fallback_check_at = std::min(runtime.fallback_check_at, state.retry_at);
      continue;
    }
    // A raise counts at once (the charger may apply it before it answers); a lowering only
    // once accepted.
    FallbackRequest request{node.spec.id, protocol, {}};
    for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e) {
      const double value = desired[e - node.evse_begin];
      const double counted =
          planner.status(e).offline_current_a.value_or(site.evse(e).spec.max_current_a);
      if (value > counted) planner.set_offline_current(e, value);
      request.evse_amps.emplace_back(runtime.addresses[e].evse_id, value);
    }
    state.pending = true;
    out.push_back(std::move(request));
  }
}

void SmartChargingService::fallback_answer(const std::string& site_id, std::uint64_t generation,
                                           const FallbackRequest& request,
                                           const ProfileAnswer& answer) {
  std::lock_guard lock(mutex_);
  if (metrics_ != nullptr) {
    metrics_->fail_safes.Add({{"outcome", std::string(outcome_name(answer.outcome))}}).Increment();
  }
  SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr || runtime->generation != generation) return;  // replaced meanwhile
  SitePlanner& planner = *runtime->planner;
  auto node = planner.site().find_node(request.charger_id);
  if (!node) return;
  const Node& charger = planner.site().node(*node);
  auto& state = runtime->fallbacks[request.charger_id];
  state.pending = false;
  runtime->fallback_check_at = Time{};
  if (answer.outcome != ProfileOutcome::kAccepted) {
    state.retry_at = clock_.now() + settings_.fallback_retry;
    log::warn("fail-safe not applied; the charger counts at its worst case offline",
              {{"site_id", site_id},
               {"charger_id", request.charger_id},
               {"protocol", to_string(request.protocol)},
               {"outcome", outcome_name(answer.outcome)},
               {"detail", answer.detail}});
    wake_locked();
    return;
  }
  state.installed.clear();
  for (std::size_t i = 0; i < request.evse_amps.size(); ++i) {
    const EvseIndex e = charger.evse_begin + static_cast<EvseIndex>(i);
    if (e >= charger.evse_end) break;
    state.installed.push_back(request.evse_amps[i].second);
    planner.set_offline_current(e, request.evse_amps[i].second);
  }
  state.current = true;
  log::info("fail-safe installed", {{"site_id", site_id},
                                    {"charger_id", request.charger_id},
                                    {"protocol", to_string(request.protocol)},
                                    {"amps", request.evse_amps.front().second}});
  wake_locked();
}

std::size_t SmartChargingService::tick() {
  struct Outgoing {
    ProfileRequest request;
    std::string site;
    std::uint64_t generation;
  };
  struct OutgoingFallback {
    FallbackRequest request;
    std::string site;
    std::uint64_t generation;
  };
  std::vector<Outgoing> outgoing;
  std::vector<OutgoingFallback> fallbacks;
  std::vector<Check> checks;
  std::vector<std::pair<std::string, std::vector<int>>> releases;
  {
    std::lock_guard lock(mutex_);
    const Time now = clock_.now();
    std::vector<ProfileRequest> requests;
    for (auto& [id, runtime] : sites_) {
      SitePlanner& planner = *runtime->planner;
      requests.clear();
      if (planner.needs_replan(now)) {
        const auto started = clock_.steady_now();
        Plan plan = planner.replan(now);
        const std::chrono::duration<double> took = clock_.steady_now() - started;
        runtime->plan_id = plan.id;
        runtime->planned_at = plan.at;
        runtime->admitted = plan.admitted;
        runtime->waiting = plan.waiting;
        if (metrics_ != nullptr) {
          metrics_->replans.Increment();
          metrics_->replan_seconds.Observe(took.count());
        }
        note_waiting(*runtime);
        collect(*runtime, plan.lower_now, requests);
        collect(*runtime, plan.raise_now, requests);
        publish_metrics(*runtime, now);
        log::debug("re-planned", {{"site_id", id},
                                  {"plan", plan.id},
                                  {"admitted", plan.admitted},
                                  {"waiting", plan.waiting},
                                  {"lower", plan.lower_now.size()},
                                  {"raise_now", plan.raise_now.size()},
                                  {"raise_later", plan.raise_after.size()},
                                  {"seconds", took.count()}});
      }
      if (runtime->measured_changed) publish_measured(*runtime);
      auto raises = planner.releasable(now);
      collect(*runtime, raises, requests);
      for (auto& r : requests) outgoing.push_back({std::move(r), id, runtime->generation});
      if (reader_ != nullptr) collect_checks(*runtime, now, checks);
      std::vector<FallbackRequest> due;
      collect_fallbacks(*runtime, now, due);
      for (auto& r : due) fallbacks.push_back({std::move(r), id, runtime->generation});
    }
    for (const auto& [charger, evses] : to_release_) {
      if (online_.contains(charger) && !releasing_.contains(charger)) {
        releasing_.insert(charger);
        releases.emplace_back(charger, evses);
      }
    }
    if (metrics_ != nullptr) {
      double without = 0;
      for (const auto& [id, runtime] : sites_)
        without += static_cast<double>(runtime->without_fail_safe);
      metrics_->without_fail_safe.Set(without);
    }
  }
  for (auto& [charger, evses] : releases) {
    sender_.release(charger, evses,
                    [this, charger](const ProfileAnswer& a) { release_answer(charger, a); });
  }
  for (auto& c : checks) {
    reader_->composite_limit(
        c.address, c.unit,
        [this, c](const Result<std::optional<double>>& reported) { check_answer(c, reported); });
  }
  for (auto& f : fallbacks) {
    fallback_->install(
        f.request, [this, site = f.site, generation = f.generation, request = f.request](
                       const ProfileAnswer& a) { fallback_answer(site, generation, request, a); });
  }
  for (auto& o : outgoing) {
    const EvseIndex evse = o.request.command.evse;
    const std::uint64_t command = o.request.command.id;
    if (o.request.command.purpose == ProfilePurpose::kTx && o.request.transaction_id.empty()) {
      // Sent as a default it would outlive the session at a value the planner does not count.
      answer(o.site, o.generation, evse, command,
             {ProfileOutcome::kLost, "the session's transaction id is not known"});
      continue;
    }
    sender_.send(o.request,
                 [this, site = o.site, generation = o.generation, evse,
                  command](const ProfileAnswer& a) { answer(site, generation, evse, command, a); });
  }
  return outgoing.size() + fallbacks.size() + releases.size();
}

void SmartChargingService::answer(const std::string& site_id, std::uint64_t generation,
                                  EvseIndex evse, std::uint64_t command,
                                  const ProfileAnswer& answer) {
  std::lock_guard lock(mutex_);
  if (metrics_ != nullptr)
    metrics_->answers.Add({{"outcome", std::string(outcome_name(answer.outcome))}}).Increment();
  SiteRuntime* runtime = find_site(site_id);
  if (runtime == nullptr || runtime->generation != generation) return;  // replaced meanwhile
  if (answer.outcome != ProfileOutcome::kAccepted) {
    log::warn("charging profile not applied", {{"site_id", site_id},
                                               {"charger_id", runtime->addresses[evse].charger_id},
                                               {"evse_id", runtime->addresses[evse].evse_id},
                                               {"outcome", outcome_name(answer.outcome)},
                                               {"detail", answer.detail}});
  }
  const Time now = clock_.now();
  runtime->planner->profile_result(evse, command, answer.outcome, now);
  if (answer.outcome == ProfileOutcome::kAccepted && reader_ != nullptr &&
      settings_.verify_after.count() > 0) {
    runtime->check_at[evse] = now + settings_.verify_after;
    runtime->next_check = std::min(runtime->next_check, runtime->check_at[evse]);
  }
  wake_locked();
}

void SmartChargingService::collect_checks(SiteRuntime& runtime, Time now, std::vector<Check>& out) {
  if (now < runtime.next_check) return;
  runtime.next_check = Time::max();
  const SitePlanner& planner = *runtime.planner;
  for (EvseIndex e = 0; e < runtime.check_at.size(); ++e) {
    if (runtime.check_at[e] == Time::max()) continue;
    if (runtime.check_at[e] > now) {
      runtime.next_check = std::min(runtime.next_check, runtime.check_at[e]);
      continue;
    }
    if (runtime.checking[e] != 0) continue;  // after the running one answers
    runtime.check_at[e] = Time::max();
    const EvseStatus status = planner.status(e);
    // Only a settled limit is checked: a newer profile on its way makes the answer moot.
    if (!status.online || status.pending > 0 || !status.applied) continue;
    const EvseSpec& spec = planner.site().evse(e).spec;
    Check check{runtime.id,      runtime.generation,       e, runtime.addresses[e], spec.rate_unit,
                *status.applied, status.applied->current_a};
    if (spec.rate_unit == RateUnit::kWatts) {
      check.expected_limit =
          status.applied->current_a * status.applied->phases * planner.site().nominal_voltage_v();
    }
    runtime.checking[e] = 1;
    out.push_back(std::move(check));
  }
}

void SmartChargingService::check_answer(const Check& check,
                                        const Result<std::optional<double>>& reported) {
  std::lock_guard lock(mutex_);
  SiteRuntime* runtime = find_site(check.site);
  if (runtime == nullptr || runtime->generation != check.generation) return;
  runtime->checking[check.evse] = 0;
  runtime->next_check = Time{};  // a check that waited for this one may go
  auto count = [this](std::string_view result) {
    if (metrics_ != nullptr) metrics_->checks.Add({{"result", std::string(result)}}).Increment();
  };
  if (!reported || !*reported) {
    count("unverifiable");
    log::debug("composite schedule not comparable",
               {{"charger_id", check.address.charger_id},
                {"evse_id", check.address.evse_id},
                {"detail", reported ? std::string("no schedule in the profile's unit")
                                    : reported.error().message}});
    return;
  }
  SitePlanner& planner = *runtime->planner;
  const EvseStatus status = planner.status(check.evse);
  if (status.pending > 0 || status.applied != check.expected) return;  // moved on meanwhile
  const double tolerance =
      check.unit == RateUnit::kWatts ? std::max(check.expected_limit * 0.01, 50.0) : 0.1;
  if (**reported <= check.expected_limit + tolerance) {
    count("match");
    return;
  }
  count("above_plan");
  log::warn("charger applies more than its accepted profile; counted at its worst case",
            {{"site_id", check.site},
             {"charger_id", check.address.charger_id},
             {"evse_id", check.address.evse_id},
             {"planned", check.expected_limit},
             {"reported", **reported},
             {"unit", check.unit == RateUnit::kWatts ? "W" : "A"}});
  planner.applied_above_plan(check.evse, clock_.now());
  wake_locked();
}

void SmartChargingService::wake_locked() {
  wake_ = true;
  woken_.notify_all();
}

void SmartChargingService::run(const std::stop_token& stop) {
  name_this_thread("planner");
  while (!stop.stop_requested()) {
    tick();
    std::unique_lock lock(mutex_);
    const Time now = clock_.now();
    auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.max_sleep);
    for (const auto& [id, runtime] : sites_) {
      const Time next = std::min(
          {runtime->planner->next_wakeup(), runtime->fallback_check_at, runtime->next_check});
      if (next <= now) {
        sleep = std::chrono::milliseconds(0);
      } else if (next - now < sleep) {
        sleep = std::chrono::duration_cast<std::chrono::milliseconds>(next - now) +
                std::chrono::milliseconds(1);
      }
    }
    woken_.wait_for(lock, stop, sleep, [&] { return wake_; });
    wake_ = false;
  }
}

}  // namespace switchyard::smart_charging
