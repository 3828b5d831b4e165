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

using testing::FakeReceiver;
using testing::Sent;

v1::RoamingLocation location(const std::string& id = "LOC1") {
  return testing::sample_location(id);
}

class LocationPusherTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    pusher_.add_source(source_);
    ASSERT_TRUE(partners_.put(partner("ptr-emsp", true)));
  }

  static Partner partner(const std::string& id, bool receives_locations) {
    return receives_locations ? testing::registered_partner(id, {"locations"})
                              : testing::registered_partner(id, {});
  }
  std::vector<std::string> receivers() {
    auto r = pusher_.receivers("locations");
    EXPECT_TRUE(r);
    return r ? *r : std::vector<std::string>{};
  }
  void status(int evse, const std::string& s) {
    at_ += 1000;
    ASSERT_TRUE(locations_.apply_status("CP1", evse, evse, s, at_, receivers()));
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
  LocationPushSource source_{locations_, outbox_, kParty};
  std::int64_t at_ = 0;
};

TEST_F(LocationPusherTest, OnlyPartnersWithALocationsReceiverGetPushes) {
  ASSERT_TRUE(partners_.put(partner("ptr-hub", false)));
  EXPECT_EQ(receivers(), std::vector<std::string>{"ptr-emsp"});
}

TEST_F(LocationPusherTest, ManyChangesWhileThePartnerIsDownAreOneRequestPerObjectWhenItIsBack) {
  receiver_.down = true;
  ASSERT_TRUE(locations_.put(location(), receivers()));
  for (int i = 0; i < 50; ++i) {
    status(1, i % 2 == 0 ? "Charging" : "Available");
    status(2, i % 3 == 0 ? "Faulted" : "Available");
  }
  status(1, "Reserved");
  EXPECT_EQ(pending(), 3);  // the location, E1, E2
  auto first = pusher_.push_due();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 0);
  EXPECT_TRUE(receiver_.sent.empty());
  clock_.advance(2min);
  pusher_.refresh_gauges();
  EXPECT_EQ(metric("switchyard_roaming_outbox_pending", "ptr-emsp"), 3);
  EXPECT_GE(metric("switchyard_roaming_outbox_oldest_age_seconds", "ptr-emsp"), 120);

  receiver_.down = false;
  auto back = pusher_.push_due();
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
  pusher_.refresh_gauges();
  EXPECT_EQ(metric("switchyard_roaming_outbox_pending", "ptr-emsp"), 0);
  EXPECT_EQ(metric("switchyard_roaming_outbox_oldest_age_seconds", "ptr-emsp"), 0);
  EXPECT_EQ(metric("switchyard_roaming_pushes_total"), 4);  // 1 failed + 3 delivered
}

TEST_F(LocationPusherTest, AnUnreachablePartnerIsAskedOncePerBackOff) {
  ASSERT_TRUE(locations_.put(location(), receivers()));
  status(1, "Available");
  status(2, "Available");
  receiver_.down = true;
  int attempts = 0;
  for (int i = 0; i < 40; ++i) {  // 40 s of passes, one a second
    auto before = metric("switchyard_roaming_pushes_total");
    if (i == 2) {  // new objects change meanwhile: they wait for the same back-off
      auto other = location("LOC2");
      for (auto& e : *other.mutable_evses()) e.set_charger_id("CP2");
      ASSERT_TRUE(locations_.put(other, receivers()));
    }
    ASSERT_TRUE(pusher_.push_due());
    attempts += static_cast<int>(metric("switchyard_roaming_pushes_total") - before);
    clock_.advance(1s);
  }
  // 1 + 2 + 4 + 8 + 15 + ... s apart: 6 attempts in 40 s, not 3 objects x 40.
  EXPECT_LE(attempts, 7);
  EXPECT_GE(attempts, 4);
  EXPECT_EQ(pending(), 4);
  auto stats = outbox_.stats();
  ASSERT_TRUE(stats);
  EXPECT_NE((*stats)[0].last_error.find("refused"), std::string::npos);
  receiver_.down = false;
  clock_.advance(15s);
  auto back = pusher_.push_due();
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, 4);
}

TEST_F(LocationPusherTest, ARefusedPushIsRetriedWithBackOff) {
  ASSERT_TRUE(locations_.put(location(), receivers()));
  receiver_.refuse = true;
  ASSERT_TRUE(pusher_.push_due());
  EXPECT_EQ(receiver_.sent.size(), 1);
  ASSERT_TRUE(pusher_.push_due());  // not due yet
  EXPECT_EQ(receiver_.sent.size(), 1);
  receiver_.refuse = false;
  clock_.advance(1s);
  auto again = pusher_.push_due();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1);
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, ARefusedPatchBecomesAPutOfTheWholeLocation) {
  ASSERT_TRUE(locations_.put(location()));  // before the partner received anything
  status(1, "Available");
  receiver_.refuse_patches = true;
  ASSERT_TRUE(pusher_.push_due());
  ASSERT_EQ(receiver_.sent.size(), 1);
  EXPECT_EQ(receiver_.sent[0].method, "PATCH");
  auto again = pusher_.push_due();  // the PUT is due at once
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1);
  ASSERT_EQ(receiver_.sent.size(), 2);
  EXPECT_EQ(receiver_.sent[1].method, "PUT");
  EXPECT_EQ(receiver_.sent[1].body.at("evses").at(0).at("status"), "AVAILABLE");
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, AChangeDuringTheSendIsSentAgain) {
  ASSERT_TRUE(locations_.put(location(), receivers()));
  ASSERT_TRUE(pusher_.push_due());
  status(1, "Available");
  receiver_.during_send = [this] { status(1, "Charging"); };
  ASSERT_TRUE(pusher_.push_due());
  EXPECT_EQ(pending(), 1);  // the Charging status has not been sent
  ASSERT_TRUE(pusher_.push_due());
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(receiver_.sent.back().body.at("status"), "CHARGING");
}

TEST_F(LocationPusherTest, AnUnregisteredPartnersOutboxGoes) {
  receiver_.down = true;
  ASSERT_TRUE(locations_.put(location(), receivers()));
  status(1, "Available");
  auto p = partner("ptr-emsp", true);
  p.state = PartnerState::kUnregistered;
  ASSERT_TRUE(partners_.put(p));
  receiver_.down = false;
  ASSERT_TRUE(pusher_.push_due());
  EXPECT_TRUE(receiver_.sent.empty());
  EXPECT_EQ(pending(), 0);
}

TEST_F(LocationPusherTest, UnpublishedLocationsArePushedOnlyWhenTheyStopBeingPublished) {
  auto hidden = location("HIDDEN");
  hidden.set_publish(false);
  ASSERT_TRUE(locations_.put(hidden, receivers()));
  at_ += 1000;
  ASSERT_TRUE(locations_.apply_status("CP1", 1, 1, "Available", at_, receivers()));
  EXPECT_EQ(pending(), 0);
  auto shown = location("SHOWN");
  for (auto& e : *shown.mutable_evses()) e.set_charger_id("CP2");
  ASSERT_TRUE(locations_.put(shown, receivers()));
  ASSERT_TRUE(pusher_.push_due());
  shown.set_publish(false);
  ASSERT_TRUE(locations_.put(shown, receivers()));
  ASSERT_TRUE(pusher_.push_due());
  ASSERT_EQ(receiver_.sent.size(), 2);
  EXPECT_EQ(receiver_.sent[1].body.at("publish"), false);
}

TEST_F(LocationPusherTest, APartnerThatJustRegisteredGetsEveryPublishedLocation) {
  ASSERT_TRUE(locations_.put(location()));  // before the partner: nobody to push to
  auto hidden = location("LOC2");
  hidden.set_publish(false);
  for (auto& e : *hidden.mutable_evses()) e.set_charger_id("CP2");
  ASSERT_TRUE(locations_.put(hidden));
  EXPECT_EQ(pending(), 0);
  auto queued = locations_.enqueue_published("ptr-emsp");
  ASSERT_TRUE(queued);
  EXPECT_EQ(*queued, 1);
  ASSERT_TRUE(pusher_.push_due());
  ASSERT_EQ(receiver_.sent.size(), 1U);
  EXPECT_EQ(receiver_.sent[0].method, "PUT");
  EXPECT_EQ(receiver_.sent[0].url, "https://emsp.test/ocpi/emsp/2.2.1/locations/DE/SWY/LOC1");
}

}  // namespace
}  // namespace switchyard::roaming
