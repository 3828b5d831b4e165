// ConnectionAdmission control: the rate and burst hold, the refused are told to come back spread
// over more seconds the larger the crowd, and a quiet pod admits a burst again.
#include "gateway/connection_admission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "support/fake_clock.h"

namespace switchyard::gateway {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionAdmissionTest, WithoutARateEveryoneIsAdmitted) {
  testing::FakeClock clock;
  ConnectionAdmission admission({}, clock);
  for (int i = 0; i < 10'000; ++i) ASSERT_FALSE(admission.admit());
}

TEST(ConnectionAdmissionTest, ABurstThenTheRate) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 100, .burst = 50}, clock);
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += admission.admit() ? 0 : 1;
  EXPECT_EQ(admitted, 50);  // the burst, all at once
  // Then 100 a second, whatever the crowd.
  for (int tick = 0; tick < 100; ++tick) {
    clock.advance(10ms);
    for (int i = 0; i < 100; ++i) admitted += admission.admit() ? 0 : 1;
  }
  EXPECT_NEAR(admitted, 50 + 100, 2);
}

TEST(ConnectionAdmissionTest, TheRefusedAreSpreadOverMoreSecondsTheLargerTheCrowd) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 100, .burst = 100, .retry_after_max = 30s}, clock);
  std::vector<std::int64_t> retry_after;
  for (int i = 0; i < 3100; ++i) {
    if (auto r = admission.admit()) retry_after.push_back(r->retry_after.count());
  }
  // 3,000 refused at 100 a second: the first ones (a small crowd so far) come back at once,
  // the last ones anywhere within 1 to 30 s, about evenly.
  ASSERT_EQ(retry_after.size(), 3000U);
  EXPECT_EQ(retry_after.front(), 1);
  EXPECT_EQ(*std::ranges::max_element(retry_after), 30);
  double last = 0;
  for (std::size_t i = retry_after.size() - 100; i < retry_after.size(); ++i) {
    last += static_cast<double>(retry_after[i]);
  }
  EXPECT_NEAR(last / 100, 15.5, 3.5);

  // A small crowd later: a short spread.
  clock.advance(5s);
  ConnectionAdmission small({.rate = 100, .burst = 100, .retry_after_max = 30s}, clock);
  std::int64_t longest = 0;
  for (int i = 0; i < 250; ++i) {
    if (auto r = small.admit()) longest = std::max<std::int64_t>(longest, r->retry_after.count());
  }
  EXPECT_LE(longest, 2);
}

// 1,000 chargers at once, each coming back when told. The spread follows the crowd waiting, so
// they come back at about the rate: here 209 refusals for 496 admissions between 10 s and 30 s,
// and the last one in at 40 s (1,000 at 25/s). A spread from the last second's refusals alone
// gave 1,909 refusals for the same 500 admissions.
TEST(ConnectionAdmissionTest, AStormComesBackAtAboutTheRate) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 25, .burst = 25, .retry_after_max = 60s}, clock, 7);
  std::vector<std::chrono::milliseconds> next(1000, 0ms);  // when each charger tries again
  std::vector<bool> in(1000, false);
  int refused_mid = 0;
  int admitted_mid = 0;
  int last_in_ms = 0;
  for (int ms = 0; ms < 120'000; ms += 100) {
    for (std::size_t c = 0; c < next.size(); ++c) {
      if (in[c] || next[c].count() > ms) continue;
      const bool mid = ms >= 10'000 && ms < 30'000;
      if (auto r = admission.admit()) {
        next[c] = std::chrono::milliseconds(ms) + r->retry_after;
        refused_mid += mid ? 1 : 0;
      } else {
        in[c] = true;
        admitted_mid += mid ? 1 : 0;
        last_in_ms = ms;
      }
    }
    clock.advance(100ms);
  }
  EXPECT_EQ(std::count(in.begin(), in.end(), true), 1000);
  EXPECT_NEAR(admitted_mid, 500, 25);  // 25 a second
  EXPECT_LE(refused_mid, admitted_mid) << refused_mid << " refused for " << admitted_mid;
  EXPECT_LE(last_in_ms, 45'000);
}

TEST(ConnectionAdmissionTest, RetryAfterNeverExceedsItsMaximum) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 1, .burst = 1, .retry_after_max = 10s}, clock);
  for (int i = 0; i < 10'000; ++i) {
    const auto r = admission.admit();
    if (r) {
      ASSERT_LE(r->retry_after.count(), 10);
    }
  }
}

TEST(ConnectionAdmissionTest, ABurstBelowOneStillAdmitsOneAtATime) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 1, .burst = 0.5}, clock);
  EXPECT_FALSE(admission.admit());  // a bucket that never reached one token refused everyone
  EXPECT_TRUE(admission.admit());
  clock.advance(1s);
  EXPECT_FALSE(admission.admit());
}

TEST(ConnectionAdmissionTest, AQuietPodAdmitsABurstAgain) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 10, .burst = 20}, clock);
  for (int i = 0; i < 100; ++i) (void)admission.admit();
  clock.advance(60s);
  int admitted = 0;
  for (int i = 0; i < 100; ++i) admitted += admission.admit() ? 0 : 1;
  EXPECT_EQ(admitted, 20);  // the bucket refills to its burst, not beyond
}

TEST(ConnectionAdmissionTest, AFloodFromOneAddressCannotStarveTheOthers) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 100, .burst = 100, .address_share = 0.1}, clock);
  int flood_admitted = 0;
  int others_admitted = 0;
  int reported = 0;
  for (int tick = 0; tick < 100; ++tick) {  // one second
    for (int i = 0; i < 50; ++i) {
      const auto r = admission.admit("10.0.0.1");
      if (!r) {
        ++flood_admitted;
      } else {
        EXPECT_TRUE(r->address) << "the flood is refused for its address, not the pod's rate";
        reported += r->report ? 1 : 0;
      }
    }
    others_admitted += admission.admit("192.0.2." + std::to_string(tick)) ? 0 : 1;
    clock.advance(10ms);
  }
  EXPECT_NEAR(flood_admitted, 10 + 10, 2);  // its share of the burst, then of the rate
  EXPECT_EQ(others_admitted, 100);          // every other charger got in
  EXPECT_EQ(reported, 1);                   // one log line for ~4,900 refusals
  clock.advance(61s);
  for (int i = 0; i < 100; ++i)
    reported += admission.admit("10.0.0.1").value_or(AdmissionRefusal{}).report ? 1 : 0;
  EXPECT_EQ(reported, 2);  // and one a minute while it goes on
}

TEST(ConnectionAdmissionTest, ThePodsRateStillHoldsAcrossAddresses) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 100, .burst = 50, .address_share = 0.5}, clock);
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto r = admission.admit("198.51.100." + std::to_string(i % 200));
    admitted += r ? 0 : 1;
    if (r) {
      EXPECT_FALSE(r->address);
    }
  }
  EXPECT_EQ(admitted, 50);
}

TEST(ConnectionAdmissionTest, AddressesTrackedAreBoundedAndQuietOnesForgotten) {
  testing::FakeClock clock;
  ConnectionAdmission admission({.rate = 1e6, .burst = 1e6, .address_share = 0.5}, clock);
  const auto many = ConnectionAdmission::kMaxAddresses + 1000;
  for (std::size_t i = 0; i < many; ++i) (void)admission.admit("a" + std::to_string(i));
  EXPECT_LE(admission.tracked_addresses(), ConnectionAdmission::kMaxAddresses);
  clock.advance(10s);  // every bucket full again: none is worth keeping
  (void)admission.admit("late");
  EXPECT_LE(admission.tracked_addresses(), 2U);
}

}  // namespace
}  // namespace switchyard::gateway
