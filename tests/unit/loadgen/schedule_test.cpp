// The open-loop schedule of the `rate` profile.
#include "loadgen/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace switchyard::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(OpenLoopScheduleTest, SpreadsTheTotalRateEvenlyOverChargersAndTime) {
  const OpenLoopSchedule schedule(1000, 10);  // 1000/s over 10 chargers
  EXPECT_EQ(schedule.period(), milliseconds(10));
  std::vector<std::int64_t> sends;
  for (std::uint64_t charger = 0; charger < 10; ++charger) {
    for (std::uint64_t k = 0; k < 100; ++k) {
      sends.push_back(schedule.send_offset(charger, k).count());
    }
  }
  std::sort(sends.begin(), sends.end());
  // 1000 sends in the first second, exactly 1 ms apart, none twice.
  ASSERT_EQ(sends.size(), 1000u);
  for (std::size_t i = 0; i < sends.size(); ++i) {
    EXPECT_EQ(sends[i], static_cast<std::int64_t>(i) * 1'000'000) << i;
  }
}

TEST(OpenLoopScheduleTest, DoesNotDriftOverLongRuns) {
  const OpenLoopSchedule schedule(3000, 7);  // a period that is not a whole number of ns
  const std::uint64_t k = 10'000'000;
  // The k-th send of charger 3 is send number k * 7 + 3 of the fleet, at n / 3000 s.
  const long double expected = (static_cast<long double>(k) * 7 + 3) * 1e9L / 3000;
  EXPECT_NEAR(static_cast<double>(schedule.send_offset(3, k).count()),
              static_cast<double>(expected), 1.0);
}

TEST(OpenLoopScheduleTest, ALateStarterJoinsAtTheFirstSendNotInThePast) {
  const OpenLoopSchedule schedule(100, 4);  // each charger every 40 ms; charger 1 at 10 ms
  EXPECT_EQ(schedule.first_index_at(1, nanoseconds(0)), 0u);
  EXPECT_EQ(schedule.first_index_at(1, milliseconds(10)), 0u);
  EXPECT_EQ(schedule.first_index_at(1, milliseconds(10) + nanoseconds(1)), 1u);
  EXPECT_EQ(schedule.first_index_at(1, milliseconds(50)), 1u);
  EXPECT_EQ(schedule.first_index_at(1, milliseconds(51)), 2u);
  for (std::int64_t t = 0; t < 1'000'000'000; t += 7'777'777) {
    const auto k = schedule.first_index_at(2, nanoseconds(t));
    EXPECT_GE(schedule.send_offset(2, k), nanoseconds(t));
    if (k > 0) {
      EXPECT_LT(schedule.send_offset(2, k - 1), nanoseconds(t));
    }
  }
}

TEST(OpenLoopScheduleTest, RefusesAZeroRate) {
  EXPECT_THROW(OpenLoopSchedule(0, 10), std::invalid_argument);
  EXPECT_THROW(OpenLoopSchedule(10, 0), std::invalid_argument);
}

}  // namespace
}  // namespace switchyard::loadgen
