// The smart-charging planner on small sites: per-phase sharing with rotation, worst-case
// counting of uncontrolled chargers, turns, lower-before-raise, fail-safe defaults, explain.
#include "smart_charging/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "unit/smart_charging/test_site.h"

namespace switchyard::smart_charging {
namespace {

using namespace std::chrono_literals;
using testing::charger_node;
using testing::circuit_node;
using testing::Driver;
using testing::evse_spec;
using testing::grid_node;
using testing::L1;
using testing::L2;
using testing::L3;

// Grid 3 x 100 A -> board B 3 x 32 A -> chargers C1..C3, one EVSE each, wired with rotations so
// connector L1 lands on grid L1, L2 and L3.
SiteSpec rotated_board() {
  SiteSpec s;
  s.nodes = {grid_node("G", 100), circuit_node("B", "G", 32), charger_node("C1", "B"),
             charger_node("C2", "B"), charger_node("C3", "B")};
  s.evses = {evse_spec("C1/1", "C1", {L1, L2, L3}), evse_spec("C2/1", "C2", {L2, L3, L1}),
             evse_spec("C3/1", "C3", {L3, L1, L2})};
  return s;
}

TEST(SitePlannerTest, RotatedSinglePhaseVehiclesEachGetTheBoardsFullPhase) {
  Driver d(rotated_board());
  d.connect_all();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) d.planner.session_started(d.evse(id), d.now);
  d.run();
  // Phases unknown: each vehicle is counted on all three, so they share 32 A three ways.
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) EXPECT_NEAR(d.target(id), 10.6, 1e-9) << id;

  // The meters show each vehicle drawing on its connector's L1 only: grid L1, L2, L3.
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) {
    d.planner.evse_meter(d.evse(id), {10.6, 0, 0}, d.now);
  }
  d.run();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) {
    EXPECT_DOUBLE_EQ(d.target(id), 32.0) << id;
    const Explanation x = d.planner.explain(d.evse(id));
    EXPECT_EQ(x.planned.phases, 3);  // the EVSE keeps its phases; the vehicle uses one
  }
  const auto loads = d.planner.node_loads(d.now);
  const NodeIndex board = d.node("B");
  for (int p = 0; p < kPhaseCount; ++p) EXPECT_NEAR(loads[board].exposure_a[p], 32.0, 1e-9);
}

TEST(SitePlannerTest, TwoVehiclesOnTheSameRotatedPhaseShareIt) {
  SiteSpec s = rotated_board();
  s.evses[1].rotation = {L1, L2, L3};  // C2's connector L1 now also lands on grid L1
  Driver d(s);
  d.connect_all();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) d.planner.session_started(d.evse(id), d.now);
  d.run();
  for (const char* id : {"C1/1", "C2/1", "C3/1"})
    d.planner.evse_meter(d.evse(id), {8, 0, 0}, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 16.0);
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 16.0);
  EXPECT_DOUBLE_EQ(d.target("C3/1"), 32.0);  // alone on grid L3
  const Explanation x = d.planner.explain(d.evse("C1/1"));
  EXPECT_EQ(x.reason, Reason::kNodePhaseLimit);
  EXPECT_EQ(x.node, d.node("B"));
  EXPECT_EQ(x.phase, L1);
}

// Board 3 x 80 A with four 32 A chargers.
SiteSpec four_chargers(double board = 80) {
  SiteSpec s;
  s.nodes = {grid_node("G", 200), circuit_node("B", "G", board)};
  for (int i = 1; i <= 4; ++i) {
    const std::string c = "C" + std::to_string(i);
    s.nodes.push_back(charger_node(c, "B"));
    s.evses.push_back(evse_spec(c + "/1", c));
  }
  return s;
}

TEST(SitePlannerTest, RejectingAndOfflineChargersCountAtWorstCaseAndOthersAreLowered) {
  Driver d(four_chargers());
  d.connect_all();
  for (int i = 1; i <= 4; ++i)
    d.planner.session_started(d.evse("C" + std::to_string(i) + "/1"), d.now);
  d.run();
  for (int i = 1; i <= 4; ++i) EXPECT_DOUBLE_EQ(d.target("C" + std::to_string(i) + "/1"), 20.0);

  // C1 starts rejecting: the next change it is sent comes back Rejected.
  const EvseIndex c1 = d.evse("C1/1");
  d.answer = [c1](const ProfileCommand& c) {
    return c.evse == c1 ? ProfileOutcome::kRejected : ProfileOutcome::kAccepted;
  };
  d.planner.evse_meter(c1, {20, 20, 20}, d.now);  // something to re-plan for
  d.planner.set_forecast(d.node("B"), {LimitSlot{d.now, d.now + 1h, PhaseCurrents{79, 79, 79}}});
  d.run();
  EXPECT_EQ(d.planner.explain(c1).reason, Reason::kRejected);
  EXPECT_DOUBLE_EQ(d.planner.exposure(c1, d.now)[0], 32.0);
  EXPECT_TRUE(d.planner.status(c1).rejected);
  EXPECT_FALSE(d.planner.status(c1).applied) << "its limit is unknown";
  EXPECT_TRUE(d.planner.status(d.evse("C2/1")).applied);
  // 79 - 32 = 47 A for the other three.
  for (int i = 2; i <= 4; ++i) EXPECT_DOUBLE_EQ(d.target("C" + std::to_string(i) + "/1"), 15.6);

  // C2 drops offline with no offline current configured: counted at 32 A as well.
  d.planner.charger_disconnected(d.node("C2"), d.now);
  const std::size_t before = d.sent.size();
  d.run();
  EXPECT_EQ(d.planner.explain(d.evse("C2/1")).reason, Reason::kOffline);
  EXPECT_FALSE(d.planner.status(d.evse("C2/1")).online);
  EXPECT_DOUBLE_EQ(d.target("C3/1"), 7.5);  // (79 - 64) / 2
  EXPECT_DOUBLE_EQ(d.target("C4/1"), 7.5);
  for (std::size_t i = before; i < d.sent.size(); ++i) {
    EXPECT_NE(d.sent[i].evse, d.evse("C2/1")) << "nothing is sent to an offline charger";
    if (d.sent[i].purpose == ProfilePurpose::kTx) {
      EXPECT_EQ(d.sent[i].step, PlanStep::kLower);
    }
  }
  EXPECT_NE(d.planner.explain(c1).text.find("worst case 32.0 A"), std::string::npos)
      << d.planner.explain(c1).text;
}

TEST(SitePlannerTest, AnOfflineChargerCountsAtItsOfflineCurrentWhenKnown) {
  SiteSpec s = four_chargers();
  s.evses[1].offline_current_a = 6.0;
  Driver d(s);
  d.connect_all();
  for (int i = 1; i <= 4; ++i)
    d.planner.session_started(d.evse("C" + std::to_string(i) + "/1"), d.now);
  d.run();
  d.planner.charger_disconnected(d.node("C2"), d.now);
  d.run();
  // It may still apply its last 20 A until it notices: max(20, 6).
  EXPECT_DOUBLE_EQ(d.planner.exposure(d.evse("C2/1"), d.now)[0], 20.0);
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 20.0);
}

TEST(SitePlannerTest, VehiclesGetTheirMinimumOrNothingAndTakeTurns) {
  PlannerSettings settings;
  settings.turn = 15min;
  settings.turn_guard = 1min;
  settings.min_slot = 1min;
  SiteSpec s;
  s.nodes = {grid_node("G", 16)};
  for (int i = 1; i <= 3; ++i) {
    const std::string c = "C" + std::to_string(i);
    s.nodes.push_back(charger_node(c, "G"));
    s.evses.push_back(evse_spec(c + "/1", c));
  }
  Driver d(s, settings);
  d.connect_all();
  for (int i = 1; i <= 3; ++i)
    d.planner.session_started(d.evse("C" + std::to_string(i) + "/1"), d.now);

  // 16 A holds two vehicles at 6 A or more, not three.
  std::map<std::string, Time> waiting_since;
  std::map<std::string, Duration> longest_wait;
  std::map<std::string, int> turns;
  const Time end = d.now + 2h;
  while (d.now < end) {
    d.run(1);
    int charging = 0;
    for (int i = 1; i <= 3; ++i) {
      const std::string id = "C" + std::to_string(i) + "/1";
      const double a = d.target(id);
      EXPECT_TRUE(a == 0.0 || a >= 6.0) << id << " got " << a;
      if (a > 0) {
        ++charging;
        if (waiting_since.count(id)) {
          longest_wait[id] = std::max(longest_wait[id], d.now - waiting_since[id]);
          waiting_since.erase(id);
          ++turns[id];
        }
      } else if (!waiting_since.count(id)) {
        waiting_since[id] = d.now;
      }
    }
    EXPECT_EQ(charging, 2);
    d.now = std::max(d.now + 10s, std::min(d.planner.next_wakeup(), d.now + 1min));
  }
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "C" + std::to_string(i) + "/1";
    EXPECT_LE(longest_wait[id], settings.turn) << id;
    EXPECT_GE(turns[id], 3) << id << " should have charged again several times in two hours";
  }
}

TEST(SitePlannerTest, LowersAreAcceptedAndSettledBeforeRaisesGoOut) {
  SiteSpec s;
  s.nodes = {grid_node("G", 32), charger_node("A", "G"), charger_node("B", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  ASSERT_DOUBLE_EQ(d.target("A/1"), 32.0);

  d.now += 1min;
  d.planner.session_started(d.evse("B/1"), d.now);
  ASSERT_TRUE(d.planner.needs_replan(d.now));
  Plan plan = d.planner.replan(d.now);
  // A goes down to 16 A at once; B's 16 A waits.
  ASSERT_EQ(plan.lower_now.size(), 1U);
  EXPECT_EQ(plan.lower_now[0].evse, d.evse("A/1"));
  EXPECT_DOUBLE_EQ(plan.lower_now[0].setpoint.current_a, 16.0);
  ASSERT_EQ(plan.raise_after.size(), 1U);
  EXPECT_EQ(plan.raise_after[0].evse, d.evse("B/1"));
  EXPECT_EQ(plan.raise_after[0].step, PlanStep::kRaise);
  EXPECT_TRUE(d.planner.releasable(d.now).empty()) << "A has not acknowledged";

  d.now += 2s;
  d.planner.profile_result(plan.lower_now[0].evse, plan.lower_now[0].id, ProfileOutcome::kAccepted,
                           d.now);
  EXPECT_TRUE(d.planner.releasable(d.now).empty()) << "A's vehicle may still draw 32 A";
  EXPECT_EQ(d.planner.next_wakeup(), d.now + d.planner.settings().settle);
  d.now += d.planner.settings().settle;
  const auto raises = d.planner.releasable(d.now);
  ASSERT_EQ(raises.size(), 1U);
  EXPECT_EQ(raises[0].evse, d.evse("B/1"));
  EXPECT_DOUBLE_EQ(raises[0].setpoint.current_a, 16.0);
  EXPECT_TRUE(d.planner.releasable(d.now).empty()) << "released once";
}

// With a start reserve, a session that starts under scarcity gets its minimum at once, with the
// lowers, and the rest of its share after they settle; the reserve is free again afterwards.
TEST(SitePlannerTest, AStartReserveGivesAStartingSessionItsMinimumAtOnce) {
  PlannerSettings settings;
  settings.start_reserve_a = 6.0;
  SiteSpec s;
  s.nodes = {grid_node("G", 32), charger_node("A", "G"), charger_node("B", "G"),
             charger_node("C", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B"), evse_spec("C/1", "C")};
  Driver d(s, settings);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 26.0) << "6 A of the 32 A kept free";
  EXPECT_NE(d.planner.explain(d.evse("A/1")).text.find("less the start reserve of 6.0 A"),
            std::string::npos)
      << d.planner.explain(d.evse("A/1")).text;

  d.now += 1min;
  d.planner.session_started(d.evse("B/1"), d.now);
  Plan plan = d.planner.replan(d.now);
  ASSERT_EQ(plan.lower_now.size(), 1U);
  EXPECT_EQ(plan.lower_now[0].evse, d.evse("A/1"));
  EXPECT_DOUBLE_EQ(plan.lower_now[0].setpoint.current_a, 13.0);
  ASSERT_EQ(plan.raise_now.size(), 1U) << "B starts on the reserve, not after A settles";
  EXPECT_EQ(plan.raise_now[0].evse, d.evse("B/1"));
  EXPECT_EQ(plan.raise_now[0].step, PlanStep::kRaiseNow);
  EXPECT_DOUBLE_EQ(plan.raise_now[0].setpoint.current_a, 6.0);
  ASSERT_EQ(plan.raise_after.size(), 1U);
  EXPECT_DOUBLE_EQ(plan.raise_after[0].setpoint.current_a, 13.0);
  d.deliver(plan.lower_now);
  d.deliver(plan.raise_now);
  EXPECT_TRUE(d.planner.releasable(d.now).empty()) << "A's vehicle may still draw 26 A";
  d.now += d.planner.settings().settle;
  d.deliver(d.planner.releasable(d.now));
  d.check_limits();
  ASSERT_GE(d.sent.size(), 3U);
  EXPECT_EQ(d.sent.back().evse, d.evse("B/1"));
  EXPECT_DOUBLE_EQ(d.sent.back().setpoint.current_a, 13.0);

  // The reserve is back: a third session starts at its minimum at once too.
  d.now += 1min;
  d.planner.session_started(d.evse("C/1"), d.now);
  plan = d.planner.replan(d.now);
  ASSERT_EQ(plan.raise_now.size(), 1U);
  EXPECT_EQ(plan.raise_now[0].evse, d.evse("C/1"));
  EXPECT_DOUBLE_EQ(plan.raise_now[0].setpoint.current_a, 6.0);
  d.deliver(plan.lower_now);
  d.deliver(plan.raise_now);
  d.check_limits();
}

// The reserve never keeps a vehicle waiting: where two minimums fit only with it, it is spent.
TEST(SitePlannerTest, AStartReserveIsSpentRatherThanMakeAVehicleWait) {
  PlannerSettings settings;
  settings.start_reserve_a = 6.0;
  SiteSpec s;
  s.nodes = {grid_node("G", 16), charger_node("A", "G"), charger_node("B", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  Driver d(s, settings);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.planner.session_started(d.evse("B/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 8.0);
  EXPECT_DOUBLE_EQ(d.target("B/1"), 8.0);
  EXPECT_EQ(d.planner.explain(d.evse("A/1")).text.find("start reserve"), std::string::npos)
      << d.planner.explain(d.evse("A/1")).text;
}

TEST(SitePlannerTest, ARejectedLowerCancelsTheRaisesAndReplans) {
  SiteSpec s;
  s.nodes = {grid_node("G", 40), charger_node("A", "G"), charger_node("B", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  ASSERT_DOUBLE_EQ(d.target("A/1"), 32.0);
  d.now += 1min;
  d.planner.session_started(d.evse("B/1"), d.now);
  Plan plan = d.planner.replan(d.now);
  ASSERT_EQ(plan.lower_now.size(), 1U);
  d.planner.profile_result(plan.lower_now[0].evse, plan.lower_now[0].id, ProfileOutcome::kRejected,
                           d.now);
  d.now += 10s;
  EXPECT_TRUE(d.planner.releasable(d.now).empty());
  ASSERT_TRUE(d.planner.needs_replan(d.now));
  d.planner.replan(d.now);
  // A counts at 32 A, B gets the 8 A left.
  EXPECT_DOUBLE_EQ(d.target("B/1"), 8.0);
}

TEST(SitePlannerTest, AForecastIsHonouredBeforeItsSlotStarts) {
  PlannerSettings settings;
  settings.limit_lookahead = 2min;
  settings.recalc_interval = 1h;
  SiteSpec s;
  s.nodes = {grid_node("G", 63), charger_node("A", "G")};
  s.evses = {evse_spec("A/1", "A")};
  Driver d(s, settings);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  ASSERT_DOUBLE_EQ(d.target("A/1"), 32.0);
  const Time slot = d.now + 10min;
  d.planner.set_forecast(d.node("G"), {LimitSlot{slot, slot + 15min, PhaseCurrents{20, 20, 20}}});
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 32.0) << "the slot is still far";
  EXPECT_EQ(d.planner.next_wakeup(), slot - settings.limit_lookahead);
  d.now = slot - settings.limit_lookahead;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 20.0);
  const Explanation x = d.planner.explain(d.evse("A/1"));
  EXPECT_EQ(x.source, LimitSource::kGridForecast);
  d.now = slot + 15min;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 32.0);
}

TEST(SitePlannerTest, FailSafeDefaultsHoldTheSiteIfEveryChargerFallsBack) {
  SiteSpec s;
  s.nodes = {grid_node("G", 63), circuit_node("B1", "G", 32), circuit_node("B2", "G", 40)};
  for (int i = 1; i <= 6; ++i) {
    const std::string c = "C" + std::to_string(i);
    s.nodes.push_back(charger_node(c, i <= 3 ? "B1" : "B2", 32));
    s.evses.push_back(evse_spec(c + "/1", c));
    s.evses.push_back(evse_spec(c + "/2", c, {L2, L3, L1}));
  }
  s.evses[4].connector_phases = 1;
  s.evses[11].supports_smart_charging = false;  // takes 16 A whatever happens
  s.evses[11].max_current_a = 16;
  s.nodes[0].meter = SiteMeterSpec{.fallback_a = {5, 5, 5}};
  Driver d(s);
  const Time later = d.now + 3h;
  d.planner.set_forecast(d.node("G"), {LimitSlot{later, later + 1h, PhaseCurrents{50, 50, 50}}});
  const std::vector<double> fs = d.planner.fail_safe_currents(d.now);
  const Site& site = d.planner.site();
  std::vector<PhaseCurrents> load(site.nodes().size());
  for (EvseIndex e = 0; e < site.evses().size(); ++e) {
    const Evse& ev = site.evse(e);
    EXPECT_TRUE(fs[e] == 0.0 || fs[e] >= ev.spec.min_current_a) << ev.spec.id << " " << fs[e];
    const PhaseMask grid = ev.grid_mask(ev.connector_mask);
    for (NodeIndex n = ev.charger; n != kNoNode; n = site.node(n).parent) {
      for (int p = 0; p < kPhaseCount; ++p) {
        if (grid & phase_bit(p)) load[n][p] += fs[e];
      }
    }
  }
  for (int p = 0; p < kPhaseCount; ++p) {
    EXPECT_LE(load[0][p] + 5.0, 50.0 + 1e-9);  // the forecast's 50 A with the building's 5 A
    EXPECT_LE(load[d.node("B1")][p], 32.0 + 1e-9);
    EXPECT_LE(load[d.node("B2")][p], 40.0 + 1e-9);
  }
  EXPECT_DOUBLE_EQ(fs[11], 16.0);
  // 50 - 5 - 16 = 29 A on every phase, and every EVSE uses L1: four minimums fit, one per charger
  // first.
  EXPECT_EQ(std::count_if(fs.begin(), fs.end() - 1, [](double a) { return a > 0.0; }), 4);
  EXPECT_GT(fs[0], 0.0);
  EXPECT_EQ(fs[1], 0.0) << "the first EVSE of every charger goes first";
  EXPECT_GT(fs[2], 0.0);
}

TEST(SitePlannerTest, ExplainNamesTheBindingNodePhaseAndWhy) {
  SiteSpec s;
  s.nodes = {grid_node("G", 100), circuit_node("B", "G", 32), charger_node("C1", "B"),
             charger_node("C2", "B")};
  s.nodes[1].fuse_a = {32, 20, 32};  // L2 is the weak phase
  s.evses = {evse_spec("C1/1", "C1"), evse_spec("C2/1", "C2", {L3, L1, L2})};
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("C1/1"), d.now);
  d.run();
  Explanation x = d.planner.explain(d.evse("C1/1"));
  EXPECT_EQ(x.reason, Reason::kNodePhaseLimit);
  EXPECT_EQ(x.node, d.node("B"));
  EXPECT_EQ(x.phase, L2);
  EXPECT_EQ(x.source, LimitSource::kFuse);
  EXPECT_DOUBLE_EQ(x.limit, 20.0);
  EXPECT_DOUBLE_EQ(x.planned.current_a, 20.0);
  EXPECT_NE(x.text.find("circuit B phase L2: 20.0 A (fuse)"), std::string::npos) << x.text;

  // An operator override lowers B; the explanation follows the source.
  d.planner.set_override(d.node("B"), LimitSlot{d.now, d.now + 1h, PhaseCurrents{10, 10, 10}});
  d.run();
  x = d.planner.explain(d.evse("C1/1"));
  EXPECT_EQ(x.source, LimitSource::kOperatorOverride);
  EXPECT_DOUBLE_EQ(x.planned.current_a, 10.0);

  // A second vehicle does not fit its 6 A minimum next to the first: it waits, and says where.
  d.planner.session_started(d.evse("C2/1"), d.now);
  d.run();
  x = d.planner.explain(d.evse("C2/1"));
  EXPECT_EQ(x.reason, Reason::kWaiting);
  EXPECT_EQ(x.node, d.node("B"));
  EXPECT_NE(x.text.find("waiting for its turn"), std::string::npos) << x.text;

  EXPECT_EQ(d.planner.explain(d.evse("C1/1")).planned.current_a, 10.0);
}

TEST(SitePlannerTest, UndrawnCapacityGoesToOthersAfterTheObservation) {
  PlannerSettings settings;
  settings.draw_observation = 60s;
  SiteSpec s;
  s.nodes = {grid_node("G", 32), charger_node("A", "G"), charger_node("B", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  Driver d(s, settings);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.planner.session_started(d.evse("B/1"), d.now);
  d.run();
  ASSERT_DOUBLE_EQ(d.target("A/1"), 16.0);
  // A's vehicle takes 10 A of its 16.
  for (int i = 0; i < 4; ++i) {
    const double b = d.target("B/1");
    d.planner.evse_meter(d.evse("A/1"), {10, 10, 10}, d.now);
    d.planner.evse_meter(d.evse("B/1"), {b, b, b}, d.now);
    d.now += 30s;
    d.run();
  }
  EXPECT_DOUBLE_EQ(d.target("A/1"), 11.0);  // what it draws plus the 1 A margin
  EXPECT_DOUBLE_EQ(d.target("B/1"), 21.0);
  EXPECT_EQ(d.planner.explain(d.evse("A/1")).reason, Reason::kVehicleDraw);
  // It wants more again: the cap goes and the next plan shares evenly.
  d.planner.evse_meter(d.evse("A/1"), {11, 11, 11}, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 16.0);
}

TEST(SitePlannerTest, SmallChangesAreNotSent) {
  PlannerSettings settings;
  settings.hysteresis_a = 1.0;
  SiteSpec s;
  s.nodes = {grid_node("G", 32), charger_node("A", "G"), charger_node("B", "G")};
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  s.nodes[0].meter = SiteMeterSpec{.window = 60s, .headroom_a = 0.0, .fallback_a = {10, 10, 10}};
  Driver d(s, settings);
  d.connect_all();
  d.planner.site_meter(d.node("G"), {2, 2, 2}, d.now);
  d.planner.session_started(d.evse("A/1"), d.now);
  d.planner.session_started(d.evse("B/1"), d.now);
  d.run();
  ASSERT_DOUBLE_EQ(d.target("A/1"), 15.0);
  const std::size_t before = d.sent.size();
  // The building drops by 1 A: 0.5 A more each is not worth a profile.
  d.now += 20s;
  d.planner.site_meter(d.node("G"), {0.5, 0.5, 0.5}, d.now);
  d.now += 61s;
  d.planner.site_meter(d.node("G"), {1, 1, 1}, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 15.0);
  EXPECT_EQ(d.sent.size(), before);
  // The building rises by 3 A: that must be made room for, small or not per vehicle.
  d.now += 1s;
  d.planner.site_meter(d.node("G"), {4, 4, 4}, d.now);
  EXPECT_TRUE(d.planner.needs_replan(d.now));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 14.0);
  EXPECT_DOUBLE_EQ(d.target("B/1"), 14.0);
}

TEST(SitePlannerTest, ASilentSiteMeterFallsBackToItsFallbackValue) {
  SiteSpec s;
  s.nodes = {grid_node("G", 40), charger_node("A", "G")};
  s.evses = {evse_spec("A/1", "A")};
  s.nodes[0].meter = SiteMeterSpec{
      .window = 60s, .headroom_a = 2.0, .silence_timeout = 2min, .fallback_a = {20, 20, 20}};
  PlannerSettings settings;
  settings.recalc_interval = 1h;
  Driver d(s, settings);
  d.connect_all();
  d.planner.site_meter(d.node("G"), {4, 5, 6}, d.now);
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 32.0);  // 40 - (6 + 2) = 32 on the worst phase
  EXPECT_EQ(d.planner.next_wakeup(), testing::t0() + 2min) << "when the meter turns silent";
  d.now = testing::t0() + 2min;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 20.0);
}

TEST(SitePlannerTest, PhaseImbalanceLimitsALoneSinglePhaseVehicle) {
  SiteSpec s;
  s.nodes = {grid_node("G", 63), charger_node("A", "G"), charger_node("B", "G")};
  s.nodes[0].imbalance_limit_a = 16.0;
  s.nodes.push_back(charger_node("C", "G"));
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B", {L2, L3, L1}),
             evse_spec("C/1", "C", {L3, L1, L2})};
  for (EvseSpec& e : s.evses) e.connector_phases = 1;
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 16.0);
  Explanation x = d.planner.explain(d.evse("A/1"));
  EXPECT_EQ(x.reason, Reason::kPhaseImbalance);
  EXPECT_EQ(x.phase, L1);
  // A second one on L2: L3 is still empty, so both stay within 16 A of it.
  d.planner.session_started(d.evse("B/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 16.0);
  EXPECT_DOUBLE_EQ(d.target("B/1"), 16.0);
  // The third on L3 balances the site: all take their maximum.
  d.planner.session_started(d.evse("C/1"), d.now);
  d.run();
  for (const char* id : {"A/1", "B/1", "C/1"}) EXPECT_DOUBLE_EQ(d.target(id), 32.0) << id;
}

TEST(SitePlannerTest, PowerLimitAndPriorityWeights) {
  SiteSpec s;
  s.nodes = {grid_node("G", 100), charger_node("A", "G"), charger_node("B", "G")};
  s.nodes[0].power_limit_kw = 0.230 * 3 * 30;  // 30 A on three phases at 230 V
  s.evses = {evse_spec("A/1", "A"), evse_spec("B/1", "B")};
  s.evses[1].priority = 1;  // weight 2
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.planner.session_started(d.evse("B/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("A/1"), 10.0);
  EXPECT_DOUBLE_EQ(d.target("B/1"), 20.0);
  EXPECT_EQ(d.planner.explain(d.evse("A/1")).reason, Reason::kNodePowerLimit);
}

TEST(SitePlannerTest, WattChargersGetPowerForTheKnownPhases) {
  SiteSpec s;
  s.nodes = {grid_node("G", 20), charger_node("A", "G")};
  s.evses = {evse_spec("A/1", "A")};
  s.evses[0].rate_unit = RateUnit::kWatts;
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  auto last_tx = [&] {
    for (auto it = d.sent.rbegin(); it != d.sent.rend(); ++it) {
      if (it->purpose == ProfilePurpose::kTx) return *it;
    }
    return ProfileCommand{};
  };
  // Phases unknown: a single-phase vehicle could take the whole power on one phase, so the power
  // is for one phase, and at least three minimums so a three-phase vehicle can start.
  EXPECT_EQ(last_tx().unit, RateUnit::kWatts);
  EXPECT_DOUBLE_EQ(last_tx().power_w, 20 * 230.0);
  d.planner.evse_meter(d.evse("A/1"), {6.6, 6.6, 6.6}, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(last_tx().power_w, 20 * 3 * 230.0);
  EXPECT_DOUBLE_EQ(d.target("A/1"), 20.0);

  // On a circuit too small for three minimums it waits until its phases are known.
  SiteSpec small = s;
  small.nodes[0].fuse_a = {16, 16, 16};
  Driver d2(small);
  d2.connect_all();
  d2.planner.session_started(d2.evse("A/1"), d2.now);
  d2.run();
  EXPECT_EQ(d2.planner.explain(d2.evse("A/1")).reason, Reason::kWaiting);
}

TEST(SitePlannerTest, APhaseSwitchingEvseGoesToOnePhaseWhenThreeDoNotFit) {
  SiteSpec s;
  s.nodes = {grid_node("G", 63), circuit_node("B", "G", 32), charger_node("A", "B"),
             charger_node("X", "B")};
  s.nodes[1].fuse_a = {32, 8, 8};
  s.evses = {evse_spec("A/1", "A"), evse_spec("X/1", "X")};
  s.evses[0].can_switch_phases = true;
  Driver d(s);
  d.connect_all();
  d.planner.session_started(d.evse("X/1"), d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("X/1"), 8.0);  // three phases at 8 A: L2 and L3 are full
  // A's three phases do not fit next to X; one phase on L1 does, and takes what L1 has left.
  d.planner.session_started(d.evse("A/1"), d.now);
  d.run();
  EXPECT_EQ(d.planner.target(d.evse("A/1")), (Setpoint{24.0, 1}));
  EXPECT_EQ(d.planner.target(d.evse("X/1")), (Setpoint{8.0, 3}));
  // No profile ever asked A for one phase at 0 A first.
  for (const ProfileCommand& c : d.sent) {
    if (c.evse == d.evse("A/1") && c.purpose == ProfilePurpose::kTx) {
      EXPECT_GT(c.setpoint.current_a, 0.0);
    }
  }
}

// An eMSP's limit on one session (OCPI chargingprofiles): it caps that session and frees the rest
// for the others, follows its periods, pauses the session under the minimum, converts watts over
// the vehicle's phases, and ends with the session.
TEST(SitePlannerTest, ASessionLimitCapsThatSessionAndFollowsItsPeriods) {
  Driver d(four_chargers());
  d.connect_all();
  const EvseIndex c1 = d.evse("C1/1");
  const EvseIndex c2 = d.evse("C2/1");
  d.planner.session_started(c1, d.now);
  d.planner.session_started(c2, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 32.0);
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 32.0);

  EXPECT_FALSE(d.planner.set_session_limit(d.evse("C3/1"), SessionLimit{})) << "no session on C3";
  const Time start = d.now;
  SessionLimit limit;
  limit.start = start;
  limit.end = start + 30min;
  limit.periods = {{0min, 10.0}, {10min, 4.0}, {20min, 16.0}};
  limit.source = "eMSP NL*EMS";
  ASSERT_TRUE(d.planner.set_session_limit(c1, limit));
  EXPECT_TRUE(d.planner.needs_replan(d.now));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 10.0);
  Explanation x = d.planner.explain(c1);
  EXPECT_EQ(x.reason, Reason::kSessionLimit);
  EXPECT_NE(x.text.find("eMSP NL*EMS"), std::string::npos) << x.text;
  EXPECT_EQ(d.planner.status(c1).session_limit_a, 10.0);

  // The next period starts at +10 min: the planner wakes for it, and 4 A is under the 6 A
  // minimum: the session pauses (0 A) until +20 min.
  EXPECT_LE(d.planner.next_wakeup(), start + 10min);
  d.now = start + 10min;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 0.0);
  x = d.planner.explain(c1);
  EXPECT_EQ(x.reason, Reason::kSessionLimit);
  EXPECT_NE(x.text.find("paused"), std::string::npos) << x.text;
  d.now = start + 20min;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 16.0);
  // Past its end the limit is gone.
  d.now = start + 30min;
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 32.0);

  // Watts: 6,900 W over a vehicle seen on one phase is 30 A; over three, 10 A.
  SessionLimit watts;
  watts.unit = RateUnit::kWatts;
  watts.start = d.now;
  watts.periods = {{0min, 6900.0}};
  ASSERT_TRUE(d.planner.set_session_limit(c2, watts));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 10.0);
  d.planner.evse_meter(c2, {9.8, 0, 0}, d.now);
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 30.0);

  // A new session on the EVSE starts without it.
  d.planner.session_ended(c2, d.now);
  d.planner.session_started(c2, d.now);
  EXPECT_FALSE(d.planner.session_limit(c2));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 32.0);
}

// Under scarcity, the room a limited session leaves goes to the others.
TEST(SitePlannerTest, TheRoomASessionLimitLeavesGoesToTheOthers) {
  Driver d(four_chargers(60));
  d.connect_all();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) d.planner.session_started(d.evse(id), d.now);
  d.run();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) EXPECT_DOUBLE_EQ(d.target(id), 20.0) << id;
  SessionLimit limit;
  limit.start = d.now;
  limit.periods = {{0min, 8.0}};
  ASSERT_TRUE(d.planner.set_session_limit(d.evse("C1/1"), limit));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 8.0);
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 26.0);
  EXPECT_DOUBLE_EQ(d.target("C3/1"), 26.0);
}

// An eMSP's min_charging_rate: the vehicle gets at least that (or waits), the others share the
// rest; under a limit below it, it pauses.
TEST(SitePlannerTest, ASessionsMinRateIsItsMinimum) {
  Driver d(four_chargers(24));
  d.connect_all();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) d.planner.session_started(d.evse(id), d.now);
  d.run();
  for (const char* id : {"C1/1", "C2/1", "C3/1"}) EXPECT_DOUBLE_EQ(d.target(id), 8.0) << id;
  SessionLimit limit;
  limit.start = d.now;
  limit.periods = {{0min, 32.0}};
  limit.min_rate = 12.0;
  ASSERT_TRUE(d.planner.set_session_limit(d.evse("C1/1"), limit));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 12.0);
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 6.0);
  EXPECT_DOUBLE_EQ(d.target("C3/1"), 6.0);
  EXPECT_DOUBLE_EQ(d.planner.explain(d.evse("C1/1")).minimum_a, 12.0);

  limit.periods = {{0min, 10.0}};  // the limit leaves less than it charges well at: paused
  ASSERT_TRUE(d.planner.set_session_limit(d.evse("C1/1"), limit));
  d.run();
  EXPECT_DOUBLE_EQ(d.target("C1/1"), 0.0);
  EXPECT_EQ(d.planner.explain(d.evse("C1/1")).reason, Reason::kSessionLimit);
  EXPECT_DOUBLE_EQ(d.target("C2/1"), 12.0);
}

TEST(SiteTest, RejectsBrokenTrees) {
  SiteSpec s;
  s.nodes = {grid_node("G", 63), circuit_node("B", "nowhere", 32)};
  EXPECT_FALSE(Site::build(s));
  s.nodes = {grid_node("G", 63), grid_node("H", 63)};
  EXPECT_FALSE(Site::build(s));
  s.nodes = {grid_node("G", 63), charger_node("C", "G")};
  s.evses = {evse_spec("C/1", "C", {L1, L1, L3})};
  EXPECT_FALSE(Site::build(s)) << "rotation must be a permutation";
  s.evses = {evse_spec("C/1", "missing")};
  EXPECT_FALSE(Site::build(s));
  s.nodes = {grid_node("G", 63), circuit_node("A", "B", 32), circuit_node("B", "A", 32)};
  s.evses.clear();
  EXPECT_FALSE(Site::build(s)) << "a cycle";
}

TEST(SiteTest, NodesCoverContiguousEvseRanges) {
  SiteSpec s;
  s.nodes = {charger_node("C2", "B2"), grid_node("G", 63), circuit_node("B1", "G", 32),
             circuit_node("B2", "G", 32), charger_node("C1", "B1")};
  s.evses = {evse_spec("C2/1", "C2"), evse_spec("C1/1", "C1"), evse_spec("C2/2", "C2")};
  auto site = Site::build(s);
  ASSERT_TRUE(site) << site.error().message;
  EXPECT_EQ(site->node(0).spec.id, "G");
  const Node& b2 = site->node(*site->find_node("B2"));
  EXPECT_EQ(b2.evse_end - b2.evse_begin, 2U);
  const Node& g = site->node(0);
  EXPECT_EQ(g.evse_end - g.evse_begin, 3U);
  for (EvseIndex e = b2.evse_begin; e < b2.evse_end; ++e) {
    EXPECT_EQ(site->evse(e).spec.charger, "C2");
  }
}

}  // namespace
}  // namespace switchyard::smart_charging
