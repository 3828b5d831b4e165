// Short-hand for building smart-charging sites in tests, and a driver that plays the service:
// re-plans, answers profiles at once, waits the settle time, releases raises.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "smart_charging/planner.h"

namespace switchyard::smart_charging::testing {

inline constexpr Phase L1 = Phase::kL1;
inline constexpr Phase L2 = Phase::kL2;
inline constexpr Phase L3 = Phase::kL3;

inline NodeSpec grid_node(std::string id, double amps) {
  NodeSpec n;
  n.id = std::move(id);
  n.kind = NodeKind::kGridConnection;
  n.fuse_a = {amps, amps, amps};
  return n;
}

inline NodeSpec circuit_node(std::string id, std::string parent, double amps) {
  NodeSpec n;
  n.id = std::move(id);
  n.parent = std::move(parent);
  n.kind = NodeKind::kCircuit;
  n.fuse_a = {amps, amps, amps};
  return n;
}

inline NodeSpec charger_node(std::string id, std::string parent, double amps = 1000.0) {
  NodeSpec n;
  n.id = std::move(id);
  n.parent = std::move(parent);
  n.kind = NodeKind::kCharger;
  n.fuse_a = {amps, amps, amps};
  return n;
}

inline EvseSpec evse_spec(std::string id, std::string charger,
                          std::array<Phase, 3> rotation = {L1, L2, L3}) {
  EvseSpec e;
  e.id = std::move(id);
  e.charger = std::move(charger);
  e.rotation = rotation;
  return e;
}

inline Site build_site(SiteSpec spec) {
  auto site = Site::build(std::move(spec));
  if (!site) {
    ADD_FAILURE() << site.error().message;
    std::abort();
  }
  return std::move(*site);
}

inline Time t0() { return Time(std::chrono::seconds(1'800'000'000)); }

// Plays the service around a planner with instant answers.
class Driver {
 public:
  explicit Driver(SiteSpec spec, PlannerSettings settings = {})
      : planner(build_site(std::move(spec)), settings) {}

  EvseIndex evse(std::string_view id) const { return *planner.site().find_evse(id); }
  NodeIndex node(std::string_view id) const { return *planner.site().find_node(id); }

  void connect_all() {
    for (NodeIndex n = 0; n < planner.site().nodes().size(); ++n) {
      if (planner.site().node(n).spec.kind == NodeKind::kCharger) planner.charger_connected(n, now);
    }
  }

  // Re-plan (if due), answer the lowers, wait out the settle time, release and answer the
  // raises; repeat while the planner asks for more (at most `rounds` times). Then every node
  // must hold against the worst case.
  void run(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) {
      if (!planner.needs_replan(now)) {
        now += planner.settings().min_replan_gap;
        if (!planner.needs_replan(now)) break;
      }
      Plan plan = planner.replan(now);
      deliver(plan.lower_now);
      deliver(plan.raise_now);
      now += planner.settings().settle;
      deliver(planner.releasable(now));
    }
    check_limits();
  }

  void deliver(const std::vector<ProfileCommand>& commands) {
    for (const ProfileCommand& c : commands) {
      sent.push_back(c);
      planner.profile_result(c.evse, c.id, answer(c), now);
    }
  }

  // Every node holds against the worst case of what its EVSEs may draw.
  void check_limits() {
    const auto loads = planner.node_loads(now);
    for (NodeIndex n = 0; n < loads.size(); ++n) {
      for (int p = 0; p < kPhaseCount; ++p) {
        EXPECT_LE(loads[n].exposure_a[p], loads[n].limit.current_a[p] + 1e-6)
            << planner.site().node(n).spec.id << " phase " << p;
      }
    }
  }

  double target(std::string_view id) const { return planner.target(evse(id)).current_a; }

  SitePlanner planner;
  Time now = t0();
  std::function<ProfileOutcome(const ProfileCommand&)> answer = [](const ProfileCommand&) {
    return ProfileOutcome::kAccepted;
  };
  std::vector<ProfileCommand> sent;
};

}  // namespace switchyard::smart_charging::testing
