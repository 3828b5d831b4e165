// Roaming drivers' sessions and CDRs against a fake eMSP on a real SQLite store: a session whose
// token an eMSP pushed is PUT to that eMSP as it changes and its CDR POSTed once (retried while the
// eMSP is down, never again once accepted, a redelivered CDR changes nothing); other drivers'
// sessions stay ours; an older update changes nothing; a session at a charger in no location
// waits for one; real-time authorizations give AUTH_REQUEST and the reference; the SENDER lists
// show a partner its own objects only; prices and totals as OCPI decimals.
#include "roaming/sessions.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>

#include "common/runtime/http/server.h"
#include "roaming/location_pusher.h"
#include "roaming_test_support.h"
#include "support/fake_clock.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeReceiver;

const Party kParty{"DE", "SWY"};

void set_time(google::protobuf::Timestamp* t, std::int64_t seconds) { t->set_seconds(seconds); }

constexpr std::int64_t kStart = 1'800'000'000;  // 2027-01-15T08:00:00Z

v1::TransactionUpdated update(const std::string& uid, std::int64_t updated, bool ended,
                              std::int64_t energy_wh = 0) {
  v1::TransactionUpdated u;
  auto* t = u.mutable_transaction();
  t->set_transaction_id("42");
  t->set_charger_id("CP1");
  t->mutable_location()->set_evse_id(1);
  t->mutable_location()->set_connector_id(1);
  t->mutable_id_token()->set_id(uid);
  t->mutable_id_token()->set_type("ISO14443");
  t->set_state(ended ? v1::TRANSACTION_STATE_ENDED : v1::TRANSACTION_STATE_ACTIVE);
  set_time(t->mutable_started_at(), kStart);
  if (ended) set_time(t->mutable_ended_at(), kStart + 5400);
  t->set_energy_wh(energy_wh);
  set_time(t->mutable_updated_at(), updated);
  u.set_change(ended ? "ended" : "started");
  return u;
}

v1::Cdr cdr(const std::string& uid) {
  v1::Cdr c;
  c.set_cdr_id(session_id_of("CP1", "42"));
  c.set_transaction_id("42");
  c.set_charger_id("CP1");
  c.mutable_location()->set_evse_id(1);
  c.mutable_location()->set_connector_id(1);
  c.mutable_id_token()->set_id(uid);
  set_time(c.mutable_started_at(), kStart);
  set_time(c.mutable_ended_at(), kStart + 5400);
  c.set_energy_wh(10500);
  c.set_duration_s(5400);
  c.set_tariff_id("T1");
  auto* p = c.mutable_price();
  p->set_currency("EUR");
  p->set_energy_minor(410);       // 10.5 kWh at EUR 0.39 = 4.095, rounded
  p->set_time_minor(150);         // 1.5 h at EUR 1.00
  p->set_session_fee_minor(100);  // EUR 1.00
  p->set_total_excl_vat_minor(660);
  p->set_vat_minor(125);
  p->set_total_incl_vat_minor(785);
  p->set_vat_basis_points(1900);
  return c;
}

OcpiToken token(const std::string& uid) {
  auto t = token_from_json(json::serialize(json::object{{"country_code", "NL"},
                                                        {"party_id", "EMS"},
                                                        {"uid", uid},
                                                        {"type", "RFID"},
                                                        {"contract_id", "NL-EMS-C" + uid},
                                                        {"issuer", "Peer eMSP"},
                                                        {"valid", true},
                                                        {"whitelist", "ALWAYS"},
                                                        {"last_updated", "2026-12-01T10:00:00Z"}}));
  EXPECT_TRUE(t) << t.error().message;
  return t ? *t : OcpiToken{};
}

class SessionsTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    pusher_.add_source(session_pushes_);
    pusher_.add_source(cdr_pushes_);
    ASSERT_TRUE(partners_.put(partner("ptr-emsp")));
    ASSERT_TRUE(tokens_.put("ptr-emsp", token("04AA")));
    ASSERT_TRUE(locations_.put(testing::sample_location()));
  }

  static Partner partner(const std::string& id) {
    return testing::registered_partner(id, {"sessions", "cdrs"});
  }
  int push() {
    auto r = pusher_.push_due();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : -1;
  }
  std::string pending_error() {
    auto stats = outbox_.stats();
    return stats && !stats->empty() ? stats->front().last_error : "";
  }
  double metric(const std::string& name, const std::string& label = "") {
    double v = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        bool match = label.empty();
        for (const auto& l : m.label) match = match || l.value == label;
        if (match) v += m.counter.value;
      }
    }
    return v;
  }
  http::Response list(const std::string& module, const Partner& caller,
                      const std::string& query = "") {
    http::Request r;
    r.method = "GET";
    r.path = "/ocpi/2.2.1/" + module;
    r.query = query;
    r.target = r.path + (query.empty() ? "" : "?" + query);
    OwnedListSender sender(module, sessions_, objects_, "https://cpo.test" + r.path, clock_);
    return sender.handle(caller, r, "");
  }

  TokenStore tokens_{*db_};
  SessionStore sessions_{*db_, clock_};
  SessionObjects objects_{sessions_, locations_, kParty, "EUR"};
  SessionFeed feed_{sessions_, tokens_, &pusher_, clock_, &registry_};
  SessionPushSource session_pushes_{sessions_, objects_, kParty};
  CdrPushSource cdr_pushes_{sessions_, objects_};
};

TEST_F(SessionsTest, ARoamingDriversSessionIsPutToTheOwnerAsItChangesAndItsCdrPostedOnce) {
  const std::string id = session_id_of("CP1", "42");
  ASSERT_TRUE(feed_.apply(update("04AA", kStart, false)));
  EXPECT_EQ(push(), 1);
  ASSERT_EQ(receiver_.sent.size(), 1U);
  const auto& started = receiver_.sent[0];
  EXPECT_EQ(started.method, "PUT");
  EXPECT_EQ(started.url, "https://emsp.test/ocpi/emsp/2.2.1/sessions/DE/SWY/" + id);
  EXPECT_EQ(started.token, "token-for-ptr-emsp");
  const auto& s = started.body.as_object();
  EXPECT_EQ(s.at("id").as_string(), id);
  EXPECT_EQ(s.at("country_code"), "DE");
  EXPECT_EQ(s.at("party_id"), "SWY");
  EXPECT_EQ(s.at("status"), "ACTIVE");
  EXPECT_EQ(s.at("start_date_time"), "2027-01-15T08:00:00Z");
  EXPECT_FALSE(s.contains("end_date_time"));
  EXPECT_EQ(s.at("kwh").to_number<double>(), 0.0);
  EXPECT_EQ(s.at("cdr_token").at("uid"), "04AA");
  EXPECT_EQ(s.at("cdr_token").at("contract_id"), "NL-EMS-C04AA");
  EXPECT_EQ(s.at("cdr_token").at("party_id"), "EMS");
  EXPECT_EQ(s.at("auth_method"), "WHITELIST");
  EXPECT_EQ(s.at("location_id"), "LOC1");
  EXPECT_EQ(s.at("evse_uid"), "E1");
  EXPECT_EQ(s.at("connector_id"), "1");
  EXPECT_EQ(s.at("currency"), "EUR");

  auto ended = update("04AA", kStart + 5400, true, 10500);
  ended.mutable_transaction()->set_cdr_id(id);
  ASSERT_TRUE(feed_.apply(ended));
  clock_.advance(1s);
  ASSERT_TRUE(feed_.apply(cdr("04AA")));
  EXPECT_EQ(push(), 2);  // the session (once, however many updates) and the CDR
  ASSERT_EQ(receiver_.sent.size(), 3U);
  const auto& completed = receiver_.sent[1].body.as_object();
  EXPECT_EQ(completed.at("status"), "COMPLETED");
  EXPECT_EQ(completed.at("end_date_time"), "2027-01-15T09:30:00Z");
  EXPECT_EQ(completed.at("kwh").to_number<double>(), 10.5);
  EXPECT_EQ(completed.at("total_cost").at("excl_vat").to_number<double>(), 6.6);
  EXPECT_EQ(completed.at("total_cost").at("incl_vat").to_number<double>(), 7.85);

  const auto& posted = receiver_.sent[2];
  EXPECT_EQ(posted.method, "POST");
  EXPECT_EQ(posted.url, "https://emsp.test/ocpi/emsp/2.2.1/cdrs");
  const auto& c = posted.body.as_object();
  EXPECT_EQ(c.at("id").as_string(), id);
  EXPECT_EQ(c.at("session_id").as_string(), id);
  EXPECT_EQ(c.at("currency"), "EUR");
  EXPECT_EQ(c.at("total_energy").to_number<double>(), 10.5);
  EXPECT_EQ(c.at("total_time").to_number<double>(), 1.5);
  EXPECT_EQ(c.at("total_cost").at("excl_vat").to_number<double>(), 6.6);
  EXPECT_EQ(c.at("total_cost").at("incl_vat").to_number<double>(), 7.85);
  EXPECT_EQ(c.at("total_energy_cost").at("excl_vat").to_number<double>(), 4.1);
  EXPECT_EQ(c.at("total_time_cost").at("excl_vat").to_number<double>(), 1.5);
  EXPECT_EQ(c.at("total_fixed_cost").at("excl_vat").to_number<double>(), 1.0);
  const auto& where = c.at("cdr_location").as_object();
  EXPECT_EQ(where.at("id"), "LOC1");
  EXPECT_EQ(where.at("evse_uid"), "E1");
  EXPECT_EQ(where.at("evse_id"), "DE*SWY*E1*1");
  EXPECT_EQ(where.at("connector_standard"), "IEC_62196_T2");
  EXPECT_EQ(where.at("country"), "DEU");
  const auto& period = c.at("charging_periods").as_array().at(0).as_object();
  EXPECT_EQ(period.at("dimensions").as_array().at(0).at("type"), "ENERGY");
  EXPECT_EQ(period.at("dimensions").as_array().at(0).at("volume").to_number<double>(), 10.5);

  // Delivered: the CDR is never sent again, even when the bus delivers it again.
  ASSERT_TRUE(feed_.apply(cdr("04AA")));
  EXPECT_EQ(push(), 0);
  EXPECT_EQ(receiver_.sent.size(), 3U);
  EXPECT_EQ(pending(), 0);
  auto stored = sessions_.cdr(id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_GT((*stored)->delivered_ms, 0);
  EXPECT_EQ(metric("switchyard_roaming_recorded_total", "sessions"), 1);
  EXPECT_EQ(metric("switchyard_roaming_recorded_total", "cdrs"), 1);
  EXPECT_EQ(metric("switchyard_roaming_pushes_total", "cdrs"), 1);
}

TEST_F(SessionsTest, OurOwnDriversSessionsAreNotRoaming) {
  ASSERT_TRUE(feed_.apply(update("OWN-DRIVER", kStart, false)));
  ASSERT_TRUE(feed_.apply(cdr("OWN-DRIVER")));
  EXPECT_EQ(push(), 0);
  EXPECT_TRUE(receiver_.sent.empty());
  auto s = sessions_.session(session_id_of("CP1", "42"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(*s);
}

TEST_F(SessionsTest, AnOlderUpdateChangesNothing) {
  ASSERT_TRUE(feed_.apply(update("04AA", kStart + 60, true, 2000)));
  ASSERT_TRUE(feed_.apply(update("04AA", kStart, false)));  // late, older
  EXPECT_EQ(push(), 1);
  ASSERT_EQ(receiver_.sent.size(), 1U);
  EXPECT_EQ(receiver_.sent[0].body.at("status"), "COMPLETED");
}

TEST_F(SessionsTest, ACdrIsRetriedWithBackOffUntilAcceptedAndThenNeverSentAgain) {
  receiver_.down = true;
  ASSERT_TRUE(feed_.apply(cdr("04AA")));
  EXPECT_EQ(push(), 0);
  EXPECT_EQ(pending(), 1);
  EXPECT_NE(pending_error().find("refused"), std::string::npos);
  EXPECT_EQ(push(), 0);  // not due before its back-off
  clock_.advance(1s);
  EXPECT_EQ(push(), 0);
  receiver_.down = false;
  receiver_.refuse = true;  // reached, but refused (e.g. 2001): kept and retried too
  clock_.advance(2s);
  EXPECT_EQ(push(), 0);
  EXPECT_EQ(pending(), 1);
  receiver_.refuse = false;
  clock_.advance(15s);
  EXPECT_EQ(push(), 1);
  clock_.advance(60s);
  EXPECT_EQ(push(), 0);
  EXPECT_EQ(pending(), 0);
  int posted = 0;
  for (const auto& s : receiver_.sent) posted += s.method == "POST" ? 1 : 0;
  EXPECT_EQ(posted, 2);  // the refused one and the accepted one, the same CDR id
  EXPECT_EQ(receiver_.sent.front().body.at("id"), receiver_.sent.back().body.at("id"));
}

TEST_F(SessionsTest, ASessionAtAChargerInNoLocationWaitsForOne) {
  auto elsewhere = update("04AA", kStart, false);
  elsewhere.mutable_transaction()->set_charger_id("CP9");
  ASSERT_TRUE(feed_.apply(elsewhere));
  EXPECT_EQ(push(), 0);
  EXPECT_EQ(pending(), 1);
  EXPECT_EQ(pending_error(), "charger CP9 EVSE 1 is in no location (put one with this EVSE)");
  auto l = testing::sample_location("LOC9");
  for (auto& e : *l.mutable_evses()) e.set_charger_id("CP9");
  ASSERT_TRUE(locations_.put(l));
  clock_.advance(2s);
  EXPECT_EQ(push(), 1);
  EXPECT_EQ(receiver_.sent.at(0).body.at("location_id"), "LOC9");
}

TEST_F(SessionsTest, ARealTimeAuthorizationGivesAuthRequestAndTheOwnersReference) {
  RoamingTokenDecision d;
  d.known = true;
  d.status = "Accepted";
  d.partner_id = "ptr-emsp";
  d.real_time = true;
  d.authorization_reference = "AUTH-REF-7";
  feed_.authorized("04AA", d);
  ASSERT_TRUE(feed_.apply(update("04AA", kStart, false)));
  ASSERT_TRUE(feed_.apply(cdr("04AA")));
  EXPECT_EQ(push(), 2);
  for (const auto& sent : receiver_.sent) {
    EXPECT_EQ(sent.body.at("auth_method"), "AUTH_REQUEST");
    EXPECT_EQ(sent.body.at("authorization_reference"), "AUTH-REF-7");
  }
}

TEST_F(SessionsTest, ASessionStartedByCommandStaysACommandSessionWhenTheChargerAsksAboutIt) {
  const std::int64_t now_ms = kStart * 1000;
  ASSERT_TRUE(sessions_.record_authorization("04AA", "ptr-emsp", {"COMMAND", "CMD-1", now_ms}));
  RoamingTokenDecision whitelist;
  whitelist.known = true;
  whitelist.status = "Accepted";
  whitelist.partner_id = "ptr-emsp";
  feed_.authorized("04AA", whitelist);  // the charger's StartTransaction, decided locally
  ASSERT_TRUE(feed_.apply(update("04AA", kStart, false)));
  EXPECT_EQ(push(), 1);
  EXPECT_EQ(receiver_.sent.at(0).body.at("auth_method"), "COMMAND");
  EXPECT_EQ(receiver_.sent.at(0).body.at("authorization_reference"), "CMD-1");
}

TEST_F(SessionsTest, APartnerWithoutReceiversPullsItsOwnSessionsAndCdrsOnly) {
  Partner puller = partner("ptr-pull");
  puller.endpoints.resize(1);  // credentials only: it pulls
  ASSERT_TRUE(partners_.put(puller));
  auto other = token("07BB");
  ASSERT_TRUE(tokens_.put("ptr-pull", other));
  ASSERT_TRUE(feed_.apply(update("07BB", kStart, false)));
  auto second = update("04AA", kStart, false);
  second.mutable_transaction()->set_transaction_id("43");
  ASSERT_TRUE(feed_.apply(second));
  ASSERT_TRUE(feed_.apply(cdr("07BB")));
  EXPECT_EQ(push(), 1);  // only the pushing partner's session
  EXPECT_EQ(pending(), 0);

  auto sessions = list("sessions", puller);
  EXPECT_EQ(sessions.status, 200);
  const auto body = json::parse(sessions.body);
  ASSERT_EQ(body.at("data").as_array().size(), 1U);
  EXPECT_EQ(body.at("data").as_array()[0].at("cdr_token").at("uid"), "07BB");
  auto cdrs = json::parse(list("cdrs", puller).body);
  ASSERT_EQ(cdrs.at("data").as_array().size(), 1U);
  EXPECT_EQ(cdrs.at("data").as_array()[0].at("total_energy").to_number<double>(), 10.5);
  auto theirs = json::parse(list("cdrs", partner("ptr-emsp")).body);
  EXPECT_TRUE(theirs.at("data").as_array().empty());

  auto bad = list("sessions", puller, "limit=x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("status_code"), 2001);
  http::Request put;
  put.method = "PUT";
  OwnedListSender sender("cdrs", sessions_, objects_, "https://cpo.test/cdrs", clock_);
  EXPECT_EQ(sender.handle(puller, put, "").status, 405);
}

TEST(OcpiDecimals, AreWrittenPlainAndInTheCurrencysMinorUnits) {
  EXPECT_EQ(decimal_text(10500, 3), "10.5");
  EXPECT_EQ(decimal_text(785, 2), "7.85");
  EXPECT_EQ(decimal_text(5, 3), "0.005");
  EXPECT_EQ(decimal_text(0, 2), "0");
  EXPECT_EQ(decimal_text(300, 2), "3");
  EXPECT_EQ(decimal_text(-150, 2), "-1.5");
  EXPECT_EQ(decimal_text(1234, 0), "1234");
  EXPECT_EQ(currency_exponent("EUR"), 2);
  EXPECT_EQ(currency_exponent("JPY"), 0);
  EXPECT_EQ(currency_exponent("KWD"), 3);
}

}  // namespace
}  // namespace switchyard::roaming
