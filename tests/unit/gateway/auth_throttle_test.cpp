// Failed-authentication lockouts: per charger id and per address, doubling penalties, recovery,
// a success clearing the charger's count, addresses with ports, and the memory bound.
#include "gateway/auth_throttle.h"

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace switchyard::gateway {
namespace {

using namespace std::chrono_literals;

AuthThrottleSettings settings() {
  AuthThrottleSettings s;
  s.charger_failures = 3;
  s.address_failures = 10;
  s.window = 60s;
  s.lockout = 30s;
  s.max_lockout = 100s;
  return s;
}

TEST(AuthThrottle, AChargerIdIsLockedAfterItsFailuresAndTheLockDoubles) {
  testing::FakeClock clock;
  AuthThrottle t(settings(), clock);
  EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  EXPECT_FALSE(t.failed("CP1", "10.0.0.2"));
  auto lock = t.failed("CP1", "10.0.0.3");  // third failure, from anywhere
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->key, ThrottleKey::kCharger);
  EXPECT_EQ(lock->retry_after, 30s);
  EXPECT_EQ(lock->failures, 3);
  auto locked = t.locked("CP1", "10.0.0.9");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->retry_after, 30s);
  EXPECT_FALSE(t.locked("CP2", "10.0.0.9"));  // another charger from the same address is not
  clock.advance(20s);
  EXPECT_EQ(t.locked("CP1", "10.0.0.9")->retry_after, 10s);
  clock.advance(10s);
  EXPECT_FALSE(t.locked("CP1", "10.0.0.9"));
  // Failing again right away: 60 s, then 100 s (the maximum).
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  EXPECT_EQ(t.failed("CP1", "10.0.0.1")->retry_after, 60s);
  clock.advance(60s);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  EXPECT_EQ(t.failed("CP1", "10.0.0.1")->retry_after, 100s);
}

TEST(AuthThrottle, FailuresSpreadOverMoreThanTheWindowDoNotLock) {
  testing::FakeClock clock;
  AuthThrottle t(settings(), clock);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
    clock.advance(31s);  // two per window
  }
  EXPECT_FALSE(t.locked("CP1", "10.0.0.1"));
}

TEST(AuthThrottle, ASuccessClearsTheChargersCountAndAQuietKeyStartsOver) {
  testing::FakeClock clock;
  AuthThrottle t(settings(), clock);
  t.failed("CP1", "10.0.0.1");
  t.failed("CP1", "10.0.0.1");
  t.succeeded("CP1", "10.0.0.2");
  EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  ASSERT_TRUE(t.failed("CP1", "10.0.0.1"));  // locked: 30 s
  clock.advance(30s + 60s);                  // the lock and a clean window pass
  t.failed("CP1", "10.0.0.1");
  t.failed("CP1", "10.0.0.1");
  EXPECT_EQ(t.failed("CP1", "10.0.0.1")->retry_after, 30s);  // not doubled
}

TEST(AuthThrottle, AnAddressGuessingManyChargerIdsIsLocked) {
  testing::FakeClock clock;
  AuthThrottle t(settings(), clock);
  std::optional<Lockout> lock;
  for (int i = 0; i < 10 && !lock; ++i) lock = t.failed("CP" + std::to_string(i), "192.0.2.7");
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->key, ThrottleKey::kAddress);
  auto locked = t.locked("CP-NEW", "192.0.2.7");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->key, ThrottleKey::kAddress);
  EXPECT_FALSE(t.locked("CP-NEW", "192.0.2.8"));
}

TEST(AuthThrottle, AGuesserCannotLockTheChargerOutOfItsOwnAddress) {
  testing::FakeClock clock;
  AuthThrottle t(settings(), clock);
  t.succeeded("CP1", "10.0.0.1");  // the charger, from its usual address
  for (int i = 0; i < 3; ++i) t.failed("CP1", "192.0.2.66");
  EXPECT_TRUE(t.locked("CP1", "192.0.2.66"));  // the guesser is locked out
  EXPECT_FALSE(t.locked("CP1", "10.0.0.1"));   // the charger is not
}

TEST(AuthThrottle, LocksAreNotEvictedByAFloodOfNewKeys) {
  testing::FakeClock clock;
  auto s = settings();
  s.max_keys = 10;
  s.address_failures = 0;
  AuthThrottle t(s, clock);
  for (int i = 0; i < 3; ++i) t.failed("TARGET", "10.0.0.1");
  ASSERT_TRUE(t.locked("TARGET", "10.0.0.1"));
  for (int i = 0; i < 10'000; ++i) t.failed("CP" + std::to_string(i), "10.0.0.1");
  EXPECT_TRUE(t.locked("TARGET", "10.0.0.1"));
  EXPECT_LE(t.tracked(), 10);
}

TEST(AuthThrottle, ZeroLimitsTurnItOff) {
  testing::FakeClock clock;
  auto s = settings();
  s.charger_failures = 0;
  s.address_failures = 0;
  AuthThrottle t(s, clock);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(t.failed("CP1", "10.0.0.1"));
  EXPECT_FALSE(t.locked("CP1", "10.0.0.1"));
  EXPECT_EQ(t.tracked(), 0);
}

TEST(AuthThrottle, MemoryStaysBoundedUnderAFloodOfIds) {
  testing::FakeClock clock;
  auto s = settings();
  s.max_keys = 1000;
  s.address_failures = 0;
  AuthThrottle t(s, clock);
  for (int i = 0; i < 50'000; ++i) t.failed("CP" + std::to_string(i), "10.0.0.1");
  EXPECT_LE(t.tracked(), 1000);
  clock.advance(10min);
  t.failed("CP-LAST", "10.0.0.1");
  EXPECT_LE(t.tracked(), 1000);
}

TEST(AuthThrottle, AddressesAreTakenWithoutTheirPort) {
  EXPECT_EQ(address_of("203.0.113.7:51234"), "203.0.113.7");
  EXPECT_EQ(address_of("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(address_of("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(address_of("203.0.113.7"), "203.0.113.7");
}

}  // namespace
}  // namespace switchyard::gateway
