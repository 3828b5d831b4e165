#include "gateway/outside_calls.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace switchyard::gateway {
namespace {

using namespace std::chrono_literals;

TEST(OutsideCallsTest, ACallCountsUntilItsCallbackAndEveryCopyOfItAreGone) {
  OutsideCalls calls;
  EXPECT_EQ(calls.in_flight(), 0u);
  std::optional<std::function<void()>> callback([token = calls.enter()] {});
  EXPECT_EQ(calls.in_flight(), 1u);
  {
    auto copy = *callback;  // std::function copies its callable: the copy counts too
    EXPECT_EQ(calls.in_flight(), 2u);
    auto moved = std::move(copy);
    EXPECT_EQ(calls.in_flight(), 2u);
  }
  EXPECT_EQ(calls.in_flight(), 1u);
  callback.reset();
  EXPECT_EQ(calls.in_flight(), 0u);
  EXPECT_TRUE(calls.wait_idle(0ms));
}

TEST(OutsideCallsTest, WaitIdleReturnsOnceTheLastCallbackGoesOnAnotherThread) {
  OutsideCalls calls;
  std::optional<OutsideCalls::Token> token(calls.enter());
  std::thread answer([&] {
    std::this_thread::sleep_for(50ms);
    token.reset();
  });
  EXPECT_TRUE(calls.wait_idle(10s));
  answer.join();
}

TEST(OutsideCallsTest, WaitIdleGivesUpAtItsTimeoutAndATokenMayOutliveTheCounter) {
  auto calls = std::make_unique<OutsideCalls>();
  auto token = calls->enter();
  EXPECT_FALSE(calls->wait_idle(20ms));
  EXPECT_EQ(calls->in_flight(), 1u);
  calls.reset();
  // `token` goes last: the count it shares is still there (ASan would see a use after free).
}

}  // namespace
}  // namespace switchyard::gateway
