// Command routing: local delivery only with the epoch the registry holds, forwarding to the owner
// pod with the epoch, offline and unreachable registry are UNAVAILABLE.
#include "gateway/command_router.h"

#include <gtest/gtest.h>

#include "common/runtime/registry/memory_owner_registry.h"
#include "switchyard/v1/gateway_internal.pb.h"

namespace switchyard::gateway {
namespace {

class FakeSession final : public Session {
 public:
  FakeSession(std::string id, std::int64_t epoch) : Session(std::move(id), ocpp::Version::k16, 1) {
    epoch_ = epoch;
  }
  void send_command(std::string action, std::string payload, CommandCallback done) override {
    sent.emplace_back(action, payload);
    done(CommandReply{action, ocpp::Version::k16, R"({"status":"Accepted"})", "", "", "Accepted"});
  }
  void close(SessionCloseReason reason) override { closed = reason; }
  void claim_again() override {}
  void after_claim(std::move_only_function<void()> then) override {
    if (claiming) return waiters.push_back(std::move(then));
    then();
  }
  // The claim in flight is answered with `epoch` (0: it failed).
  void settle(std::int64_t epoch) {
    epoch_ = epoch;
    claiming = false;
    for (auto& then : std::exchange(waiters, {})) then();
  }
  bool claiming = false;
  std::vector<std::move_only_function<void()>> waiters;
  std::vector<std::pair<std::string, std::string>> sent;
  std::optional<SessionCloseReason> closed;
};

class FakePeers final : public PeerGateway {
 public:
  void deliver(const std::string& address, const v1::DeliverRequest& request,
               std::chrono::milliseconds,
               std::move_only_function<void(Result<v1::DeliverResponse>)> done) override {
    delivered.emplace_back(address, request);
    v1::DeliverResponse r;
    r.set_payload_json(R"({"status":"Rejected"})");
    done(r);
  }
  void evict(const std::string&, const v1::EvictRequest&) override {}
  void reachability(const std::string&, const std::string&, std::chrono::milliseconds,
                    std::move_only_function<void(Result<PeerAnswer>)> done) override {
    done(make_error(ErrorCode::kUnavailable, "no peers here"));
  }
  std::vector<std::pair<std::string, v1::DeliverRequest>> delivered;
};

Result<CommandReply> run(CommandRouter& router, const std::string& id) {
  Result<CommandReply> out = make_error(ErrorCode::kInternal, "not called");
  router.locate(id, [&](Result<registry::Owner> owner) {
    if (!owner) {
      out = std::unexpected(owner.error());
      return;
    }
    router.send(id, *owner, "Reset", R"({"type":"Hard"})",
                [&](Result<CommandReply> r) { out = std::move(r); });
  });
  return out;
}

class CommandRouterTest : public ::testing::Test {
 protected:
  registry::Owner claim(const std::string& id, const std::string& pod) {
    registry::Owner owner{pod, 0, pod + ":50061", "ocpp1.6"};
    owners.claim(id, owner, [&](Result<registry::Claim> c) { owner.epoch = c->epoch; });
    return owner;
  }
  SessionRegistry sessions;
  registry::MemoryOwnerRegistry owners;
  FakePeers peers;
  OutsideCalls calls;
  CommandRouter router{"pod-a", sessions, owners, peers, std::chrono::seconds(5), calls};
};

// The in-memory registry keeps each owner's pod, address and protocol once for all its
// chargers: what a lookup, a takeover's previous owner and a refresh see is still each charger's.
TEST(MemoryOwnerRegistry, EveryChargerKeepsItsOwnPodAddressProtocolAndEpoch) {
  registry::MemoryOwnerRegistry owners;
  auto claim = [&](const std::string& id, registry::Owner owner) {
    registry::Claim out;
    owners.claim(id, owner, [&](Result<registry::Claim> c) { out = *c; });
    return out;
  };
  auto lookup = [&](const std::string& id) {
    std::optional<registry::Owner> out;
    owners.lookup(id, [&](Result<std::optional<registry::Owner>> o) { out = *o; });
    return out;
  };
  const auto a = claim("CP1", {"pod-a", 0, "a:1", "ocpp1.6"});
  const auto b = claim("CP2", {"pod-a", 0, "a:1", "ocpp2.0.1"});
  const auto c = claim("CP3", {"pod-b", 0, "b:1", "ocpp1.6"});
  EXPECT_EQ(lookup("CP1")->protocol, "ocpp1.6");
  EXPECT_EQ(lookup("CP2")->protocol, "ocpp2.0.1");
  EXPECT_EQ(lookup("CP2")->epoch, b.epoch);
  EXPECT_EQ(lookup("CP3")->pod, "pod-b");
  EXPECT_EQ(lookup("CP3")->address, "b:1");
  EXPECT_EQ(lookup("CP3")->epoch, c.epoch);
  EXPECT_FALSE(lookup("CP4"));

  const auto taken = claim("CP1", {"pod-b", 0, "b:1", "ocpp2.0.1"});
  ASSERT_TRUE(taken.previous);
  EXPECT_EQ(taken.previous->pod, "pod-a");
  EXPECT_EQ(taken.previous->protocol, "ocpp1.6");
  EXPECT_EQ(taken.previous->epoch, a.epoch);
  EXPECT_EQ(lookup("CP1")->pod, "pod-b");
  EXPECT_EQ(lookup("CP1")->epoch, taken.epoch);

  std::vector<bool> ours;
  owners.refresh({{"CP1", {"pod-b", taken.epoch, "b:1", "ocpp2.0.1"}},
                  {"CP2", {"pod-a", a.epoch, "a:1", "ocpp2.0.1"}},
                  {"CP9", {"pod-c", 77, "c:1", "ocpp2.1"}}},
                 [&](Result<std::vector<bool>> r) { ours = *r; });
  EXPECT_EQ(ours, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(lookup("CP9")->pod, "pod-c");
  EXPECT_EQ(lookup("CP9")->epoch, 77);

  bool released = false;
  owners.release("CP3", c.epoch, [&](Result<bool> r) { released = *r; });
  EXPECT_TRUE(released);
  EXPECT_FALSE(lookup("CP3"));
}

TEST_F(CommandRouterTest, DeliversLocallyWhenThisPodOwnsTheChargerWithTheSameEpoch) {
  const auto owner = claim("CP1", "pod-a");
  auto session = std::make_shared<FakeSession>("CP1", owner.epoch);
  sessions.add(session);
  auto r = run(router, "CP1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(session->sent.size(), 1u);
  EXPECT_TRUE(peers.delivered.empty());
}

TEST_F(CommandRouterTest, ForwardsToTheOwnerPodWithTheEpochItRoutedBy) {
  const auto owner = claim("CP1", "pod-b");
  auto r = run(router, "CP1");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(peers.delivered.size(), 1u);
  EXPECT_EQ(peers.delivered[0].first, "pod-b:50061");
  EXPECT_EQ(peers.delivered[0].second.epoch(), owner.epoch);
  EXPECT_EQ(r->payload_json, R"({"status":"Rejected"})");
}

TEST_F(CommandRouterTest, RefusesAStaleEpoch) {
  const auto old_owner = claim("CP1", "pod-a");
  auto session = std::make_shared<FakeSession>("CP1", old_owner.epoch + 1);  // reconnected since
  sessions.add(session);
  Result<CommandReply> out = make_error(ErrorCode::kInternal, "not called");
  router.deliver_local("CP1", old_owner.epoch, "Reset", "{}",
                       [&](Result<CommandReply> r) { out = std::move(r); });
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(out.error().message.find("stale"), std::string::npos);
  EXPECT_TRUE(session->sent.empty());
}

// A claim of pod-a is in the registry; the connection has not read its answer yet.
class ClaimInFlightTest : public CommandRouterTest {
 protected:
  void SetUp() override {
    owner = claim("CP1", "pod-a");
    session->claiming = true;
    sessions.add(session);
    router.deliver_local("CP1", owner.epoch, "Reset", "{}",
                         [this](Result<CommandReply> r) { out = std::move(r); });
  }
  registry::Owner owner;
  std::shared_ptr<FakeSession> session = std::make_shared<FakeSession>("CP1", 0);
  std::optional<Result<CommandReply>> out;
};

TEST_F(ClaimInFlightTest, TheCommandWaitsForTheClaimsEpoch) {
  EXPECT_FALSE(out);
  EXPECT_TRUE(session->sent.empty());
  session->settle(owner.epoch);
  ASSERT_TRUE(out && *out) << (out ? out->error().message : "not answered");
  EXPECT_EQ(session->sent.size(), 1u);
}

TEST_F(ClaimInFlightTest, AClaimThatFailsLeavesTheCommandUnavailable) {
  session->settle(0);
  ASSERT_TRUE(out);
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, ErrorCode::kUnavailable);
  EXPECT_NE(out->error().message.find("without an ownership claim"), std::string::npos);
  EXPECT_TRUE(session->sent.empty());
}

TEST_F(ClaimInFlightTest, AClaimSettledOnAnotherEpochMakesTheRoutingStale) {
  session->settle(owner.epoch + 1);
  ASSERT_TRUE(out);
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(session->sent.empty());
}

TEST_F(CommandRouterTest, OfflineChargerIsUnavailable) {
  auto r = run(router, "nobody");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("offline"), std::string::npos);
}

TEST_F(CommandRouterTest, OwnedHereButNotConnectedIsUnavailable) {
  claim("CP1", "pod-a");
  auto r = run(router, "CP1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(CommandRouterTest, EvictClosesOnlyAnOlderConnection) {
  auto session = std::make_shared<FakeSession>("CP1", 10);
  sessions.add(session);
  EXPECT_FALSE(router.evict("CP1", 9));
  EXPECT_FALSE(session->closed);
  EXPECT_TRUE(router.evict("CP1", 11));
  EXPECT_EQ(session->closed, SessionCloseReason::kTakenOver);
}

}  // namespace
}  // namespace switchyard::gateway
