// OICP 2.3 to Hubject against a fake Hubject on a real SQLite store: the EvseDataRecord built
// from a location, OCPI → OICP statuses, the first fullLoad, many status changes while Hubject is
// down becoming one status update with the latest states, EVSEs that leave (delete with the record
// Hubject holds) and arrive (insert, then their status), a refused push kept and retried, and the
// OCPI pusher leaving Hubject's outbox alone.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>

#include "oicp_test_support.h"
#include "roaming/oicp_client.h"
#include "roaming/oicp_pusher.h"
#include "roaming/oicp_records.h"
#include "roaming/oicp_sessions.h"
#include "roaming_test_support.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

using testing::FakeHubject;
using testing::Pushed;

OicpSettings settings() { return testing::oicp_settings(); }

TEST(OicpRecords, AnEvseDataRecordCarriesWhatHubjectRequires) {
  const auto l = testing::sample_location();
  const OicpEvse evse{&l, &l.evses(0)};
  ASSERT_TRUE(check_oicp_evse(evse, settings()));
  const auto r = json::parse(evse_data_record(evse, settings())).as_object();
  EXPECT_EQ(r.at("EvseID"), "DE*SWY*E1*1");
  EXPECT_EQ(r.at("ChargingStationId"), "CP1");
  EXPECT_EQ(r.at("Address").at("Street"), "Hauptstr.");
  EXPECT_EQ(r.at("Address").at("HouseNum"), "1");
  EXPECT_EQ(r.at("Address").at("Country"), "DEU");
  EXPECT_EQ(r.at("GeoCoordinates").at("DecimalDegree").at("Latitude"), "52.520008");
  EXPECT_EQ(r.at("Plugs"), json::array{"Type 2 Outlet"});
  // 230 V x 32 A x 3 phases = 22 kW.
  EXPECT_EQ(r.at("ChargingFacilities"),
            (json::array{json::object{
                {"PowerType", "AC_3_PHASE"}, {"Power", 22}, {"Voltage", 230}, {"Amperage", 32}}}));
  EXPECT_EQ(r.at("HotlinePhoneNumber"), "+4930123456");
  EXPECT_EQ(r.at("IsHubjectCompatible"), true);
  EXPECT_FALSE(r.contains("lastUpdate"));
}

TEST(OicpRecords, EvsesOfAnotherOperatorOrWithoutAKnownPlugAreRefused) {
  auto l = testing::sample_location();
  l.mutable_evses(0)->set_evse_id("DE*ABC*E1*1");
  l.mutable_evses(1)->mutable_connectors(0)->set_standard("PANTOGRAPH_BOTTOM_UP");
  auto other = check_oicp_evse({&l, &l.evses(0)}, settings());
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("is not of operator DE*SWY"), std::string::npos);
  auto no_plug = check_oicp_evse({&l, &l.evses(1)}, settings());
  ASSERT_FALSE(no_plug);
  EXPECT_NE(no_plug.error().message.find("plug"), std::string::npos);
  EXPECT_TRUE(evse_of_operator("DESWYE11", "DE*SWY"));
  EXPECT_TRUE(evse_of_operator("de*swy*E1", "DESWY"));
}

TEST(OicpRecords, OcpiStatusesMapToOicpOnes) {
  EXPECT_EQ(oicp_evse_status("AVAILABLE"), "Available");
  EXPECT_EQ(oicp_evse_status("CHARGING"), "Occupied");
  EXPECT_EQ(oicp_evse_status("BLOCKED"), "Occupied");
  EXPECT_EQ(oicp_evse_status("RESERVED"), "Reserved");
  EXPECT_EQ(oicp_evse_status("OUTOFORDER"), "OutOfService");
  EXPECT_EQ(oicp_evse_status("INOPERATIVE"), "OutOfService");
  EXPECT_EQ(oicp_evse_status("UNKNOWN"), "Unknown");
  EXPECT_EQ(oicp_time(1'700'000'000'123), "2023-11-14T22:13:20.123+00:00");
}

TEST(OicpSettingsCheck, OperatorIdsAndUrlsAreChecked) {
  EXPECT_TRUE(is_oicp_operator_id("DE*SWY"));
  EXPECT_TRUE(is_oicp_operator_id("DESWY"));
  EXPECT_TRUE(is_oicp_operator_id("+49*536"));
  EXPECT_FALSE(is_oicp_operator_id("DE*SW"));
  EXPECT_FALSE(is_oicp_operator_id("DE-SWY"));
  OcpiSettings s;
  s.oicp = settings();
  EXPECT_TRUE(checked_ocpi_settings(s, "http://127.0.0.1:8095/ocpi"));
  s.oicp.url = "http://hubject.test/api/oicp";
  auto plain = checked_ocpi_settings(s, "http://127.0.0.1:8095/ocpi");
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("--oicp-url"), std::string::npos);
  s.oicp = settings();
  s.oicp.client_certificate = "/etc/cert.pem";
  auto half = checked_ocpi_settings(s, "http://127.0.0.1:8095/ocpi");
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("--oicp-client-key"), std::string::npos);
}

class OicpPusherTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    pusher_.add_built_in_receiver("locations", std::string(kHubjectPartner), [] {});
  }
  std::vector<std::string> receivers() {
    auto r = pusher_.receivers("locations");
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
  void put(const v1::RoamingLocation& l) { ASSERT_TRUE(locations_.put(l, receivers())); }
  void status(int evse, const std::string& s) {
    at_ += 1000;
    ASSERT_TRUE(locations_.apply_status("CP1", evse, evse, s, at_, receivers()));
  }
  void online() { ASSERT_TRUE(locations_.apply_online("CP1", true, at_ += 1000, receivers())); }
  int pass() {
    auto r = oicp_.push_due();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : -1;
  }
  std::vector<Pushed> take() { return std::exchange(hubject_.pushed, {}); }
  std::int64_t hubject_pending() {
    auto all = outbox_.all_of(std::string(kHubjectPartner));
    EXPECT_TRUE(all);
    return all ? static_cast<std::int64_t>(all->size()) : -1;
  }

  FakeHubject hubject_;
  OicpPusher oicp_{settings(), locations_, outbox_, *db_, hubject_, clock_, &registry_};
  std::int64_t at_ = 0;
};

TEST_F(OicpPusherTest, TheFirstPassIsAFullLoadOfDataAndStatuses) {
  put(testing::sample_location());
  online();
  status(1, "Charging");
  EXPECT_EQ(pass(), 2);
  auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseData);
  EXPECT_EQ(sent[0].action(), "fullLoad");
  EXPECT_EQ(sent[0].evse_ids(), (std::vector<std::string>{"DE*SWY*E1*1", "DE*SWY*E1*2"}));
  EXPECT_EQ(sent[1].operation, OicpOperation::kPushEvseStatus);
  EXPECT_EQ(sent[1].action(), "fullLoad");
  EXPECT_EQ(sent[1].statuses(), (std::map<std::string, std::string>{{"DE*SWY*E1*1", "Occupied"},
                                                                    {"DE*SWY*E1*2", "Unknown"}}));
  EXPECT_EQ(hubject_pending(), 0);  // what waited went with the full load
  EXPECT_EQ(pass(), 0);
  EXPECT_TRUE(take().empty());
}

TEST_F(OicpPusherTest, ManyStatusChangesWhileHubjectIsDownAreOneUpdateWithTheLatestStates) {
  put(testing::sample_location());
  online();
  EXPECT_EQ(pass(), 2);
  take();
  hubject_.down = true;
  for (int i = 0; i < 50; ++i) {
    status(1, i % 2 == 0 ? "Charging" : "Available");
    status(2, i % 3 == 0 ? "Faulted" : "Available");
  }
  status(1, "Reserved");
  EXPECT_EQ(pass(), 0);
  EXPECT_EQ(hubject_pending(), 2);  // one entry per EVSE, however many changes
  hubject_.down = false;
  EXPECT_EQ(pass(), 0);  // backing off: not asked again at once
  clock_.advance(2s);
  EXPECT_EQ(pass(), 1);
  auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseStatus);
  EXPECT_EQ(sent[0].action(), "update");
  EXPECT_EQ(sent[0].statuses(), (std::map<std::string, std::string>{{"DE*SWY*E1*1", "Reserved"},
                                                                    {"DE*SWY*E1*2", "Available"}}));
  EXPECT_EQ(hubject_pending(), 0);
}

TEST_F(OicpPusherTest, TheOperatorsResendIsAFullLoadAtOnceWhateverTheBackOff) {
  put(testing::sample_location());
  online();
  EXPECT_EQ(pass(), 2);
  take();
  hubject_.down = true;
  status(1, "Charging");
  EXPECT_EQ(pass(), 0);
  hubject_.down = false;
  EXPECT_EQ(pass(), 0);  // backing off
  oicp_.resend();
  EXPECT_EQ(pass(), 2);
  const auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].action(), "fullLoad");
  EXPECT_EQ(sent[1].action(), "fullLoad");
  EXPECT_EQ(sent[1].statuses().at("DE*SWY*E1*1"), "Occupied");
  EXPECT_EQ(hubject_pending(), 0);  // the waiting status went with it
  EXPECT_EQ(pass(), 0);             // once
}

TEST_F(OicpPusherTest, EvsesThatLeaveAreDeletedAndNewOnesInsertedWithTheirStatus) {
  auto l = testing::sample_location();
  put(l);
  online();
  EXPECT_EQ(pass(), 2);
  take();
  const auto held_e2 = json::parse(evse_data_record({&l, &l.evses(1)}, settings()));
  // E2 leaves; E3 arrives; E1 gets a CCS connector.
  l.mutable_evses()->DeleteSubrange(1, 1);
  auto* e3 = l.add_evses();
  *e3 = l.evses(0);
  e3->set_uid("E3");
  e3->set_evse_id("DE*SWY*E1*3");
  e3->set_ocpp_evse_id(3);
  l.mutable_evses(0)->mutable_connectors(0)->set_standard("IEC_62196_T2_COMBO");
  put(l);
  EXPECT_EQ(pass(), 3);
  auto sent = take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].action(), "delete");
  EXPECT_EQ(sent[0].body.at("OperatorEvseData").at("EvseDataRecord").as_array()[0], held_e2);
  EXPECT_EQ(sent[1].action(), "insert");
  EXPECT_EQ(sent[1].evse_ids(), std::vector<std::string>{"DE*SWY*E1*3"});
  EXPECT_EQ(sent[2].action(), "update");
  EXPECT_EQ(sent[2].evse_ids(), std::vector<std::string>{"DE*SWY*E1*1"});
  // The new EVSE's status: its own outbox entry, sent in the next pass (kept until it is).
  EXPECT_EQ(hubject_pending(), 1);
  EXPECT_EQ(pass(), 1);
  sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kPushEvseStatus);
  EXPECT_EQ(sent[0].statuses(), (std::map<std::string, std::string>{{"DE*SWY*E1*3", "Unknown"}}));
  // The same location again changes nothing Hubject holds: no request.
  put(l);
  EXPECT_EQ(pass(), 0);
  EXPECT_TRUE(take().empty());
  // Unpublished: every EVSE of it is deleted.
  l.set_publish(false);
  put(l);
  EXPECT_EQ(pass(), 1);
  sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].action(), "delete");
  EXPECT_EQ(sent[0].evse_ids(), (std::vector<std::string>{"DE*SWY*E1*1", "DE*SWY*E1*3"}));
}

TEST_F(OicpPusherTest, ARefusedPushIsKeptWithItsErrorAndRetried) {
  put(testing::sample_location());
  online();
  EXPECT_EQ(pass(), 2);
  take();
  hubject_.refuse = true;
  status(1, "Charging");
  EXPECT_EQ(pass(), 0);
  auto stats = outbox_.stats();
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].partner_id, kHubjectPartner);
  EXPECT_NE((*stats)[0].last_error.find("StatusCode 022"), std::string::npos);
  hubject_.refuse = false;
  take();
  clock_.advance(2s);
  EXPECT_EQ(pass(), 1);
  EXPECT_EQ(take()[0].statuses().at("DE*SWY*E1*1"), "Occupied");
  EXPECT_EQ(hubject_pending(), 0);
}

TEST_F(OicpPusherTest, TheOcpiPusherLeavesHubjectsOutboxAlone) {
  put(testing::sample_location());
  status(1, "Charging");
  ASSERT_GT(hubject_pending(), 0);
  const auto before = hubject_pending();
  auto r = pusher_.push_due();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(hubject_pending(), before);
  EXPECT_TRUE(receiver_.sent.empty());
}

class OicpSessionTest : public OicpPusherTest {
 protected:
  OicpSession session(const std::string& id = "b2688855-7f00-0002-6d8e-48d883f6abb6") {
    return {id,
            "DE*8EO",
            "DE*SWY*E1*1",
            "CP1",
            1,
            "DE*8EO*Aet5e4*3",
            R"({"RemoteIdentification":{"EvcoID":"DE*8EO*Aet5e4*3"}})",
            "emp-1",
            1000,
            "",
            "requested"};
  }
  static v1::TransactionUpdated started(const std::string& token, const std::string& change) {
    v1::TransactionUpdated u;
    u.set_change(change);
    auto* t = u.mutable_transaction();
    t->set_charger_id("CP1");
    t->set_transaction_id("42");
    t->mutable_id_token()->set_id(token);
    t->mutable_location()->set_evse_id(1);
    if (change == "ended") t->mutable_ended_at()->set_seconds(5400);
    return u;
  }
  static v1::Cdr cdr() {
    v1::Cdr c;
    c.set_cdr_id("cdr-42");
    c.set_charger_id("CP1");
    c.set_transaction_id("42");
    c.mutable_id_token()->set_id("DE*8EO*Aet5e4*3");
    c.mutable_location()->set_evse_id(1);
    c.mutable_started_at()->set_seconds(1'700'000'000);
    c.mutable_ended_at()->set_seconds(1'700'005'400);
    c.set_energy_wh(10500);
    c.set_tariff_id("ac-standard");
    c.set_product_id("AC3");
    return c;
  }
  OicpSessionStore sessions_{*db_, &locations_};
  OicpPusher cdr_pusher_{settings(), locations_, outbox_, *db_,      hubject_,
                         clock_,     nullptr,    {},      &sessions_};
};

TEST_F(OicpSessionTest, ARemotelyStartedDriverIsAuthorizedUntilTheSessionEnds) {
  ASSERT_TRUE(sessions_.add(session()));
  auto again = sessions_.add(session());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto a = sessions_.authorizes("DE*8EO*Aet5e4*3", "CP1", 2000, 60'000);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->session_id, session().session_id);
  auto elsewhere = sessions_.authorizes("DE*8EO*Aet5e4*3", "CP2", 2000, 60'000);
  ASSERT_TRUE(elsewhere);
  EXPECT_FALSE(*elsewhere);  // only at the charger Hubject started it at
  auto late = sessions_.authorizes("DE*8EO*Aet5e4*3", "CP1", 1000 + 60'001, 60'000);
  ASSERT_TRUE(late);
  EXPECT_FALSE(*late);  // requested too long ago
  ASSERT_TRUE(sessions_.apply(started("SOMEONE-ELSE", "started"), 2000));
  EXPECT_TRUE((*sessions_.get(session().session_id))->transaction_id.empty());
  ASSERT_TRUE(sessions_.apply(started("DE*8EO*Aet5e4*3", "started"), 2000));
  EXPECT_EQ((*sessions_.get(session().session_id))->transaction_id, "42");
  ASSERT_TRUE(sessions_.apply(started("DE*8EO*Aet5e4*3", "ended"), 2000));
  EXPECT_EQ((*sessions_.get(session().session_id))->state, "ended");
  auto after = sessions_.authorizes("DE*8EO*Aet5e4*3", "CP1", 2000, 60'000);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

TEST_F(OicpSessionTest, ASessionsCdrGoesToHubjectOnceAndARefusedOneIsRetried) {
  ASSERT_TRUE(sessions_.add(session()));
  ASSERT_TRUE(sessions_.apply(started("DE*8EO*Aet5e4*3", "started"), 2000));
  auto queued = sessions_.put_cdr(cdr(), 3000);
  ASSERT_TRUE(queued);
  EXPECT_TRUE(*queued);
  auto twice = sessions_.put_cdr(cdr(), 3100);  // the bus delivered it again
  ASSERT_TRUE(twice);
  EXPECT_FALSE(*twice);
  // Hubject refuses everything at first: the CDR goes first all the same (a refused fullLoad
  // does not hold up a bill), and both are kept.
  hubject_.refuse = true;
  EXPECT_EQ(cdr_pusher_.push_due().value_or(-1), 0);
  ASSERT_EQ(hubject_.pushed.size(), 2u);
  EXPECT_EQ(hubject_.pushed[0].operation, OicpOperation::kChargeDetailRecord);
  EXPECT_EQ(hubject_.pushed[1].action(), "fullLoad");
  take();
  hubject_.refuse = false;
  clock_.advance(2s);
  EXPECT_EQ(cdr_pusher_.push_due().value_or(-1), 3);  // the CDR, then the fullLoad
  auto sent = take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].operation, OicpOperation::kChargeDetailRecord);
  const auto& body = sent[0].body;
  EXPECT_EQ(body.at("SessionID").as_string(), session().session_id);
  EXPECT_EQ(body.at("EvseID"), "DE*SWY*E1*1");
  EXPECT_EQ(body.at("ConsumedEnergy"), 10.5);
  EXPECT_EQ(body.at("PartnerProductID"), "AC3");  // the tariff's product, not its id
  EXPECT_EQ(body.at("EMPPartnerSessionID"), "emp-1");
  EXPECT_EQ(body.at("ChargingStart"), "2023-11-14T22:13:20.000+00:00");
  EXPECT_EQ(body.at("Identification").at("RemoteIdentification").at("EvcoID"), "DE*8EO*Aet5e4*3");
  EXPECT_EQ(hubject_pending(), 0);
  // Accepted: a CDR the bus delivers again is never sent again.
  auto redelivered = sessions_.put_cdr(cdr(), 9000);
  ASSERT_TRUE(redelivered);
  EXPECT_FALSE(*redelivered);
  clock_.advance(2s);
  EXPECT_EQ(cdr_pusher_.push_due().value_or(-1), 0);
  EXPECT_TRUE(take().empty());
}

TEST_F(OicpSessionTest, ACdrBeforeItsTransactionsStartStillFindsTheSession) {
  ASSERT_TRUE(sessions_.add(session()));
  auto queued = sessions_.put_cdr(cdr(), 3000);  // the transactions topic is behind
  ASSERT_TRUE(queued);
  EXPECT_TRUE(*queued);
  EXPECT_EQ((*sessions_.get(session().session_id))->transaction_id, "42");
  auto other = cdr();
  other.set_transaction_id("43");
  other.mutable_id_token()->set_id("NOT-HUBJECTS");
  auto none = sessions_.put_cdr(other, 3000);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_F(OicpSessionTest, HubjectIsAskedAboutTokensOnlyItMayKnow) {
  OicpAuthorizer authorizer(settings(), sessions_, hubject_, clock_, &registry_);
  hubject_.authorization_answer =
      R"({"AuthorizationStatus":"Authorized","SessionID":"c2688855-7f00-0002-6d8e-48d883f6abb6",)"
      R"("ProviderID":"DE*8EO","StatusCode":{"Code":"000"}})";
  auto accepted = authorizer.authorize("04A1B2C3", "CP1");
  ASSERT_TRUE(accepted && *accepted);
  EXPECT_EQ((*accepted)->status, "Accepted");
  EXPECT_EQ((*accepted)->authorization_reference, "c2688855-7f00-0002-6d8e-48d883f6abb6");
  ASSERT_EQ(hubject_.authorization_requests.size(), 1u);
  EXPECT_EQ(hubject_.authorization_requests[0].at("OperatorID"), "DE*SWY");
  EXPECT_EQ(hubject_.authorization_requests[0]
                .at("Identification")
                .at("RFIDMifareFamilyIdentification")
                .at("UID"),
            "04A1B2C3");
  // The session Hubject named: its transaction and CDR follow (the EVSE from the location).
  auto s = sessions_.get("c2688855-7f00-0002-6d8e-48d883f6abb6");
  ASSERT_TRUE(s && *s);
  EXPECT_EQ((*s)->charger_id, "CP1");
  put(testing::sample_location());
  auto card = cdr();
  card.mutable_id_token()->set_id("04A1B2C3");
  card.mutable_location()->set_evse_id(2);
  auto queued = sessions_.put_cdr(card, 3000);
  ASSERT_TRUE(queued);
  EXPECT_TRUE(*queued);
  auto body = sessions_.cdr_to_send("c2688855-7f00-0002-6d8e-48d883f6abb6");
  ASSERT_TRUE(body && *body);
  EXPECT_EQ(json::parse(**body).at("EvseID"), "DE*SWY*E1*2");
  // In the charge point's local offset (the location is in Europe/Berlin), as Hubject requires.
  EXPECT_EQ(json::parse(**body).at("ChargingStart"), "2023-11-14T23:13:20.000+01:00");
  EXPECT_EQ(json::parse(**body).at("SessionEnd"), "2023-11-15T00:43:20.000+01:00");

  hubject_.authorization_answer =
      R"({"AuthorizationStatus":"NotAuthorized","StatusCode":{"Code":"102"}})";
  auto refused = authorizer.authorize("04A1B2C4", "CP1");
  ASSERT_TRUE(refused && *refused);
  EXPECT_EQ((*refused)->status, "Invalid");
  hubject_.down = true;
  auto unreachable = authorizer.authorize("04A1B2C5", "CP1");
  ASSERT_TRUE(unreachable);
  EXPECT_FALSE(*unreachable);  // the auth service's default decides
  hubject_.down = false;
  hubject_.authorization_requests.clear();
  auto not_oicp = authorizer.authorize("driver-7", "CP1");  // neither a UID nor an EvcoID
  ASSERT_TRUE(not_oicp);
  EXPECT_FALSE(*not_oicp);
  EXPECT_TRUE(hubject_.authorization_requests.empty());
}

TEST_F(OicpSessionTest, AnotherCardWhereAHubjectSessionRunsIsAskedAboutAsAStopOfIt) {
  OicpAuthorizer authorizer(settings(), sessions_, hubject_, clock_, &registry_);
  // Nothing runs at CP1 yet: not asked.
  auto idle = authorizer.authorize_stop("04A1B2C5", "CP1");
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->kind, OicpStopAnswer::Kind::kNotAsked);
  auto running = session();
  running.requested_ms = unix_ms(clock_.now());
  ASSERT_TRUE(sessions_.add(running));
  ASSERT_TRUE(sessions_.apply(started("DE*8EO*Aet5e4*3", "started"), running.requested_ms + 1000));
  const std::string sid = running.session_id;
  // The driver's own token while the transaction runs, an hour after the start (past the 15
  // minutes a requested session is accepted): Accepted locally.
  auto own =
      sessions_.authorizes("DE*8EO*Aet5e4*3", "CP1", running.requested_ms + 3'600'000, 900'000);
  ASSERT_TRUE(own && *own);
  EXPECT_EQ((*own)->session_id, sid);

  hubject_.stop_answer = R"({"AuthorizationStatus":"Authorized","SessionID":")" + sid +
                         R"(","StatusCode":{"Code":"000"}})";
  auto stop = authorizer.authorize_stop("04A1B2C5", "CP1");
  ASSERT_TRUE(stop);
  ASSERT_EQ(stop->kind, OicpStopAnswer::Kind::kAuthorized);
  EXPECT_EQ(stop->decision.status, "Accepted");
  EXPECT_EQ(stop->decision.group_id, oicp_group_id(sid));  // the charger knows it from the start
  EXPECT_EQ(stop->decision.group_id.size(), 20u);          // 1.6's parentIdTag
  EXPECT_EQ(stop->decision.authorization_reference, sid);
  ASSERT_EQ(hubject_.stop_requests.size(), 1u);
  // The card's StopTransaction: accepted for that session without asking Hubject again.
  auto allowed = sessions_.authorizes("04A1B2C5", "CP1", running.requested_ms + 60'000, 900'000);
  ASSERT_TRUE(allowed && *allowed);
  EXPECT_EQ((*allowed)->session_id, sid);
  const auto& body = hubject_.stop_requests[0];
  EXPECT_EQ(body.at("SessionID").as_string(), sid);
  EXPECT_EQ(body.at("OperatorID"), "DE*SWY");
  EXPECT_EQ(body.at("EvseID"), "DE*SWY*E1*1");
  EXPECT_EQ(body.at("EMPPartnerSessionID"), "emp-1");
  EXPECT_EQ(body.at("Identification").at("RFIDMifareFamilyIdentification").at("UID"), "04A1B2C5");
  // Not this session's card (a new driver at another EVSE): the caller asks about a start.
  hubject_.stop_answer = R"({"AuthorizationStatus":"NotAuthorized","StatusCode":{"Code":"102"}})";
  auto refused = authorizer.authorize_stop("04A1B2C6", "CP1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, OicpStopAnswer::Kind::kNotAuthorized);
  hubject_.stop_answer = "<html>";
  auto nonsense = authorizer.authorize_stop("04A1B2C6", "CP1");
  ASSERT_TRUE(nonsense);
  EXPECT_EQ(nonsense->kind, OicpStopAnswer::Kind::kNoAnswer);
  hubject_.down = true;
  auto down = authorizer.authorize_stop("04A1B2C6", "CP1");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->kind, OicpStopAnswer::Kind::kNoAnswer);
  hubject_.down = false;
  // Not an identification Hubject could know, or another charger: not asked.
  EXPECT_EQ(authorizer.authorize_stop("driver-7", "CP1")->kind, OicpStopAnswer::Kind::kNotAsked);
  EXPECT_EQ(authorizer.authorize_stop("04A1B2C6", "CP2")->kind, OicpStopAnswer::Kind::kNotAsked);
  // Ended: nothing runs any more.
  ASSERT_TRUE(sessions_.apply(started("DE*8EO*Aet5e4*3", "ended"), running.requested_ms + 9000));
  EXPECT_EQ(authorizer.authorize_stop("04A1B2C6", "CP1")->kind, OicpStopAnswer::Kind::kNotAsked);
  EXPECT_EQ(hubject_.stop_requests.size(), 3u);  // down: none arrived
}

TEST(OicpAcknowledgement, ResultsAndStatusCodesAreRead) {
  EXPECT_TRUE(
      read_acknowledgement("evse-data", 200, R"({"Result":true,"StatusCode":{"Code":"000"}})"));
  auto refused = read_acknowledgement(
      "evse-data", 200,
      R"({"Result":false,"StatusCode":{"Code":"017","Description":"Unauthorized Access"}})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("StatusCode 017 Unauthorized Access"), std::string::npos);
  auto gateway = read_acknowledgement("evse-status", 503, "<html>busy</html>");
  ASSERT_FALSE(gateway);
  EXPECT_EQ(gateway.error().code, ErrorCode::kUnavailable);
  auto rejected = read_acknowledgement("evse-status", 400, "not json");
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace switchyard::roaming
