// Location pushes against a fake partner API on a real SQLite store: many changes while the
// partner is down become one request per changed object with the latest state, an unreachable
// partner is asked once per back-off, a refused push is retried, a change during a send is sent
// again, an unregistered partner's outbox goes, unpublished locations are not pushed, and the
// outbox gauges.
#include "roaming/location_pusher.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>
#include <functional>

#include "roaming_test_support.h"
#include "support/fake_clock.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const Party kParty{"DE", "SWY"};

struct Sent {
  std::string method;
  std::string url;
  std::string token;
  json::value body;
};

// The partner's receiver: records what it is sent; `down` refuses connections, `refuse` answers
// with an OCPI error.
class FakeReceiver final : public testing::UnimplementedOcpiClient {
 public:
  bool down = false;
  bool refuse = false;
  bool refuse_patches = false;  // answers 2003 to EVSE patches (it lacks the location)
  std::function<void()> during_send;
  std::vector<Sent> sent;
  Party last_to;

  Result<void> push(const std::string& method, const std::string&, const std::string& url,
                    const std::string& token, std::string body, const Party& to) override {
    last_to = to;
    if (down) return make_error(ErrorCode::kUnavailable, method + " " + url + ": refused");
    if (during_send) std::exchange(during_send, nullptr)();
    sent.push_back({method, url, token, json::parse(body)});
    if (refuse) return make_error(ErrorCode::kFailedPrecondition, "status_code 2001: no");
    if (refuse_patches && method == "PATCH") {
      return make_error(ErrorCode::kFailedPrecondition, "status_code 2003: unknown location");
    }
    return {};
  }
};

v1::RoamingLocation location(const std::string& id = "LOC1") {
  v1::RoamingLocation l;
  l.set_id(id);
  l.set_publish(true);
  l.set_address("Hauptstr. 1");
  l.set_city("Berlin");
  l.set_country("DEU");
  l.mutable_coordinates()->set_latitude("52.520008");
  l.mutable_coordinates()->set_longitude("13.404954");
  l.set_time_zone("Europe/Berlin");
  for (int i = 1; i <= 2; ++i) {
    auto* e = l.add_evses();
    e->set_uid("E" + std::to_string(i));
    e->set_evse_id("DE*SWY*E1*" + std::to_string(i));
    e->set_charger_id("CP1");
    e->set_ocpp_evse_id(i);
    auto* c = e->add_connectors();
    c->set_id("1");
    c->set_standard("IEC_62196_T2");
    c->set_format("SOCKET");
    c->set_power_type("AC_3_PHASE");
    c->set_max_voltage(230);
    c->set_max_amperage(32);
  }
  return l;
}

class LocationPusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    partners_ = std::make_unique<SqlPartnerStore>(*db_);
    locations_ = std::make_unique<LocationStore>(*db_, clock_);
    pusher_ = std::make_unique<LocationPusher>(*locations_, *partners_, receiver_, kParty, clock_,
                                               &registry_);
    ASSERT_TRUE(partners_->put(partner("ptr-emsp", true)));
  }

  static Partner partner(const std::string& id, bool receives_locations) {
    Partner p;
    p.id = id;
    p.name = id;
    p.state = PartnerState::kRegistered;
    p.their_token = "token-for-" + id;
    p.our_token_sha256 = std::string(64, id.back());
    p.version = "2.2.1";
    p.endpoints = {{"credentials", "RECEIVER", "https://emsp.test/ocpi/2.2.1/credentials"}};
    p.roles = {{"EMSP", "NL", "EMS", "Peer eMSP"}};
    if (receives_locations) {
      p.endpoints.push_back(
          {"locations", "RECEIVER", "https://emsp.test/ocpi/emsp/2.2.1/locations"});
    }
    return p;
  }
  std::vector<std::string> receivers() {
    auto r = pusher_->receivers();
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
  void status(int evse, const std::string& s) {
    at_ += 1000;
    ASSERT_TRUE(locations_->apply_status("CP1", evse, evse, s, at_, receivers()));
  }
  double metric(const std::string& name, const std::string& partner = "") {
    double v = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        bool match = partner.empty();
        for (const auto& l : m.label) match = match || (l.name == "partner" && l.value == partner);
        if (match) v += m.counter.value + m.gauge.value;
      }
    }
    return v;
  }
  std::int64_t pending() {
    auto stats = locations_->push_stats();
    EXPECT_TRUE(stats);
    std::int64_t n = 0;
    for (const auto& s : *stats) n += s.pending;
    return n;
  }

  switchyard::testing::FakeClock clock_;
  prometheus::Registry registry_;
  FakeReceiver receiver_;
  testing::RoamingDb db_;
  std::unique_ptr<SqlPartnerStore> partners_;
  std::unique_ptr<LocationStore> locations_;
  std::unique_ptr<LocationPusher> pusher_;
  std::int64_t at_ = 0;
};

TEST_F(LocationPusherTest, OnlyPartnersWithALocationsReceiverGetPushes) {
  ASSERT_TRUE(partners_->put(partner("ptr-hub", false)));
  EXPECT_EQ(receivers(), std::vector<std::string>{"ptr-emsp"});
}

TEST_F(LocationPusherTest, ManyChangesWhileThePartnerIsDownAreOneRequestPerObjectWhenItIsBack) {
  receiver_.down = true;
  ASSERT_TRUE(locations_->put(location(), receivers()));
  for (int i = 0; i < 50; ++i) {
    status(1, i % 2 == 0 ? "Charging" : "Available");
    status(2, i % 3 == 0 ? "Faulted" : "Available");
  }
  status(1, "Reserved");
  EXPECT_EQ(pending(), 3);  // the location, E1, E2
  auto first = pusher_->push_due();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 0);
  EXPECT_TRUE(receiver_.sent.empty());
  clock_.advance(2min);
  pusher_->refresh_gauges();
  EXPECT_EQ(metric("switchyard_roaming_outbox_pending", "ptr-emsp"), 3);
  EXPECT_GE(metric("switchyard_roaming_outbox_oldest_age_seconds", "ptr-emsp"), 120);

  receiver_.down = false;
  auto back = pusher_->push_due();
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, 3);
  ASSERT_EQ(receiver_.sent.size(), 3);
  EXPECT_EQ(receiver_.sent[0].method, "PUT");
  EXPECT_EQ(receiver_.sent[0].url, "https://emsp.test/ocpi/emsp/2.2.1/locations/DE/SWY/LOC1");
  EXPECT_EQ(receiver_.sent[0].token, "token-for-ptr-emsp");
  EXPECT_EQ(receiver_.last_to, (Party{"NL", "EMS"}));  // OCPI-to-*: the partner's party
  EXPECT_EQ(receiver_.sent[0].body.at("evses").as_array().size(), 2);
  // The latest state, not the history.
  std::map<std::string, std::string> patched;
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(receiver_.sent[i].method, "PATCH");
    patched[receiver_.sent[i].url] = std::string(receiver_.sent[i].body.at("status").as_string());
    EXPECT_TRUE(receiver_.sent[i].body.as_object().contains("last_updated"));
  }
  EXPECT_EQ(patched["https://emsp.test/ocpi/emsp/2.2.1/locations/DE/SWY/LOC1/E1"], "RESERVED");
  EXPECT_EQ(patched["https://emsp.test/ocpi/emsp/2.2.1/locations/DE/SWY/LOC1/E2"], "AVAILABLE");
  EXPECT_EQ(pending(), 0);
  pusher_->refresh_gauges();
  EXPECT_EQ(metric("switchyard_roaming_outbox_pending", "ptr-emsp"), 0);
  EXPECT_EQ(metric("switchyard_roaming_outbox_oldest_age_seconds", "ptr-emsp"), 0);
  EXPECT_EQ(metric("switchyard_roaming_pushes_total"), 4);  // 1 failed + 3 delivered
}

TEST_F(LocationPusherTest, AnUnreachablePartnerIsAskedOncePerBackOff) {
  ASSERT_TRUE(locations_->put(location(), receivers()));
  status(1, "Available");
  status(2, "Available");
  receiver_.down = true;
  int attempts = 0;
  for (int i = 0; i < 40; ++i) {  // 40 s of passes, one a second
    auto before = metric("switchyard_roaming_pushes_total");
    if (i == 2) {  // new objects change meanwhile: they wait for the same back-off
      auto other = location("LOC2");
      for (auto& e : *other.mutable_evses()) e.set_charger_id("CP2");
      ASSERT_TRUE(locations_->put(other, receivers()));
    }
    ASSERT_TRUE(pusher_->push_due());
    attempts += static_cast<int>(metric("switchyard_roaming_pushes_total") - before);
    clock_.advance(1s);
  }
  // 1 + 2 + 4 + 8 + 15 + ... s apart: 6 attempts in 40 s, not 3 objects x 40.
  EXPECT_LE(attempts, 7);
  EXPECT_GE(attempts, 4);
  EXPECT_EQ(pending(), 4);
  auto stats = locations_->push_stats();
  ASSERT_TRUE(stats);
  EXPECT_NE((*stats)[0].last_error.find("refused"), std::string::npos);
  receiver_.down = false;
  clock_.advance(15s);
  auto back = pusher_->push_due();
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, 4);
}

TEST_F(LocationPusherTest, ARefusedPushIsRetriedWithBackOff) {
  ASSERT_TRUE(locations_->put(location(), receivers()));
  receiver_.refuse = true;
  ASSERT_TRUE(pusher_->push_due());
  EXPECT_EQ(receiver_.sent.size(), 1);
  ASSERT_TRUE(pusher_->push_due());  // not due yet
  EXPECT_EQ(receiver_.sent.size(), 1);
  receiver_.refuse = false;
  clock_.advance(1s);
  auto again = pusher_->push_due();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, ARefusedPatchBecomesAPutOfTheWholeLocation) {
  ASSERT_TRUE(locations_->put(location()));  // before the partner received anything
  status(1, "Available");
  receiver_.refuse_patches = true;
  ASSERT_TRUE(pusher_->push_due());
  ASSERT_EQ(receiver_.sent.size(), 1);
  EXPECT_EQ(receiver_.sent[0].method, "PATCH");
  auto again = pusher_->push_due();  // the PUT is due at once
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1);
  ASSERT_EQ(receiver_.sent.size(), 2);
  EXPECT_EQ(receiver_.sent[1].method, "PUT");
  EXPECT_EQ(receiver_.sent[1].body.at("evses").at(0).at("status"), "AVAILABLE");
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, AChangeDuringTheSendIsSentAgain) {
  ASSERT_TRUE(locations_->put(location(), receivers()));
  ASSERT_TRUE(pusher_->push_due());
  status(1, "Available");
  receiver_.during_send = [this] { status(1, "Charging"); };
  ASSERT_TRUE(pusher_->push_due());
  EXPECT_EQ(pending(), 1);  // the Charging status has not been sent
  ASSERT_TRUE(pusher_->push_due());
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(receiver_.sent.back().body.at("status"), "CHARGING");
}

TEST_F(LocationPusherTest, AnUnregisteredPartnersOutboxGoes) {
  receiver_.down = true;
  ASSERT_TRUE(locations_->put(location(), receivers()));
  status(1, "Available");
  auto p = partner("ptr-emsp", true);
  p.state = PartnerState::kUnregistered;
  ASSERT_TRUE(partners_->put(p));
  receiver_.down = false;
  ASSERT_TRUE(pusher_->push_due());
  EXPECT_TRUE(receiver_.sent.empty());
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, UnpublishedLocationsArePushedOnlyWhenTheyStopBeingPublished) {
  auto hidden = location("HIDDEN");
  hidden.set_publish(false);
  ASSERT_TRUE(locations_->put(hidden, receivers()));
  at_ += 1000;
  ASSERT_TRUE(locations_->apply_status("CP1", 1, 1, "Available", at_, receivers()));
  EXPECT_EQ(pending(), 0);
  auto shown = location("SHOWN");
  for (auto& e : *shown.mutable_evses()) e.set_charger_id("CP2");
  ASSERT_TRUE(locations_->put(shown, receivers()));
  ASSERT_TRUE(pusher_->push_due());
  shown.set_publish(false);
  ASSERT_TRUE(locations_->put(shown, receivers()));
  ASSERT_TRUE(pusher_->push_due());
  ASSERT_EQ(receiver_.sent.size(), 2);
  EXPECT_EQ(receiver_.sent[1].body.at("publish"), false);
}

}  // namespace
}  // namespace switchyard::roaming
