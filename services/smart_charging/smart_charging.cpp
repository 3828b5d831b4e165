// The smart-charging service object (see smart_charging.h).
#include "smart_charging/smart_charging.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "common/runtime/core/log.h"

namespace switchyard::smart_charging {

std::string evse_key(const EvseAddress& evse) {
  return evse.charger_id + "/" + std::to_string(evse.evse_id);
}

namespace {

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
  // Gauges of this site's grid connection and circuits: limit, planned, exposure per phase.
  std::vector<prometheus::Gauge*> gauges;
  prometheus::Gauge* at_limit = nullptr;
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
                               "the plan (targets plus loads nobody plans) and the worst case "
                               "that may flow now")
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
        waiting(&sessions.Add({{"state", "waiting"}})) {}

  prometheus::Counter& replans;
  prometheus::Histogram& replan_seconds;
  prometheus::Family<prometheus::Counter>& sent;
  prometheus::Family<prometheus::Counter>& answers;
  prometheus::Family<prometheus::Gauge>& node_current;
  prometheus::Family<prometheus::Gauge>& at_limit;
  prometheus::Family<prometheus::Gauge>& sessions;
  prometheus::Gauge* charging;
  prometheus::Gauge* waiting;
};

SmartChargingService::SmartChargingService(ProfileSender& sender, SiteStore& store,
                                           const Clock& clock, ServiceSettings settings,
                                           prometheus::Registry* metrics)
    : sender_(sender), store_(store), clock_(clock), settings_(settings) {
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
      if (!r) log::warn("stored limits skipped", {{"site_id", s.id}, {"error", r.error().message}});
    }
    ++loaded;
  }
  return loaded;
}

std::unique_ptr<SmartChargingService::SiteRuntime> SmartChargingService::build_runtime(
    SiteDefinition definition, Result<Site>& built) {
  built = Site::build(std::move(definition.spec));
  if (!built) return nullptr;
  auto runtime = std::make_unique<SiteRuntime>();
  runtime->id = built->id();
  runtime->json = std::move(definition.json);
  for (const Evse& evse : built->evses()) runtime->addresses.push_back(address_of(evse.spec));
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
      runtime->limits[node_id] = limits;
    }
    unindex_site(*old->second);
    sites_.erase(old);
  }
  SitePlanner& planner = *runtime->planner;
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
    for (std::string_view kind : {"limit", "planned", "exposure"}) {
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
  unindex_site(*it->second);
  sites_.erase(it);
  log::info("site deleted", {{"site_id", site_id}});
  return {};
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
                                  : StoredSite::Limits{node_id, {}, std::nullopt};
  if (schedule) limits.schedule = std::move(*schedule);
  if (override_slot) limits.override_slot = *override_slot;
  if (auto r = store_.put_limits(site_id, limits); !r) return r;
  runtime->planner->set_schedule(*node, limits.schedule);
  runtime->planner->set_override(*node, limits.override_slot);
  runtime->limits[node_id] = std::move(limits);
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
    const Explanation why = planner.explain(e);
    view.evses.push_back({runtime->addresses[e], planner.target(e), why.reason, planner.status(e)});
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

void SmartChargingService::charger_connected(const std::string& charger_id) {
  std::lock_guard lock(mutex_);
  online_.insert(charger_id);
  auto site = site_of_charger_.find(charger_id);
  if (site == site_of_charger_.end()) return;
  SiteRuntime* runtime = find_site(site->second);
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
  if (replaced) evse_of_transaction_.erase(transaction_key(evse.charger_id, known->second));
  transactions_[evse_key(evse)] = transaction_id;
  evse_of_transaction_[transaction_key(evse.charger_id, transaction_id)] = evse;
  auto where = locate(evse);
  if (!where) return;
  // The end of the previous session was missed: that one is over.
  if (replaced) where->first->planner->session_ended(where->second, clock_.now());
  where->first->planner->session_started(where->second, clock_.now());
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
  evse_of_transaction_.erase(transaction_key(evse.charger_id, known->second));
  transactions_.erase(known);
  auto where = locate(evse);
  if (!where) return;
  where->first->planner->session_ended(where->second, clock_.now());
  wake_locked();
}

void SmartChargingService::evse_meter(const EvseAddress& evse, const PhaseCurrents& connector_a) {
  std::lock_guard lock(mutex_);
  auto where = locate(evse);
  if (!where) return;
  SitePlanner& planner = *where->first->planner;
  const Time now = clock_.now();
  planner.evse_meter(where->second, connector_a, now);
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
    if (metrics_ != nullptr) {
      metrics_->sent
          .Add({{"step", command.step == PlanStep::kLower ? "lower" : "raise"},
                {"purpose", command.purpose == ProfilePurpose::kTx ? "tx" : "tx_default"}})
          .Increment();
    }
    out.push_back(std::move(request));
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
    for (int p = 0; p < kPhaseCount; ++p)
      binding = binding || load.planned_a[p] >= load.limit.current_a[p] - 0.5;
    if (binding) ++at_limit;
  }
  runtime.at_limit->Set(at_limit);
  double charging = 0;
  double waiting = 0;
  for (const auto& [id, site] : sites_) {
    charging += static_cast<double>(site->admitted);
    waiting += static_cast<double>(site->waiting);
  }
  metrics_->charging->Set(charging);
  metrics_->waiting->Set(waiting);
}

std::size_t SmartChargingService::tick() {
  struct Outgoing {
    ProfileRequest request;
    std::string site;
    std::uint64_t generation;
  };
  std::vector<Outgoing> outgoing;
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
        collect(*runtime, plan.lower_now, requests);
        publish_metrics(*runtime, now);
        log::debug("re-planned", {{"site_id", id},
                                  {"plan", plan.id},
                                  {"admitted", plan.admitted},
                                  {"waiting", plan.waiting},
                                  {"lower", plan.lower_now.size()},
                                  {"raise_later", plan.raise_after.size()},
                                  {"seconds", took.count()}});
      }
      auto raises = planner.releasable(now);
      collect(*runtime, raises, requests);
      for (auto& r : requests) outgoing.push_back({std::move(r), id, runtime->generation});
    }
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
  return outgoing.size();
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
  runtime->planner->profile_result(evse, command, answer.outcome, clock_.now());
  wake_locked();
}

void SmartChargingService::wake_locked() {
  wake_ = true;
  woken_.notify_all();
}

void SmartChargingService::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    tick();
    std::unique_lock lock(mutex_);
    const Time now = clock_.now();
    auto sleep = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.max_sleep);
    for (const auto& [id, runtime] : sites_) {
      const Time next = runtime->planner->next_wakeup();
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
