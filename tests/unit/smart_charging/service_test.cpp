// The smart-charging service around the planner: sites through the API's translation, facts
// from ocpp.events.v1, profiles out through a fake sender in the planner's order, answers back,
// the store. A fake clock; no network.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <deque>
#include <filesystem>
#include <map>

#include "smart_charging/charger_events.h"
#include "smart_charging/grpc_api.h"
#include "smart_charging/smart_charging.h"
#include "smart_charging/store.h"
#include "support/fake_clock.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::smart_charging {
namespace {

using namespace std::chrono_literals;

class FakeSender final : public ProfileSender {
 public:
  struct Sent {
    ProfileRequest request;
    std::function<void(ProfileAnswer)> done;
  };
  void send(const ProfileRequest& request, std::function<void(ProfileAnswer)> done) override {
    sent.push_back({request, std::move(done)});
  }
  void release(const std::string& charger_id, const std::vector<int>& evse_ids,
               std::function<void(ProfileAnswer)> done) override {
    released.emplace_back(charger_id, evse_ids);
    done({ProfileOutcome::kAccepted, "test"});
  }
  std::vector<std::pair<std::string, std::vector<int>>> released;
  // Answers everything sent so far; returns how many.
  std::size_t answer_all(ProfileOutcome outcome = ProfileOutcome::kAccepted) {
    std::size_t n = 0;
    while (!sent.empty()) {
      auto s = std::move(sent.front());
      sent.pop_front();
      answered.push_back(s.request);
      s.done({outcome, "test"});
      ++n;
    }
    return n;
  }
  std::deque<Sent> sent;
  std::vector<ProfileRequest> answered;
};

// Takes fail-safes from 1.6 and 2.1 chargers (a key configured for 1.6, none for 2.0.1).
class FakeFallback final : public FallbackSender {
 public:
  struct Sent {
    FallbackRequest request;
    std::function<void(ProfileAnswer)> done;
  };
  bool can_install(ChargerProtocol protocol) const override {
    return protocol == ChargerProtocol::k16 || protocol == ChargerProtocol::k21;
  }
  void install(const FallbackRequest& request, std::function<void(ProfileAnswer)> done) override {
    sent.push_back({request, std::move(done)});
  }
  std::size_t answer_all(ProfileOutcome outcome = ProfileOutcome::kAccepted) {
    std::size_t n = 0;
    while (!sent.empty()) {
      auto s = std::move(sent.front());
      sent.pop_front();
      s.done({outcome, "test"});
      ++n;
    }
    return n;
  }
  std::deque<Sent> sent;
};

// Answers GetCompositeSchedule checks as the test says.
class FakeReader final : public ScheduleReader {
 public:
  struct Sent {
    EvseAddress evse;
    RateUnit unit;
    std::function<void(Result<std::optional<double>>)> done;
  };
  void composite_limit(const EvseAddress& evse, RateUnit unit,
                       std::function<void(Result<std::optional<double>>)> done) override {
    sent.push_back({evse, unit, std::move(done)});
  }
  std::deque<Sent> sent;
};

class FakeStore final : public SiteStore {
 public:
  Result<std::vector<StoredSite>> load_all() override {
    std::vector<StoredSite> out;
    out.reserve(sites.size());
    for (auto& [id, site] : sites) out.push_back(site);
    return out;
  }
  Result<bool> put(const std::string& id, const std::string& json,
                   const std::vector<std::string>&) override {
    const bool created = !sites.contains(id);
    sites[id].id = id;
    sites[id].definition_json = json;
    return created;
  }
  Result<bool> remove(const std::string& id) override { return sites.erase(id) > 0; }
  Result<void> put_limits(const std::string& site_id, const StoredSite::Limits& limits) override {
    sites[site_id].limits.push_back(limits);
    return {};
  }
  Result<std::vector<StoredSessionLimit>> load_session_limits() override {
    std::vector<StoredSessionLimit> out;
    for (const auto& [key, limit] : session_limits) out.push_back({key.first, key.second, limit});
    return out;
  }
  Result<void> put_session_limit(const StoredSessionLimit& limit) override {
    if (unavailable) return make_error(ErrorCode::kUnavailable, "database down");
    session_limits[{limit.charger_id, limit.transaction_id}] = limit.limit;
    return {};
  }
  Result<void> remove_session_limit(const std::string& charger_id,
                                    const std::string& transaction_id) override {
    if (unavailable) return make_error(ErrorCode::kUnavailable, "database down");
    session_limits.erase({charger_id, transaction_id});
    return {};
  }
  std::map<std::string, StoredSite> sites;
  std::map<std::pair<std::string, std::string>, SessionLimit> session_limits;
  bool unavailable = false;
};

v1::SiteNode* add_node(v1::Site& site, const std::string& id, const std::string& parent,
                       v1::NodeKind kind, double amps) {
  auto* n = site.add_nodes();
  n->set_id(id);
  n->set_parent(parent);
  n->set_kind(kind);
  n->mutable_fuse_a()->set_l1_a(amps);
  n->mutable_fuse_a()->set_l2_a(amps);
  n->mutable_fuse_a()->set_l3_a(amps);
  return n;
}

v1::SiteEvse* add_evse(v1::Site& site, const std::string& charger, int evse_id) {
  auto* e = site.add_evses();
  e->set_charger_id(charger);
  e->set_evse_id(evse_id);
  return e;
}

// A 3 x 32 A board with `chargers` chargers CP-1..n of one EVSE each.
v1::Site board(int chargers, double amps = 32.0) {
  v1::Site site;
  site.set_id("depot");
  add_node(site, "grid", "", v1::NODE_KIND_GRID_CONNECTION, 63.0);
  add_node(site, "board", "grid", v1::NODE_KIND_CIRCUIT, amps);
  for (int i = 1; i <= chargers; ++i) {
    add_node(site, "CP-" + std::to_string(i), "board", v1::NODE_KIND_CHARGER, 1000.0);
    add_evse(site, "CP-" + std::to_string(i), 1);
  }
  return site;
}

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() : service(sender, store, clock, settings(), nullptr, &fallback, &reader) {}

  static ServiceSettings settings() {
    ServiceSettings s;
    s.planner.min_replan_gap = 0s;
    return s;
  }

  void put(const v1::Site& site) {
    auto definition = site_definition(site);
    ASSERT_TRUE(definition) << definition.error().message;
    auto created = service.put_site(std::move(*definition));
    ASSERT_TRUE(created) << created.error().message;
  }

  // Ticks and answers until nothing more goes out (advancing past settle times).
  void settle(ProfileOutcome outcome = ProfileOutcome::kAccepted) {
    for (int round = 0; round < 20; ++round) {
      service.tick();
      const bool any = sender.answer_all(outcome) > 0;
      clock.advance(6s);
      if (!any && service.tick() == 0) return;
      sender.answer_all(outcome);
    }
  }

  // The last profile the EVSE received.
  std::optional<ProfileRequest> last_for(const std::string& charger) const {
    std::optional<ProfileRequest> out;
    for (const auto& r : sender.answered) {
      if (r.evse.charger_id == charger) out = r;
    }
    return out;
  }

  // The node's load view in the current plan.
  NodeLoad load_of(const std::string& node_id) {
    auto plan = service.plan("depot");
    for (const auto& n : plan->nodes) {
      if (n.node_id == node_id) return n.load;
    }
    ADD_FAILURE() << "no node " << node_id;
    return {};
  }

  testing::FakeClock clock;
  FakeSender sender;
  FakeFallback fallback;
  FakeReader reader;
  FakeStore store;
  SmartChargingService service;
};

TEST(SiteDefinition, NamesWhatIsWrong) {
  v1::Site site = board(1);
  site.mutable_nodes(1)->set_kind(v1::NODE_KIND_UNSPECIFIED);
  auto r = site_definition(site);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("node 'board': kind is required"), std::string::npos);

  site = board(1);
  site.mutable_evses(0)->add_rotation(v1::PHASE_L1);
  site.mutable_evses(0)->add_rotation(v1::PHASE_L1);
  site.mutable_evses(0)->add_rotation(v1::PHASE_L2);
  r = site_definition(site);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("EVSE CP-1/1: rotation must be a permutation"),
            std::string::npos);

  site = board(1);
  site.mutable_evses(0)->set_priority(12);
  EXPECT_FALSE(site_definition(site));
  site = board(1);
  site.mutable_evses(0)->set_evse_id(0);
  EXPECT_FALSE(site_definition(site));
}

TEST(SiteDefinition, JsonRoundTripKeepsTheSite) {
  v1::Site site = board(2);
  site.mutable_evses(1)->set_connector_phases(1);
  auto definition = site_definition(site);
  ASSERT_TRUE(definition);
  auto again = site_definition_from_json(definition->json);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->json, definition->json);
  EXPECT_EQ(again->spec.evses[1].connector_phases, 1);
  EXPECT_FALSE(site_definition_from_json("{\"id\": 3"));
}

TEST_F(ServiceTest, RejectsATreeTheCoreRefusesAndAChargerInTwoSites) {
  v1::Site broken = board(1);
  broken.mutable_nodes(2)->set_parent("nowhere");
  auto definition = site_definition(broken);
  ASSERT_TRUE(definition);
  auto r = service.put_site(std::move(*definition));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(store.sites.empty());

  put(board(1));
  v1::Site other = board(1);
  other.set_id("other");
  auto second = service.put_site(*site_definition(other));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(second.error().message.find("CP-1 is already in site depot"), std::string::npos);
}

TEST_F(ServiceTest, ASessionGetsTheBoardAsATxProfileWithItsTransaction) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  settle();
  service.session_started({"CP-1", 1}, "tx-42");
  settle();
  auto last = last_for("CP-1");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->transaction_id, "tx-42");
  EXPECT_EQ(last->command.purpose, ProfilePurpose::kTx);
  EXPECT_DOUBLE_EQ(last->command.setpoint.current_a, 32.0);
  auto plan = service.plan("depot");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->admitted, 1U);
  EXPECT_TRUE(plan->evses[0].status.session);
  EXPECT_TRUE(plan->evses[0].status.online);
}

// With --start-reserve, the second session's first TxProfile goes out with CP-1's lower, in the
// same tick, and the rest of its share once CP-1 accepted and settled.
TEST(ServiceStartReserve, ASecondSessionStartsAtOnceOnTheReserve) {
  ServiceSettings settings;
  settings.planner.min_replan_gap = 0s;
  settings.planner.start_reserve_a = 6.0;
  ASSERT_TRUE(check_service_settings(settings));
  testing::FakeClock clock;
  FakeSender sender;
  FakeFallback fallback;
  FakeReader reader;
  FakeStore store;
  SmartChargingService service(sender, store, clock, settings, nullptr, &fallback, &reader);
  ASSERT_TRUE(service.put_site(*site_definition(board(2))));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  service.session_started({"CP-1", 1}, "a");
  for (int i = 0; i < 4; ++i) {
    service.tick();
    sender.answer_all(ProfileOutcome::kAccepted);
    clock.advance(6s);
  }
  sender.sent.clear();
  sender.answered.clear();

  service.session_started({"CP-2", 1}, "b");
  service.tick();
  ASSERT_EQ(sender.sent.size(), 2U);
  EXPECT_EQ(sender.sent[0].request.evse.charger_id, "CP-1");
  EXPECT_EQ(sender.sent[0].request.command.step, PlanStep::kLower);
  EXPECT_DOUBLE_EQ(sender.sent[0].request.command.setpoint.current_a, 13.0);
  EXPECT_EQ(sender.sent[1].request.evse.charger_id, "CP-2");
  EXPECT_EQ(sender.sent[1].request.command.step, PlanStep::kRaiseNow);
  EXPECT_EQ(sender.sent[1].request.transaction_id, "b");
  EXPECT_DOUBLE_EQ(sender.sent[1].request.command.setpoint.current_a, 6.0);
  sender.answer_all(ProfileOutcome::kAccepted);
  clock.advance(6s);
  service.tick();
  sender.answer_all(ProfileOutcome::kAccepted);
  ASSERT_FALSE(sender.answered.empty());
  EXPECT_EQ(sender.answered.back().evse.charger_id, "CP-2");
  EXPECT_DOUBLE_EQ(sender.answered.back().command.setpoint.current_a, 13.0);
}

TEST(ServiceStartReserve, ANegativeReserveIsRefusedByName) {
  ServiceSettings settings;
  settings.planner.start_reserve_a = -1.0;
  auto r = check_service_settings(settings);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("--start-reserve"), std::string::npos) << r.error().message;
}

TEST_F(ServiceTest, TwoSessionsShareTheBoardAndTheLowerGoesOutBeforeTheRaise) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  service.session_started({"CP-1", 1}, "a");
  settle();
  ASSERT_DOUBLE_EQ(last_for("CP-1")->command.setpoint.current_a, 32.0);

  service.session_started({"CP-2", 1}, "b");
  service.tick();
  // Only the lower of CP-1 goes out first: CP-2's raise waits for it.
  ASSERT_EQ(sender.sent.size(), 1U);
  EXPECT_EQ(sender.sent.front().request.evse.charger_id, "CP-1");
  EXPECT_EQ(sender.sent.front().request.command.step, PlanStep::kLower);
  EXPECT_DOUBLE_EQ(sender.sent.front().request.command.setpoint.current_a, 16.0);
  EXPECT_EQ(service.tick(), 0U);  // not before the answer
  settle();
  EXPECT_DOUBLE_EQ(last_for("CP-2")->command.setpoint.current_a, 16.0);
  EXPECT_EQ(last_for("CP-2")->transaction_id, "b");
}

TEST_F(ServiceTest, ThreeSingleVehiclesOnRotatedPhasesEachGetTheirPhase) {
  v1::Site site = board(3);
  const v1::Phase rotations[3][3] = {{v1::PHASE_L1, v1::PHASE_L2, v1::PHASE_L3},
                                     {v1::PHASE_L2, v1::PHASE_L3, v1::PHASE_L1},
                                     {v1::PHASE_L3, v1::PHASE_L1, v1::PHASE_L2}};
  for (int i = 0; i < 3; ++i) {
    site.mutable_evses(i)->set_connector_phases(1);
    for (auto p : rotations[i]) site.mutable_evses(i)->add_rotation(p);
  }
  put(site);
  for (int i = 1; i <= 3; ++i) {
    service.charger_connected("CP-" + std::to_string(i));
    service.session_started({"CP-" + std::to_string(i), 1}, "tx" + std::to_string(i));
  }
  settle();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_DOUBLE_EQ(last_for("CP-" + std::to_string(i))->command.setpoint.current_a, 32.0) << i;
  }
}

TEST_F(ServiceTest, ARejectingChargerIsCountedAtItsMaximumAndExplained) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  service.session_started({"CP-1", 1}, "a");
  service.tick();
  sender.answer_all(ProfileOutcome::kRejected);
  clock.advance(2s);
  service.session_started({"CP-2", 1}, "b");
  settle();
  auto why = service.explain("depot", {"CP-1", 1});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->explanation.reason, Reason::kRejected);
  // CP-1 may draw its 32 A: nothing is left for CP-2 on the 32 A board.
  auto plan = service.plan("depot");
  ASSERT_TRUE(plan);
  EXPECT_DOUBLE_EQ(plan->evses[1].planned.current_a, 0.0);
  EXPECT_EQ(service.explain("depot", {"CP-9", 1}).error().code, ErrorCode::kNotFound);
}

TEST_F(ServiceTest, ATxCommandWithoutATransactionIdIsNotSentAsADefault) {
  put(board(1));
  service.charger_connected("CP-1");
  service.session_started({"CP-1", 1}, "");
  settle();
  ASSERT_FALSE(sender.answered.empty()) << "the default profile goes out all the same";
  for (const auto& r : sender.answered) {
    EXPECT_FALSE(r.command.purpose == ProfilePurpose::kTx && r.transaction_id.empty());
  }
}

TEST_F(ServiceTest, ChargerEventsDriveConnectionsSessionsAndPhaseCurrents) {
  put(board(1));
  ChargerEvents events(service, nullptr);
  v1::ChargerEvent opened;
  opened.set_charger_id("CP-1");
  opened.mutable_connection_opened();
  events.apply(opened);

  v1::ChargerEvent started;
  started.set_charger_id("CP-1");
  auto* tx = started.mutable_transaction_event();
  tx->set_kind(v1::TransactionEvent::KIND_STARTED);
  tx->set_transaction_id("77");
  tx->mutable_location()->set_evse_id(1);
  for (const char* phase : {"L1", "L2", "L3"}) {
    auto* s = tx->add_samples();
    s->set_measurand("Current.Import");
    s->set_phase(phase);
    s->set_normalized_unit("A");
    s->set_normalized_value(10.0);
  }
  std::string bytes;
  ASSERT_TRUE(started.SerializeToString(&bytes));
  ASSERT_TRUE(events.handle(bus::Event{"ocpp.events.v1", "CP-1", bytes, 0, 1}));
  EXPECT_TRUE(events.handle(bus::Event{"ocpp.events.v1", "CP-1", "\xff\xff garbage", 0, 2}));
  settle();
  auto plan = service.plan("depot");
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->evses[0].status.online);
  EXPECT_TRUE(plan->evses[0].status.session);
  EXPECT_EQ(last_for("CP-1")->transaction_id, "77");

  v1::ChargerEvent closed;
  closed.set_charger_id("CP-1");
  closed.mutable_connection_closed();
  events.apply(closed);
  EXPECT_FALSE(service.plan("depot")->evses[0].status.online);
}

TEST_F(ServiceTest, ASessionEndsByItsTransactionWhenTheEndNamesNoEvse) {
  put(board(1));
  ChargerEvents events(service, nullptr);
  auto tx_event = [](v1::TransactionEvent::Kind kind, const std::string& id, int evse) {
    v1::ChargerEvent e;
    e.set_charger_id("CP-1");
    e.mutable_transaction_event()->set_kind(kind);
    e.mutable_transaction_event()->set_transaction_id(id);
    if (evse > 0) e.mutable_transaction_event()->mutable_location()->set_evse_id(evse);
    return e;
  };
  service.charger_connected("CP-1");
  events.apply(tx_event(v1::TransactionEvent::KIND_STARTED, "9", 1));
  settle();
  ASSERT_TRUE(service.plan("depot")->evses[0].status.session);
  // 1.6 StopTransaction: no connector, only the transaction.
  events.apply(tx_event(v1::TransactionEvent::KIND_ENDED, "9", 0));
  settle();
  EXPECT_FALSE(service.plan("depot")->evses[0].status.session);

  // A late end of an earlier session does not end the one running now.
  events.apply(tx_event(v1::TransactionEvent::KIND_STARTED, "10", 1));
  events.apply(tx_event(v1::TransactionEvent::KIND_ENDED, "9", 1));
  settle();
  EXPECT_TRUE(service.plan("depot")->evses[0].status.session);
  // A new transaction on the EVSE replaces one whose end was missed.
  events.apply(tx_event(v1::TransactionEvent::KIND_STARTED, "11", 1));
  settle();
  EXPECT_EQ(last_for("CP-1")->transaction_id, "11");
}

TEST_F(ServiceTest, LimitsAreWholeTenthsOfAnAmpere) {
  v1::Site site = board(1, 6.3);
  put(site);
  service.charger_connected("CP-1");
  service.session_started({"CP-1", 1}, "t");
  settle();
  // 63 x 0.1 would be 6.300000000000001, which a 1.6 charger's schema refuses.
  EXPECT_EQ(last_for("CP-1")->command.setpoint.current_a, 6.3);
}

TEST_F(ServiceTest, ASitePutLaterStartsFromWhatIsAlreadyKnown) {
  service.charger_connected("CP-1");
  service.session_started({"CP-1", 1}, "early");
  put(board(1));
  settle();
  auto plan = service.plan("depot");
  EXPECT_TRUE(plan->evses[0].status.online);
  EXPECT_TRUE(plan->evses[0].status.session);
  EXPECT_EQ(last_for("CP-1")->transaction_id, "early");
}

TEST_F(ServiceTest, LimitsAndMeterReadingsAreCheckedAndStored) {
  v1::Site site = board(1);
  site.mutable_nodes(1)->mutable_meter()->set_headroom_a(1.0);
  put(site);
  const Time now = clock.now();
  EXPECT_EQ(
      service.set_limits("depot", "nope", std::vector<LimitSlot>{}, std::nullopt).error().code,
      ErrorCode::kNotFound);
  EXPECT_EQ(
      service.set_limits("depot", "board", std::vector{LimitSlot{now + 1h, now}}, std::nullopt)
          .error()
          .code,
      ErrorCode::kInvalidArgument);
  LimitSlot low{now, now + 1h, PhaseCurrents{10, 10, 10}};
  ASSERT_TRUE(service.set_limits("depot", "board", std::vector{low}, std::nullopt));
  ASSERT_EQ(store.sites["depot"].limits.size(), 1U);
  EXPECT_EQ(service.meter_reading("depot", "grid", now, {1, 1, 1}).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service.meter_reading("depot", "board", now, {-1, 1, 1}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(service.meter_reading("depot", "board", now, {2, 2, 2}));

  service.charger_connected("CP-1");
  service.session_started({"CP-1", 1}, "t");
  settle();
  // 10 A schedule minus the building's 2 A and 1 A headroom.
  EXPECT_LE(last_for("CP-1")->command.setpoint.current_a, 7.0);
  EXPECT_GT(last_for("CP-1")->command.setpoint.current_a, 0.0);

  auto stored = service.site("depot");
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->limits.size(), 1U);
  EXPECT_EQ(stored->limits[0].node_id, "board");
}

TEST_F(ServiceTest, LoadsStoredSitesAndDeletes) {
  put(board(1));
  ASSERT_TRUE(service.set_limits(
      "depot", "board",
      std::vector{LimitSlot{clock.now(), clock.now() + 1h, PhaseCurrents{8, 8, 8}}}, std::nullopt));
  // An override alone keeps the schedule.
  ASSERT_TRUE(service.set_limits("depot", "board", std::nullopt,
                                 LimitSlot{clock.now(), clock.now() + 1h, PhaseCurrents{9, 9, 9}}));
  ASSERT_EQ(service.site("depot")->limits[0].schedule.size(), 1U);
  ASSERT_TRUE(service.site("depot")->limits[0].override_slot);
  FakeSender other_sender;
  SmartChargingService restarted(other_sender, store, clock, settings(), nullptr);
  auto loaded = restarted.load(site_definition_from_json);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, 1U);
  ASSERT_EQ(restarted.sites().size(), 1U);
  EXPECT_EQ(restarted.site("depot")->limits.size(), 1U);
  ASSERT_TRUE(restarted.delete_site("depot"));
  EXPECT_EQ(restarted.delete_site("depot").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(restarted.sites().empty());
}

TEST_F(ServiceTest, OnlineChargersGetFailSafesThatHoldTheBoardAndOfflineOnesCountAtThem) {
  put(board(3));
  service.charger_connected("CP-1", ChargerProtocol::k21);
  service.charger_connected("CP-2", ChargerProtocol::k16);
  service.charger_connected("CP-3", ChargerProtocol::k201);  // no fail-safe for 2.0.1 here
  settle();
  ASSERT_EQ(fallback.sent.size(), 2U);
  // CP-3 counts at its maximum (32 A) if everything fails: nothing is left for the others'
  // minimum under the 32 A board, so they fall back to 0.
  for (const auto& f : fallback.sent) {
    ASSERT_EQ(f.request.evse_amps.size(), 1U);
    EXPECT_EQ(f.request.evse_amps[0].first, 1);
    EXPECT_DOUBLE_EQ(f.request.evse_amps[0].second, 0.0) << f.request.charger_id;
  }
  EXPECT_EQ(fallback.sent[0].request.protocol, ChargerProtocol::k21);
  fallback.answer_all();
  EXPECT_EQ(service.tick(), 0U);  // installed: nothing more goes out

  // Take CP-3 off the board: CP-1 and CP-2 may now fall back to 16 A each.
  v1::Site site = board(2);
  put(site);
  service.charger_connected("CP-1", ChargerProtocol::k21);
  service.tick();
  ASSERT_EQ(fallback.sent.size(), 2U);
  double sum = 0;
  for (const auto& f : fallback.sent) sum += f.request.evse_amps[0].second;
  EXPECT_DOUBLE_EQ(sum, 32.0);
  fallback.answer_all();
  settle();  // the idle defaults (0 A) accepted too
  auto plan = service.plan("depot");
  ASSERT_TRUE(plan);
  EXPECT_DOUBLE_EQ(*plan->evses[0].status.offline_current_a, 16.0);

  // Offline, CP-1 is counted at its fail-safe, not at its 32 A maximum.
  service.charger_disconnected("CP-1");
  settle();
  EXPECT_DOUBLE_EQ(load_of("board").exposure_a[0], 16.0);
}

TEST_F(ServiceTest, ALowerForecastLowersTheFailSafeWhichCountsHigherUntilAccepted) {
  put(board(2));
  service.charger_connected("CP-1", ChargerProtocol::k21);
  service.charger_connected("CP-2", ChargerProtocol::k21);
  settle();
  ASSERT_EQ(fallback.sent.size(), 2U);
  fallback.answer_all();
  ASSERT_DOUBLE_EQ(*service.plan("depot")->evses[0].status.offline_current_a, 16.0);

  const Time now = clock.now();
  ASSERT_TRUE(service.set_forecast("depot", "board",
                                   {LimitSlot{now + 1h, now + 2h, PhaseCurrents{20, 20, 20}}}));
  EXPECT_EQ(service.site("depot")->limits.at(0).forecast.size(), 1U);  // kept with the limits
  service.tick();
  ASSERT_EQ(fallback.sent.size(), 2U);
  EXPECT_DOUBLE_EQ(fallback.sent[0].request.evse_amps[0].second, 10.0);
  // Not yet accepted: still counted at the old, higher value.
  EXPECT_DOUBLE_EQ(*service.plan("depot")->evses[0].status.offline_current_a, 16.0);
  fallback.answer_all();
  EXPECT_DOUBLE_EQ(*service.plan("depot")->evses[0].status.offline_current_a, 10.0);

  EXPECT_EQ(service.set_forecast("depot", "nowhere", {}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service.set_forecast("depot", "board", {LimitSlot{now + 1h, now}}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(ServiceTest, ARejectedFailSafeIsTriedAgainAfterTheRetryAndAtReconnect) {
  put(board(1));
  service.charger_connected("CP-1", ChargerProtocol::k16);
  service.tick();
  ASSERT_EQ(fallback.answer_all(ProfileOutcome::kRejected), 1U);
  service.tick();
  EXPECT_TRUE(fallback.sent.empty());  // not before the retry time
  EXPECT_FALSE(service.plan("depot")->evses[0].status.offline_current_a);  // worst case
  clock.advance(61s);
  service.tick();
  ASSERT_EQ(fallback.answer_all(ProfileOutcome::kLost), 1U);
  service.charger_disconnected("CP-1");
  service.charger_connected("CP-1", ChargerProtocol::k16);
  service.tick();
  ASSERT_EQ(fallback.sent.size(), 1U);  // a reconnect sends it at once
  EXPECT_DOUBLE_EQ(fallback.sent[0].request.evse_amps[0].second, 32.0);
  fallback.answer_all();
  EXPECT_DOUBLE_EQ(*service.plan("depot")->evses[0].status.offline_current_a, 32.0);
}

TEST_F(ServiceTest, AChargerApplyingMoreThanItAcceptedCountsAtItsWorstCase) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  service.session_started({"CP-1", 1}, "a");
  service.session_started({"CP-2", 1}, "b");
  settle();
  ASSERT_DOUBLE_EQ(last_for("CP-2")->command.setpoint.current_a, 16.0);
  clock.advance(11s);
  // CP-1 applies its 16 A; CP-2 reports 32 A (another party's profile wins there). Checks of
  // the idle defaults sent earlier are answered too: they no longer count.
  for (int round = 0; round < 3; ++round) {
    service.tick();
    while (!reader.sent.empty()) {
      auto check = std::move(reader.sent.front());
      reader.sent.pop_front();
      EXPECT_EQ(check.unit, RateUnit::kAmperes);
      check.done(std::optional<double>(check.evse.charger_id == "CP-1" ? 16.0 : 32.0));
    }
  }
  auto plan = service.plan("depot");
  EXPECT_FALSE(plan->evses[0].status.rejected);
  EXPECT_TRUE(plan->evses[1].status.rejected);
  // CP-2 may draw 32 A: CP-1 is lowered to make room (0 A: its minimum does not fit).
  settle();
  EXPECT_DOUBLE_EQ(last_for("CP-1")->command.setpoint.current_a, 0.0);
  EXPECT_LE(load_of("board").exposure_a[0], 32.0);
}

TEST_F(ServiceTest, AnUnanswerableCheckChangesNothing) {
  put(board(1));
  service.charger_connected("CP-1");
  service.session_started({"CP-1", 1}, "a");
  settle();
  clock.advance(11s);
  for (int round = 0; round < 3; ++round) {
    service.tick();
    while (!reader.sent.empty()) {
      auto check = std::move(reader.sent.front());
      reader.sent.pop_front();
      check.done(make_error(ErrorCode::kUnimplemented, "NotImplemented"));
    }
  }
  EXPECT_FALSE(service.plan("depot")->evses[0].status.rejected);
  EXPECT_EQ(service.tick(), 0U);
}

// The node gauge of one kind and phase, if any.
std::optional<double> node_gauge(prometheus::Registry& registry, const std::string& node,
                                 const std::string& kind, const std::string& phase) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "switchyard_smart_charging_node_current_amperes") continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& label : metric.label) labels[label.name] = label.value;
      if (labels["node"] == node && labels["kind"] == kind && labels["phase"] == phase)
        return metric.gauge.value;
    }
  }
  return std::nullopt;
}

// Two chargers on a board with metrics, CP-2's connector L1 wired to grid L2, both online with
// a session running (CP-1 transaction "a", CP-2 "b").
class MeteredBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings.planner.min_replan_gap = 0s;
    v1::Site site = board(2);
    for (auto p : {v1::PHASE_L2, v1::PHASE_L3, v1::PHASE_L1}) {
      site.mutable_evses(1)->add_rotation(p);
    }
    ASSERT_TRUE(service.put_site(*site_definition(site)));
    service.charger_connected("CP-1");
    service.charger_connected("CP-2");
    service.session_started({"CP-1", 1}, "a");
    service.session_started({"CP-2", 1}, "b");
    service.tick();
  }

  testing::FakeClock clock;
  FakeSender sender;
  FakeStore store;
  prometheus::Registry registry;
  ServiceSettings settings;
  SmartChargingService service{sender, store, clock, settings, &registry};
};

TEST_F(MeteredBoardTest, NodesShowWhatTheChargersBelowMeasuredPerGridPhase) {
  service.evse_meter({"CP-1", 1}, {10, 10, 10});
  service.evse_meter({"CP-2", 1}, {6, 0, 0});  // a one-phase vehicle
  service.tick();
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L1"), 10.0);
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L2"), 16.0);
  EXPECT_EQ(node_gauge(registry, "grid", "measured", "L3"), 10.0);
  EXPECT_EQ(node_gauge(registry, "board", "limit", "L2"), 32.0);
  service.session_ended({"CP-2", 1}, "b");
  service.tick();
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L2"), 10.0);
  std::uint64_t first_profiles = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "switchyard_smart_charging_session_to_profile_seconds") continue;
    for (const auto& metric : family.metric) first_profiles += metric.histogram.sample_count;
  }
  EXPECT_EQ(first_profiles, 2U);  // one first TxProfile per session, however many follow
  EXPECT_FALSE(node_gauge(registry, "CP-1", "measured", "L1"));  // no per-charger series
}

// MeterValues are read off their bytes (meter_currents.h), not parsed: the currents still reach
// the EVSE named by its location, or by its running transaction when the location names none.
TEST_F(MeteredBoardTest, MeterValuesCurrentsReachTheEvseByLocationOrByTransaction) {
  ChargerEvents events(service, &registry);
  auto meter_values = [](const std::string& charger, int evse, const std::string& tx,
                         const std::vector<std::pair<std::string, double>>& phases) {
    v1::ChargerEvent e;
    e.set_event_id("e-" + charger);
    e.set_charger_id(charger);
    auto* mv = e.mutable_meter_values();
    if (evse > 0) mv->mutable_location()->set_evse_id(evse);
    mv->set_transaction_id(tx);
    auto* energy = mv->add_samples();
    energy->set_measurand("Energy.Active.Import.Register");
    energy->set_normalized_unit("Wh");
    energy->set_normalized_value(1234);
    for (const auto& [phase, amps] : phases) {
      auto* s = mv->add_samples();
      s->set_measurand("Current.Import");
      s->set_phase(phase);
      s->set_normalized_unit("A");
      s->set_normalized_value(amps);
    }
    std::string bytes;
    EXPECT_TRUE(e.SerializeToString(&bytes));
    return bytes;
  };
  ASSERT_TRUE(events.handle(
      bus::Event{"ocpp.events.v1", "CP-1",
                 meter_values("CP-1", 1, "a", {{"L1", 10}, {"L2", 10}, {"L3", 10}}), 0, 1}));
  // 1.6 MeterValues of connector 0 with the transaction: found by its transaction.
  ASSERT_TRUE(events.handle(
      bus::Event{"ocpp.events.v1", "CP-2", meter_values("CP-2", 0, "b", {{"L1-N", 6}}), 0, 2}));
  // A transaction the service does not know: the charger's main meter, ignored.
  ASSERT_TRUE(events.handle(
      bus::Event{"ocpp.events.v1", "CP-2", meter_values("CP-2", 0, "zz", {{"L1", 99}}), 0, 3}));
  service.tick();
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L1"), 10.0);
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L2"), 16.0);
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L3"), 10.0);
  // An event whose MeterValues is split over two occurrences (two events back to back) is
  // parsed, as merged: the currents of the first part count, though the last part has none.
  const std::string split = meter_values("CP-1", 1, "a", {{"L1", 20}, {"L2", 20}, {"L3", 20}}) +
                            meter_values("CP-1", 0, "", {});
  ASSERT_TRUE(events.handle(bus::Event{"ocpp.events.v1", "CP-1", split, 0, 4}));
  service.tick();
  EXPECT_EQ(node_gauge(registry, "board", "measured", "L1"), 20.0);
}

TEST_F(ServiceTest, ChargersThatLeaveEverySiteGetTheServicesProfilesTakenOff) {
  put(board(3));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  settle();
  // CP-3 leaves the site while offline, then the site goes while CP-2 is offline.
  put(board(2));
  service.tick();
  EXPECT_TRUE(sender.released.empty());
  service.charger_disconnected("CP-2");
  ASSERT_TRUE(service.delete_site("depot"));
  service.tick();
  ASSERT_EQ(sender.released.size(), 1U);
  EXPECT_EQ(sender.released[0].first, "CP-1");
  EXPECT_EQ(sender.released[0].second, std::vector<int>{1});
  service.charger_connected("CP-3");
  service.tick();
  ASSERT_EQ(sender.released.size(), 2U);
  EXPECT_EQ(sender.released[1].first, "CP-3");
  // CP-2 is back in a site before it reconnects: nothing to take off.
  put(board(2));
  service.charger_connected("CP-2");
  service.tick();
  EXPECT_EQ(sender.released.size(), 2U);
  service.tick();
  EXPECT_EQ(sender.released.size(), 2U);  // released once
}

SessionLimit ten_amperes(Time start) {
  SessionLimit limit;
  limit.start = start;
  limit.periods = {{Duration::zero(), 10.0}};
  limit.source = "eMSP DE*EMS";
  return limit;
}

// A limit an eMSP put on a session survives a restart of the service: kept in the store, put
// back when the session is seen running again (bootstrap or its next event), and taken out of
// the store when the session ends.
TEST_F(ServiceTest, ASessionLimitOutlivesARestartAndGoesWithItsSession) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  settle();
  service.session_started({"CP-1", 1}, "tx-1");
  settle();
  ASSERT_TRUE(service.set_session_limit("CP-1", "tx-1", ten_amperes(clock.now())));
  settle();
  EXPECT_DOUBLE_EQ(last_for("CP-1")->command.setpoint.current_a, 10.0);
  ASSERT_EQ(store.session_limits.size(), 1U);

  // A new process on the same store: the sites, then the session as bootstrap finds it.
  FakeSender sender2;
  SmartChargingService again(sender2, store, clock, settings(), nullptr, &fallback, &reader);
  ASSERT_TRUE(again.load(site_definition_from_json));
  again.charger_connected("CP-1");
  again.charger_connected("CP-2");
  again.session_started({"CP-1", 1}, "tx-1");
  auto view = again.session_plan("CP-1", "tx-1");
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_TRUE(view->limit);
  EXPECT_EQ(view->limit->source, "eMSP DE*EMS");
  for (int i = 0; i < 4; ++i) {
    again.tick();
    sender2.answer_all(ProfileOutcome::kAccepted);
    clock.advance(6s);
  }
  ASSERT_FALSE(sender2.answered.empty());
  EXPECT_DOUBLE_EQ(sender2.answered.back().command.setpoint.current_a, 10.0);
  EXPECT_EQ(sender2.answered.back().transaction_id, "tx-1");

  again.session_ended({"CP-1", 1}, "tx-1");
  EXPECT_TRUE(store.session_limits.empty()) << "the limit ends with its session";
}

// A limit that cannot be stored is refused whole: the caller gets UNAVAILABLE and the plan
// does not change.
TEST_F(ServiceTest, ASessionLimitTheStoreCannotKeepIsRefused) {
  put(board(2));
  service.charger_connected("CP-1");
  service.charger_connected("CP-2");
  settle();
  service.session_started({"CP-1", 1}, "tx-1");
  settle();
  store.unavailable = true;
  auto r = service.set_session_limit("CP-1", "tx-1", ten_amperes(clock.now()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("could not be stored: database down"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(service.session_plan("CP-1", "tx-1")->limit);
  settle();
  EXPECT_DOUBLE_EQ(last_for("CP-1")->command.setpoint.current_a, 32.0);
}

// Kept limits that are over, or a week old, are dropped at load.
TEST_F(ServiceTest, StaleSessionLimitsAreDroppedAtLoad) {
  put(board(1));
  SessionLimit over = ten_amperes(clock.now() - 2h);
  over.end = clock.now() - 1h;
  store.session_limits[{"CP-1", "old"}] = over;
  store.session_limits[{"CP-1", "ancient"}] = ten_amperes(clock.now() - 24h * 8);
  store.session_limits[{"CP-1", "live"}] = ten_amperes(clock.now() - 1h);
  FakeSender sender2;
  SmartChargingService again(sender2, store, clock, settings(), nullptr, &fallback, &reader);
  ASSERT_TRUE(again.load(site_definition_from_json));
  ASSERT_EQ(store.session_limits.size(), 1U);
  EXPECT_TRUE(store.session_limits.contains({"CP-1", "live"}));
}

TEST(SessionLimitJson, RoundTripsAndNamesWhatIsWrong) {
  const Time at(std::chrono::milliseconds(1'800'000'000'123));
  SessionLimit limit;
  limit.unit = RateUnit::kWatts;
  limit.start = at;
  limit.end = at + 2h;
  limit.periods = {{Duration::zero(), 11000.0}, {std::chrono::minutes(30), 7400.5}};
  limit.source = "eMSP NL*EMS";
  limit.min_rate = 4140.0;
  auto back = session_limit_from_json(session_limit_to_json(limit));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->unit, RateUnit::kWatts);
  EXPECT_EQ(back->start, at);
  EXPECT_EQ(back->end, at + 2h);
  ASSERT_EQ(back->periods.size(), 2U);
  EXPECT_EQ(back->periods[1].offset, std::chrono::minutes(30));
  EXPECT_DOUBLE_EQ(back->periods[1].limit, 7400.5);
  EXPECT_EQ(back->source, "eMSP NL*EMS");
  EXPECT_DOUBLE_EQ(back->min_rate, 4140.0);
  auto bad = session_limit_from_json(R"({"unit":"kW","start_ms":0,"periods":[[0,1]]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("stored session limit: unit kW"), std::string::npos);
  EXPECT_FALSE(session_limit_from_json(R"({"unit":"A","start_ms":0,"periods":[]})"));
  EXPECT_FALSE(session_limit_from_json(R"({"unit":"A","start_ms":"x","periods":[[0,1]]})"));
}

TEST(LimitsJson, RoundTrips) {
  const Time at(std::chrono::milliseconds(1'800'000'000'123));
  StoredSite::Limits limits{"board",
                            {LimitSlot{at, at + 1h, PhaseCurrents{1, 2, 3}, std::nullopt},
                             LimitSlot{at + 1h, at + 2h, std::nullopt, 11.5}},
                            LimitSlot{at, at + 30min, PhaseCurrents{4, 5, 6}, 7.0}};
  auto back = limits_from_json(limits_to_json(limits));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->schedule.size(), 2U);
  EXPECT_EQ(back->schedule[0].from, at);
  EXPECT_EQ((*back->schedule[0].current_a)[2], 3.0);
  EXPECT_EQ(*back->schedule[1].power_kw, 11.5);
  ASSERT_TRUE(back->override_slot);
  EXPECT_EQ(*back->override_slot->power_kw, 7.0);
  EXPECT_TRUE(back->forecast.empty());
  limits.forecast.push_back(LimitSlot{at, at + 15min, PhaseCurrents{8, 8, 8}, std::nullopt});
  back = limits_from_json(limits_to_json(limits));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->forecast.size(), 1U);
  EXPECT_EQ((*back->forecast[0].current_a)[1], 8.0);
  EXPECT_FALSE(limits_from_json("{\"schedule\": [{\"from_ms\": \"x\"}]}"));
  EXPECT_FALSE(limits_from_json("[]"));
}

TEST(SqlSiteStore, KeepsSitesAndLimitsInSqlite) {
  const auto path =
      std::filesystem::temp_directory_path() / ("sc-store-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto db = sql::open_sqlite(path.string(), nullptr);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(sql::migrate(**db, migrations(), "smart_charging"));
  SqlSiteStore store(**db);
  EXPECT_TRUE(*store.put("a", "{}", {"grid", "board"}));
  EXPECT_FALSE(*store.put("a", "{\"id\":\"a\"}", {"grid", "board"}));
  ASSERT_TRUE(store.put_limits("a", {"board", {}, std::nullopt}));
  ASSERT_TRUE(store.put_limits("a", {"grid", {}, std::nullopt}));
  // Re-put without "grid": its limits go.
  ASSERT_TRUE(store.put("a", "{\"id\":\"a\"}", {"board"}));
  auto all = store.load_all();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ((*all)[0].definition_json, "{\"id\":\"a\"}");
  ASSERT_EQ((*all)[0].limits.size(), 1U);
  EXPECT_EQ((*all)[0].limits[0].node_id, "board");
  EXPECT_TRUE(*store.remove("a"));
  EXPECT_FALSE(*store.remove("a"));
  EXPECT_TRUE(store.load_all()->empty());

  // Session limits: put twice (the second replaces), loaded, removed.
  SessionLimit limit;
  limit.start = Time(std::chrono::milliseconds(1'800'000'000'000));
  limit.periods = {{Duration::zero(), 16.0}};
  ASSERT_TRUE(store.put_session_limit({"CP-1", "tx-1", limit}));
  limit.periods[0].limit = 8.0;
  ASSERT_TRUE(store.put_session_limit({"CP-1", "tx-1", limit}));
  ASSERT_TRUE(store.put_session_limit({"CP-2", "tx-9", limit}));
  auto kept = store.load_session_limits();
  ASSERT_TRUE(kept) << kept.error().message;
  ASSERT_EQ(kept->size(), 2U);
  EXPECT_EQ((*kept)[0].charger_id, "CP-1");
  EXPECT_DOUBLE_EQ((*kept)[0].limit.periods[0].limit, 8.0);
  ASSERT_TRUE(store.remove_session_limit("CP-1", "tx-1"));
  ASSERT_EQ(store.load_session_limits()->size(), 1U);
  db->reset();
  std::filesystem::remove(path);
}

TEST(SqlOscpPeerStore, KeepsThePeersLastRegisterWithTheConfigurationItReplaced) {
  const auto path =
      std::filesystem::temp_directory_path() / ("sc-oscp-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto db = sql::open_sqlite(path.string(), nullptr);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(sql::migrate(**db, migrations(), "smart_charging"));
  SqlOscpPeerStore store(**db);
  EXPECT_FALSE(*store.load());
  const std::string configured =
      oscp_configuration_fingerprint("cp-token", "http://grid:5000/oscp/cp/2.0");
  EXPECT_EQ(configured.find("cp-token"), std::string::npos);  // never the token itself
  EXPECT_NE(configured,
            oscp_configuration_fingerprint("cp-token2", "http://grid:5000/oscp/cp/2.0"));
  EXPECT_NE(configured, oscp_configuration_fingerprint("cp-token", "http://other/oscp/cp/2.0"));
  ASSERT_TRUE(store.save({"rotated-1", "http://grid:5000/oscp/cp/2.0", configured}, 1000));
  ASSERT_TRUE(store.save({"rotated-2", "http://grid:5001/oscp/cp/2.0", configured}, 2000));
  auto back = store.load();
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->token, "rotated-2");
  EXPECT_EQ((*back)->base_url, "http://grid:5001/oscp/cp/2.0");
  EXPECT_EQ((*back)->configured, configured);
  db->reset();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace switchyard::smart_charging
