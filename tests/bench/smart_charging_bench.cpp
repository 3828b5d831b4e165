// Smart-charging re-plan of a 10,000-EVSE site, against a naive equal split of the same site in
// the same run (the split the issue calls "the best take the worst phase": every active EVSE
// gets min over its ancestors of weakest-phase limit / active EVSEs below), so the figure is a
// ratio as well as a time.
//   build/bin/smart_charging_bench --benchmark_format=json | tests/bench/smart_charging_ratios.py
//
// Site: grid connection 3 x 40,000 A (25 MW) -> 10 boards 3 x 5,000 A -> 10 circuits 3 x 630 A
// each -> 50 chargers 3 x 63 A each -> 2 EVSEs each: about three times oversubscribed, so every
// level binds somewhere. Rotations vary, 15 % single-phase EVSEs, 10 % can switch phases, 5 %
// take no profiles, 10 % priority 1; 70 % of EVSEs have a session, 30 % of the vehicles draw on
// one phase. Every profile is accepted, so each re-plan starts from a settled site; between
// re-plans one session ends and another starts.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "smart_charging/planner.h"

namespace {

using namespace switchyard::smart_charging;
using namespace std::chrono_literals;

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33);
  }
  bool chance(int percent) { return next() % 100 < static_cast<std::uint32_t>(percent); }
};

constexpr std::array<std::array<Phase, 3>, 6> kRotations = {{
    {Phase::kL1, Phase::kL2, Phase::kL3},
    {Phase::kL2, Phase::kL3, Phase::kL1},
    {Phase::kL3, Phase::kL1, Phase::kL2},
    {Phase::kL1, Phase::kL3, Phase::kL2},
    {Phase::kL2, Phase::kL1, Phase::kL3},
    {Phase::kL3, Phase::kL2, Phase::kL1},
}};

SiteSpec big_site() {
  Lcg r{42};
  SiteSpec s;
  s.id = "bench";
  auto node = [&](std::string id, std::string parent, NodeKind kind, double a) {
    NodeSpec n;
    n.id = std::move(id);
    n.parent = std::move(parent);
    n.kind = kind;
    n.fuse_a = {a, a, a};
    s.nodes.push_back(std::move(n));
  };
  node("G", "", NodeKind::kGridConnection, 40000);
  s.nodes[0].power_limit_kw = 25000;
  for (int b = 0; b < 10; ++b) {
    const std::string board = "B" + std::to_string(b);
    node(board, "G", NodeKind::kCircuit, 5000);
    for (int c = 0; c < 10; ++c) {
      const std::string circuit = board + "-C" + std::to_string(c);
      node(circuit, board, NodeKind::kCircuit, 630);
      for (int k = 0; k < 50; ++k) {
        const std::string charger = circuit + "-K" + std::to_string(k);
        node(charger, circuit, NodeKind::kCharger, 63);
        for (int e = 1; e <= 2; ++e) {
          EvseSpec ev;
          ev.id = charger + "/" + std::to_string(e);
          ev.charger = charger;
          ev.rotation = kRotations[r.next() % kRotations.size()];
          ev.connector_phases = r.chance(15) ? 1 : 3;
          ev.max_current_a = r.chance(30) ? 16 : 32;
          ev.can_switch_phases = ev.connector_phases == 3 && r.chance(10);
          ev.supports_smart_charging = !r.chance(5);
          ev.priority = r.chance(10) ? 1 : 0;
          s.evses.push_back(std::move(ev));
        }
      }
    }
  }
  return s;
}

// A planner with 70 % of its EVSEs charging, phases learned, every profile accepted.
struct Fixture {
  std::unique_ptr<SitePlanner> planner;
  Time now = Time(std::chrono::seconds(1'800'000'000));
  std::vector<EvseIndex> idle;
  std::vector<EvseIndex> busy;
  Lcg r{7};

  Fixture() {
    auto site = Site::build(big_site());
    if (!site) std::abort();
    planner = std::make_unique<SitePlanner>(std::move(*site), PlannerSettings{});
    const Site& s = planner->site();
    for (NodeIndex n = 0; n < s.nodes().size(); ++n) {
      if (s.node(n).spec.kind == NodeKind::kCharger) planner->charger_connected(n, now);
    }
    for (EvseIndex e = 0; e < s.evses().size(); ++e) {
      if (r.chance(70)) {
        planner->session_started(e, now);
        busy.push_back(e);
      } else {
        idle.push_back(e);
      }
    }
    settle();
    for (EvseIndex e : busy) meter(e);
    settle();
  }

  void meter(EvseIndex e) {
    // 30 % of the vehicles draw on connector L1 only.
    const bool single = (e * 2654435761U) % 10 < 3;
    planner->evse_meter(e, single ? PhaseCurrents{8, 0, 0} : PhaseCurrents{8, 8, 8}, now);
  }

  void answer(const std::vector<ProfileCommand>& commands) {
    for (const ProfileCommand& c : commands) {
      planner->profile_result(c.evse, c.id, ProfileOutcome::kAccepted, now);
    }
  }

  std::size_t settle() {
    now += 2s;
    const Plan plan = planner->replan(now);
    answer(plan.lower_now);
    answer(plan.raise_now);
    now += planner->settings().settle;
    const auto raises = planner->releasable(now);
    answer(raises);
    return plan.lower_now.size() + plan.raise_now.size() + raises.size();
  }

  // One session ends, another starts.
  void churn() {
    const std::size_t i = r.next() % busy.size();
    const std::size_t j = r.next() % idle.size();
    std::swap(busy[i], idle[j]);
    planner->session_ended(idle[j], now);
    planner->session_started(busy[i], now);
    meter(busy[i]);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// SWITCHYARD_BENCH_ITERATIONS=N runs every benchmark exactly N times (for callgrind).
benchmark::internal::Benchmark* fixed(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("SWITCHYARD_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
  return b->Unit(benchmark::kMillisecond);
}

// The planner's re-plan: classify, admit, fill, hysteresis, build the two-step plan.
void BM_SmartCharging_Replan10k(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t commands = 0;
  for (auto _ : state) {
    state.PauseTiming();
    f.churn();
    f.now += 2s;
    state.ResumeTiming();
    Plan plan = f.planner->replan(f.now);
    benchmark::DoNotOptimize(plan);
    state.PauseTiming();
    f.answer(plan.lower_now);
    f.answer(plan.raise_now);
    f.now += f.planner->settings().settle;
    const auto raises = f.planner->releasable(f.now);
    f.answer(raises);
    commands += plan.lower_now.size() + plan.raise_now.size() + raises.size();
    state.ResumeTiming();
  }
  state.counters["evses"] = static_cast<double>(f.planner->site().evses().size());
  state.counters["sessions"] = static_cast<double>(f.busy.size());
  state.counters["profiles_per_plan"] =
      benchmark::Counter(static_cast<double>(commands), benchmark::Counter::kAvgIterations);
}

// Re-plan plus releasing the raises once the lowers are in: "session started" to "all changed
// profiles handed out", without the network.
void BM_SmartCharging_ReplanAndRelease10k(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    state.PauseTiming();
    f.churn();
    f.now += 2s;
    state.ResumeTiming();
    Plan plan = f.planner->replan(f.now);
    f.answer(plan.lower_now);
    f.answer(plan.raise_now);
    f.now += f.planner->settings().settle;
    auto raises = f.planner->releasable(f.now);
    benchmark::DoNotOptimize(raises);
    state.PauseTiming();
    f.answer(raises);
    state.ResumeTiming();
  }
}

// Baseline: equal split of the weakest phase, same site, same sessions.
void BM_SmartCharging_EqualSplit10k(benchmark::State& state) {
  Fixture& f = fixture();
  const Site& site = f.planner->site();
  std::vector<std::uint8_t> active(site.evses().size(), 0);
  for (EvseIndex e : f.busy) active[e] = 1;
  std::vector<std::uint32_t> count(site.nodes().size());
  std::vector<double> share(site.nodes().size());
  std::vector<double> out(site.evses().size());
  for (auto _ : state) {
    std::fill(count.begin(), count.end(), 0U);
    for (EvseIndex e = 0; e < site.evses().size(); ++e) {
      if (!active[e]) continue;
      for (NodeIndex n = site.evse(e).charger; n != kNoNode; n = site.node(n).parent) ++count[n];
    }
    for (NodeIndex n = 0; n < site.nodes().size(); ++n) {
      const PhaseCurrents& a = site.node(n).spec.fuse_a;
      const double weakest = std::min({a[0], a[1], a[2]});
      share[n] = count[n] ? weakest / count[n] : weakest;
      if (site.node(n).parent != kNoNode) share[n] = std::min(share[n], share[site.node(n).parent]);
    }
    for (EvseIndex e = 0; e < site.evses().size(); ++e) {
      out[e] =
          active[e] ? std::min(site.evse(e).spec.max_current_a, share[site.evse(e).charger]) : 0.0;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

// The allocation engine alone on the same demands (admission + progressive filling).
void BM_SmartCharging_WaterFill10k(benchmark::State& state) {
  Fixture& f = fixture();
  const Site& site = f.planner->site();
  WaterFill fill(site);
  for (NodeIndex n = 0; n < site.nodes().size(); ++n) {
    fill.budgets()[n].limit_a = site.node(n).spec.fuse_a;
    fill.budgets()[n].power_limit_w = site.node(n).power_limit_w.value_or(kUnlimited);
  }
  std::vector<Demand> demands;
  for (EvseIndex e : f.busy) {
    const Evse& ev = site.evse(e);
    Demand d;
    d.evse = e;
    d.mask = ev.grid_mask(ev.connector_mask);
    d.max_a = ev.spec.max_current_a;
    d.weight = ev.weight;
    demands.push_back(d);
  }
  std::sort(demands.begin(), demands.end(),
            [](const Demand& a, const Demand& b) { return a.evse < b.evse; });
  std::vector<Grant> grants(demands.size());
  for (auto _ : state) {
    fill.run(demands, grants);
    benchmark::DoNotOptimize(grants.data());
  }
}

// Cold start: every charger just connected, nothing known, every EVSE taken over at once.
void BM_SmartCharging_ColdPlan10k(benchmark::State& state) {
  auto spec = big_site();
  for (auto _ : state) {
    state.PauseTiming();
    auto site = Site::build(spec);
    auto planner = std::make_unique<SitePlanner>(std::move(*site), PlannerSettings{});
    const Time now = Time(std::chrono::seconds(1'800'000'000));
    Lcg r{7};
    for (NodeIndex n = 0; n < planner->site().nodes().size(); ++n) {
      if (planner->site().node(n).spec.kind == NodeKind::kCharger) {
        planner->charger_connected(n, now);
      }
    }
    for (EvseIndex e = 0; e < planner->site().evses().size(); ++e) {
      if (r.chance(70)) planner->session_started(e, now);
    }
    state.ResumeTiming();
    Plan plan = planner->replan(now);
    benchmark::DoNotOptimize(plan);
    state.PauseTiming();
    planner.reset();
    state.ResumeTiming();
  }
}

BENCHMARK(BM_SmartCharging_EqualSplit10k)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_SmartCharging_WaterFill10k)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_SmartCharging_Replan10k)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_SmartCharging_ReplanAndRelease10k)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_SmartCharging_ColdPlan10k)->Apply([](auto* b) { fixed(b); });

}  // namespace

BENCHMARK_MAIN();
