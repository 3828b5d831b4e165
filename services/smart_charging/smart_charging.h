// The smart-charging service object: the sites and their planners, the facts that move them
// (charger connections, sessions, meter values, site meter readings, operator limits), and the
// driver that re-plans and sends profiles through a ProfileSender in the order the planner
// allows (lowers acknowledged before raises). Thread-safe: events, gRPC calls, profile answers
// and the driver thread meet under one lock; nothing is sent while it is held.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/runtime/core/clock.h"
#include "smart_charging/planner.h"
#include "smart_charging/ports.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard {
class Settings;
}

namespace switchyard::smart_charging {

struct ServiceSettings {
  PlannerSettings planner;
  // The driver wakes at least this often (a planner wake-up may be later).
  std::chrono::milliseconds max_sleep{1000};
  // A fail-safe that was rejected or lost is tried again after this (and at every connect).
  std::chrono::milliseconds fallback_retry{60000};
  // This long after a profile was accepted the service asks the charger what it applies
  // (GetCompositeSchedule) and counts it at its worst case if that is above the plan; 0: never.
  std::chrono::milliseconds verify_after{10000};
};

// The flags of ServiceSettings that both binaries take (fail-safe retry, checks).
void add_service_settings(Settings& settings, ServiceSettings& service);
// kInvalidArgument naming the flag that is out of range.
Result<void> check_service_settings(const ServiceSettings& service);

// A site as the API gives it: the planner's spec (EVSE ids "<charger>/<evse>") and the JSON
// the store keeps.
struct SiteDefinition {
  SiteSpec spec;
  std::string json;
};

struct SiteSummary {
  std::string id;
  std::size_t nodes = 0;
  std::size_t evses = 0;
  std::size_t chargers_online = 0;
  std::size_t sessions = 0;
};

struct EvsePlanView {
  EvseAddress evse;
  Setpoint planned;
  Reason reason = Reason::kUnplanned;
  EvseStatus status;
};

struct NodeLoadView {
  std::string node_id;
  NodeKind kind = NodeKind::kCircuit;
  NodeLoad load;
};

struct PlanView {
  std::uint64_t plan_id = 0;
  Time planned_at{};
  std::size_t admitted = 0;
  std::size_t waiting = 0;
  std::vector<EvsePlanView> evses;
  std::vector<NodeLoadView> nodes;
};

struct ExplanationView {
  Explanation explanation;
  std::string node_id;  // the binding node, if any
};

// A running session as the planner sees it (set_session_limit, session_plan).
struct SessionPlanView {
  std::string site_id;
  EvseAddress evse;
  Setpoint planned;  // the last plan's setpoint (A per phase)
  Reason reason = Reason::kUnplanned;
  std::optional<SessionLimit> limit;
  double voltage_v = 230.0;  // the site's nominal voltage
};

// "<charger>/<evse>": the EVSE id in a SiteSpec.
std::string evse_key(const EvseAddress& evse);

class SmartChargingService {
 public:
  // `fallback`, when given, installs every online charger's fail-safe (planner
  // fail_safe_currents) and the planner counts an offline charger at it once accepted;
  // `reader`, when given, checks what chargers apply after they accepted a profile.
  SmartChargingService(ProfileSender& sender, SiteStore& store, const Clock& clock,
                       ServiceSettings settings, prometheus::Registry* metrics,
                       FallbackSender* fallback = nullptr, ScheduleReader* reader = nullptr);
  ~SmartChargingService();
  SmartChargingService(const SmartChargingService&) = delete;
  SmartChargingService& operator=(const SmartChargingService&) = delete;

  // Loads every stored site (at start). `parse` turns a stored definition back into a spec.
  // Sites, their limits and the session limits kept (applied when their sessions start again).
  Result<std::size_t> load(
      const std::function<Result<SiteDefinition>(const std::string& json)>& parse);

  // --- sites and limits (the gRPC API) -------------------------------------------------------
  // Creates or replaces; true when created. kInvalidArgument names what is wrong with the site.
  Result<bool> put_site(SiteDefinition definition);
  Result<void> delete_site(const std::string& site_id);  // kNotFound
  Result<StoredSite> site(const std::string& site_id) const;
  std::vector<SiteSummary> sites() const;
  // Replaces the node's schedule (when given) and its override (when given; nullopt inside:
  // none). kNotFound for an unknown site or node, kInvalidArgument for a slot ending before it
  // starts.
  Result<void> set_limits(const std::string& site_id, const std::string& node_id,
                          std::optional<std::vector<LimitSlot>> schedule,
                          std::optional<std::optional<LimitSlot>> override_slot);
  // Replaces the grid operator's capacity forecast for a node (OSCP); kept with the limits.
  Result<void> set_forecast(const std::string& site_id, const std::string& node_id,
                            std::vector<LimitSlot> slots);
  Result<void> meter_reading(const std::string& site_id, const std::string& node_id, Time taken_at,
                             const PhaseCurrents& load_a);
  Result<PlanView> plan(const std::string& site_id) const;
  Result<ExplanationView> explain(const std::string& site_id, const EvseAddress& evse) const;

  // --- facts (ocpp.events.v1) ----------------------------------------------------------------
  void charger_connected(const std::string& charger_id,
                         ChargerProtocol protocol = ChargerProtocol::kUnknown);
  void charger_disconnected(const std::string& charger_id);
  // A new transaction id on an EVSE ends the session that was there.
  void session_started(const EvseAddress& evse, const std::string& transaction_id);
  // Ends the EVSE's session if it is this transaction (any, when empty): a late end of an
  // earlier session does not end the one running now.
  void session_ended(const EvseAddress& evse, const std::string& transaction_id = {});
  // The EVSE a running transaction of the charger is on (a 1.6 StopTransaction and a 2.x Ended
  // or Updated event need not name it).
  std::optional<EvseAddress> evse_of_transaction(const std::string& charger_id,
                                                 const std::string& transaction_id) const;
  // Per connector phase (the charger's L1, L2, L3), A.
  void evse_meter(const EvseAddress& evse, const PhaseCurrents& connector_a);

  // --- limits other parties put on a session (OCPI chargingprofiles through roaming) ---------
  // Puts (nullopt: takes off) a limit on the charger's running transaction; the driver re-plans
  // at once. kNotFound when no planned site has that transaction running, kInvalidArgument for
  // periods that do not start at 0 and ascend, or a negative or non-finite limit.
  Result<SessionPlanView> set_session_limit(const std::string& charger_id,
                                            const std::string& transaction_id,
                                            std::optional<SessionLimit> limit);
  Result<SessionPlanView> session_plan(const std::string& charger_id,
                                       const std::string& transaction_id) const;
  Time now() const { return clock_.now(); }

  // --- driving -------------------------------------------------------------------------------
  // Re-plans every site that needs it and sends what may go out; returns the profiles sent.
  std::size_t tick();
  // tick() until stopped, sleeping until the next wake-up, a fact or an answer.
  void run(const std::stop_token& stop);

 private:
  struct SiteRuntime;
  struct Metrics;

  SiteRuntime* find_site(const std::string& site_id) const;
  // The site and EVSE index of an address, if a site has it.
  std::optional<std::pair<SiteRuntime*, EvseIndex>> locate(const EvseAddress& evse) const;
  // The site and EVSE of a running transaction (with mutex_ held); kNotFound naming it.
  Result<std::pair<SiteRuntime*, EvseIndex>> locate_transaction(
      const std::string& charger_id, const std::string& transaction_id) const;
  SessionPlanView session_view(const SiteRuntime& runtime, EvseIndex evse) const;
  std::unique_ptr<SiteRuntime> build_runtime(SiteDefinition definition, Result<Site>& built);
  void index_site(SiteRuntime& runtime);
  void unindex_site(const SiteRuntime& runtime);
  // The chargers of `old` that `replacement` (null: none) no longer has go to to_release_.
  void release_left(const SiteRuntime& old, const SiteRuntime* replacement);
  void release_answer(const std::string& charger_id, const ProfileAnswer& answer);
  void collect(SiteRuntime& runtime, std::vector<ProfileCommand>& commands,
               std::vector<ProfileRequest>& out);
  void answer(const std::string& site_id, std::uint64_t generation, EvseIndex evse,
              std::uint64_t command, const ProfileAnswer& answer);
  // Fail-safes due on the site's online chargers (with mutex_ held).
  void collect_fallbacks(SiteRuntime& runtime, Time now, std::vector<FallbackRequest>& out);
  void fallback_answer(const std::string& site_id, std::uint64_t generation,
                       const FallbackRequest& request, const ProfileAnswer& answer);
  Result<void> store_limits(SiteRuntime& runtime, StoredSite::Limits limits);
  struct Check;
  // Checks due on the site's EVSEs (with mutex_ held).
  void collect_checks(SiteRuntime& runtime, Time now, std::vector<Check>& out);
  void check_answer(const Check& check, const Result<std::optional<double>>& reported);
  void publish_metrics(SiteRuntime& runtime, Time now);
  void publish_measured(SiteRuntime& runtime);
  Result<void> load_session_limits();
  // The session (ended, or replaced) has no limit any more: off the store if `stored` or pending.
  void forget_session_limit(const std::string& charger_id, const std::string& transaction_id,
                            bool stored);
  // After a re-plan: marks sessions still waiting for their first TxProfile that it kept waiting.
  void note_waiting(SiteRuntime& runtime);
  // Called with mutex_ held: the driver runs at once.
  void wake_locked();

  ProfileSender& sender_;
  FallbackSender* fallback_;
  ScheduleReader* reader_;
  SiteStore& store_;
  const Clock& clock_;
  ServiceSettings settings_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;
  std::condition_variable_any woken_;
  bool wake_ = false;
  std::uint64_t next_generation_ = 1;
  std::map<std::string, std::unique_ptr<SiteRuntime>> sites_;
  std::unordered_map<std::string, std::string> site_of_charger_;
  // Facts kept whatever site a charger is in, so a site put later starts from them.
  std::set<std::string> online_;
  std::unordered_map<std::string, ChargerProtocol> protocol_;  // as last connected
  // Chargers that left every site, with their EVSE ids: their profiles come off when they are
  // online (release_answer), one call at a time.
  std::map<std::string, std::vector<int>> to_release_;
  std::set<std::string> releasing_;
  std::unordered_map<std::string, std::string> transactions_;  // evse_key -> transaction id
  // "<charger>\n<transaction id>" -> its EVSE: the reverse of transactions_, for events that
  // name only the transaction.
  std::unordered_map<std::string, EvseAddress> evse_of_transaction_;
  // Session limits kept from before a restart whose session the service has not seen start yet
  // (by transaction_key); applied at its session_started, dropped with its session_ended.
  std::unordered_map<std::string, SessionLimit> pending_limits_;
};

}  // namespace switchyard::smart_charging
