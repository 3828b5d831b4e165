// Clock: RFC 3339 formatting and the fake clock tests rely on.
#include "common/runtime/core/clock.h"

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace switchyard {
namespace {

TEST(Clock, FormatsUtcWithMilliseconds) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764583200123));
  EXPECT_EQ(format_rfc3339(t), "2025-12-01T10:00:00.123Z");
}

TEST(Clock, FormatsTimesBeforeTheEpoch) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(-1));
  EXPECT_EQ(format_rfc3339(t), "1969-12-31T23:59:59.999Z");
}

TEST(Clock, ParsesWhatItFormatsAndZonedTimes) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764583200123));
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  EXPECT_EQ(parse_rfc3339("2025-12-01T11:00:00.123+01:00"), t);
  EXPECT_EQ(parse_rfc3339("2025-12-01T10:00:00.1234567Z"), t);
  EXPECT_EQ(parse_rfc3339("2025-12-01T09:30:00-00:30"),
            std::chrono::system_clock::time_point(std::chrono::milliseconds(1764583200000)));
}

TEST(Clock, RefusesTimesWithoutAZoneOrOutOfRange) {
  EXPECT_FALSE(parse_rfc3339("2025-12-01T10:00:00"));
  EXPECT_FALSE(parse_rfc3339("2025-12-01 10:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2025-13-01T10:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2025-12-01T10:00:00.Z"));
  EXPECT_FALSE(parse_rfc3339("2025-12-01T10:00:00+0100"));
  EXPECT_FALSE(parse_rfc3339("tomorrow"));
}

// Found by ocpi_request_fuzzer (an OCPI date_from of year 5110): a year the clock's nanoseconds
// cannot hold is refused instead of overflowing.
TEST(Clock, RefusesYearsTheClockCannotHold) {
  EXPECT_FALSE(parse_rfc3339("5110-12-01T10:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_rfc3339("2262-04-12T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1600-01-01T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2262-04-10T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("1678-01-01T00:00:00Z"));
}

TEST(FakeClock, AdvancesBothClocksOnlyWhenTold) {
  testing::FakeClock clock;
  const auto wall = clock.now();
  const auto mono = clock.steady_now();
  EXPECT_EQ(clock.now(), wall);
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.now() - wall, std::chrono::seconds(5));
  EXPECT_EQ(clock.steady_now() - mono, std::chrono::seconds(5));
}

}  // namespace
}  // namespace switchyard
