// Admission and progressive filling (see water_fill.h).
//
// Every vehicle i gets x_i(λ) = clamp(w_i λ, min_i, max_i) as one level λ rises from 0. A
// constraint is a node's phase (Σ x over vehicles on that grid phase ≤ limit), its power
// (V Σ x·phases ≤ limit) or an ordered phase pair (I_p − I_q ≤ imbalance limit). Each constraint
// keeps its slack and the rate at which the rising vehicles eat it, so the level at which it
// binds is known; a heap yields the next binding, sorted events the next vehicle that starts
// rising (λ = min/w) or reaches its maximum (λ = max/w). When a constraint binds, every vehicle
// that adds to it stops where it is. Vehicles are stored in EVSE order and a node covers a
// contiguous EVSE range, so finding them is a scan of that range; each constraint binds at most
// once. Cost: O(n log n) for the events plus O(n · depth) constraint updates.
#include "smart_charging/water_fill.h"

#include <algorithm>
#include <cmath>

namespace switchyard::smart_charging {
namespace {

constexpr double kEps = 1e-9;
constexpr int kPairs[6][2] = {{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}};

bool has(PhaseMask mask, int phase) { return (mask >> phase) & 1; }

}  // namespace

WaterFill::WaterFill(const Site& site)
    : site_(site),
      voltage_(site.nominal_voltage_v()),
      budgets_(site.nodes().size()),
      load_(site.nodes().size()),
      demand_of_evse_(site.evses().size(), -1) {}

double WaterFill::coef(int kind, PhaseMask mask) const {
  if (kind < kPhaseCount) return has(mask, kind) ? 1.0 : 0.0;
  if (kind == kPhaseCount) return phase_count(mask) * voltage_;
  const auto& pair = kPairs[kind - kPhaseCount - 1];
  return (has(mask, pair[0]) ? 1.0 : 0.0) - (has(mask, pair[1]) ? 1.0 : 0.0);
}

bool WaterFill::enabled(NodeIndex node, int kind) const {
  if (kind < kPhaseCount) return true;
  if (kind == kPhaseCount) return std::isfinite(budgets_[node].power_limit_w);
  return std::isfinite(budgets_[node].imbalance_limit_a);
}

bool WaterFill::fits(const Demand& d, PhaseMask mask, Grant& why) const {
  const double amps = d.min_a;
  for (NodeIndex n = site_.evse(d.evse).charger; n != kNoNode; n = site_.node(n).parent) {
    const NodeBudget& b = budgets_[n];
    const PhaseCurrents& load = load_[n];
    PhaseCurrents after = load;
    for (int p = 0; p < kPhaseCount; ++p) {
      if (!has(mask, p)) continue;
      after[p] += amps;
      if (after[p] > b.limit_a[p] + kEps) {
        why = {.bound = Bound::kNodePhase, .node = n, .phase = static_cast<std::uint8_t>(p)};
        return false;
      }
    }
    if (std::isfinite(b.power_limit_w) &&
        (after[0] + after[1] + after[2]) * voltage_ > b.power_limit_w + kEps * voltage_) {
      why = {.bound = Bound::kNodePower, .node = n};
      return false;
    }
    if (std::isfinite(b.imbalance_limit_a)) {
      const auto [lo_after, hi_after] = std::minmax_element(after.begin(), after.end());
      const auto [lo_before, hi_before] = std::minmax_element(load.begin(), load.end());
      const double spread_after = *hi_after - *lo_after;
      // A minimum that does not widen the spread is fine even if fixed loads broke the limit.
      if (spread_after > b.imbalance_limit_a + kEps &&
          spread_after > *hi_before - *lo_before + kEps) {
        why = {.bound = Bound::kImbalance,
               .node = n,
               .phase = static_cast<std::uint8_t>(hi_after - after.begin()),
               .other_phase = static_cast<std::uint8_t>(lo_after - after.begin())};
        return false;
      }
    }
  }
  return true;
}

void WaterFill::add_load(const Demand& d, PhaseMask mask, double amps) {
  for (NodeIndex n = site_.evse(d.evse).charger; n != kNoNode; n = site_.node(n).parent) {
    for (int p = 0; p < kPhaseCount; ++p) {
      if (has(mask, p)) load_[n][p] += amps;
    }
  }
}

void WaterFill::advance(std::size_t c, double lambda) {
  slack_[c] -= slope_[c] * (lambda - level_[c]);
  level_[c] = lambda;
}

double WaterFill::bind_level(std::size_t c) const {
  if (slope_[c] <= 1e-12) return kUnlimited;
  return level_[c] + slack_[c] / slope_[c];
}

void WaterFill::touch(std::size_t c) {
  if (!dirty_[c]) {
    dirty_[c] = 1;
    dirty_list_.push_back(c);
  }
}

void WaterFill::freeze(std::size_t i, double lambda, std::span<Grant> grants,
                       std::span<const Demand> demands) {
  const Demand& d = demands[i];
  if (state_[i] == 1) {
    grants[i].current_a = std::clamp(d.weight * lambda, d.min_a, d.max_a);
    for (NodeIndex n = site_.evse(d.evse).charger; n != kNoNode; n = site_.node(n).parent) {
      for (int k = 0; k < kKinds; ++k) {
        if (!enabled(n, k)) continue;
        const double a = coef(k, mask_[i]);
        if (a == 0.0) continue;
        const std::size_t c = static_cast<std::size_t>(n) * kKinds + k;
        advance(c, lambda);
        slope_[c] -= d.weight * a;
        if (a < 0.0) touch(c);  // the slack of a pair now shrinks faster
      }
    }
  } else {
    grants[i].current_a = d.min_a;
  }
  state_[i] = 2;
}

void WaterFill::bind(std::size_t c, double lambda, std::span<const Demand> demands,
                     std::span<Grant> grants) {
  const auto n = static_cast<NodeIndex>(c / kKinds);
  const int k = static_cast<int>(c % kKinds);
  const Node& node = site_.node(n);
  for (EvseIndex e = node.evse_begin; e < node.evse_end; ++e) {
    const std::int32_t i = demand_of_evse_[e];
    if (i < 0) continue;
    const auto di = static_cast<std::size_t>(i);
    if (!grants[di].admitted || state_[di] == 2 || coef(k, mask_[di]) <= 0.0) continue;
    freeze(di, lambda, grants, demands);
    Grant& g = grants[di];
    g.node = n;
    if (k < kPhaseCount) {
      g.bound = Bound::kNodePhase;
      g.phase = static_cast<std::uint8_t>(k);
    } else if (k == kPhaseCount) {
      g.bound = Bound::kNodePower;
    } else {
      g.bound = Bound::kImbalance;
      g.phase = static_cast<std::uint8_t>(kPairs[k - kPhaseCount - 1][0]);
      g.other_phase = static_cast<std::uint8_t>(kPairs[k - kPhaseCount - 1][1]);
    }
  }
  // Everything that fed this constraint has stopped; rounding must not bring it back.
  slope_[c] = std::min(slope_[c], 0.0);
}

void WaterFill::run(std::span<const Demand> demands, std::span<Grant> grants) {
  const std::size_t nodes = budgets_.size();
  for (std::size_t n = 0; n < nodes; ++n) load_[n] = budgets_[n].fixed_a;
  for (std::size_t i = 0; i < demands.size(); ++i) {
    demand_of_evse_[demands[i].evse] = static_cast<std::int32_t>(i);
  }
  state_.assign(demands.size(), 0);
  mask_.assign(demands.size(), 0);

  // Admission at minimum current, in the caller's order; a vehicle that can switch to one phase
  // tries that when three do not fit.
  for (std::size_t i = 0; i < demands.size(); ++i) {
    const Demand& d = demands[i];
    Grant g;
    Grant ignored;
    if (fits(d, d.mask, g)) {
      g = Grant{.admitted = true};
      mask_[i] = d.mask;
    } else if (d.one_phase_mask != 0 && fits(d, d.one_phase_mask, ignored)) {
      g = Grant{.admitted = true, .one_phase = true};
      mask_[i] = d.one_phase_mask;
    }
    if (g.admitted) {
      g.current_a = d.min_a;
      add_load(d, mask_[i], d.min_a);
    }
    grants[i] = g;
  }

  // Constraint slack with every admitted minimum in place.
  const std::size_t constraints = nodes * kKinds;
  slack_.assign(constraints, kUnlimited);
  slope_.assign(constraints, 0.0);
  level_.assign(constraints, 0.0);
  dirty_.assign(constraints, 0);
  dirty_list_.clear();
  for (std::size_t n = 0; n < nodes; ++n) {
    const NodeBudget& b = budgets_[n];
    const PhaseCurrents& l = load_[n];
    double* s = &slack_[n * kKinds];
    for (int p = 0; p < kPhaseCount; ++p) s[p] = b.limit_a[p] - l[p];
    if (std::isfinite(b.power_limit_w)) {
      s[kPhaseCount] = b.power_limit_w - (l[0] + l[1] + l[2]) * voltage_;
    }
    if (std::isfinite(b.imbalance_limit_a)) {
      for (int k = 0; k < 6; ++k) {
        s[kPhaseCount + 1 + k] = b.imbalance_limit_a - (l[kPairs[k][0]] - l[kPairs[k][1]]);
      }
    }
  }

  events_.clear();
  for (std::size_t i = 0; i < demands.size(); ++i) {
    if (!grants[i].admitted) continue;
    const Demand& d = demands[i];
    if (d.max_a > d.min_a + kEps) {
      events_.push_back({d.min_a / d.weight, static_cast<std::uint32_t>(i), true});
      events_.push_back({d.max_a / d.weight, static_cast<std::uint32_t>(i), false});
    } else {
      state_[i] = 2;
      grants[i].bound = Bound::kMaximum;
    }
  }
  std::sort(events_.begin(), events_.end(),
            [](const Event& a, const Event& b) { return a.level < b.level; });

  heap_.clear();
  auto heap_order = [](const std::pair<double, std::uint32_t>& a,
                       const std::pair<double, std::uint32_t>& b) { return a.first > b.first; };
  auto flush_dirty = [&] {
    for (std::size_t c : dirty_list_) {
      dirty_[c] = 0;
      const double at = bind_level(c);
      if (std::isfinite(at)) {
        heap_.emplace_back(at, static_cast<std::uint32_t>(c));
        std::push_heap(heap_.begin(), heap_.end(), heap_order);
      }
    }
    dirty_list_.clear();
  };

  double lambda = 0.0;
  std::size_t next_event = 0;
  for (;;) {
    // The earliest constraint to bind; entries whose constraint changed are re-queued.
    double bind_at = kUnlimited;
    std::size_t binding = 0;
    while (!heap_.empty()) {
      const auto [queued, c] = heap_.front();
      const double real = bind_level(c);
      if (!std::isfinite(real) || real > queued + 1e-12 * (1.0 + std::abs(queued))) {
        std::pop_heap(heap_.begin(), heap_.end(), heap_order);
        heap_.pop_back();
        if (std::isfinite(real)) {
          heap_.emplace_back(real, c);
          std::push_heap(heap_.begin(), heap_.end(), heap_order);
        }
        continue;
      }
      bind_at = std::max(real, lambda);
      binding = c;
      break;
    }
    const double event_at = next_event < events_.size() ? events_[next_event].level : kUnlimited;
    if (!std::isfinite(bind_at) && !std::isfinite(event_at)) break;

    if (bind_at <= event_at) {
      std::pop_heap(heap_.begin(), heap_.end(), heap_order);
      heap_.pop_back();
      lambda = bind_at;
      bind(binding, lambda, demands, grants);
      flush_dirty();
      continue;
    }

    lambda = event_at;
    for (; next_event < events_.size() && events_[next_event].level <= lambda; ++next_event) {
      const Event& ev = events_[next_event];
      const std::size_t i = ev.demand;
      const Demand& d = demands[i];
      if (ev.start ? state_[i] != 0 : state_[i] != 1) continue;
      const double sign = ev.start ? 1.0 : -1.0;
      for (NodeIndex n = site_.evse(d.evse).charger; n != kNoNode; n = site_.node(n).parent) {
        for (int k = 0; k < kKinds; ++k) {
          if (!enabled(n, k)) continue;
          const double a = coef(k, mask_[i]);
          if (a == 0.0) continue;
          const std::size_t c = static_cast<std::size_t>(n) * kKinds + k;
          advance(c, lambda);
          slope_[c] += sign * d.weight * a;
          touch(c);
        }
      }
      if (ev.start) {
        state_[i] = 1;
      } else {
        state_[i] = 2;
        grants[i].current_a = d.max_a;
        grants[i].bound = Bound::kMaximum;
      }
    }
    flush_dirty();
  }

  // Final loads: the admitted minimums are in; add what the filling gave on top.
  for (std::size_t i = 0; i < demands.size(); ++i) {
    const Demand& d = demands[i];
    demand_of_evse_[d.evse] = -1;
    if (grants[i].admitted && grants[i].current_a > d.min_a) {
      add_load(d, mask_[i], grants[i].current_a - d.min_a);
    }
  }
}

}  // namespace switchyard::smart_charging
