// The simulated site (see simulated_site.h).
#include "unit/smart_charging/simulated_site.h"

#include <algorithm>
#include <cstdio>
#include <queue>

namespace switchyard::smart_charging::sim {
namespace {

constexpr double kTolerance = 1e-6;

Site build(const SiteSpec& spec) {
  auto site = Site::build(spec);
  if (!site) std::abort();  // the generator only makes valid sites
  return std::move(*site);
}

// A limit as a charger applies it.
struct Limit {
  Setpoint setpoint;
  bool watts = false;
  double power_w = 0.0;
};

struct SimEvse {
  bool present = false;
  int phases = 3;
  double vmax = 0.0;
  std::uint64_t session = 0;
  Limit default_limit;  // TxDefaultProfile; the vendor's default is the EVSE's maximum
  std::optional<Limit> tx;
  std::uint64_t tx_session = 0;
  Limit follow;  // what the vehicle draws by right now
  std::uint64_t follow_version = 0;
  std::optional<Time> follow_at;
  PhaseCurrents grid{};       // draw per grid phase
  PhaseCurrents connector{};  // draw per connector phase
  std::optional<Time> starving_since;
  double energy_wh = 0.0;
  // The limit in force came from a profile accepted since the charger (re)connected or stopped
  // rejecting: the planner has it under control.
  bool default_fresh = false;
  bool tx_fresh = false;
  bool has_drawn = false;  // this session's vehicle has drawn (a meter value can show its phases)
  Time fresh_at{};         // when the planner last regained control
};

struct SessionFact {
  EvseIndex evse;
  bool started;
};

struct SimCharger {
  bool online = true;
  bool rejecting = false;
  bool lease_expired = false;
  std::uint64_t epoch = 0;
  Time busy_until{};
  std::vector<SessionFact> queued;  // session facts the service has not heard yet
};

enum class EventKind : std::uint8_t { kAction, kDeliver, kFollow, kLease, kDetect, kTick, kWake };

struct Event {
  Time at{};
  std::uint64_t seq = 0;
  EventKind kind = EventKind::kWake;
  std::uint32_t index = 0;
  std::uint64_t tag = 0;
  std::uint64_t session = 0;
  ProfileCommand command{};
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

class Simulation {
 public:
  explicit Simulation(const Scenario& scenario)
      : sc_(scenario),
        planner_(build(scenario.site), scenario.settings),
        site_(planner_.site()),
        rng_(scenario.seed ^ 0x5EED5EED5EEDULL),
        start_(Time(std::chrono::seconds(1'800'000'000))),
        now_(start_),
        evses_(site_.evses().size()),
        chargers_(site_.nodes().size()),
        building_(site_.nodes().size()),
        silent_(site_.nodes().size(), 0),
        forecast_(site_.nodes().size()) {
    for (EvseIndex e = 0; e < evses_.size(); ++e) {
      const Evse& ev = site_.evse(e);
      evses_[e].default_limit.setpoint = {ev.spec.max_current_a,
                                          static_cast<std::uint8_t>(ev.spec.connector_phases)};
      evses_[e].follow = evses_[e].default_limit;
    }
  }

  void trace(const std::string& line) {
    if (!sc_.trace) return;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%10.3f ", std::chrono::duration<double>(now_ - start_).count());
    out_.trace += buf + line + "\n";
  }

  std::string draws() const {
    std::string out;
    char buf[96];
    for (EvseIndex e = 0; e < evses_.size(); ++e) {
      const SimEvse& s = evses_[e];
      if (!s.present) continue;
      std::snprintf(buf, sizeof buf, " #%u=%.1f/%.1f/%.1f%s", e, s.grid[0], s.grid[1], s.grid[2],
                    controlled(e) ? "" : "(u)");
      out += buf;
    }
    return out;
  }

  Outcome run() {
    for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
      if (site_.node(n).spec.kind == NodeKind::kCharger) planner_.charger_connected(n, now_);
      if (site_.node(n).spec.meter) planner_.site_meter(n, building_[n], now_);
    }
    for (std::uint32_t i = 0; i < sc_.actions.size(); ++i) {
      push({.at = start_ + sc_.actions[i].at, .kind = EventKind::kAction, .index = i});
    }
    push({.at = start_ + sc_.timing.meter_period, .kind = EventKind::kTick});
    drive();
    const Time end = start_ + sc_.timing.horizon;
    while (!queue_.empty() && !out_.failure) {
      const Event ev = queue_.top();
      queue_.pop();
      if (ev.at > end) break;
      integrate(ev.at);
      now_ = ev.at;
      process(ev);
      ++out_.events;
      update_draws();
      if (sc_.trace) trace("event " + std::to_string(static_cast<int>(ev.kind)) + draws());
      check();
      if (out_.failure) break;
      drive();
    }
    if (!out_.failure) integrate(end);
    for (const SimEvse& s : evses_) out_.energy_wh.push_back(s.energy_wh);
    return out_;
  }

 private:
  void push(Event ev) {
    ev.seq = seq_++;
    queue_.push(std::move(ev));
  }

  NodeIndex charger_of(EvseIndex e) const { return site_.evse(e).charger; }

  // --- the chargers and vehicles ---------------------------------------------------------------

  Limit effective(EvseIndex e) const {
    const Evse& ev = site_.evse(e);
    const SimEvse& s = evses_[e];
    if (!ev.spec.supports_smart_charging) {
      return Limit{{ev.spec.max_current_a, static_cast<std::uint8_t>(ev.spec.connector_phases)}};
    }
    const SimCharger& c = chargers_[ev.charger];
    if (c.lease_expired && ev.spec.offline_current_a) {
      return Limit{
          {*ev.spec.offline_current_a, static_cast<std::uint8_t>(ev.spec.connector_phases)}};
    }
    if (s.present && s.tx && s.tx_session == s.session) return *s.tx;
    return s.default_limit;
  }

  // Per connector phase.
  PhaseCurrents draw(EvseIndex e, const Limit& limit) const {
    const Evse& ev = site_.evse(e);
    const SimEvse& s = evses_[e];
    PhaseCurrents out{};
    if (!s.present) return out;
    PhaseMask connector = ev.connector_mask;
    if (s.phases == 1) connector = phase_bit(0);
    if (ev.spec.can_switch_phases && limit.setpoint.phases == 1) connector = phase_bit(0);
    const int n = phase_count(connector);
    double per =
        limit.watts ? limit.power_w / (site_.nominal_voltage_v() * n) : limit.setpoint.current_a;
    per = std::min({per, ev.spec.max_current_a, s.vmax});
    if (per < ev.spec.min_current_a - 1e-9) return out;  // below the minimum a vehicle pauses
    for (int c = 0; c < kPhaseCount; ++c) {
      if (connector & phase_bit(c)) out[c] = per;
    }
    return out;
  }

  // The charger's limit changed: a vehicle takes more at once, less only after a while.
  void refresh(EvseIndex e) {
    SimEvse& s = evses_[e];
    const Limit next = effective(e);
    const PhaseCurrents up = draw(e, next);
    const PhaseCurrents now_draw = draw(e, s.follow);
    bool higher = true;
    for (int c = 0; c < kPhaseCount; ++c) higher = higher && up[c] >= now_draw[c] - 1e-12;
    if (higher) {
      s.follow = next;
      s.follow_at.reset();
      ++s.follow_version;
      return;
    }
    const Time at =
        now_ +
        std::chrono::milliseconds(rng_.range(
            0,
            std::chrono::duration_cast<std::chrono::milliseconds>(sc_.timing.max_follow).count()));
    if (s.follow_at && *s.follow_at <= at) return;  // already following by then
    s.follow_at = at;
    push({.at = at, .kind = EventKind::kFollow, .index = e, .tag = ++s.follow_version});
  }

  void refresh_charger(NodeIndex c) {
    const Node& node = site_.node(c);
    for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e) refresh(e);
  }

  PhaseCurrents grid_of(EvseIndex e, const PhaseCurrents& connector) const {
    PhaseCurrents out{};
    const Evse& ev = site_.evse(e);
    for (int c = 0; c < kPhaseCount; ++c) out[ev.grid_phase[c]] += connector[c];
    return out;
  }

  void update_draws() {
    for (EvseIndex e = 0; e < evses_.size(); ++e) {
      SimEvse& s = evses_[e];
      s.connector = draw(e, s.follow);
      s.grid = grid_of(e, s.connector);
    }
  }

  void integrate(Time to) {
    if (to <= last_integrated_) return;
    const double hours = std::chrono::duration<double>(to - last_integrated_).count() / 3600.0;
    for (SimEvse& s : evses_) {
      s.energy_wh += (s.grid[0] + s.grid[1] + s.grid[2]) * site_.nominal_voltage_v() * hours;
    }
    last_integrated_ = to;
  }

  void tell(const SessionFact& f) {
    if (f.started) {
      planner_.session_started(f.evse, now_);
    } else {
      planner_.session_ended(f.evse, now_);
    }
  }

  // --- events ----------------------------------------------------------------------------------

  void process(const Event& ev) {
    switch (ev.kind) {
      case EventKind::kAction:
        act(sc_.actions[ev.index]);
        break;
      case EventKind::kDeliver:
        deliver(ev.command, ev.tag, ev.session);
        break;
      case EventKind::kFollow: {
        SimEvse& s = evses_[ev.index];
        if (ev.tag != s.follow_version) break;
        s.follow = effective(ev.index);
        s.follow_at.reset();
        break;
      }
      case EventKind::kLease: {
        SimCharger& c = chargers_[ev.index];
        if (c.online || c.epoch != ev.tag) break;
        c.lease_expired = true;
        refresh_charger(ev.index);
        break;
      }
      case EventKind::kDetect:
        if (!chargers_[ev.index].online && chargers_[ev.index].epoch == ev.tag) {
          planner_.charger_disconnected(ev.index, now_);
        }
        break;
      case EventKind::kTick:
        for (EvseIndex e = 0; e < evses_.size(); ++e) {
          SimEvse& s = evses_[e];
          if (s.present && chargers_[charger_of(e)].online) {
            planner_.evse_meter(e, s.connector, now_);
            // What the planner can learn the vehicle's phases from: a settled draw under a
            // limit of its own on all the phases the vehicle has.
            if (controlled(e) && !s.follow_at && s.follow.setpoint.phases != 1 &&
                s.grid[0] + s.grid[1] + s.grid[2] > 0.0) {
              s.has_drawn = true;
            }
          }
        }
        for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
          if (site_.node(n).spec.meter && !silent_[n]) planner_.site_meter(n, building_[n], now_);
        }
        push({.at = now_ + sc_.timing.meter_period, .kind = EventKind::kTick});
        break;
      case EventKind::kWake:
        break;
    }
  }

  void act(const Action& a) {
    switch (a.kind) {
      case ActionKind::kArrive: {
        SimEvse& s = evses_[a.target];
        if (s.present) break;
        s.present = true;
        s.phases = site_.evse(a.target).spec.connector_phases == 1 ? 1 : a.phases;
        s.vmax = a.amps;
        s.session = ++sessions_;
        s.starving_since.reset();
        s.has_drawn = false;
        // A new transaction starts on the default; the draw follows whatever limit applies.
        s.follow = effective(a.target);
        s.follow_at.reset();
        ++s.follow_version;
        fact({a.target, true});
        break;
      }
      case ActionKind::kDepart: {
        SimEvse& s = evses_[a.target];
        if (!s.present) break;
        s.present = false;
        s.tx.reset();
        s.follow = effective(a.target);
        s.follow_at.reset();
        ++s.follow_version;
        fact({a.target, false});
        break;
      }
      case ActionKind::kDraw: {
        SimEvse& s = evses_[a.target];
        if (s.present) s.vmax = a.amps;
        break;
      }
      case ActionKind::kOffline: {
        SimCharger& c = chargers_[a.target];
        if (!c.online) break;
        c.online = false;
        stale(a.target);
        ++c.epoch;
        push({.at = now_ + sc_.timing.lease,
              .kind = EventKind::kLease,
              .index = a.target,
              .tag = c.epoch});
        push({.at = now_ + a.delay, .kind = EventKind::kDetect, .index = a.target, .tag = c.epoch});
        break;
      }
      case ActionKind::kOnline: {
        SimCharger& c = chargers_[a.target];
        if (c.online) break;
        c.online = true;
        ++c.epoch;
        stale(a.target);
        c.lease_expired = false;
        c.busy_until = now_;
        refresh_charger(a.target);
        planner_.charger_connected(a.target, now_);
        for (const SessionFact& f : c.queued) tell(f);
        c.queued.clear();
        break;
      }
      case ActionKind::kRejectOn:
        chargers_[a.target].rejecting = true;
        stale(a.target);
        break;
      case ActionKind::kRejectOff:
        chargers_[a.target].rejecting = false;
        break;
      case ActionKind::kForecast: {
        auto& slots = forecast_[a.target];
        std::erase_if(slots, [&](const LimitSlot& s) { return s.until <= now_; });
        const Time from = now_ + a.delay;
        slots.push_back(LimitSlot{from, from + a.length, PhaseCurrents{a.amps, a.amps, a.amps}});
        planner_.set_forecast(a.target, slots);
        break;
      }
      case ActionKind::kBuilding: {
        // A building steps up by at most the meter's headroom (what the reserve covers); a
        // shrunk sequence may have lost the steps in between.
        const double top = building_[a.target][0] + site_.node(a.target).spec.meter->headroom_a;
        const double amps = std::min(a.amps, top);
        building_[a.target] = {amps, amps, amps};
        if (!silent_[a.target]) planner_.site_meter(a.target, building_[a.target], now_);
        break;
      }
      case ActionKind::kMeterSilent:
        silent_[a.target] = 1;
        break;
      case ActionKind::kMeterResume:
        if (silent_[a.target]) {
          silent_[a.target] = 0;
          planner_.site_meter(a.target, building_[a.target], now_);
        }
        break;
    }
  }

  void fact(const SessionFact& f) {
    SimCharger& c = chargers_[charger_of(f.evse)];
    if (c.online) {
      tell(f);
    } else {
      c.queued.push_back(f);
    }
  }

  void deliver(const ProfileCommand& cmd, std::uint64_t epoch, std::uint64_t session) {
    SimCharger& c = chargers_[charger_of(cmd.evse)];
    SimEvse& s = evses_[cmd.evse];
    trace("deliver #" + std::to_string(cmd.id));
    if (!c.online || c.epoch != epoch) {
      planner_.profile_result(cmd.evse, cmd.id, ProfileOutcome::kLost, now_);
      return;
    }
    if (c.rejecting ||
        (cmd.purpose == ProfilePurpose::kTx && !(s.present && s.session == session))) {
      planner_.profile_result(cmd.evse, cmd.id, ProfileOutcome::kRejected, now_);
      return;
    }
    const Limit limit{cmd.setpoint, cmd.unit == RateUnit::kWatts, cmd.power_w};
    const bool was_controlled = controlled(cmd.evse);
    if (cmd.purpose == ProfilePurpose::kTx) {
      s.tx = limit;
      s.tx_session = session;
      s.tx_fresh = true;
    } else {
      s.default_limit = limit;
      s.default_fresh = true;
    }
    if (!was_controlled && controlled(cmd.evse)) s.fresh_at = now_;
    refresh(cmd.evse);
    planner_.profile_result(cmd.evse, cmd.id, ProfileOutcome::kAccepted, now_);
  }

  void send(const std::vector<ProfileCommand>& commands) {
    for (const ProfileCommand& cmd : commands) {
      ++out_.commands;
      if (cmd.step == PlanStep::kRaiseNow) ++out_.raise_now;
      if (sc_.trace) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "send #%llu evse #%u %s %s %.1f A x%d",
                      static_cast<unsigned long long>(cmd.id), cmd.evse,
                      cmd.purpose == ProfilePurpose::kTx ? "tx" : "default",
                      std::string(to_string(cmd.step)).c_str(), cmd.setpoint.current_a,
                      cmd.setpoint.phases);
        trace(buf);
      }
      SimCharger& c = chargers_[charger_of(cmd.evse)];
      // One call at a time per charger: answers come back in order.
      const Time at =
          std::max(now_, c.busy_until) +
          std::chrono::milliseconds(rng_.range(
              1, std::chrono::duration_cast<std::chrono::milliseconds>(sc_.timing.max_answer)
                     .count()));
      c.busy_until = at;
      push({.at = at,
            .kind = EventKind::kDeliver,
            .tag = c.epoch,
            .session = evses_[cmd.evse].session,
            .command = cmd});
    }
  }

  void drive() {
    if (planner_.needs_replan(now_)) {
      ++out_.plans;
      const Plan plan = planner_.replan(now_);
      if (sc_.trace) {
        trace("plan #" + std::to_string(plan.id));
        for (EvseIndex e = 0; e < evses_.size(); ++e) trace("  " + planner_.explain(e).text);
      }
      send(plan.lower_now);
      send(plan.raise_now);
    }
    send(planner_.releasable(now_));
    Time wake = planner_.next_wakeup();
    if (wake <= now_) wake = now_ + std::chrono::milliseconds(1);
    if (wake < pending_wake_ || pending_wake_ <= now_) {
      pending_wake_ = wake;
      push({.at = wake, .kind = EventKind::kWake});
    }
  }

  // --- the properties --------------------------------------------------------------------------

  PhaseCurrents limit_at(NodeIndex n, Time from, Time until) const {
    PhaseCurrents out = site_.node(n).spec.fuse_a;
    for (const LimitSlot& s : forecast_[n]) {
      if (s.from <= until && from < s.until && s.current_a) {
        for (int p = 0; p < kPhaseCount; ++p) out[p] = std::min(out[p], (*s.current_a)[p]);
      }
    }
    return out;
  }

  void stale(NodeIndex charger) {
    const Node& node = site_.node(charger);
    for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e) {
      evses_[e].default_fresh = evses_[e].tx_fresh = false;
    }
  }

  // The planner can move this EVSE's limit right now.
  bool controlled(EvseIndex e) const {
    const SimCharger& c = chargers_[charger_of(e)];
    const SimEvse& s = evses_[e];
    if (!site_.evse(e).spec.supports_smart_charging || !c.online || c.rejecting) return false;
    const bool on_tx = s.present && s.tx && s.tx_session == s.session;
    return on_tx ? s.tx_fresh : s.default_fresh;
  }

  void fail(std::string what) {
    if (!out_.failure) out_.failure = Failure{std::move(what), now_ - start_};
  }

  void check() {
    const std::size_t node_count = site_.nodes().size();
    // Loads per node: everything, and what nobody can control right now.
    std::vector<PhaseCurrents>& load = load_;
    std::vector<PhaseCurrents>& stuck = stuck_;
    std::vector<PhaseCurrents>& lag = lag_;
    load.assign(node_count, PhaseCurrents{});
    stuck.assign(node_count, PhaseCurrents{});
    lag.assign(node_count, PhaseCurrents{});
    for (NodeIndex n = 0; n < node_count; ++n) {
      if (site_.node(n).spec.meter) load[n] = stuck[n] = building_[n];
    }
    for (EvseIndex e = 0; e < evses_.size(); ++e) {
      const NodeIndex c = charger_of(e);
      // Stuck: an EVSE the planner cannot move. Lag: of one it has just regained, what its
      // vehicle still draws above the new limit (it has max_follow to follow).
      const SimEvse& s = evses_[e];
      const bool free = controlled(e);
      PhaseCurrents settling{};
      if (free && s.follow_at && now_ - s.fresh_at <= sc_.timing.max_follow) {
        const PhaseCurrents target = grid_of(e, draw(e, effective(e)));
        for (int p = 0; p < kPhaseCount; ++p) settling[p] = std::max(0.0, s.grid[p] - target[p]);
      }
      for (int p = 0; p < kPhaseCount; ++p) {
        load[c][p] += s.grid[p];
        if (!free) stuck[c][p] += s.grid[p];
        lag[c][p] += settling[p];
      }
    }
    for (NodeIndex n = static_cast<NodeIndex>(node_count); n-- > 1;) {
      const NodeIndex parent = site_.node(n).parent;
      for (int p = 0; p < kPhaseCount; ++p) {
        load[parent][p] += load[n][p];
        stuck[parent][p] += stuck[n][p];
        lag[parent][p] += lag[n][p];
      }
    }
    for (NodeIndex n = 0; n < node_count; ++n) {
      const PhaseCurrents limit = limit_at(n, now_, now_);
      for (int p = 0; p < kPhaseCount; ++p) {
        if (load[n][p] <= limit[p] + kTolerance) continue;
        // Not the planner's doing: what it cannot move breaks the limit by itself, or the
        // overload is only vehicles that have not yet followed a limit just taken over.
        if (stuck[n][p] > limit[p] + kTolerance ||
            load[n][p] - lag[n][p] <= limit[p] + kTolerance) {
          ++out_.exempt;
          continue;
        }
        char buf[160];
        std::snprintf(buf, sizeof buf, "node %s phase L%d carries %.2f A over its limit %.2f A",
                      site_.node(n).spec.id.c_str(), p + 1, load[n][p], limit[p]);
        fail(buf);
        return;
      }
      if (const auto& kw = site_.node(n).spec.power_limit_kw) {
        const double v = site_.nominal_voltage_v();
        const double w = (load[n][0] + load[n][1] + load[n][2]) * v;
        if (w > *kw * 1000.0 + 1e-3) {
          const double lagging = (lag[n][0] + lag[n][1] + lag[n][2]) * v;
          if ((stuck[n][0] + stuck[n][1] + stuck[n][2]) * v > *kw * 1000.0 + 1e-3 ||
              w - lagging <= *kw * 1000.0 + 1e-3) {
            ++out_.exempt;
            continue;
          }
          char buf[160];
          std::snprintf(buf, sizeof buf, "node %s draws %.0f W over its power limit %.0f W",
                        site_.node(n).spec.id.c_str(), w, *kw * 1000.0);
          fail(buf);
          return;
        }
      }
    }

    // Starvation: a vehicle on a charger under control that could take its minimum if every
    // other controllable vehicle stood still must not wait longer than the turn.
    fixed_ready_ = false;
    for (EvseIndex e = 0; e < evses_.size(); ++e) {
      SimEvse& s = evses_[e];
      const bool drawing = s.grid[0] + s.grid[1] + s.grid[2] > 0.0;
      if (!s.present || !controlled(e) || drawing || !allowed(e)) {
        s.starving_since.reset();
        continue;
      }
      if (!s.starving_since) s.starving_since = now_;
      const Duration waited = now_ - *s.starving_since;
      out_.longest_wait = std::max(out_.longest_wait, waited);
      if (waited > sc_.settings.turn) {
        fail("EVSE " + site_.evse(e).spec.id + " has waited " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(waited).count()) +
             " s for its minimum current");
        return;
      }
    }
  }

  // What a waiting vehicle competes with whatever the plan: every EVSE the planner cannot
  // move at its maximum, the building at its fallback. Once per event.
  void compute_fixed() {
    std::vector<PhaseCurrents>& fixed = fixed_;
    fixed.assign(site_.nodes().size(), PhaseCurrents{});
    for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
      if (site_.node(n).spec.meter) fixed[n] = site_.node(n).spec.meter->fallback_a;
    }
    for (EvseIndex o = 0; o < evses_.size(); ++o) {
      const Evse& other = site_.evse(o);
      if (controlled(o)) continue;
      const PhaseMask grid = other.grid_mask(other.connector_mask);
      for (int p = 0; p < kPhaseCount; ++p) {
        if (grid & phase_bit(p)) fixed[other.charger][p] += other.spec.max_current_a;
      }
    }
    for (NodeIndex n = static_cast<NodeIndex>(site_.nodes().size()); n-- > 1;) {
      for (int p = 0; p < kPhaseCount; ++p) fixed[site_.node(n).parent][p] += fixed[n][p];
    }
  }

  bool allowed(EvseIndex e) {
    const Evse& ev = site_.evse(e);
    const SimEvse& s = evses_[e];
    if (!fixed_ready_) {
      compute_fixed();
      fixed_ready_ = true;
    }
    const std::vector<PhaseCurrents>& fixed = fixed_;
    // A charger that takes W gets one phase's power until the vehicle's phases are known, so a
    // three-phase vehicle needs three minimums to start (see the planner).
    const bool watts_unknown =
        ev.spec.rate_unit == RateUnit::kWatts && ev.spec.connector_phases == 3 && !s.has_drawn;
    const double minimum = watts_unknown
                               ? std::min(ev.spec.max_current_a, 3 * ev.spec.min_current_a)
                               : ev.spec.min_current_a;
    auto fits = [&](PhaseMask connector) {
      const PhaseMask grid = ev.grid_mask(connector);
      for (NodeIndex n = ev.charger; n != kNoNode; n = site_.node(n).parent) {
        const PhaseCurrents limit = limit_at(n, now_, now_ + sc_.settings.limit_lookahead);
        PhaseCurrents after = fixed[n];
        for (int p = 0; p < kPhaseCount; ++p) {
          if (grid & phase_bit(p)) after[p] += minimum;
          if (after[p] > limit[p] + kTolerance) return false;
        }
        if (const auto& kw = site_.node(n).spec.power_limit_kw) {
          if ((after[0] + after[1] + after[2]) * site_.nominal_voltage_v() > *kw * 1000.0) {
            return false;
          }
        }
        // Imbalance is not monotonic in the other loads: an uncontrolled EVSE may draw on one
        // phase only, or nothing. A vehicle on fewer than all phases is allowed only if it fits
        // with the others at their maximum on its phases and at nothing on the rest.
        if (const auto& u = site_.node(n).spec.imbalance_limit_a; u && grid != kAllPhases) {
          double hi = 0.0;
          double lo = kUnlimited;
          for (int p = 0; p < kPhaseCount; ++p) {
            const double extra = (grid & phase_bit(p)) ? minimum : 0.0;
            hi = std::max(hi, fixed[n][p] + extra);
            lo = std::min(lo, extra);
          }
          if (hi - lo > *u + kTolerance) return false;
        }
      }
      return true;
    };
    // The planner counts a vehicle on all the EVSE's phases until a meter value shows fewer;
    // which of the two it knows by now the simulation cannot tell exactly, so the vehicle must
    // fit either way (all phases weigh on the limits, one phase on the imbalance).
    const PhaseMask vehicle = s.phases == 1 && s.has_drawn ? phase_bit(0) : ev.connector_mask;
    if (fits(vehicle) && (s.phases == 3 || fits(phase_bit(0)))) return true;
    return ev.spec.can_switch_phases && fits(phase_bit(0));
  }

  const Scenario& sc_;
  SitePlanner planner_;
  const Site& site_;
  Rng rng_;
  Time start_;
  Time now_;
  Time last_integrated_ = start_;
  Time pending_wake_ = Time::max();
  std::uint64_t seq_ = 0;
  std::uint64_t sessions_ = 0;
  std::vector<SimEvse> evses_;
  std::vector<SimCharger> chargers_;
  std::vector<PhaseCurrents> building_;
  std::vector<std::uint8_t> silent_;
  std::vector<std::vector<LimitSlot>> forecast_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::vector<PhaseCurrents> load_;
  std::vector<PhaseCurrents> stuck_;
  std::vector<PhaseCurrents> lag_;
  std::vector<PhaseCurrents> fixed_;
  bool fixed_ready_ = false;
  Outcome out_;
};

std::string seconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

Outcome run(const Scenario& scenario) { return Simulation(scenario).run(); }

std::string describe(const Scenario& sc) {
  auto site = Site::build(sc.site);
  if (!site) return "invalid site: " + site.error().message;
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "seed %llu, horizon %s, turn %s, lookahead %s, lease %s, start reserve %.0f A\n",
                static_cast<unsigned long long>(sc.seed), seconds_text(sc.timing.horizon).c_str(),
                seconds_text(sc.settings.turn).c_str(),
                seconds_text(sc.settings.limit_lookahead).c_str(),
                seconds_text(sc.timing.lease).c_str(), sc.settings.start_reserve_a);
  out += buf;
  for (NodeIndex n = 0; n < site->nodes().size(); ++n) {
    const Node& node = site->node(n);
    std::snprintf(buf, sizeof buf, "  node #%u %s (%s) under %s: %.0f/%.0f/%.0f A", n,
                  node.spec.id.c_str(), std::string(to_string(node.spec.kind)).c_str(),
                  node.parent == kNoNode ? "-" : site->node(node.parent).spec.id.c_str(),
                  node.spec.fuse_a[0], node.spec.fuse_a[1], node.spec.fuse_a[2]);
    out += buf;
    if (node.spec.power_limit_kw) out += ", " + std::to_string(*node.spec.power_limit_kw) + " kW";
    if (node.spec.imbalance_limit_a) {
      out += ", imbalance " + std::to_string(*node.spec.imbalance_limit_a) + " A";
    }
    if (node.spec.meter) {
      out += ", meter fallback " + std::to_string(node.spec.meter->fallback_a[0]) + " A";
    }
    out += "\n";
  }
  for (EvseIndex e = 0; e < site->evses().size(); ++e) {
    const EvseSpec& s = site->evse(e).spec;
    std::snprintf(
        buf, sizeof buf,
        "  evse #%u %s on %s: rotation %s%s%s, %d-phase, %.0f..%.0f A%s%s%s%s, priority %d", e,
        s.id.c_str(), s.charger.c_str(), std::string(to_string(s.rotation[0])).c_str(),
        std::string(to_string(s.rotation[1])).c_str(),
        std::string(to_string(s.rotation[2])).c_str(), s.connector_phases, s.min_current_a,
        s.max_current_a, s.can_switch_phases ? ", switches phases" : "",
        s.supports_smart_charging ? "" : ", NOT smart",
        s.rate_unit == RateUnit::kWatts ? ", W" : "",
        s.offline_current_a ? (", offline " + std::to_string(*s.offline_current_a) + " A").c_str()
                            : "",
        s.priority);
    out += buf;
    out += "\n";
  }
  for (const Action& a : sc.actions) {
    const std::string at = "  +" + seconds_text(a.at) + " ";
    switch (a.kind) {
      case ActionKind::kArrive:
        std::snprintf(buf, sizeof buf, "arrive evse #%u, %d-phase vehicle drawing up to %.1f A",
                      a.target, a.phases, a.amps);
        break;
      case ActionKind::kDepart:
        std::snprintf(buf, sizeof buf, "depart evse #%u", a.target);
        break;
      case ActionKind::kDraw:
        std::snprintf(buf, sizeof buf, "vehicle on evse #%u now draws up to %.1f A", a.target,
                      a.amps);
        break;
      case ActionKind::kOffline:
        std::snprintf(buf, sizeof buf, "charger node #%u offline (noticed after %s)", a.target,
                      seconds_text(a.delay).c_str());
        break;
      case ActionKind::kOnline:
        std::snprintf(buf, sizeof buf, "charger node #%u online", a.target);
        break;
      case ActionKind::kRejectOn:
        std::snprintf(buf, sizeof buf, "charger node #%u starts rejecting profiles", a.target);
        break;
      case ActionKind::kRejectOff:
        std::snprintf(buf, sizeof buf, "charger node #%u accepts profiles again", a.target);
        break;
      case ActionKind::kForecast:
        std::snprintf(buf, sizeof buf, "forecast node #%u: %.1f A from +%s for %s", a.target,
                      a.amps, seconds_text(a.delay).c_str(), seconds_text(a.length).c_str());
        break;
      case ActionKind::kBuilding:
        std::snprintf(buf, sizeof buf, "building behind node #%u now takes %.1f A", a.target,
                      a.amps);
        break;
      case ActionKind::kMeterSilent:
        std::snprintf(buf, sizeof buf, "site meter of node #%u falls silent", a.target);
        break;
      case ActionKind::kMeterResume:
        std::snprintf(buf, sizeof buf, "site meter of node #%u reports again", a.target);
        break;
    }
    out += at + buf + "\n";
  }
  return out;
}

}  // namespace switchyard::smart_charging::sim
