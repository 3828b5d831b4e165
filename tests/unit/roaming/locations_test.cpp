// Locations: the operator's location checked field by field, the EVSE status fold, the OCPI
// JSON, pagination parameters and headers, the store on SQLite (REMOVED EVSEs, statuses from
// OCPP facts, last_updated, windows) and the locations SENDER module's answers.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "roaming/location_store.h"
#include "roaming/locations.h"
#include "roaming/locations_sender.h"
#include "roaming/ocpi_paging.h"
#include "roaming/status_feed.h"
#include "roaming_test_support.h"
#include "support/fake_clock.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const Party kParty{"DE", "SWY"};

v1::RoamingLocation sample(const std::string& id = "LOC1", const std::string& charger = "CP1") {
  v1::RoamingLocation l;
  l.set_id(id);
  l.set_publish(true);
  l.set_name("Depot");
  l.set_address("Hauptstr. 1");
  l.set_city("Berlin");
  l.set_postal_code("10115");
  l.set_country("DEU");
  l.mutable_coordinates()->set_latitude("52.520008");
  l.mutable_coordinates()->set_longitude("13.404954");
  l.set_time_zone("Europe/Berlin");
  l.set_parking_type("PARKING_LOT");
  for (int i = 1; i <= 2; ++i) {
    auto* e = l.add_evses();
    e->set_uid(id + "-E" + std::to_string(i));
    e->set_evse_id("DE*SWY*E" + id + "*" + std::to_string(i));
    e->set_charger_id(charger);
    e->set_ocpp_evse_id(i);
    e->add_capabilities("RFID_READER");
    auto* c = e->add_connectors();
    c->set_id("1");
    c->set_standard("IEC_62196_T2");
    c->set_format("SOCKET");
    c->set_power_type("AC_3_PHASE");
    c->set_max_voltage(230);
    c->set_max_amperage(32);
    c->set_max_electric_power(22000);
  }
  return l;
}

std::string check_error(const v1::RoamingLocation& l) {
  auto r = check_location(l, kParty);
  return r ? std::string() : r.error().message;
}

TEST(CheckLocation, AValidLocationPasses) { EXPECT_EQ(check_error(sample()), ""); }

TEST(CheckLocation, EachBadFieldIsNamed) {
  struct Case {
    std::function<void(v1::RoamingLocation&)> change;
    std::string error_prefix;
  };
  const std::vector<Case> cases = {
      {[](auto& l) { l.clear_id(); }, "id: required"},
      {[](auto& l) { l.set_id(std::string(37, 'x')); }, "id: longer than 36"},
      {[](auto& l) { l.clear_address(); }, "address: required"},
      {[](auto& l) { l.set_city(std::string(46, 'x')); }, "city: longer than 45"},
      {[](auto& l) { l.set_country("DE"); }, "country: 'DE' is no ISO 3166-1 alpha-3"},
      {[](auto& l) { l.mutable_coordinates()->set_latitude("91.0"); }, "coordinates.latitude:"},
      {[](auto& l) { l.mutable_coordinates()->set_longitude("13,4"); }, "coordinates.longitude:"},
      {[](auto& l) { l.set_time_zone("CET"); }, "time_zone: 'CET' is no IANA zone"},
      {[](auto& l) { l.set_time_zone("Europe/Atlantis"); },
       "time_zone: 'Europe/Atlantis' is no IANA zone"},
      {[](auto& l) { l.set_parking_type("GARAGE"); }, "parking_type: 'GARAGE'"},
      {[](auto& l) { l.mutable_evses(1)->set_evse_id("NL*ABC*E1"); },
       "evses[1].evse_id: 'NL*ABC*E1' is not an eMI3 EVSE id of party DE*SWY"},
      {[](auto& l) { l.mutable_evses(0)->clear_charger_id(); }, "evses[0].charger_id: required"},
      {[](auto& l) { l.mutable_evses(0)->set_ocpp_evse_id(0); }, "evses[0].ocpp_evse_id:"},
      {[](auto& l) { l.mutable_evses(1)->set_uid(l.evses(0).uid()); },
       "evses[1].uid: 'LOC1-E1' twice"},
      {[](auto& l) { l.mutable_evses(1)->set_ocpp_evse_id(1); },
       "evses[1].ocpp_evse_id: charger CP1 EVSE 1 twice"},
      {[](auto& l) { l.mutable_evses(0)->clear_connectors(); }, "evses[0].connectors: at least"},
      {[](auto& l) { l.mutable_evses(0)->mutable_connectors(0)->set_standard("TYPE2"); },
       "evses[0].connectors[0].standard: 'TYPE2' is no OCPI ConnectorType"},
      {[](auto& l) { l.mutable_evses(0)->mutable_connectors(0)->set_format("PLUG"); },
       "evses[0].connectors[0].format:"},
      {[](auto& l) { l.mutable_evses(0)->mutable_connectors(0)->set_power_type("AC"); },
       "evses[0].connectors[0].power_type:"},
      {[](auto& l) { l.mutable_evses(0)->mutable_connectors(0)->set_max_amperage(0); },
       "evses[0].connectors[0].max_amperage: must be positive"},
      {[](auto& l) { l.mutable_evses(0)->add_capabilities("WIFI"); },
       "evses[0].capabilities[1]: 'WIFI' is no OCPI Capability"},
  };
  for (const auto& c : cases) {
    auto l = sample();
    c.change(l);
    const std::string error = check_error(l);
    EXPECT_TRUE(error.starts_with(c.error_prefix))
        << "want " << c.error_prefix << ", got " << error;
  }
}

TEST(CheckLocation, EvseIdsWithoutSeparatorsAndInLowerCaseAreOurs) {
  auto l = sample();
  l.mutable_evses(0)->set_evse_id("DESWYE1231");
  l.mutable_evses(1)->set_evse_id("de*swy*e123*2");
  EXPECT_EQ(check_error(l), "");
}

TEST(EvseStatus, FoldsConnectorsAndTheWholeCharger) {
  const std::vector<OcppStatus> none;
  const std::vector<OcppStatus> available{{1, "Available"}};
  const std::vector<OcppStatus> mixed{{1, "Available"}, {2, "Occupied"}};
  const std::vector<OcppStatus> broken{{1, "Faulted"}, {2, "Available"}};
  EXPECT_EQ(ocpi_evse_status(none, "", true), "UNKNOWN");
  EXPECT_EQ(ocpi_evse_status(available, "", true), "AVAILABLE");
  EXPECT_EQ(ocpi_evse_status(available, "", false), "UNKNOWN");  // offline
  EXPECT_EQ(ocpi_evse_status(mixed, "", true), "CHARGING");
  EXPECT_EQ(ocpi_evse_status(broken, "", true), "AVAILABLE");  // one connector still works
  EXPECT_EQ(ocpi_evse_status(available, "Unavailable", true), "INOPERATIVE");
  EXPECT_EQ(ocpi_evse_status(available, "Faulted", true), "OUTOFORDER");
  EXPECT_EQ(ocpi_evse_status(available, "Available", true), "AVAILABLE");
  for (const char* s : {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}) {
    const std::vector<OcppStatus> one{{1, s}};
    EXPECT_EQ(ocpi_evse_status(one, "", true), "CHARGING") << s;
  }
  const std::vector<OcppStatus> reserved{{1, "Reserved"}};
  EXPECT_EQ(ocpi_evse_status(reserved, "", true), "RESERVED");
}

TEST(LocationJson, HasTheOcpiFieldsAndNoOcppOnes) {
  auto l = sample();
  l.mutable_last_updated()->set_seconds(1'800'000'000);
  l.mutable_evses(0)->set_status("AVAILABLE");
  l.mutable_evses(0)->mutable_last_updated()->set_seconds(1'800'000'000);
  const auto o = json::parse(location_json(l, kParty)).as_object();
  EXPECT_EQ(o.at("country_code"), "DE");
  EXPECT_EQ(o.at("party_id"), "SWY");
  EXPECT_EQ(o.at("id"), "LOC1");
  EXPECT_EQ(o.at("country"), "DEU");
  EXPECT_EQ(o.at("coordinates").at("latitude"), "52.520008");
  EXPECT_EQ(o.at("last_updated"), "2027-01-15T08:00:00Z");
  const auto& evse = o.at("evses").as_array().at(0).as_object();
  EXPECT_EQ(evse.at("evse_id"), "DE*SWY*ELOC1*1");
  EXPECT_EQ(evse.at("status"), "AVAILABLE");
  EXPECT_FALSE(evse.contains("charger_id"));
  EXPECT_FALSE(evse.contains("ocpp_evse_id"));
  const auto& connector = evse.at("connectors").as_array().at(0).as_object();
  EXPECT_EQ(connector.at("max_electric_power"), 22000);
  EXPECT_EQ(connector.at("last_updated"), "2027-01-15T08:00:00Z");
}

http::Request get(const std::string& target) {
  http::Request r;
  r.method = "GET";
  r.target = target;
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  return r;
}

std::string header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Paging, ParametersAreReadAndCheckedByName) {
  auto p = page_request(get("/l?offset=5&limit=500&date_from=2030-01-01T00:00:00Z"), 50, 100);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->offset, 5);
  EXPECT_EQ(p->limit, 100);  // lowered to the maximum
  EXPECT_EQ(p->from_ms, 1'893'456'000'000);
  // No zone: UTC (OCPI).
  auto utc = page_request(get("/l?date_to=2030-01-01T00:00:00"), 50, 100);
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->to_ms, 1'893'456'000'000);
  EXPECT_EQ(utc->limit, 50);
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"offset=-1", "offset:"},
           {"offset=x", "offset:"},
           {"limit=0", "limit:"},
           {"date_from=yesterday", "date_from:"},
           {"date_from=2030-01-02T00:00:00Z&date_to=2030-01-01T00:00:00Z", "date_to:"}}) {
    auto bad = page_request(get("/l?" + query), 50, 100);
    ASSERT_FALSE(bad) << query;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(bad.error().message.starts_with(field)) << bad.error().message;
  }
}

TEST(Paging, HeadersLinkToTheNextPageWhileMoreFollow) {
  PageRequest page;
  page.offset = 0;
  page.limit = 2;
  page.from_ms = 1'893'456'000'000;
  http::Response first;
  set_page_headers(first, "https://cpo/ocpi/2.2.1/locations", page, 5, 2);
  EXPECT_EQ(header(first, "X-Total-Count"), "5");
  EXPECT_EQ(header(first, "X-Limit"), "2");  // no maximum given: the limit applied
  page.max_limit = 100;
  http::Response capped;
  set_page_headers(capped, "https://cpo/ocpi/2.2.1/locations", page, 5, 2);
  EXPECT_EQ(header(capped, "X-Limit"), "100");  // the server's maximum page size
  EXPECT_EQ(header(first, "Link"),
            "<https://cpo/ocpi/2.2.1/locations?offset=2&limit=2&date_from=2030-01-01T00%3A00%3A00."
            "000Z>; rel=\"next\"");
  page.offset = 4;
  http::Response last;
  set_page_headers(last, "https://cpo/ocpi/2.2.1/locations", page, 5, 1);
  EXPECT_EQ(header(last, "Link"), "");
  EXPECT_EQ(header(last, "X-Total-Count"), "5");
}

class LocationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::make_unique<LocationStore>(*db_, clock_); }
  std::int64_t now_s() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch())
        .count();
  }
  std::string status_of(const std::string& location, int evse) {
    auto l = store_->get(location);
    EXPECT_TRUE(l && *l);
    return l && *l ? (*l)->evses(evse).status() : "";
  }

  switchyard::testing::FakeClock clock_;
  testing::RoamingDb db_;
  std::unique_ptr<LocationStore> store_;
};

TEST_F(LocationStoreTest, PutStoresTheDefinitionAndStartsFromWhatTheChargerReported) {
  // The charger reported before its location was defined.
  ASSERT_TRUE(store_->apply_status("CP1", 2, 2, "Charging", 1000));
  auto stored = store_->put(sample());
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->evses(0).status(), "UNKNOWN");
  EXPECT_EQ(stored->evses(1).status(), "CHARGING");
  EXPECT_EQ(stored->last_updated().seconds(), now_s());
  EXPECT_EQ(stored->evses(0).charger_id(), "CP1");
  EXPECT_EQ(stored->address(), "Hauptstr. 1");
}

TEST_F(LocationStoreTest, AStatusChangeMovesTheEvseAndTheLocationOnlyWhenItChanges) {
  ASSERT_TRUE(store_->put(sample()));
  const auto put_at = now_s();
  clock_.advance(60s);
  auto changes = store_->apply_status("CP1", 1, 1, "Available", 2000);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1);
  EXPECT_EQ((*changes)[0].uid, "LOC1-E1");
  EXPECT_EQ((*changes)[0].status, "AVAILABLE");
  auto l = store_->get("LOC1");
  ASSERT_TRUE(l && *l);
  EXPECT_EQ((*l)->last_updated().seconds(), put_at + 60);
  EXPECT_EQ((*l)->evses(0).last_updated().seconds(), put_at + 60);
  EXPECT_EQ((*l)->evses(1).last_updated().seconds(), put_at);
  // Same OCPI status again (Charging and Preparing are both CHARGING): nothing moves.
  clock_.advance(60s);
  ASSERT_TRUE(store_->apply_status("CP1", 1, 1, "Preparing", 3000));
  clock_.advance(60s);
  auto same = store_->apply_status("CP1", 1, 1, "Charging", 4000);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto after = store_->get("LOC1");
  EXPECT_EQ((*after)->last_updated().seconds(), put_at + 120);
}

TEST_F(LocationStoreTest, OlderEventsAndRedeliveriesChangeNothing) {
  ASSERT_TRUE(store_->put(sample()));
  ASSERT_TRUE(store_->apply_status("CP1", 1, 1, "Charging", 5000));
  auto older = store_->apply_status("CP1", 1, 1, "Available", 4000);
  ASSERT_TRUE(older);
  EXPECT_TRUE(older->empty());
  EXPECT_EQ(status_of("LOC1", 0), "CHARGING");
  auto again = store_->apply_status("CP1", 1, 1, "Charging", 5000);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(LocationStoreTest, TheWholeChargerAndItsConnectionDecideForEveryEvse) {
  ASSERT_TRUE(store_->put(sample()));
  ASSERT_TRUE(store_->apply_status("CP1", 1, 1, "Available", 1000));
  ASSERT_TRUE(store_->apply_status("CP1", 2, 2, "Available", 1000));
  auto down = store_->apply_status("CP1", 0, 0, "Unavailable", 2000);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->size(), 2);
  EXPECT_EQ(status_of("LOC1", 0), "INOPERATIVE");
  EXPECT_EQ(status_of("LOC1", 1), "INOPERATIVE");
  ASSERT_TRUE(store_->apply_status("CP1", 0, 0, "Available", 3000));
  EXPECT_EQ(status_of("LOC1", 1), "AVAILABLE");
  auto gone = store_->apply_online("CP1", false, 4000);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->size(), 2);
  EXPECT_EQ(status_of("LOC1", 0), "UNKNOWN");
  ASSERT_TRUE(store_->apply_online("CP1", true, 5000));
  EXPECT_EQ(status_of("LOC1", 0), "AVAILABLE");  // its last statuses again
}

// A poll's facts in one transaction (a reconnect storm: the drop, the reconnection, the boot and
// the statuses of every charger): the same statuses and changes as one by one, an older fact
// among them ignored.
TEST_F(LocationStoreTest, AllTheFactsOfAPollInOneTransactionEndAsOneByOne) {
  ASSERT_TRUE(store_->put(sample()));
  ASSERT_TRUE(store_->apply_status("CP1", 1, 1, "Available", 1000));
  ASSERT_TRUE(store_->apply_status("CP1", 2, 2, "Available", 1000));
  using Fact = LocationStore::Fact;
  const std::vector<Fact> storm = {
      Fact{"CP1", std::nullopt, 0, 0, false, 2000},  // dropped: both UNKNOWN
      Fact{"CP1", std::nullopt, 0, 0, true, 3000},   // back: their statuses again
      Fact{"CP1", "Charging", 2, 2, false, 3000},    // EVSE 2 charging
      Fact{"CP1", "Faulted", 1, 1, false, 500},      // older than what EVSE 1 has: ignored
      Fact{"CP9", "Available", 1, 1, false, 3000},   // a charger in no location
  };
  auto changes = store_->apply_facts(storm);
  ASSERT_TRUE(changes) << changes.error().message;
  std::vector<std::string> seen;
  for (const auto& c : *changes) seen.push_back(c.uid + "=" + c.status);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"LOC1-E1=UNKNOWN", "LOC1-E2=UNKNOWN", "LOC1-E1=AVAILABLE",
                                      "LOC1-E2=AVAILABLE", "LOC1-E2=CHARGING"}));
  EXPECT_EQ(status_of("LOC1", 0), "AVAILABLE");
  EXPECT_EQ(status_of("LOC1", 1), "CHARGING");
  // Delivered again (the poll's flush failed after the commit): nothing changes.
  auto again = store_->apply_facts(storm);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

// The roaming consumer's status feed writes nothing until its flush, then the poll's facts.
TEST_F(LocationStoreTest, TheStatusFeedGathersAPollAndWritesItAtTheFlush) {
  ASSERT_TRUE(store_->put(sample()));
  StatusFeed feed(*store_, nullptr, nullptr);
  auto event = [](const std::string& status, int evse, std::int64_t seconds) {
    v1::ChargerEvent e;
    e.set_charger_id("CP1");
    e.mutable_received_at()->set_seconds(seconds);
    auto* s = e.mutable_status_notification();
    s->set_status(status);
    s->mutable_location()->set_evse_id(evse);
    s->mutable_location()->set_connector_id(evse);
    return e.SerializeAsString();
  };
  const std::string first = event("Available", 1, 10);
  const std::string second = event("Charging", 2, 11);
  ASSERT_TRUE(feed.handle(bus::Event{"ocpp.events.v1", "CP1", first}));
  ASSERT_TRUE(feed.handle(bus::Event{"ocpp.events.v1", "CP1", second}));
  EXPECT_EQ(status_of("LOC1", 0), "UNKNOWN");
  EXPECT_EQ(status_of("LOC1", 1), "UNKNOWN");
  ASSERT_TRUE(feed.flush());
  EXPECT_EQ(status_of("LOC1", 0), "AVAILABLE");
  EXPECT_EQ(status_of("LOC1", 1), "CHARGING");
  EXPECT_TRUE(feed.flush()) << "nothing left to write";
}

TEST_F(LocationStoreTest, AnEvseLeftOutStaysAsRemovedAndIgnoresItsCharger) {
  ASSERT_TRUE(store_->put(sample()));
  auto smaller = sample();
  smaller.mutable_evses()->RemoveLast();
  clock_.advance(10s);
  auto stored = store_->put(smaller);
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->evses_size(), 2);
  EXPECT_EQ(stored->evses(1).uid(), "LOC1-E2");
  EXPECT_EQ(stored->evses(1).status(), "REMOVED");
  EXPECT_EQ(stored->last_updated().seconds(), now_s());
  auto ignored = store_->apply_status("CP1", 2, 2, "Available", 1000);
  ASSERT_TRUE(ignored);
  EXPECT_TRUE(ignored->empty());
  EXPECT_EQ(status_of("LOC1", 1), "REMOVED");
  // Putting it back brings it back with its charger's status.
  auto back = store_->put(sample());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->evses(1).status(), "AVAILABLE");
}

TEST_F(LocationStoreTest, PuttingTheSameDefinitionAgainKeepsLastUpdated) {
  auto first = store_->put(sample());
  ASSERT_TRUE(first);
  clock_.advance(30s);
  auto second = store_->put(sample());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->last_updated().seconds(), first->last_updated().seconds());
  auto renamed = sample();
  renamed.set_name("Depot North");
  auto third = store_->put(renamed);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->last_updated().seconds(), now_s());
}

TEST_F(LocationStoreTest, OneOcppEvseBelongsToOneLocation) {
  ASSERT_TRUE(store_->put(sample("LOC1", "CP1")));
  auto twice = store_->put(sample("LOC2", "CP1"));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(
      twice.error().message.find("charger CP1 EVSE 1 is already EVSE LOC1-E1 of location LOC1"),
      std::string::npos)
      << twice.error().message;
}

TEST_F(LocationStoreTest, QueryPagesPublishedLocationsByLastUpdatedWithinTheWindow) {
  for (int i = 1; i <= 5; ++i) {
    auto l = sample("L" + std::to_string(i), "CP" + std::to_string(i));
    l.set_publish(i != 3);
    ASSERT_TRUE(store_->put(l));
    clock_.advance(10s);
  }
  auto all = store_->query({std::nullopt, std::nullopt, 0, 2});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 4);
  ASSERT_EQ(all->locations.size(), 2);
  EXPECT_EQ(all->locations[0].id(), "L1");
  EXPECT_EQ(all->locations[1].id(), "L2");
  auto rest = store_->query({std::nullopt, std::nullopt, 2, 2});
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->locations.size(), 2);
  EXPECT_EQ(rest->locations[0].id(), "L4");
  EXPECT_EQ(rest->locations[1].id(), "L5");
  // L2 at +10 s, L4 at +30 s: [start+10 s, start+40 s) holds L2 and L4 (L3 is not published).
  const std::int64_t start = 1'800'000'000'000;
  auto window = store_->query({start + 10'000, start + 40'000, 0, 50});
  ASSERT_TRUE(window);
  EXPECT_EQ(window->total, 2);
  ASSERT_EQ(window->locations.size(), 2);
  EXPECT_EQ(window->locations[0].id(), "L2");
  // A status change moves L1 to the end of the order.
  ASSERT_TRUE(store_->apply_status("CP1", 1, 1, "Available", 1000));
  auto moved = store_->query({std::nullopt, std::nullopt, 0, 50});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->locations.back().id(), "L1");
}

TEST_F(LocationStoreTest, TheSenderAnswersListsObjectsAndUnknowns) {
  ASSERT_TRUE(store_->put(sample("L1", "CP1")));
  auto hidden = sample("L2", "CP2");
  hidden.set_publish(false);
  ASSERT_TRUE(store_->put(hidden));
  ASSERT_TRUE(store_->put(sample("L3", "CP3")));
  LocationsSender sender(*store_, kParty, "http://cpo/ocpi/2.2.1/locations", clock_);
  Partner partner;
  auto call = [&](const std::string& rest, const std::string& query = "") {
    auto request = get("/ocpi/2.2.1/locations" + rest + (query.empty() ? "" : "?" + query));
    return sender.handle(partner, request, rest);
  };
  auto body = [](const http::Response& r) { return json::parse(r.body).as_object(); };

  auto page = call("", "limit=1");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(body(page).at("status_code"), 1000);
  EXPECT_EQ(body(page).at("data").as_array().size(), 1);
  EXPECT_EQ(header(page, "X-Total-Count"), "2");
  EXPECT_EQ(header(page, "Link"),
            "<http://cpo/ocpi/2.2.1/locations?offset=1&limit=1>; rel=\"next\"");

  auto evse = call("/L1/L1-E2");
  EXPECT_EQ(evse.status, 200);
  EXPECT_EQ(body(evse).at("data").at("uid"), "L1-E2");
  auto connector = call("/L1/L1-E2/1");
  EXPECT_EQ(body(connector).at("data").at("standard"), "IEC_62196_T2");

  for (const std::string rest : {"/L2", "/NOPE", "/L1/NOPE", "/L1/L1-E1/9"}) {
    auto unknown = call(rest);
    EXPECT_EQ(unknown.status, 404) << rest;
    EXPECT_EQ(body(unknown).at("status_code"), 2003) << rest;
  }
  auto bad = call("", "offset=minus");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body(bad).at("status_code"), 2001);
  auto put = get("/ocpi/2.2.1/locations/L1");
  put.method = "PUT";
  EXPECT_EQ(sender.handle(partner, put, "/L1").status, 405);
}

}  // namespace
}  // namespace switchyard::roaming
