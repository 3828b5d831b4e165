// The smart-charging planner of one site: takes the facts a service learns (sessions, meter
// values, charger connections, profile answers, limits) and turns them into charging profile
// commands, ordered so that every node's limit holds at every instant. No I/O and no clock: the
// caller passes `now` and sends the commands; see README.md for the algorithm.
//
// Driving it (what the service does):
//   events      -> charger_connected / session_started / evse_meter / site_meter / set_forecast …
//   if needs_replan(now): plan = replan(now); send plan.lower_now, then plan.raise_now
//   send releasable(now)            // the raise step, once the lowers are acknowledged
//   each answer -> profile_result(evse, command, outcome, now); send releasable(now)
//   wake up at next_wakeup()
//
// Units: currents in A per phase, power in W. A call that times out is answered kLost.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "smart_charging/limits.h"
#include "smart_charging/site.h"
#include "smart_charging/site_meter.h"
#include "smart_charging/water_fill.h"

namespace switchyard::smart_charging {

struct PlannerSettings {
  Duration recalc_interval = std::chrono::seconds(60);
  Duration min_replan_gap = std::chrono::seconds(1);  // immediate re-plans are spaced this much
  // Limits are planned for the window [now, now + lookahead]: a lower slot is honoured before it
  // starts, provided the profiles are acknowledged within the lookahead.
  Duration limit_lookahead = std::chrono::seconds(60);
  double hysteresis_a = 1.0;    // setpoint changes smaller than this are not sent
  double current_step_a = 0.1;  // setpoints are rounded down to this
  // The longest a vehicle that is allowed to charge waits for its minimum current. Waiting
  // vehicles are admitted round-robin; one still waiting turn - turn_guard after it started
  // waiting goes before all others.
  Duration turn = std::chrono::minutes(15);
  Duration turn_guard = std::chrono::seconds(60);
  Duration min_slot = std::chrono::minutes(1);           // shortest charging slot before yielding
  Duration draw_observation = std::chrono::seconds(60);  // drawing less for this long -> capped
  double draw_margin_a = 1.0;                            // cap = highest draw seen + margin
  double phase_detect_a = 1.0;  // a connector phase above this current counts as drawn
  // After a lowering profile is accepted the vehicle may take this long to follow (IEC 61851-1
  // gives it 5 s); raises that need the room wait for it.
  Duration settle = std::chrono::seconds(5);
  // Amperes per phase (and that much power on three phases) that a plan keeps free on every
  // grid connection and circuit while it can, so that a session starting under scarcity gets
  // its minimum at once (PlanStep::kRaiseNow) instead of after the lowers that make its room
  // settle. Never makes a vehicle wait: when the sessions' minimums do not all fit with it, the
  // plan spends it. 0: off.
  double start_reserve_a = 0.0;
  Duration rejected_retry = std::chrono::minutes(5);
};

// A limit for one EVSE: amperes per phase and the number of phases it may use (1 forces a
// phase-switching EVSE to one phase; otherwise the EVSE's connector phase count).
struct Setpoint {
  double current_a = 0.0;
  std::uint8_t phases = 3;
  bool operator==(const Setpoint&) const = default;
};

// A limit another party puts on one session (an eMSP's charging profile over OCPI): from
// `start`, each period's limit until the next period's offset; none before `start`, after `end`
// or once the session ends. Amperes per phase or watts (turned into amperes over the phases the
// vehicle uses, the connector's while unknown). A limit under the EVSE's minimum current pauses
// the session. It only ever lowers what the site's limits allow.
struct SessionLimit {
  struct Period {
    Duration offset{};
    double limit = 0.0;
  };
  RateUnit unit = RateUnit::kAmperes;
  Time start{};
  std::optional<Time> end;
  std::vector<Period> periods;  // offsets ascending, the first at 0
  std::string source;           // who set it, for explain(): "eMSP DE*EMS"
  // The least the vehicle charges well at (OCPI min_charging_rate), in `unit`, from `start` to
  // `end`: the session's minimum is raised to it (capped at what the EVSE and the limit allow),
  // so it gets at least this or waits. 0: the EVSE's minimum.
  double min_rate = 0.0;
};

// TxDefaultProfile (what a session starts with: 0 A until planned) or TxProfile of a session.
enum class ProfilePurpose : std::uint8_t { kTxDefault, kTx };
// kRaiseNow: a starting session's share of the room that is free with every lower in flight at
// its old value; it goes out with the lowers, and the rest of its raise waits as a kRaise.
enum class PlanStep : std::uint8_t { kLower, kRaiseNow, kRaise };
std::string_view to_string(PlanStep step);
enum class ProfileOutcome : std::uint8_t { kAccepted, kRejected, kLost };

struct ProfileCommand {
  std::uint64_t id = 0;  // answer with profile_result(evse, id, …)
  std::uint64_t plan = 0;
  EvseIndex evse = 0;
  ProfilePurpose purpose = ProfilePurpose::kTx;
  PlanStep step = PlanStep::kLower;
  Setpoint setpoint;
  RateUnit unit = RateUnit::kAmperes;
  // For chargers that take W: setpoint current x phases the vehicle is known to use (1 while
  // unknown, so a single-phase vehicle cannot draw more per phase) x nominal voltage.
  double power_w = 0.0;
};

struct Plan {
  std::uint64_t id = 0;
  Time at;
  std::vector<ProfileCommand> lower_now;    // send at once
  std::vector<ProfileCommand> raise_now;    // send at once, after lower_now (see kRaiseNow)
  std::vector<ProfileCommand> raise_after;  // handed out by releasable() once lowers are settled
  std::size_t admitted = 0;                 // sessions charging
  std::size_t waiting = 0;                  // sessions waiting for their turn
};

// Why an EVSE has the setpoint it has.
enum class Reason : std::uint8_t {
  kUnplanned,       // no plan yet
  kNoSession,       // idle: the default profile (0 A) waits for the next session
  kNotSmart,        // does not take profiles: counted at its maximum
  kOffline,         // counted at max(last limit, offline current) until back under control
  kRejected,        // rejected a profile: counted at its maximum until it accepts one
  kWaiting,         // its minimum does not fit now (node, phase name what blocks it)
  kEvseMaximum,     // got all the EVSE allows
  kVehicleDraw,     // capped at what the vehicle draws
  kNodePhaseLimit,  // node / phase limit binds
  kNodePowerLimit,  // node power limit binds
  kPhaseImbalance,  // node's imbalance limit between phase and other_phase binds
  kSessionLimit,    // another party's limit on the session binds (set_session_limit)
};
std::string_view to_string(Reason reason);

struct Explanation {
  EvseIndex evse = 0;
  Reason reason = Reason::kUnplanned;
  Setpoint planned;
  NodeIndex node = kNoNode;  // the binding node, if any
  std::optional<Phase> phase;
  std::optional<Phase> other_phase;
  LimitSource source = LimitSource::kFuse;  // which of the node's limits binds
  double limit = 0.0;                       // that limit: A (phase), W (power) or A (imbalance)
  double other_load_a = 0.0;  // on that node and phase: load nobody plans (uncontrolled, building)
  double minimum_a = 0.0;     // the least it is planned with when it charges
  std::string text;
};

// What the planner knows of one EVSE (for the service's views and metrics).
struct EvseStatus {
  bool online = false;                      // its charger is connected
  bool smart = true;                        // takes charging profiles
  bool rejected = false;                    // its last answer was Rejected (counted at its maximum)
  std::size_t pending = 0;                  // profiles sent and not answered
  std::optional<Setpoint> applied;          // the limit it applies, if known
  std::optional<double> offline_current_a;  // what it falls back to offline, if known
  bool session = false;
  bool charging = false;                  // admitted by the last plan
  PhaseMask vehicle_phases = 0;           // connector phases its vehicle draws on; 0 = unknown
  std::optional<double> draw_cap_a;       // capped at what the vehicle draws
  std::optional<double> session_limit_a;  // the session limit in force, per phase, if any
};

// A node's limit against the worst case of what its EVSEs may draw right now.
struct NodeLoad {
  EffectiveLimit limit;        // over [now, now + lookahead]
  PhaseCurrents exposure_a{};  // sum of every EVSE's worst case + building reserve
  PhaseCurrents planned_a{};   // the last plan's targets + fixed loads
};

class SitePlanner {
 public:
  SitePlanner(Site site, PlannerSettings settings);
  // The allocation engine keeps a reference to the site: not copyable, not movable.
  SitePlanner(const SitePlanner&) = delete;
  SitePlanner& operator=(const SitePlanner&) = delete;

  const Site& site() const { return site_; }
  const PlannerSettings& settings() const { return settings_; }

  // --- facts ---------------------------------------------------------------------------------
  void charger_connected(NodeIndex charger, Time now);
  void charger_disconnected(NodeIndex charger, Time now);
  void session_started(EvseIndex evse, Time now);
  void session_ended(EvseIndex evse, Time now);
  // Per connector phase (the charger's own L1, L2, L3 before rotation), A.
  void evse_meter(EvseIndex evse, const PhaseCurrents& connector_a, Time now);
  // Non-charger load behind a node that has a meter, per grid phase, A.
  void site_meter(NodeIndex node, const PhaseCurrents& load_a, Time now);
  void set_schedule(NodeIndex node, std::vector<LimitSlot> slots);
  void set_override(NodeIndex node, const std::optional<LimitSlot>& slot);
  void set_forecast(NodeIndex node, std::vector<LimitSlot> slots);
  // What the charger falls back to when it loses the CSMS (e.g. once it accepted the fail-safe).
  void set_offline_current(EvseIndex evse, std::optional<double> amps);
  void profile_result(EvseIndex evse, std::uint64_t command, ProfileOutcome outcome, Time now);
  // The charger reports (GetCompositeSchedule) a limit above the one it accepted, e.g. under
  // another party's profile: counted at its worst case, as after a rejection, until a profile
  // is accepted again.
  void applied_above_plan(EvseIndex evse, Time now);
  // Puts (nullopt: takes off) a limit on the EVSE's session; false without a session. It ends
  // with the session.
  bool set_session_limit(EvseIndex evse, std::optional<SessionLimit> limit);
  std::optional<SessionLimit> session_limit(EvseIndex evse) const;
  bool has_session_limit(EvseIndex evse) const;

  // --- driving -------------------------------------------------------------------------------
  bool needs_replan(Time now) const;
  Plan replan(Time now);
  // Raise commands of the current plan that may go out now: every lower they depend on was
  // accepted and settled, and with every unacknowledged command at its higher value the raise
  // still fits every node. Returned commands count as sent.
  std::vector<ProfileCommand> releasable(Time now);
  // When to call again (a re-plan or a release becomes due).
  Time next_wakeup() const;

  // --- views ---------------------------------------------------------------------------------
  Explanation explain(EvseIndex evse) const;
  // Per EVSE (A): a default low enough that the site holds even if every charger falls back to
  // it at once, under the lowest limit any known slot sets. Each is 0 or at least the EVSE's
  // minimum; where not all minimums fit, the first EVSE of every charger goes first. An EVSE
  // that takes no profiles is listed at its maximum (it is counted so). EVSEs marked in
  // `no_fail_safe` (non-zero; empty: none) cannot be given one and count at their own offline
  // current or maximum.
  std::vector<double> fail_safe_currents(Time now, std::span<const std::uint8_t> no_fail_safe = {});
  std::vector<NodeLoad> node_loads(Time now) const;
  // The worst case of what an EVSE may draw right now (A per grid phase).
  PhaseCurrents exposure(EvseIndex evse, Time now) const;
  Setpoint target(EvseIndex evse) const { return evses_[evse].target; }
  Reason reason(EvseIndex evse) const { return evses_[evse].reason; }  // explain() without text
  EvseStatus status(EvseIndex evse) const;
  bool charger_online(NodeIndex charger) const { return online_[charger] != 0; }

 private:
  enum class Knowledge : std::uint8_t { kUnknown, kNone, kValue };

  struct InFlight {
    std::uint64_t id = 0;
    std::uint64_t session = 0;
    Setpoint setpoint;
    double power_w = 0.0;
    ProfilePurpose purpose = ProfilePurpose::kTx;
    bool lower = false;
    bool gates = false;  // the current plan's raises wait for it
  };

  struct Session {
    std::uint64_t id = 0;
    Time started;
    PhaseMask vehicle = 0;               // connector phases seen drawing; 0 = unknown (all)
    Time one_phase_until = Time::min();  // may still draw as in one-phase mode
    bool candidate = false;
    bool admitted = false;
    bool one_phase = false;
    Time admitted_at;     // start of its current slot
    Time charging_since;  // start of its current uninterrupted charge
    Time waiting_since;
    bool served = false;  // a limit above 0 reached the charger since it was admitted
    Duration charged{};   // time spent admitted and served, for the round robin
    Time accounted_at;
    std::optional<Time> underdraw_since;
    double underdraw_peak_a = 0.0;
    std::optional<double> draw_cap_a;
    std::optional<SessionLimit> limit;
  };

  struct EvseState {
    Knowledge tx = Knowledge::kUnknown;
    Setpoint tx_setpoint;
    double tx_power_w = 0.0;
    bool default_known = false;
    Setpoint default_setpoint;
    PhaseCurrents bound{};  // upper bound on the draw while the effective limit is unknown
    PhaseCurrents settle_a{};
    Time settle_until;
    std::optional<double> limit_a;  // the session limit in force at the last plan (A per phase)
    std::vector<InFlight> in_flight;
    bool rejected = false;
    Time rejected_at;
    std::optional<double> offline_current;
    std::optional<Session> session;
    Time due_at = Time::max();  // when its wait puts it before everyone (waiting sessions)
    // Last plan.
    Setpoint target;
    double minimum_a = 0.0;
    Reason reason = Reason::kUnplanned;
    NodeIndex node = kNoNode;
    std::uint8_t phase = 0;
    std::uint8_t other_phase = 0;
    bool has_phase = false;
    bool has_other_phase = false;
  };

  struct AdmissionKey {
    int tier = 0;
    double first = 0.0;
    double second = 0.0;
    double third = 0.0;
    EvseIndex evse = 0;
  };

  std::optional<Setpoint> effective(EvseIndex e) const;
  PhaseMask setpoint_mask(EvseIndex e, const Setpoint& s) const;
  PhaseCurrents load_of(EvseIndex e, const Setpoint& s) const;
  PhaseCurrents worst_case(EvseIndex e) const;
  // What the limits the charger may apply allow (exposure() without vehicles still settling).
  PhaseCurrents limit_exposure(EvseIndex e) const;
  void forget(EvseIndex e, const PhaseCurrents& bound, bool connection_lost);
  bool reachable(EvseIndex e, Time now) const;
  void invalidate_plan();
  void compute_limits(Time now);
  void compute_exposure_sums(Time now);
  bool over_limit_on_path(EvseIndex e) const;
  // Budgets of the water fill: every node's limits, less the start reserve where `reserve`.
  void fill_budgets(bool reserve);
  // Sends starting sessions of held_ what fits now (the start reserve, if any), into raise_now.
  void raise_starting_now(Plan& plan, Time now);
  // The most the EVSE may be set to on `s.phases` with every other EVSE at its worst case.
  double room_for(EvseIndex e, const Setpoint& s, Time now) const;
  Setpoint commanded(EvseIndex e) const;
  bool has_commanded(EvseIndex e) const;
  double power_for(EvseIndex e, ProfilePurpose purpose, const Setpoint& s) const;
  double commanded_power(EvseIndex e) const;
  ProfileCommand make_command(EvseIndex e, ProfilePurpose purpose, const Setpoint& s,
                              PlanStep step);
  void send(EvseIndex e, const ProfileCommand& c, bool lower);
  void apply_hysteresis();
  void schedule_next(Time now);
  std::uint8_t full_phases(EvseIndex e) const;
  // The session limit in force at `now` (A per phase), and when it next changes.
  std::optional<double> session_limit_a(EvseIndex e, Time now) const;
  // The session limit's min_rate in A per phase while it is in force (0 when none).
  double session_min_rate_a(EvseIndex e, Time now) const;
  // `amount` of the session limit's unit as A per phase (W over the phases the vehicle uses).
  double limit_amperes(EvseIndex e, RateUnit unit, double amount) const;
  std::optional<Time> session_limit_change(EvseIndex e, Time now) const;
  double seconds(Time t) const;

  Site site_;
  PlannerSettings settings_;
  double voltage_;
  std::vector<std::uint8_t> online_;  // per node (chargers)
  std::vector<NodeLimits> limits_;
  std::vector<std::optional<SiteMeter>> meters_;
  std::vector<PhaseCurrents> planned_reserve_;  // meter reserve the last plan assumed
  std::vector<EvseState> evses_;

  bool dirty_ = true;
  Time last_replan_ = Time::min();
  Time next_replan_ = Time::min();
  std::uint64_t next_command_ = 1;
  std::uint64_t next_session_ = 1;
  std::uint64_t plan_id_ = 0;
  Duration slot_;
  std::size_t charging_ = 0;  // sessions admitted by the last plan
  std::vector<ProfileCommand> held_;
  std::size_t gate_pending_ = 0;
  Time gate_settled_at_ = Time::min();
  bool reserve_held_ = false;  // the last plan kept the start reserve free

  // Per-plan scratch, reused.
  WaterFill fill_;
  std::vector<EffectiveLimit> limit_;
  std::vector<PhaseCurrents> fixed_;
  std::vector<PhaseCurrents> end_load_;
  std::vector<PhaseCurrents> exposure_sum_;
  std::vector<Demand> demands_;
  std::vector<AdmissionKey> keys_;
  std::vector<EvseIndex> waiting_;
  std::vector<std::uint32_t> order_;
  std::vector<Demand> ordered_;
  std::vector<Grant> grants_;
  std::vector<PhaseCurrents> plan_fixed_;  // fixed loads of the last plan, for explain()
  std::vector<EffectiveLimit> plan_limit_;
};

}  // namespace switchyard::smart_charging
