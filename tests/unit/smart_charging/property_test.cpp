// Property tests of the smart-charging planner on simulated sites: over thousands of random
// sequences no node ever carries more than a phase limit and no vehicle allowed to charge waits
// longer than the turn; equal-priority vehicles under scarcity get fair energy over an hour.
// A failing sequence is shrunk and printed.
//   SWITCHYARD_SMART_SEED=<n>       first seed (printed by every run)
//   SWITCHYARD_SMART_SEQUENCES=<n>  number of sequences (default 10000)
//   SWITCHYARD_SMART_FAIRNESS=<n>   number of fairness hours (default 200)
//   SWITCHYARD_SMART_TRACE_LINES=<n> lines of the failing sequence's trace to print (default 80)
//   SWITCHYARD_SMART_NO_SHRINK=1    print the failing sequence as generated
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "unit/smart_charging/simulated_site.h"

namespace switchyard::smart_charging::sim {
namespace {

using namespace std::chrono_literals;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::array<Phase, 3> random_rotation(Rng& r) {
  static constexpr std::array<std::array<Phase, 3>, 6> kAll = {{
      {Phase::kL1, Phase::kL2, Phase::kL3},
      {Phase::kL2, Phase::kL3, Phase::kL1},
      {Phase::kL3, Phase::kL1, Phase::kL2},
      {Phase::kL1, Phase::kL3, Phase::kL2},
      {Phase::kL2, Phase::kL1, Phase::kL3},
      {Phase::kL3, Phase::kL2, Phase::kL1},
  }};
  return kAll[r.below(kAll.size())];
}

PlannerSettings property_settings() {
  PlannerSettings s;
  // Time runs short so that sequences are short: a 2.5-minute turn, and the rest to scale.
  s.recalc_interval = 240s;
  s.min_replan_gap = 1s;
  s.limit_lookahead = 30s;
  s.turn = 150s;
  s.turn_guard = 35s;
  s.min_slot = 15s;
  s.draw_observation = 45s;
  s.settle = 5s;
  s.rejected_retry = 2min;
  return s;
}

Duration ms(std::int64_t v) { return std::chrono::milliseconds(v); }

// A random site of 1..6 EVSEs and a random sequence of what happens to it.
Scenario generate(std::uint64_t seed) {
  Rng r(seed);
  Scenario sc;
  sc.seed = seed;
  sc.settings = property_settings();
  // Short and dense, so that 10,000 of them run in seconds even under ASan: 6 minutes, more
  // than two turns. An offline charger keeps its limits for 40 s (its lease), longer than it
  // takes to notice it (5 s) and lower the others (a few calls of up to 4 s, then 5 s settle).
  sc.timing.horizon = 6min;
  sc.timing.meter_period = 45s;
  sc.timing.lease = 40s;
  SiteSpec& site = sc.site;
  site.id = "sim";

  static constexpr double kFuses[] = {16, 20, 25, 32, 40, 50, 63};
  NodeSpec root;
  root.id = "G";
  root.kind = NodeKind::kGridConnection;
  const double fuse = kFuses[r.below(std::size(kFuses))];
  root.fuse_a = {fuse, fuse, fuse};
  if (r.chance(0.15)) root.fuse_a[r.below(3)] = std::floor(fuse * r.real(0.6, 1.0));
  if (r.chance(0.15)) root.power_limit_kw = std::floor(fuse * 3 * 0.23 * r.real(0.5, 0.95));
  if (r.chance(0.25)) root.imbalance_limit_a = static_cast<double>(r.range(10, 25));
  if (r.chance(0.5)) {
    SiteMeterSpec m;
    const double fb = static_cast<double>(r.range(2, 10));
    m.fallback_a = {fb, fb, fb};
    m.headroom_a = 2.0;
    m.window = 45s;
    m.silence_timeout = 90s;
    root.meter = m;
  }
  site.nodes.push_back(root);
  const int circuits = static_cast<int>(r.range(0, 2));
  for (int i = 0; i < circuits; ++i) {
    NodeSpec c;
    c.id = "B" + std::to_string(i + 1);
    c.parent = "G";
    const double a = static_cast<double>(r.range(16, static_cast<std::int64_t>(fuse)));
    c.fuse_a = {a, a, a};
    site.nodes.push_back(c);
  }
  const int chargers = static_cast<int>(r.range(1, 3));
  int evse_count = 0;
  for (int i = 0; i < chargers; ++i) {
    NodeSpec c;
    c.id = "C" + std::to_string(i + 1);
    c.parent = circuits > 0 && r.chance(0.7) ? "B" + std::to_string(r.range(1, circuits)) : "G";
    c.kind = NodeKind::kCharger;
    const double a = r.chance(0.3) ? 32.0 : 1000.0;
    c.fuse_a = {a, a, a};
    site.nodes.push_back(c);
    const int per = static_cast<int>(r.range(1, 2));
    for (int k = 0; k < per; ++k) {
      EvseSpec e;
      e.id = c.id + "/" + std::to_string(k + 1);
      e.charger = c.id;
      e.rotation = random_rotation(r);
      e.connector_phases = r.chance(0.15) ? 1 : 3;
      e.min_current_a = r.chance(0.85) ? 6.0 : 8.0;
      static constexpr double kMax[] = {16, 20, 32};
      e.max_current_a = kMax[r.below(3)];
      e.can_switch_phases = e.connector_phases == 3 && r.chance(0.2);
      e.supports_smart_charging = r.chance(0.92);
      e.priority = r.chance(0.8) ? 0 : static_cast<int>(r.range(1, 2));
      if (r.chance(0.15)) {
        e.rate_unit = RateUnit::kWatts;
        e.max_current_a = 32;
      }
      if (r.chance(0.5)) e.offline_current_a = r.chance(0.3) ? 0.0 : e.min_current_a;
      site.evses.push_back(e);
      ++evse_count;
    }
  }

  // What no plan can move (EVSEs without smart charging, the building's fallback) must fit every
  // node, or the site is unsafe by construction.
  auto site_or = Site::build(site);
  const Site& built = *site_or;
  std::vector<PhaseCurrents> stuck(built.nodes().size());
  auto recompute = [&] {
    std::fill(stuck.begin(), stuck.end(), PhaseCurrents{});
    for (NodeIndex n = 0; n < built.nodes().size(); ++n) {
      if (built.node(n).spec.meter) stuck[n] = built.node(n).spec.meter->fallback_a;
    }
    for (const EvseSpec& e : site.evses) {
      if (e.supports_smart_charging) continue;
      const Evse& ev = built.evse(*built.find_evse(e.id));
      const PhaseMask grid = ev.grid_mask(ev.connector_mask);
      for (int p = 0; p < kPhaseCount; ++p) {
        if (grid & phase_bit(p)) stuck[ev.charger][p] += e.max_current_a;
      }
    }
    for (NodeIndex n = static_cast<NodeIndex>(built.nodes().size()); n-- > 1;) {
      for (int p = 0; p < kPhaseCount; ++p) stuck[built.node(n).parent][p] += stuck[n][p];
    }
  };
  recompute();
  for (EvseSpec& e : site.evses) {
    bool over = false;
    for (NodeIndex n = 0; n < built.nodes().size(); ++n) {
      for (int p = 0; p < kPhaseCount; ++p) {
        if (stuck[n][p] > built.node(n).spec.fuse_a[p]) over = true;
      }
      if (const auto& kw = built.node(n).spec.power_limit_kw) {
        if ((stuck[n][0] + stuck[n][1] + stuck[n][2]) * 230.0 > *kw * 1000.0) over = true;
      }
    }
    if (!over) break;
    e.supports_smart_charging = true;
    recompute();
  }
  // Flipping an EVSE to smart changes no index: the built site still serves for what follows.
  const Site& final_site = built;

  // The sequence.
  const auto horizon_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sc.timing.horizon).count();
  const int count = static_cast<int>(r.range(8, 28));
  std::vector<std::int64_t> times(static_cast<std::size_t>(count));
  // From 10 s on: the chargers start on their vendor default (their maximum) until the planner's
  // default profile lands, and a vehicle plugged in before that is nobody's to limit.
  for (auto& t : times) t = r.range(10'000, horizon_ms * 3 / 4);
  std::sort(times.begin(), times.end());
  std::vector<bool> present(final_site.evses().size(), false);
  std::vector<NodeIndex> charger_nodes;
  std::vector<NodeIndex> limit_nodes;
  NodeIndex meter_node = kNoNode;
  for (NodeIndex n = 0; n < final_site.nodes().size(); ++n) {
    if (final_site.node(n).spec.kind == NodeKind::kCharger) {
      charger_nodes.push_back(n);
    } else {
      limit_nodes.push_back(n);
    }
    if (final_site.node(n).spec.meter) meter_node = n;
  }
  std::vector<bool> offline(final_site.nodes().size(), false);
  std::vector<bool> rejecting(final_site.nodes().size(), false);
  double building = 0.0;
  std::int64_t building_changed = -30'000;
  bool silent = false;
  std::int64_t resumed = -120'000;
  for (std::int64_t t : times) {
    Action a;
    a.at = ms(t);
    const std::uint64_t roll = r.below(100);
    const auto e = static_cast<EvseIndex>(r.below(final_site.evses().size()));
    const NodeIndex charger = charger_nodes[r.below(charger_nodes.size())];
    const Evse& ev = final_site.evse(e);
    if (roll < 34) {
      if (present[e]) continue;
      present[e] = true;
      a.kind = ActionKind::kArrive;
      a.target = e;
      a.phases = r.chance(0.7) ? 3 : 1;
      a.amps = r.chance(0.6) ? ev.spec.max_current_a
                             : std::floor(r.real(ev.spec.min_current_a, ev.spec.max_current_a));
    } else if (roll < 46) {
      if (!present[e]) continue;
      present[e] = false;
      a.kind = ActionKind::kDepart;
      a.target = e;
    } else if (roll < 54) {
      a.kind = ActionKind::kDraw;
      a.target = e;
      a.amps = std::floor(r.real(ev.spec.min_current_a, ev.spec.max_current_a));
    } else if (roll < 62) {
      a.kind = offline[charger] ? ActionKind::kOnline : ActionKind::kOffline;
      offline[charger] = !offline[charger];
      a.target = charger;
      a.delay = ms(r.range(0, 5000));
    } else if (roll < 70) {
      a.kind = rejecting[charger] ? ActionKind::kRejectOff : ActionKind::kRejectOn;
      rejecting[charger] = !rejecting[charger];
      a.target = charger;
    } else if (roll < 80) {
      const NodeIndex n = limit_nodes[r.below(limit_nodes.size())];
      const PhaseCurrents& f = final_site.node(n).spec.fuse_a;
      const double floor_a = std::max({stuck[n][0], stuck[n][1], stuck[n][2]});
      a.kind = ActionKind::kForecast;
      a.target = n;
      a.amps = std::max(floor_a, std::floor(std::min({f[0], f[1], f[2]}) * r.real(0.3, 0.95)));
      a.delay = sc.settings.limit_lookahead + ms(r.range(1000, 4 * 60'000));
      a.length = ms(r.range(30'000, 4 * 60'000));
    } else if (roll < 92) {
      // A building steps by at most the headroom, and not again before the plan made room.
      if (meter_node == kNoNode || silent || t - building_changed < 30'000 ||
          t - resumed < 30'000) {
        continue;
      }
      const SiteMeterSpec& m = *final_site.node(meter_node).spec.meter;
      const double top = m.fallback_a[0] - m.headroom_a;
      const double next = std::floor(r.real(0.0, std::min(top, building + m.headroom_a)) * 10) / 10;
      if (next < 0.0) continue;
      building = next;
      building_changed = t;
      a.kind = ActionKind::kBuilding;
      a.target = meter_node;
      a.amps = building;
    } else {
      if (meter_node == kNoNode) continue;
      a.kind = silent ? ActionKind::kMeterResume : ActionKind::kMeterSilent;
      if (silent) resumed = t;
      silent = !silent;
      a.target = meter_node;
    }
    sc.actions.push_back(a);
  }
  // Drawn last, so the sites and sequences stay those of the seeds without it.
  if (r.chance(0.3)) sc.settings.start_reserve_a = static_cast<double>(r.range(4, 10));
  return sc;
}

// Equal vehicles (same EVSE, same priority, always drawing in full) on one board that cannot
// give all of them their maximum, for an hour.
Scenario fairness_scenario(std::uint64_t seed) {
  Rng r(seed);
  Scenario sc;
  sc.seed = seed;
  sc.settings = property_settings();
  sc.timing.horizon = 1h;
  SiteSpec& site = sc.site;
  NodeSpec root;
  root.id = "G";
  root.kind = NodeKind::kGridConnection;
  const double fuse = static_cast<double>(r.range(16, 63));
  root.fuse_a = {fuse, fuse, fuse};
  if (r.chance(0.5)) {
    SiteMeterSpec m;
    m.fallback_a = {8, 8, 8};
    root.meter = m;
  }
  site.nodes.push_back(root);
  const int n = static_cast<int>(r.range(3, 8));
  const bool single_phase = r.chance(0.3);
  const auto grid_phase = static_cast<Phase>(r.below(3));
  for (int i = 0; i < n; ++i) {
    NodeSpec c;
    c.id = "C" + std::to_string(i + 1);
    c.parent = "G";
    c.kind = NodeKind::kCharger;
    c.fuse_a = {1000, 1000, 1000};
    site.nodes.push_back(c);
    EvseSpec e;
    e.id = c.id + "/1";
    e.charger = c.id;
    e.rotation = random_rotation(r);
    while (single_phase && e.rotation[0] != grid_phase) e.rotation = random_rotation(r);
    site.evses.push_back(e);
  }
  const auto built = Site::build(site);
  for (EvseIndex e = 0; e < built->evses().size(); ++e) {
    Action a;
    a.at = ms(r.range(10'000, 40'000));
    a.kind = ActionKind::kArrive;
    a.target = e;
    a.phases = single_phase ? 1 : 3;
    a.amps = 32;
    sc.actions.push_back(a);
  }
  if (root.meter) {
    Action a;
    a.at = ms(r.range(0, 10'000));
    a.kind = ActionKind::kBuilding;
    a.target = 0;
    a.amps = static_cast<double>(r.range(0, 5));
    sc.actions.push_back(a);
  }
  std::sort(sc.actions.begin(), sc.actions.end(),
            [](const Action& a, const Action& b) { return a.at < b.at; });
  return sc;
}

// The kind of a failure: a node over a limit, or a vehicle waiting too long.
std::string kind_of(const Failure& f) { return f.what.substr(0, f.what.find(' ')); }

// Delta debugging over the actions: drop chunks while the scenario still fails the same way.
Scenario shrink(Scenario sc) {
  const auto first = run(sc).failure;
  if (!first) return sc;
  sc.timing.horizon = first->at + 1min;
  const std::string kind = kind_of(*first);
  std::size_t chunk = std::max<std::size_t>(1, sc.actions.size() / 2);
  int budget = 2000;
  while (budget > 0) {
    bool removed = false;
    for (std::size_t i = 0; i < sc.actions.size() && budget > 0;) {
      Scenario candidate = sc;
      const auto from = candidate.actions.begin() + static_cast<std::ptrdiff_t>(i);
      candidate.actions.erase(
          from, from + static_cast<std::ptrdiff_t>(std::min(chunk, sc.actions.size() - i)));
      --budget;
      const auto failure = run(candidate).failure;
      if (failure && kind_of(*failure) == kind) {
        sc = std::move(candidate);
        removed = true;
      } else {
        i += chunk;
      }
    }
    if (!removed) {
      if (chunk == 1) break;
      chunk = std::max<std::size_t>(1, chunk / 2);
    }
  }
  return sc;
}

// The last lines of a traced rerun: what the planner sent and what the vehicles drew.
std::string trace_tail(Scenario sc) {
  const std::size_t lines = env_or("SWITCHYARD_SMART_TRACE_LINES", 80);
  sc.trace = true;
  const std::string t = run(sc).trace;
  std::size_t pos = t.size();
  for (std::size_t n = 0; n <= lines; ++n) {
    if (pos == 0) return t;
    pos = t.rfind('\n', pos - 1);
    if (pos == std::string::npos) return t;
  }
  return t.substr(pos + 1);
}

double jain(const std::vector<double>& x) {
  double sum = 0.0;
  double squares = 0.0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  return squares > 0.0 ? sum * sum / (static_cast<double>(x.size()) * squares) : 1.0;
}

TEST(SmartChargingPropertyTest, NoNodeExceedsALimitAndNoVehicleWaitsLongerThanItsTurn) {
  const std::uint64_t first = env_or("SWITCHYARD_SMART_SEED", 0x5A17C4A6EULL);
  const std::uint64_t count = env_or("SWITCHYARD_SMART_SEQUENCES", 10'000);
  std::cout << "property: seeds " << first << " .. " << first + count - 1
            << " (SWITCHYARD_SMART_SEED / SWITCHYARD_SMART_SEQUENCES)\n";
  std::size_t events = 0;
  std::size_t plans = 0;
  std::size_t commands = 0;
  std::size_t raise_now = 0;
  std::size_t reserve_runs = 0;
  std::size_t exempt_runs = 0;
  std::size_t actions = 0;
  Duration longest{};
  for (std::uint64_t i = 0; i < count; ++i) {
    const Scenario sc = generate(first + i);
    const Outcome out = run(sc);
    events += out.events;
    plans += out.plans;
    commands += out.commands;
    raise_now += out.raise_now;
    reserve_runs += sc.settings.start_reserve_a > 0.0 ? 1 : 0;
    actions += sc.actions.size();
    exempt_runs += out.exempt > 0 ? 1 : 0;
    longest = std::max(longest, out.longest_wait);
    if (out.failure) {
      if (std::getenv("SWITCHYARD_SMART_NO_SHRINK")) {
        FAIL() << "seed " << sc.seed << ": " << out.failure->what << "\n"
               << describe(sc) << trace_tail(sc);
      }
      const Scenario small = shrink(sc);
      const Outcome again = run(small);
      FAIL() << "seed " << sc.seed << ": " << out.failure->what << " at +"
             << std::chrono::duration<double>(out.failure->at).count() << " s\n"
             << "shrunk from " << sc.actions.size() << " to " << small.actions.size()
             << " actions; it fails with: "
             << (again.failure ? again.failure->what : std::string("(no failure?)")) << " at +"
             << (again.failure ? std::chrono::duration<double>(again.failure->at).count() : 0.0)
             << " s\n"
             << describe(small) << "trace of the shrunk sequence (end):\n"
             << trace_tail(small) << "rerun: SWITCHYARD_SMART_SEED=" << sc.seed
             << " SWITCHYARD_SMART_SEQUENCES=1";
    }
  }
  std::cout << "property: " << count << " sequences, " << actions << " actions, " << events
            << " events, " << plans << " plans, " << commands << " profiles (" << raise_now
            << " sent at once to a starting session; " << reserve_runs
            << " sequences with a start reserve); longest wait "
            << std::chrono::duration_cast<std::chrono::seconds>(longest).count()
            << " s; runs with an instant where uncontrollable loads alone broke a limit: "
            << exempt_runs << "\n";
}

TEST(SmartChargingPropertyTest, EqualPriorityVehiclesShareEnergyFairlyOverAnHour) {
  const std::uint64_t first = env_or("SWITCHYARD_SMART_SEED", 0x5A17C4A6EULL);
  const std::uint64_t count = env_or("SWITCHYARD_SMART_FAIRNESS", 200);
  double worst = 1.0;
  std::uint64_t worst_seed = first;
  for (std::uint64_t i = 0; i < count; ++i) {
    const Scenario sc = fairness_scenario(first + i);
    const Outcome out = run(sc);
    ASSERT_FALSE(out.failure) << out.failure->what << "\n" << describe(sc) << trace_tail(sc);
    const double j = jain(out.energy_wh);
    if (j < worst) {
      worst = j;
      worst_seed = sc.seed;
    }
    std::string energies;
    for (double wh : out.energy_wh) energies += " " + std::to_string(static_cast<int>(wh));
    EXPECT_GE(j, 0.99) << "energy (Wh):" << energies << "\n"
                       << describe(sc) << (j < 0.99 ? trace_tail(sc) : std::string());
  }
  std::cout << "fairness: " << count << " hours, lowest Jain index " << worst << " (seed "
            << worst_seed << ")\n";
}

// The simulation catches a raise that goes out before the room is there, and the shrinker cuts
// the sequence down to what matters: here vehicles take up to a minute to follow a lower limit
// while the planner is told they follow at once.
TEST(SmartChargingPropertyTest, AFailureIsCaughtShrunkAndPrinted) {
  std::optional<Scenario> failing;
  for (std::uint64_t seed = 1; seed < 2000 && !failing; ++seed) {
    Scenario sc = generate(seed);
    sc.settings.settle = 0s;
    sc.timing.max_follow = 60s;
    if (run(sc).failure) failing = sc;
  }
  ASSERT_TRUE(failing) << "no sequence exposed vehicles that follow late";
  const Scenario small = shrink(*failing);
  const Outcome out = run(small);
  ASSERT_TRUE(out.failure);
  EXPECT_LT(small.actions.size(), failing->actions.size());
  EXPECT_LE(small.actions.size(), 4U);
  const std::string text = describe(small);
  EXPECT_NE(text.find("arrive evse"), std::string::npos) << text;
  std::cout << "shrunk from " << failing->actions.size() << " to " << small.actions.size()
            << " actions: " << out.failure->what << "\n"
            << text;
}

}  // namespace
}  // namespace switchyard::smart_charging::sim
