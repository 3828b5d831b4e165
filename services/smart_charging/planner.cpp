// The site planner (see planner.h and README.md).
#include "smart_charging/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace switchyard::smart_charging {
namespace {

constexpr double kEps = 1e-9;

// Multiples of the step are made by dividing by the steps per ampere where that is a whole
// number (0.1 A: 63 / 10 is the double nearest 6.3, where 63 * 0.1 is 6.300000000000001, which
// a 1.6 charger's schema, multipleOf 0.1, refuses).
double steps_to_amps(double steps, double step) {
  const double per_ampere = std::round(1.0 / step);
  if (std::abs(per_ampere * step - 1.0) < 1e-9) return steps / per_ampere;
  return steps * step;
}

double floor_step(double amps, double step) {
  if (step <= 0.0) return amps;
  return steps_to_amps(std::floor(amps / step + 1e-7), step);
}

double ceil_step(double amps, double step) {
  if (step <= 0.0) return amps;
  return steps_to_amps(std::ceil(amps / step - 1e-7), step);
}

PhaseCurrents max_of(const PhaseCurrents& a, const PhaseCurrents& b) {
  return {std::max(a[0], b[0]), std::max(a[1], b[1]), std::max(a[2], b[2])};
}

bool all_le(const PhaseCurrents& a, const PhaseCurrents& b) {
  return a[0] <= b[0] + kEps && a[1] <= b[1] + kEps && a[2] <= b[2] + kEps;
}

std::string amps(double a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f A", a);
  return buf;
}

std::string kilowatts(double w) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f kW", w / 1000.0);
  return buf;
}

}  // namespace

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::kUnplanned:
      return "unplanned";
    case Reason::kNoSession:
      return "no session";
    case Reason::kNotSmart:
      return "not smart";
    case Reason::kOffline:
      return "offline";
    case Reason::kRejected:
      return "rejected profile";
    case Reason::kWaiting:
      return "waiting";
    case Reason::kEvseMaximum:
      return "EVSE maximum";
    case Reason::kVehicleDraw:
      return "vehicle draw";
    case Reason::kNodePhaseLimit:
      return "phase limit";
    case Reason::kNodePowerLimit:
      return "power limit";
    case Reason::kPhaseImbalance:
      return "phase imbalance";
    case Reason::kSessionLimit:
      return "session limit";
  }
  return "?";
}

std::string_view to_string(PlanStep step) {
  switch (step) {
    case PlanStep::kLower:
      return "lower";
    case PlanStep::kRaiseNow:
      return "raise_now";
    case PlanStep::kRaise:
      return "raise";
  }
  return "?";
}

SitePlanner::SitePlanner(Site site, PlannerSettings settings)
    : site_(std::move(site)),
      settings_(settings),
      voltage_(site_.nominal_voltage_v()),
      online_(site_.nodes().size(), 0),
      limits_(site_.nodes().size()),
      meters_(site_.nodes().size()),
      planned_reserve_(site_.nodes().size()),
      evses_(site_.evses().size()),
      slot_(settings.turn),
      fill_(site_),
      limit_(site_.nodes().size()),
      fixed_(site_.nodes().size()),
      end_load_(site_.nodes().size()),
      exposure_sum_(site_.nodes().size()),
      plan_fixed_(site_.nodes().size()),
      plan_limit_(site_.nodes().size()) {
  for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
    if (site_.node(n).spec.meter) meters_[n].emplace(*site_.node(n).spec.meter);
  }
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    evses_[e].bound = worst_case(e);
    evses_[e].settle_until = Time::min();
  }
}

// --- what an EVSE may draw ---------------------------------------------------------------------

std::uint8_t SitePlanner::full_phases(EvseIndex e) const {
  return static_cast<std::uint8_t>(site_.evse(e).spec.connector_phases);
}

PhaseCurrents SitePlanner::worst_case(EvseIndex e) const {
  const Evse& ev = site_.evse(e);
  const PhaseMask grid = ev.grid_mask(ev.connector_mask);
  PhaseCurrents out{};
  for (int p = 0; p < kPhaseCount; ++p) {
    if (grid & phase_bit(p)) out[p] = ev.spec.max_current_a;
  }
  return out;
}

std::optional<Setpoint> SitePlanner::effective(EvseIndex e) const {
  const EvseState& s = evses_[e];
  if (!s.session) {
    if (s.default_known) return s.default_setpoint;
    return std::nullopt;
  }
  if (s.tx == Knowledge::kValue) return s.tx_setpoint;
  if (s.tx == Knowledge::kNone && s.default_known) return s.default_setpoint;
  return std::nullopt;
}

PhaseMask SitePlanner::setpoint_mask(EvseIndex e, const Setpoint& s) const {
  const Evse& ev = site_.evse(e);
  const EvseState& st = evses_[e];
  PhaseMask connector = ev.connector_mask;
  if (st.session && st.session->vehicle != 0) connector = st.session->vehicle;
  if (s.phases == 1) connector = phase_bit(0);
  return ev.grid_mask(connector);
}

PhaseCurrents SitePlanner::load_of(EvseIndex e, const Setpoint& s) const {
  const PhaseMask grid = setpoint_mask(e, s);
  PhaseCurrents out{};
  for (int p = 0; p < kPhaseCount; ++p) {
    if (grid & phase_bit(p)) out[p] = s.current_a;
  }
  return out;
}

PhaseCurrents SitePlanner::limit_exposure(EvseIndex e) const {
  if (!site_.evse(e).spec.supports_smart_charging) return worst_case(e);
  const EvseState& s = evses_[e];
  const std::optional<Setpoint> eff = effective(e);
  PhaseCurrents out = eff ? load_of(e, *eff) : s.bound;
  for (const InFlight& f : s.in_flight) {
    // A TxProfile only ever applies to its own transaction.
    if (f.purpose == ProfilePurpose::kTx && (!s.session || f.session != s.session->id)) continue;
    out = max_of(out, load_of(e, f.setpoint));
  }
  return out;
}

PhaseCurrents SitePlanner::exposure(EvseIndex e, Time now) const {
  PhaseCurrents out = limit_exposure(e);
  const EvseState& s = evses_[e];
  if (now < s.settle_until) out = max_of(out, s.settle_a);
  return out;
}

void SitePlanner::forget(EvseIndex e, const PhaseCurrents& bound, bool connection_lost) {
  EvseState& s = evses_[e];
  s.tx = Knowledge::kUnknown;
  s.default_known = false;
  s.bound = bound;
  s.settle_until = Time::min();
  // Calls still queued on a live connection will be answered (and may be applied): they stay in
  // flight. A lost connection loses them; the bound covers whatever they did.
  if (!connection_lost) return;
  for (const InFlight& f : s.in_flight) {
    if (f.gates) {
      --gate_pending_;
      invalidate_plan();
    }
  }
  s.in_flight.clear();
}

bool SitePlanner::reachable(EvseIndex e, Time now) const {
  const Evse& ev = site_.evse(e);
  const EvseState& s = evses_[e];
  if (!ev.spec.supports_smart_charging || !online_[ev.charger]) return false;
  return !s.rejected || now >= s.rejected_at + settings_.rejected_retry;
}

void SitePlanner::invalidate_plan() {
  held_.clear();
  dirty_ = true;
}

// --- facts -------------------------------------------------------------------------------------

void SitePlanner::charger_connected(NodeIndex charger, Time /*now*/) {
  if (online_[charger]) return;
  online_[charger] = 1;
  dirty_ = true;
}

void SitePlanner::charger_disconnected(NodeIndex charger, Time now) {
  const Node& node = site_.node(charger);
  online_[charger] = 0;
  for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e) {
    const Evse& ev = site_.evse(e);
    const EvseState& s = evses_[e];
    // It keeps what it has until it notices, then may fall back to its offline current.
    const double offline =
        s.offline_current.value_or(ev.spec.offline_current_a.value_or(ev.spec.max_current_a));
    PhaseCurrents fallback{};
    const PhaseMask grid = ev.grid_mask(ev.connector_mask);
    for (int p = 0; p < kPhaseCount; ++p) {
      if (grid & phase_bit(p)) fallback[p] = offline;
    }
    forget(e, max_of(exposure(e, now), fallback), true);
  }
  dirty_ = true;
}

void SitePlanner::session_started(EvseIndex e, Time now) {
  EvseState& s = evses_[e];
  Session session;
  session.id = next_session_++;
  session.started = now;
  session.waiting_since = now;
  s.session = session;
  // A new transaction has no TxProfile: the charger applies its default until one arrives.
  s.tx = Knowledge::kNone;
  dirty_ = true;
}

void SitePlanner::session_ended(EvseIndex e, Time /*now*/) {
  EvseState& s = evses_[e];
  if (!s.session) return;
  s.session.reset();
  s.tx = Knowledge::kNone;
  dirty_ = true;
}

bool SitePlanner::set_session_limit(EvseIndex e, std::optional<SessionLimit> limit) {
  EvseState& s = evses_[e];
  if (!s.session) return false;
  s.session->limit = std::move(limit);
  dirty_ = true;
  return true;
}

std::optional<SessionLimit> SitePlanner::session_limit(EvseIndex e) const {
  const EvseState& s = evses_[e];
  return s.session ? s.session->limit : std::nullopt;
}

bool SitePlanner::has_session_limit(EvseIndex e) const {
  const EvseState& s = evses_[e];
  return s.session && s.session->limit;
}

namespace {
// Between its start and its end (if any).
bool in_force(const SessionLimit& l, Time now) {
  return now >= l.start && (!l.end || now < *l.end);
}
}  // namespace

std::optional<double> SitePlanner::session_limit_a(EvseIndex e, Time now) const {
  const EvseState& s = evses_[e];
  if (!s.session || !s.session->limit) return std::nullopt;
  const SessionLimit& l = *s.session->limit;
  if (!in_force(l, now)) return std::nullopt;
  const SessionLimit::Period* in_force = nullptr;
  for (const SessionLimit::Period& p : l.periods) {
    if (l.start + p.offset > now) break;
    in_force = &p;
  }
  if (in_force == nullptr) return std::nullopt;
  return limit_amperes(e, l.unit, in_force->limit);
}

double SitePlanner::session_min_rate_a(EvseIndex e, Time now) const {
  const EvseState& s = evses_[e];
  if (!s.session || !s.session->limit || s.session->limit->min_rate <= 0.0) return 0.0;
  const SessionLimit& l = *s.session->limit;
  if (!in_force(l, now)) return 0.0;
  return limit_amperes(e, l.unit, l.min_rate);
}

double SitePlanner::limit_amperes(EvseIndex e, RateUnit unit, double amount) const {
  if (unit == RateUnit::kAmperes) return amount;
  const Evse& ev = site_.evse(e);
  const EvseState& s = evses_[e];
  const PhaseMask vehicle =
      s.session && s.session->vehicle != 0 ? s.session->vehicle : ev.connector_mask;
  return amount / (voltage_ * std::max(1, phase_count(vehicle)));
}

std::optional<Time> SitePlanner::session_limit_change(EvseIndex e, Time now) const {
  const EvseState& s = evses_[e];
  if (!s.session || !s.session->limit) return std::nullopt;
  const SessionLimit& l = *s.session->limit;
  std::optional<Time> next;
  auto consider = [&](Time t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const SessionLimit::Period& p : l.periods) consider(l.start + p.offset);
  if (l.end) consider(*l.end);
  return next;
}

void SitePlanner::evse_meter(EvseIndex e, const PhaseCurrents& connector_a, Time now) {
  EvseState& s = evses_[e];
  if (!s.session) return;
  const Evse& ev = site_.evse(e);
  Session& ss = *s.session;
  double peak = 0.0;
  PhaseMask drawn = 0;
  for (int c = 0; c < kPhaseCount; ++c) {
    if (connector_a[c] > settings_.phase_detect_a) {
      drawn |= phase_bit(c);
      peak = std::max(peak, connector_a[c]);
    }
  }

  const std::optional<Setpoint> eff = effective(e);
  // In forced one-phase mode, and until a vehicle has followed a switch back to three phases,
  // the meter says nothing about the vehicle's other phases.
  // With the limit unknown (offline, rejected) it may be a one-phase one too.
  bool forced_one = now < ss.one_phase_until || !eff || eff->phases == 1;
  for (const InFlight& f : s.in_flight) forced_one = forced_one || f.setpoint.phases == 1;
  if (drawn != 0 && (!forced_one || ev.connector_mask == phase_bit(0))) {
    const PhaseMask merged = static_cast<PhaseMask>((ss.vehicle | drawn) & ev.connector_mask);
    if (merged != ss.vehicle) {
      ss.vehicle = merged;
      dirty_ = true;
    }
  }

  // Capacity the vehicle does not use goes to others after an observation.
  if (s.tx == Knowledge::kValue && eff && eff->current_a > 0.0 &&
      peak < eff->current_a - settings_.draw_margin_a) {
    if (!ss.underdraw_since) {
      ss.underdraw_since = now;
      ss.underdraw_peak_a = peak;
    } else {
      ss.underdraw_peak_a = std::max(ss.underdraw_peak_a, peak);
    }
  } else {
    ss.underdraw_since.reset();
  }
  if (ss.draw_cap_a && peak >= *ss.draw_cap_a - settings_.draw_margin_a / 2) {
    ss.draw_cap_a.reset();  // it wants more again
    dirty_ = true;
  }
}

void SitePlanner::site_meter(NodeIndex node, const PhaseCurrents& load_a, Time now) {
  if (!meters_[node]) return;
  meters_[node]->add(now, load_a);
  const SiteMeter::Reserve r = meters_[node]->reserve(now);
  for (int p = 0; p < kPhaseCount; ++p) {
    // A building that takes more than the plan left for it must be made room for at once: the
    // headroom is what covers its next step, so it must be on top of the latest reading.
    if (r.load_a[p] > planned_reserve_[node][p] + 1e-9) dirty_ = true;
  }
}

void SitePlanner::set_schedule(NodeIndex node, std::vector<LimitSlot> slots) {
  limits_[node].schedule = std::move(slots);
  dirty_ = true;
}

void SitePlanner::set_override(NodeIndex node, const std::optional<LimitSlot>& slot) {
  limits_[node].override_slot = slot;
  dirty_ = true;
}

void SitePlanner::set_forecast(NodeIndex node, std::vector<LimitSlot> slots) {
  limits_[node].forecast = std::move(slots);
  dirty_ = true;
}

void SitePlanner::set_offline_current(EvseIndex e, std::optional<double> amps) {
  evses_[e].offline_current = amps;
}

void SitePlanner::applied_above_plan(EvseIndex e, Time now) {
  EvseState& s = evses_[e];
  const PhaseCurrents before = exposure(e, now);
  s.rejected = true;
  s.rejected_at = now;
  forget(e, max_of(before, worst_case(e)), false);
  dirty_ = true;
}

void SitePlanner::profile_result(EvseIndex e, std::uint64_t command, ProfileOutcome outcome,
                                 Time now) {
  EvseState& s = evses_[e];
  auto it = std::find_if(s.in_flight.begin(), s.in_flight.end(),
                         [&](const InFlight& f) { return f.id == command; });
  if (it == s.in_flight.end()) return;  // forgotten when the charger went offline
  const PhaseCurrents before = exposure(e, now);
  const PhaseCurrents limit_before = limit_exposure(e);
  const InFlight f = *it;
  s.in_flight.erase(it);
  if (f.gates) --gate_pending_;
  const bool relevant =
      f.purpose == ProfilePurpose::kTxDefault || (s.session && f.session == s.session->id);

  switch (outcome) {
    case ProfileOutcome::kAccepted: {
      if (f.gates) gate_settled_at_ = std::max(gate_settled_at_, now + settings_.settle);
      if (!relevant) break;
      // Back under control (it had rejected, or its limit was unknown): it can be planned again.
      if (s.rejected || !effective(e)) dirty_ = true;
      s.rejected = false;
      if (f.purpose == ProfilePurpose::kTxDefault) {
        s.default_known = true;
        s.default_setpoint = f.setpoint;
      } else {
        // After a one-phase limit (or one that may have been), the vehicle may keep drawing on
        // one phase for a while: no learning from that.
        const std::optional<Setpoint> was = effective(e);
        if ((!was || was->phases == 1) && f.setpoint.phases != 1) {
          s.session->one_phase_until = now + settings_.settle;
        }
        s.tx = Knowledge::kValue;
        s.tx_setpoint = f.setpoint;
        s.tx_power_w = f.power_w;
        if (f.setpoint.current_a > 0.0 && !s.session->served) {
          s.session->served = true;
          s.session->accounted_at = now;
        }
        s.session->underdraw_since.reset();
      }
      if (!all_le(limit_before, limit_exposure(e))) {
        // The vehicle may follow a lower limit only after a while; count the old one till then.
        s.settle_a = now < s.settle_until ? max_of(s.settle_a, limit_before) : limit_before;
        s.settle_until = now + settings_.settle;
      }
      break;
    }
    case ProfileOutcome::kRejected:
      if (!relevant) break;
      s.rejected = true;
      s.rejected_at = now;
      forget(e, max_of(before, worst_case(e)), false);
      if (f.gates) invalidate_plan();
      dirty_ = true;
      break;
    case ProfileOutcome::kLost:
      if (!relevant) break;
      forget(e, before, false);  // it may or may not have applied it
      if (f.gates) invalidate_plan();
      dirty_ = true;
      break;
  }
}

// --- planning ----------------------------------------------------------------------------------

double SitePlanner::seconds(Time t) const {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void SitePlanner::compute_limits(Time now) {
  for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
    limit_[n] = effective_limit(site_.node(n), limits_[n], now, now + settings_.limit_lookahead);
  }
}

bool SitePlanner::has_commanded(EvseIndex e) const {
  const EvseState& s = evses_[e];
  for (auto it = s.in_flight.rbegin(); it != s.in_flight.rend(); ++it) {
    if (s.session ? (it->purpose == ProfilePurpose::kTx && it->session == s.session->id)
                  : it->purpose == ProfilePurpose::kTxDefault) {
      return true;
    }
  }
  return effective(e).has_value();
}

Setpoint SitePlanner::commanded(EvseIndex e) const {
  const EvseState& s = evses_[e];
  for (auto it = s.in_flight.rbegin(); it != s.in_flight.rend(); ++it) {
    if (s.session ? (it->purpose == ProfilePurpose::kTx && it->session == s.session->id)
                  : it->purpose == ProfilePurpose::kTxDefault) {
      return it->setpoint;
    }
  }
  return effective(e).value_or(Setpoint{});
}

ProfileCommand SitePlanner::make_command(EvseIndex e, ProfilePurpose purpose, const Setpoint& s,
                                         PlanStep step) {
  const Evse& ev = site_.evse(e);
  ProfileCommand c;
  c.id = next_command_++;
  c.plan = plan_id_;
  c.evse = e;
  c.purpose = purpose;
  c.step = step;
  c.setpoint = s;
  c.unit = ev.spec.rate_unit;
  c.power_w = power_for(e, purpose, s);
  return c;
}

double SitePlanner::power_for(EvseIndex e, ProfilePurpose purpose, const Setpoint& s) const {
  // A power limit lets a vehicle on fewer phases draw more per phase: until the phases are
  // known, assume one.
  const EvseState& st = evses_[e];
  const bool known = purpose == ProfilePurpose::kTx && st.session && st.session->vehicle != 0;
  const int phases = known ? phase_count(setpoint_mask(e, s)) : 1;
  return s.current_a * phases * voltage_;
}

double SitePlanner::commanded_power(EvseIndex e) const {
  const EvseState& s = evses_[e];
  for (auto it = s.in_flight.rbegin(); it != s.in_flight.rend(); ++it) {
    if (s.session && it->purpose == ProfilePurpose::kTx && it->session == s.session->id) {
      return it->power_w;
    }
  }
  return s.tx == Knowledge::kValue ? s.tx_power_w : 0.0;
}

void SitePlanner::send(EvseIndex e, const ProfileCommand& c, bool lower) {
  EvseState& s = evses_[e];
  InFlight f;
  f.id = c.id;
  f.session = s.session ? s.session->id : 0;
  f.setpoint = c.setpoint;
  f.purpose = c.purpose;
  f.power_w = c.power_w;
  f.lower = lower;
  s.in_flight.push_back(f);
}

void SitePlanner::apply_hysteresis() {
  // End state of the plan: fixed loads plus every planned session.
  for (NodeIndex n = 0; n < end_load_.size(); ++n) end_load_[n] = fixed_[n];
  auto add_path = [&](EvseIndex e, const PhaseCurrents& delta) {
    for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) end_load_[n][p] += delta[p];
    }
  };
  for (const Demand& d : ordered_) add_path(d.evse, load_of(d.evse, evses_[d.evse].target));
  if (settings_.hysteresis_a <= 0.0) return;

  // Small raises are skipped (that only frees room), then small lowers are skipped where the
  // room is there.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Demand& d : ordered_) {
      const EvseIndex e = d.evse;
      EvseState& s = evses_[e];
      if (!has_commanded(e)) continue;
      const Setpoint c = commanded(e);
      const Setpoint t = s.target;
      if (c.phases != t.phases || c.current_a < site_.evse(e).spec.min_current_a ||
          t.current_a <= 0.0) {
        continue;
      }
      const double diff = t.current_a - c.current_a;
      if (std::abs(diff) >= settings_.hysteresis_a || diff == 0.0) continue;
      if (s.limit_a && c.current_a > *s.limit_a + kEps) continue;  // a session limit is kept
      const PhaseCurrents lt = load_of(e, t);
      const PhaseCurrents lc = load_of(e, c);
      PhaseCurrents delta{};
      for (int p = 0; p < kPhaseCount; ++p) delta[p] = lc[p] - lt[p];
      if (pass == 0) {
        if (diff <= 0.0) continue;
        s.target = c;
        add_path(e, delta);
        continue;
      }
      if (diff >= 0.0) continue;
      bool fits = true;
      for (NodeIndex n = site_.evse(e).charger; n != kNoNode && fits; n = site_.node(n).parent) {
        const PhaseCurrents& l = end_load_[n];
        PhaseCurrents after{};
        for (int p = 0; p < kPhaseCount; ++p) {
          after[p] = l[p] + delta[p];
          if (after[p] > limit_[n].current_a[p] + kEps) fits = false;
        }
        if (limit_[n].power_w && (after[0] + after[1] + after[2]) * voltage_ > *limit_[n].power_w) {
          fits = false;
        }
        const auto& imbalance = site_.node(n).spec.imbalance_limit_a;
        if (imbalance) {
          const auto [lo, hi] = std::minmax_element(after.begin(), after.end());
          const auto [lo0, hi0] = std::minmax_element(l.begin(), l.end());
          if (*hi - *lo > *imbalance + kEps && *hi - *lo > *hi0 - *lo0 + kEps) fits = false;
        }
      }
      if (fits) {
        s.target = c;
        add_path(e, delta);
      }
    }
  }
}

Plan SitePlanner::replan(Time now) {
  Plan plan;
  plan.id = ++plan_id_;
  plan.at = now;
  dirty_ = false;
  last_replan_ = now;
  held_.clear();

  compute_limits(now);
  const std::size_t node_count = site_.nodes().size();
  for (NodeIndex n = 0; n < node_count; ++n) {
    fixed_[n] = PhaseCurrents{};
    if (meters_[n]) {
      planned_reserve_[n] = meters_[n]->reserve(now).load_a;
      fixed_[n] = planned_reserve_[n];
    }
  }

  // The round robin's virtual time: the least charging time among the sessions
  // already taking turns. A session joining starts there, not at zero, so it cannot hold the
  // others off while it catches up.
  double virtual_s = kUnlimited;
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const EvseState& s = evses_[e];
    if (!s.session || !s.session->candidate || !reachable(e, now)) continue;
    virtual_s = std::min(virtual_s, std::chrono::duration<double>(s.session->charged).count());
  }
  if (!std::isfinite(virtual_s)) virtual_s = 0.0;

  // When each waiting session falls due (earliest deadline first): its turn ends turn -
  // turn_guard after it started waiting, but with k charging, the i-th by deadline is due
  // floor(i / k) slots earlier, since the ones before it need their places first. Two vehicles
  // dropped at the same moment for one place would otherwise fall due together, and one would
  // miss its turn.
  waiting_.clear();
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    EvseState& s = evses_[e];
    s.due_at = Time::max();
    if (!s.session || !s.session->candidate || !reachable(e, now)) continue;
    if (s.session->admitted && s.session->served) continue;
    waiting_.push_back(e);
  }
  std::sort(waiting_.begin(), waiting_.end(), [&](EvseIndex a, EvseIndex b) {
    const Time x = evses_[a].session->waiting_since;
    const Time y = evses_[b].session->waiting_since;
    return x != y ? x < y : a < b;
  });
  const std::size_t parallel = std::max<std::size_t>(1, charging_);
  for (std::size_t i = 0; i < waiting_.size(); ++i) {
    EvseState& s = evses_[waiting_[i]];
    const auto places_ahead = static_cast<Duration::rep>(i / parallel);  // whole slots
    s.due_at =
        s.session->waiting_since + settings_.turn - settings_.turn_guard - slot_ * places_ahead;
  }

  // Classify the EVSEs: unreachable ones are fixed at their worst case, sessions are demands.
  demands_.clear();
  keys_.clear();
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const Evse& ev = site_.evse(e);
    EvseState& s = evses_[e];
    s.node = kNoNode;
    s.has_phase = s.has_other_phase = false;
    s.limit_a.reset();
    if (!reachable(e, now)) {
      const PhaseCurrents x = exposure(e, now);
      for (int p = 0; p < kPhaseCount; ++p) fixed_[ev.charger][p] += x[p];
      if (s.session) s.session->candidate = s.session->admitted = false;
      s.reason = !ev.spec.supports_smart_charging ? Reason::kNotSmart
                 : !online_[ev.charger]           ? Reason::kOffline
                                                  : Reason::kRejected;
      continue;
    }
    if (!s.session) {
      s.reason = Reason::kNoSession;
      s.target = Setpoint{0.0, full_phases(e)};
      continue;
    }
    Session& ss = *s.session;
    if (ss.admitted && ss.served && now > ss.accounted_at) ss.charged += now - ss.accounted_at;
    ss.accounted_at = now;
    if (!ss.candidate) {
      ss.candidate = true;
      ss.admitted = false;
      ss.waiting_since = now;
      ss.charged =
          std::max(ss.charged,
                   std::chrono::duration_cast<Duration>(std::chrono::duration<double>(virtual_s)));
    }
    if (ss.underdraw_since && now - *ss.underdraw_since >= settings_.draw_observation) {
      const double cap = std::max(
          ev.spec.min_current_a,
          ceil_step(ss.underdraw_peak_a + settings_.draw_margin_a, settings_.current_step_a));
      if (!ss.draw_cap_a || cap < *ss.draw_cap_a) ss.draw_cap_a = cap;
      ss.underdraw_since.reset();
    }
    const PhaseMask vehicle = ss.vehicle != 0 ? ss.vehicle : ev.connector_mask;
    Demand d;
    d.evse = e;
    d.mask = ev.grid_mask(vehicle);
    d.one_phase_mask =
        ev.spec.can_switch_phases && phase_count(vehicle) > 1 ? ev.grid_mask(phase_bit(0)) : 0;
    d.min_a = ev.spec.min_current_a;
    if (ev.spec.rate_unit == RateUnit::kWatts && ss.vehicle == 0 && ev.spec.connector_phases == 3) {
      // Its power is sent for one phase until the phases are known; a three-phase vehicle gets
      // a third of it per phase and must still reach its minimum to start (and be measured).
      d.min_a = std::min(ev.spec.max_current_a, 3 * ev.spec.min_current_a);
    }
    d.max_a =
        std::max(d.min_a, std::min(ev.spec.max_current_a, ss.draw_cap_a.value_or(kUnlimited)));
    // The vehicle charges well only from its min rate on: that is its minimum, within reach.
    d.min_a = std::max(d.min_a, std::min(session_min_rate_a(e, now), d.max_a));
    s.limit_a = session_limit_a(e, now);
    if (s.limit_a) {
      if (*s.limit_a < d.min_a - kEps) {
        // Paused by the limit: 0 A, out of the round until it allows the minimum again.
        ss.candidate = ss.admitted = false;
        s.minimum_a = d.min_a;
        s.reason = Reason::kSessionLimit;
        s.target = Setpoint{0.0, full_phases(e)};
        continue;
      }
      d.max_a = std::min(d.max_a, *s.limit_a);
    }
    d.weight = ev.weight;
    AdmissionKey key{.tier = 2, .first = 0.0, .second = 0.0, .third = 0.0, .evse = e};
    if ((!ss.admitted || !ss.served) && now >= s.due_at) {
      key.tier = 0;  // its turn is up (and has not reached it yet): before everyone
      key.first = seconds(ss.waiting_since);
    } else if (ss.admitted && now < ss.admitted_at + slot_) {
      key.tier = 1;  // inside its slot: keeps charging
      key.first = seconds(ss.admitted_at);
    } else {
      // Deficit round robin: whoever has charged for the shortest time goes first; on a tie a
      // waiting vehicle queues from when it started waiting, a charging one from the end of its
      // slot. Priority weighs the share once admitted, not the turn: weighting turns would let a
      // heavy vehicle hold the others off until their turns all fall due at once.
      key.first = std::chrono::duration<double>(ss.charged).count();
      key.second = ss.admitted ? seconds(ss.admitted_at + slot_) : seconds(ss.waiting_since);
      // Then a waiting one before a charging one, and whoever charged for less long first.
      key.third = ss.admitted ? -seconds(ss.charging_since) : -kUnlimited;
    }
    s.minimum_a = d.min_a;
    demands_.push_back(d);
    keys_.push_back(key);
  }
  for (NodeIndex n = static_cast<NodeIndex>(node_count); n-- > 1;) {
    const NodeIndex parent = site_.node(n).parent;
    for (int p = 0; p < kPhaseCount; ++p) fixed_[parent][p] += fixed_[n][p];
  }
  reserve_held_ = settings_.start_reserve_a > 0.0;
  fill_budgets(reserve_held_);

  order_.resize(demands_.size());
  std::iota(order_.begin(), order_.end(), 0U);
  std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
    const AdmissionKey& x = keys_[a];
    const AdmissionKey& y = keys_[b];
    if (x.tier != y.tier) return x.tier < y.tier;
    if (x.first != y.first) return x.first < y.first;
    if (x.second != y.second) return x.second < y.second;
    if (x.third != y.third) return x.third < y.third;
    return x.evse < y.evse;
  });
  ordered_.resize(demands_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) ordered_[i] = demands_[order_[i]];
  grants_.resize(ordered_.size());
  fill_.run(ordered_, grants_);
  if (reserve_held_ &&
      std::any_of(grants_.begin(), grants_.end(), [](const Grant& g) { return !g.admitted; })) {
    // The reserve would keep a vehicle waiting that fits without it: spend it.
    reserve_held_ = false;
    fill_budgets(false);
    fill_.run(ordered_, grants_);
  }

  // Targets and the admission bookkeeping.
  for (std::size_t i = 0; i < ordered_.size(); ++i) {
    const EvseIndex e = ordered_[i].evse;
    const Evse& ev = site_.evse(e);
    EvseState& s = evses_[e];
    Session& ss = *s.session;
    const Grant& g = grants_[i];
    s.node = g.node;
    if (g.admitted) {
      ++plan.admitted;
      const double current =
          std::max(ev.spec.min_current_a, floor_step(g.current_a, settings_.current_step_a));
      s.target = Setpoint{current, g.one_phase ? std::uint8_t{1} : full_phases(e)};
      ss.one_phase = g.one_phase;
      switch (g.bound) {
        case Bound::kNone:
        case Bound::kMaximum:
          s.reason = s.limit_a && g.current_a >= *s.limit_a - kEps &&
                             *s.limit_a <
                                 std::min(ev.spec.max_current_a, ss.draw_cap_a.value_or(kUnlimited))
                         ? Reason::kSessionLimit
                     : ss.draw_cap_a && g.current_a >= *ss.draw_cap_a - kEps &&
                             *ss.draw_cap_a < ev.spec.max_current_a
                         ? Reason::kVehicleDraw
                         : Reason::kEvseMaximum;
          s.node = kNoNode;
          break;
        case Bound::kNodePhase:
          s.reason = Reason::kNodePhaseLimit;
          s.has_phase = true;
          break;
        case Bound::kNodePower:
          s.reason = Reason::kNodePowerLimit;
          break;
        case Bound::kImbalance:
          s.reason = Reason::kPhaseImbalance;
          s.has_phase = s.has_other_phase = true;
          break;
      }
      // A new slot starts when admitted, or when a vehicle past its slot won the round again.
      if (!ss.admitted || keys_[order_[i]].tier == 2) ss.admitted_at = now;
      if (!ss.admitted) {
        ss.charging_since = now;
        ss.served = false;
      }
      ss.admitted = true;
    } else {
      ++plan.waiting;
      s.target = Setpoint{0.0, full_phases(e)};
      s.reason = Reason::kWaiting;
      s.has_phase = g.bound == Bound::kNodePhase || g.bound == Bound::kImbalance;
      s.has_other_phase = g.bound == Bound::kImbalance;
      if (ss.admitted) {
        ss.admitted = false;
        // A turn that never reached the vehicle (its raise was cancelled) does not count.
        if (ss.served) ss.waiting_since = now;
      }
    }
    s.phase = g.phase;
    s.other_phase = g.other_phase;
  }
  charging_ = plan.admitted;
  if (plan.waiting == 0) {
    slot_ = settings_.turn;
  } else {
    // With k charging and m waiting, slots of (turn - guard) * k / (k + m) let the last of them
    // in before its turn is up (while the slot stays above min_slot).
    const auto k = static_cast<double>(plan.admitted);
    const auto m = static_cast<double>(plan.waiting);
    const Duration span = settings_.turn - settings_.turn_guard;
    slot_ = std::clamp(std::chrono::duration_cast<Duration>(span * (k / (k + m))),
                       settings_.min_slot, settings_.turn);
  }

  apply_hysteresis();
  plan_fixed_ = fixed_;
  plan_limit_ = limit_;

  // Commands: lowers now; raises wait. A change of phase count that lowers some phases and
  // raises others is split into a one-phase lower first.
  bool sums_ready = false;  // the worst case per node, needed only to take over blind
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    if (!reachable(e, now)) continue;
    EvseState& s = evses_[e];
    const bool default_pending =
        std::any_of(s.in_flight.begin(), s.in_flight.end(),
                    [](const InFlight& f) { return f.purpose == ProfilePurpose::kTxDefault; });
    if (!default_pending && (!s.default_known || s.default_setpoint.current_a != 0.0)) {
      const ProfileCommand c = make_command(e, ProfilePurpose::kTxDefault,
                                            Setpoint{0.0, full_phases(e)}, PlanStep::kLower);
      send(e, c, true);
      plan.lower_now.push_back(c);
    }
    if (!s.session) continue;
    const Setpoint target = s.target;
    const bool known = has_commanded(e);
    const Setpoint before = commanded(e);
    if (known && before == target &&
        (site_.evse(e).spec.rate_unit != RateUnit::kWatts ||
         commanded_power(e) == power_for(e, ProfilePurpose::kTx, target))) {
      continue;
    }
    // Lower or raise against the limits the charger may apply, not against a vehicle still
    // settling down from an earlier lower: that draw is going away.
    const PhaseCurrents current = limit_exposure(e);
    // Taking over an EVSE whose limit is unknown cannot raise its worst case, but it may raise
    // what it actually draws. Where the worst case is over a limit already, it is first taken
    // over at 0 A (which can only lower it) and gets its share in the raise step.
    if (!effective(e) && target.current_a > 0.0) {
      if (!sums_ready) {
        compute_exposure_sums(now);
        sums_ready = true;
      }
      if (over_limit_on_path(e)) {
        const ProfileCommand c =
            make_command(e, ProfilePurpose::kTx, Setpoint{0.0, target.phases}, PlanStep::kLower);
        send(e, c, true);
        plan.lower_now.push_back(c);
        held_.push_back(make_command(e, ProfilePurpose::kTx, target, PlanStep::kRaise));
        continue;
      }
    }
    if (all_le(load_of(e, target), current)) {
      const ProfileCommand c = make_command(e, ProfilePurpose::kTx, target, PlanStep::kLower);
      send(e, c, true);
      plan.lower_now.push_back(c);
      continue;
    }
    if (known && before.phases != target.phases && before.current_a > 0.0) {
      const Setpoint step{std::min(before.current_a, target.current_a), 1};
      if (!(step == before) && all_le(load_of(e, step), current)) {
        const ProfileCommand c = make_command(e, ProfilePurpose::kTx, step, PlanStep::kLower);
        send(e, c, true);
        plan.lower_now.push_back(c);
      }
    }
    held_.push_back(make_command(e, ProfilePurpose::kTx, target, PlanStep::kRaise));
  }

  // The raises wait for every lower in flight, this plan's and earlier ones.
  gate_pending_ = 0;
  gate_settled_at_ = Time::min();
  for (EvseState& s : evses_) {
    for (InFlight& f : s.in_flight) {
      f.gates = f.lower;
      if (f.lower) ++gate_pending_;
    }
    if (s.settle_until > now) gate_settled_at_ = std::max(gate_settled_at_, s.settle_until);
  }
  if (!held_.empty() && (gate_pending_ > 0 || now < gate_settled_at_)) {
    raise_starting_now(plan, now);
  }
  plan.raise_after = held_;
  schedule_next(now);
  return plan;
}

void SitePlanner::fill_budgets(bool reserve) {
  std::span<NodeBudget> budgets = fill_.budgets();
  for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
    const Node& node = site_.node(n);
    const double kept =
        reserve && node.spec.kind != NodeKind::kCharger ? settings_.start_reserve_a : 0.0;
    for (int p = 0; p < kPhaseCount; ++p) {
      budgets[n].limit_a[p] = std::max(0.0, limit_[n].current_a[p] - kept);
    }
    budgets[n].power_limit_w =
        limit_[n].power_w ? std::max(0.0, *limit_[n].power_w - kept * kPhaseCount * voltage_)
                          : kUnlimited;
    budgets[n].imbalance_limit_a = node.spec.imbalance_limit_a.value_or(kUnlimited);
    budgets[n].fixed_a = fixed_[n];
  }
}

double SitePlanner::room_for(EvseIndex e, const Setpoint& s, Time now) const {
  // exposure_sum_ holds every EVSE at its worst case, this one included: take it out.
  const PhaseMask mask = setpoint_mask(e, s);
  const PhaseCurrents own = exposure(e, now);
  const double own_total = own[0] + own[1] + own[2];
  const int phases = phase_count(mask);
  double room = kUnlimited;
  for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
    const PhaseCurrents& x = exposure_sum_[n];
    for (int p = 0; p < kPhaseCount; ++p) {
      if (mask & phase_bit(p)) room = std::min(room, limit_[n].current_a[p] - (x[p] - own[p]));
    }
    if (limit_[n].power_w && phases > 0) {
      const double others = x[0] + x[1] + x[2] - own_total;
      room = std::min(room, (*limit_[n].power_w / voltage_ - others) / phases);
    }
  }
  return room;
}

void SitePlanner::raise_starting_now(Plan& plan, Time now) {
  // Only sessions that draw nothing yet take part: one already charging waits for the rest.
  const auto starting = [this](EvseIndex e) {
    return evses_[e].session && effective(e) && commanded(e).current_a <= 0.0;
  };
  if (std::none_of(held_.begin(), held_.end(),
                   [&](const ProfileCommand& c) { return starting(c.evse); })) {
    return;
  }
  compute_exposure_sums(now);
  for (auto it = held_.begin(); it != held_.end();) {
    const EvseIndex e = it->evse;
    const EvseState& s = evses_[e];
    if (!starting(e)) {
      ++it;
      continue;
    }
    const Setpoint target = it->setpoint;
    const double room = room_for(e, target, now);
    const double current = floor_step(std::min(room, target.current_a), settings_.current_step_a);
    if (current < s.minimum_a - kEps) {
      ++it;
      continue;
    }
    const bool whole = current >= target.current_a - kEps;
    const Setpoint now_setpoint{whole ? target.current_a : current, target.phases};
    const PhaseCurrents before = exposure(e, now);
    const PhaseCurrents after = load_of(e, now_setpoint);
    for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) {
        exposure_sum_[n][p] += std::max(0.0, after[p] - before[p]);
      }
    }
    const ProfileCommand c =
        make_command(e, ProfilePurpose::kTx, now_setpoint, PlanStep::kRaiseNow);
    send(e, c, false);
    plan.raise_now.push_back(c);
    it = whole ? held_.erase(it) : it + 1;
  }
}

void SitePlanner::compute_exposure_sums(Time now) {
  // Worst case right now: every EVSE at its exposure, the building at its reserve.
  const std::size_t node_count = site_.nodes().size();
  for (NodeIndex n = 0; n < node_count; ++n) {
    exposure_sum_[n] = meters_[n] ? meters_[n]->reserve(now).load_a : PhaseCurrents{};
  }
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const PhaseCurrents x = exposure(e, now);
    for (int p = 0; p < kPhaseCount; ++p) exposure_sum_[site_.evse(e).charger][p] += x[p];
  }
  for (NodeIndex n = static_cast<NodeIndex>(node_count); n-- > 1;) {
    const NodeIndex parent = site_.node(n).parent;
    for (int p = 0; p < kPhaseCount; ++p) exposure_sum_[parent][p] += exposure_sum_[n][p];
  }
}

bool SitePlanner::over_limit_on_path(EvseIndex e) const {
  for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
    const PhaseCurrents& x = exposure_sum_[n];
    for (int p = 0; p < kPhaseCount; ++p) {
      if (x[p] > limit_[n].current_a[p] + kEps) return true;
    }
    if (limit_[n].power_w && (x[0] + x[1] + x[2]) * voltage_ > *limit_[n].power_w + kEps) {
      return true;
    }
  }
  return false;
}

std::vector<ProfileCommand> SitePlanner::releasable(Time now) {
  std::vector<ProfileCommand> out;
  if (held_.empty() || gate_pending_ > 0 || now < gate_settled_at_) return out;

  compute_limits(now);
  compute_exposure_sums(now);

  out.reserve(held_.size());
  for (const ProfileCommand& c : held_) {
    const EvseIndex e = c.evse;
    const EvseState& s = evses_[e];
    if (!reachable(e, now) || !s.session || !(s.target == c.setpoint)) {
      dirty_ = true;
      continue;
    }
    const PhaseCurrents current = exposure(e, now);
    const PhaseCurrents next = load_of(e, c.setpoint);
    // Fits if the node holds with this EVSE at its new value (a take-over of an EVSE counted at
    // its worst case lowers that); what it adds for the raises after it is only the increase,
    // since it may not have applied it yet.
    PhaseCurrents change{};
    PhaseCurrents delta{};
    for (int p = 0; p < kPhaseCount; ++p) {
      change[p] = next[p] - current[p];
      delta[p] = std::max(0.0, change[p]);
    }
    bool fits = true;
    for (NodeIndex n = site_.evse(e).charger; n != kNoNode && fits; n = site_.node(n).parent) {
      double total = 0.0;
      for (int p = 0; p < kPhaseCount; ++p) {
        const double after = exposure_sum_[n][p] + change[p];
        total += after;
        if (after > limit_[n].current_a[p] + kEps) fits = false;
      }
      if (limit_[n].power_w && total * voltage_ > *limit_[n].power_w + kEps * voltage_) {
        fits = false;
      }
    }
    if (!fits) {
      dirty_ = true;  // something moved since the plan: plan again
      continue;
    }
    for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) exposure_sum_[n][p] += delta[p];
    }
    send(e, c, false);
    out.push_back(c);
  }
  held_.clear();
  return out;
}

void SitePlanner::schedule_next(Time now) {
  Time next = now + settings_.recalc_interval;
  auto consider = [&](Time t) {
    if (t > now && t < next) next = t;
  };
  for (NodeIndex n = 0; n < site_.nodes().size(); ++n) {
    if (auto t = next_limit_change(limits_[n], now, settings_.limit_lookahead)) consider(*t);
    if (meters_[n]) {
      if (auto t = meters_[n]->silent_at()) consider(*t);
    }
  }
  bool someone_waits = false;
  for (const EvseState& s : evses_) {
    if (s.session && s.session->candidate && !s.session->admitted) someone_waits = true;
  }
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const EvseState& s = evses_[e];
    if (s.rejected) consider(s.rejected_at + settings_.rejected_retry);
    // Before the candidate test: a session its limit paused wakes when a period allows it.
    if (auto t = session_limit_change(e, now)) consider(*t);
    if (!s.session || !s.session->candidate) continue;
    const Session& ss = *s.session;
    if (!ss.admitted || !ss.served) {
      // Its due time as of this plan, or (joined just now) from its own deadline.
      consider(s.due_at != Time::max() ? s.due_at
                                       : ss.waiting_since + settings_.turn - settings_.turn_guard);
    }
    // A slot that ended already (the slot shrank as vehicles started waiting) ends at the next
    // re-plan.
    if (ss.admitted && someone_waits) {
      consider(std::max(ss.admitted_at + slot_, now + settings_.min_replan_gap));
    }
    if (ss.underdraw_since) consider(*ss.underdraw_since + settings_.draw_observation);
  }
  next_replan_ = next;
}

bool SitePlanner::needs_replan(Time now) const {
  return (dirty_ || now >= next_replan_) && now >= last_replan_ + settings_.min_replan_gap;
}

Time SitePlanner::next_wakeup() const {
  // A re-plan is never sooner than min_replan_gap after the last one.
  const Time earliest = last_replan_ + settings_.min_replan_gap;
  Time t = dirty_ ? earliest : std::max(next_replan_, earliest);
  if (!held_.empty() && gate_pending_ == 0) t = std::min(t, gate_settled_at_);
  return t;
}

// --- views -------------------------------------------------------------------------------------

std::vector<double> SitePlanner::fail_safe_currents(Time now,
                                                    std::span<const std::uint8_t> no_fail_safe) {
  const std::size_t node_count = site_.nodes().size();
  std::span<NodeBudget> budgets = fill_.budgets();
  for (NodeIndex n = 0; n < node_count; ++n) {
    // The lowest limit any known slot sets, from now on.
    limit_[n] = effective_limit(site_.node(n), limits_[n], now, Time::max());
    fixed_[n] = PhaseCurrents{};
    if (meters_[n]) {
      fixed_[n] = max_of(meters_[n]->spec().fallback_a, meters_[n]->reserve(now).load_a);
    }
  }
  demands_.clear();
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const Evse& ev = site_.evse(e);
    if (!ev.spec.supports_smart_charging) {
      const PhaseCurrents x = worst_case(e);
      for (int p = 0; p < kPhaseCount; ++p) fixed_[ev.charger][p] += x[p];
      continue;
    }
    if (e < no_fail_safe.size() && no_fail_safe[e] != 0) {
      const double offline = ev.spec.offline_current_a.value_or(ev.spec.max_current_a);
      const PhaseMask grid = ev.grid_mask(ev.connector_mask);
      for (int p = 0; p < kPhaseCount; ++p) {
        if (grid & phase_bit(p)) fixed_[ev.charger][p] += offline;
      }
      continue;
    }
    Demand d;
    d.evse = e;
    d.mask = ev.grid_mask(ev.connector_mask);
    d.min_a = ev.spec.min_current_a;
    d.max_a = ev.spec.max_current_a;
    d.weight = 1.0;
    demands_.push_back(d);
  }
  // Where not everyone fits at minimum, the first EVSE of every charger goes first, then the
  // second ones, so the fallback is spread over the chargers.
  auto rank = [&](const Demand& d) {
    return d.evse - site_.node(site_.evse(d.evse).charger).evse_begin;
  };
  std::stable_sort(demands_.begin(), demands_.end(),
                   [&](const Demand& a, const Demand& b) { return rank(a) < rank(b); });
  for (NodeIndex n = static_cast<NodeIndex>(node_count); n-- > 1;) {
    const NodeIndex parent = site_.node(n).parent;
    for (int p = 0; p < kPhaseCount; ++p) fixed_[parent][p] += fixed_[n][p];
  }
  for (NodeIndex n = 0; n < node_count; ++n) {
    budgets[n].limit_a = limit_[n].current_a;
    budgets[n].power_limit_w = limit_[n].power_w.value_or(kUnlimited);
    budgets[n].imbalance_limit_a = kUnlimited;  // all EVSEs are treated as three-phase loads
    budgets[n].fixed_a = fixed_[n];
  }
  grants_.resize(demands_.size());
  fill_.run(demands_, grants_);
  std::vector<double> out(evses_.size(), 0.0);
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const EvseSpec& spec = site_.evse(e).spec;
    if (!spec.supports_smart_charging) out[e] = spec.max_current_a;
    if (spec.supports_smart_charging && e < no_fail_safe.size() && no_fail_safe[e] != 0)
      out[e] = spec.offline_current_a.value_or(spec.max_current_a);
  }
  for (std::size_t i = 0; i < demands_.size(); ++i) {
    const Evse& ev = site_.evse(demands_[i].evse);
    const double a = floor_step(grants_[i].current_a, settings_.current_step_a);
    out[demands_[i].evse] = grants_[i].admitted ? std::max(a, ev.spec.min_current_a) : 0.0;
  }
  return out;
}

std::vector<NodeLoad> SitePlanner::node_loads(Time now) const {
  const std::size_t node_count = site_.nodes().size();
  std::vector<NodeLoad> out(node_count);
  for (NodeIndex n = 0; n < node_count; ++n) {
    out[n].limit = effective_limit(site_.node(n), limits_[n], now, now + settings_.limit_lookahead);
    if (meters_[n]) out[n].exposure_a = meters_[n]->reserve(now).load_a;
    out[n].planned_a = plan_fixed_[n];
  }
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const NodeIndex c = site_.evse(e).charger;
    const PhaseCurrents x = exposure(e, now);
    for (int p = 0; p < kPhaseCount; ++p) out[c].exposure_a[p] += x[p];
  }
  for (NodeIndex n = static_cast<NodeIndex>(node_count); n-- > 1;) {
    const NodeIndex parent = site_.node(n).parent;
    for (int p = 0; p < kPhaseCount; ++p) out[parent].exposure_a[p] += out[n].exposure_a[p];
  }
  // planned_a: the fixed loads of the last plan plus its targets.
  for (EvseIndex e = 0; e < evses_.size(); ++e) {
    const EvseState& s = evses_[e];
    if (!s.session || !s.session->candidate) continue;
    const PhaseCurrents x = load_of(e, s.target);
    for (NodeIndex n = site_.evse(e).charger; n != kNoNode; n = site_.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) out[n].planned_a[p] += x[p];
    }
  }
  return out;
}

EvseStatus SitePlanner::status(EvseIndex e) const {
  const Evse& ev = site_.evse(e);
  const EvseState& s = evses_[e];
  EvseStatus out;
  out.online = online_[ev.charger] != 0;
  out.smart = ev.spec.supports_smart_charging;
  out.rejected = s.rejected;
  out.pending = s.in_flight.size();
  out.applied = effective(e);
  out.offline_current_a = s.offline_current ? s.offline_current : ev.spec.offline_current_a;
  out.session = s.session.has_value();
  if (s.session) {
    out.charging = s.session->admitted;
    out.vehicle_phases = s.session->vehicle;
    out.draw_cap_a = s.session->draw_cap_a;
    out.session_limit_a = s.limit_a;
  }
  return out;
}

Explanation SitePlanner::explain(EvseIndex e) const {
  const Evse& ev = site_.evse(e);
  const EvseState& s = evses_[e];
  Explanation x;
  x.evse = e;
  x.reason = s.reason;
  x.minimum_a = s.minimum_a;
  x.planned = s.target;
  x.node = s.node;
  if (s.has_phase) x.phase = static_cast<Phase>(s.phase);
  if (s.has_other_phase) x.other_phase = static_cast<Phase>(s.other_phase);

  std::string where;
  if (x.node != kNoNode) {
    const Node& node = site_.node(x.node);
    const EffectiveLimit& limit = plan_limit_[x.node];
    where = std::string(to_string(node.spec.kind)) + " " + node.spec.id;
    if (s.reason == Reason::kNodePowerLimit) {
      x.source = limit.power_source;
      x.limit = limit.power_w.value_or(0.0);
      where += " power: " + kilowatts(x.limit) + " (" + std::string(to_string(x.source)) + ")";
    } else if (s.reason == Reason::kPhaseImbalance ||
               (s.reason == Reason::kWaiting && s.has_other_phase)) {
      x.limit = node.spec.imbalance_limit_a.value_or(0.0);
      where += " imbalance " + std::string(to_string(static_cast<Phase>(s.phase))) + "-" +
               std::string(to_string(static_cast<Phase>(s.other_phase))) + ": " + amps(x.limit);
    } else if (s.has_phase) {
      x.source = limit.current_source[s.phase];
      x.limit = limit.current_a[s.phase];
      x.other_load_a = plan_fixed_[x.node][s.phase];
      where += " phase " + std::string(to_string(static_cast<Phase>(s.phase))) + ": " +
               amps(x.limit) + " (" + std::string(to_string(x.source)) + "), " +
               amps(x.other_load_a) + " of it taken by loads not planned here";
    } else {
      where += " power: " + kilowatts(limit.power_w.value_or(0.0));
    }
    if (reserve_held_ && node.spec.kind != NodeKind::kCharger) {
      where += ", less the start reserve of " + amps(settings_.start_reserve_a) +
               " kept free for a session that starts";
    }
  }

  const std::string setpoint = amps(s.target.current_a) + " on " +
                               std::to_string(phase_count(setpoint_mask(e, s.target))) +
                               " phase(s)";
  std::string text = "EVSE " + ev.spec.id + ": ";
  switch (s.reason) {
    case Reason::kUnplanned:
      text += "no plan yet";
      break;
    case Reason::kNoSession:
      text += "no session; the default profile keeps a new one at 0 A until it is planned";
      break;
    case Reason::kNotSmart:
      text += "takes no charging profiles; counted at its maximum " + amps(ev.spec.max_current_a) +
              " per phase";
      break;
    case Reason::kOffline:
    case Reason::kRejected: {
      const PhaseCurrents w = exposure(e, last_replan_);
      text += std::string(s.reason == Reason::kOffline ? "offline" : "rejected a profile") +
              "; counted at its worst case " + amps(std::max({w[0], w[1], w[2]})) +
              " per phase until it is back under control";
      break;
    }
    case Reason::kWaiting:
      text += "waiting for its turn: its minimum " + amps(x.minimum_a) + " does not fit" +
              (where.empty() ? std::string() : " under " + where);
      break;
    case Reason::kEvseMaximum:
      text += setpoint + ", the EVSE's maximum";
      break;
    case Reason::kVehicleDraw:
      text += setpoint + ", capped at what the vehicle draws (the rest went to others)";
      break;
    case Reason::kSessionLimit: {
      const auto& limit = s.session ? s.session->limit : std::nullopt;
      const std::string by = limit && !limit->source.empty() ? limit->source : "another party";
      text += s.target.current_a > 0.0
                  ? setpoint + ", the limit " + by + " put on the session"
                  : "paused: the limit " + by + " put on the session is under its minimum " +
                        amps(x.minimum_a);
      break;
    }
    case Reason::kNodePhaseLimit:
    case Reason::kNodePowerLimit:
    case Reason::kPhaseImbalance:
      text += setpoint + ", limited by " + where;
      break;
  }
  x.text = std::move(text);
  return x;
}

}  // namespace switchyard::smart_charging
