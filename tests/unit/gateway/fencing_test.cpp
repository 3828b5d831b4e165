// Fencing decisions: a pod fences only after fence_after without Kafka or Redis and only when a
// peer that is not fenced has reached both all that while; it lifts the fence once it reaches
// both again.
#include "gateway/fencing.h"

#include <gtest/gtest.h>

namespace switchyard::gateway {
namespace {

using namespace std::chrono_literals;
using Step = Fencing::Step;

const Fencing::Clock::time_point kStart{};
const Reachability kNeither{.bus = false, .registry = false};
const Reachability kBoth{};

TEST(FencingTest, ShortOutagesAreRiddenOut) {
  Fencing fencing(30s, kStart);
  fencing.probed(kNeither, kStart + 1s);
  EXPECT_EQ(fencing.next(kStart + 29s), Step::kNone);
  EXPECT_EQ(fencing.cut_off(kStart + 29s), "");
  fencing.probed(kBoth, kStart + 29s);  // back before fence_after
  EXPECT_EQ(fencing.next(kStart + 45s), Step::kNone);
}

TEST(FencingTest, CutOffLongEnoughItAsksThePeersAndFencesWhenOneReachesBoth) {
  Fencing fencing(30s, kStart);
  for (auto t = 1s; t <= 31s; t += 1s) fencing.probed(kNeither, kStart + t);
  EXPECT_EQ(fencing.cut_off(kStart + 31s), "kafka and redis");
  ASSERT_EQ(fencing.next(kStart + 31s), Step::kAskPeers);

  // A shared outage: no peer reaches them either, or the one that does is fenced, or it has
  // been back for less time than this pod has been without them (a shared outage that healed a
  // moment earlier there).
  const std::vector<PeerAnswer> shared = {
      {.pod = "gateway-1", .reachability = kNeither},
      {.pod = "gateway-2", .reachability = {.bus = true, .registry = false}},
      {.pod = "gateway-3", .reachability = kBoth, .fenced = true, .reachable_for = 1h},
      {.pod = "gateway-4", .reachability = kBoth, .reachable_for = 2s}};
  EXPECT_FALSE(fencing.fence_if_a_peer_reaches(shared, kStart + 31s));
  EXPECT_FALSE(fencing.fence_if_a_peer_reaches({}, kStart + 31s));
  EXPECT_FALSE(fencing.fenced());
  EXPECT_EQ(fencing.reason(), "");

  // This pod's own outage.
  const std::vector<PeerAnswer> own = {
      {.pod = "gateway-1", .reachability = kBoth, .reachable_for = 30s}};
  EXPECT_TRUE(fencing.fence_if_a_peer_reaches(own, kStart + 31s));
  EXPECT_TRUE(fencing.fenced());
  EXPECT_EQ(fencing.reason(),
            "cut off from kafka and redis for 30 s while pod gateway-1 reached them");
  EXPECT_FALSE(fencing.fence_if_a_peer_reaches(own, kStart + 32s));  // once

  // Fenced, it waits for both, not one.
  fencing.probed({.bus = true, .registry = false}, kStart + 40s);
  EXPECT_EQ(fencing.next(kStart + 40s), Step::kNone);
  fencing.probed(kBoth, kStart + 41s);
  ASSERT_EQ(fencing.next(kStart + 41s), Step::kLift);
  fencing.lift();
  EXPECT_FALSE(fencing.fenced());
  EXPECT_EQ(fencing.reason(), "");
  EXPECT_EQ(fencing.next(kStart + 42s), Step::kNone);
}

TEST(FencingTest, EitherDependencyAloneIsEnough) {
  Fencing kafka(10s, kStart);
  kafka.probed({.bus = false, .registry = true}, kStart + 11s);
  EXPECT_EQ(kafka.cut_off(kStart + 11s), "kafka");
  Fencing redis(10s, kStart);
  redis.probed({.bus = true, .registry = false}, kStart + 11s);
  EXPECT_EQ(redis.cut_off(kStart + 11s), "redis");
  EXPECT_TRUE(redis.fence_if_a_peer_reaches(
      {{.pod = "b", .reachability = kBoth, .reachable_for = 1min}}, kStart + 11s));
  EXPECT_EQ(redis.reason(), "cut off from redis for 10 s while pod b reached them");
}

TEST(FencingTest, ZeroNeverFences) {
  Fencing fencing(0s, kStart);
  fencing.probed(kNeither, kStart + 1h);
  EXPECT_EQ(fencing.next(kStart + 1h), Step::kNone);
  EXPECT_FALSE(fencing.fence_if_a_peer_reaches(
      {{.pod = "b", .reachability = kBoth, .reachable_for = 1h}}, kStart + 1h));
}

TEST(FencingTest, ReachableForCountsFromTheFirstGoodProbeAfterAFailure) {
  Fencing fencing(30s, kStart);
  fencing.probed(kBoth, kStart + 1s);
  EXPECT_EQ(fencing.reachable_for(kStart + 10s), 10s);  // both since the start
  fencing.probed({.bus = false, .registry = true}, kStart + 11s);
  EXPECT_EQ(fencing.reachable_for(kStart + 11s), 0s);
  fencing.probed(kBoth, kStart + 12s);
  fencing.probed(kBoth, kStart + 13s);
  EXPECT_EQ(fencing.reachable_for(kStart + 20s), 8s);
}

}  // namespace
}  // namespace switchyard::gateway
