// IANA time zone offsets from the system's TZif files: summer and winter, the instant of a DST
// switch, times past the file's last transition (the POSIX rule at its end), the southern
// hemisphere, half-hour offsets, names that are no zone, and RFC 3339 with an offset. The
// expected figures are Python's zoneinfo on the same files.
#include "common/runtime/core/time_zones.h"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

constexpr std::int64_t kMs = 1000;

TEST(TimeZones, OffsetsFollowTheZonesRules) {
  TimeZones zones;
  EXPECT_EQ(zones.offset("Europe/Berlin", 1'782'907'200 * kMs), 7200);  // 2026-07-01 12:00Z
  EXPECT_EQ(zones.offset("Europe/Berlin", 1'768'435'200 * kMs), 3600);  // 2026-01-15
  EXPECT_EQ(zones.offset("Asia/Kolkata", 1'782'864'000 * kMs), 19800);
  EXPECT_EQ(zones.offset("UTC", 1'782'864'000 * kMs), 0);
  EXPECT_EQ(zones.offset("Europe/Berlin", -2'208'988'800 * kMs), 3600);  // 1900
}

TEST(TimeZones, PastTheLastTransitionThePosixRuleDecidesToTheSecond) {
  TimeZones zones;
  // 2040: after the last transition Debian's files list (2037).
  EXPECT_EQ(zones.offset("Europe/Berlin", 2'216'249'999 * kMs), 3600);  // 2040-03-25 00:59:59Z
  EXPECT_EQ(zones.offset("Europe/Berlin", 2'216'250'000 * kMs), 7200);
  EXPECT_EQ(zones.offset("Europe/Berlin", 2'234'998'799 * kMs), 7200);  // 2040-10-28 00:59:59Z
  EXPECT_EQ(zones.offset("Europe/Berlin", 2'234'998'800 * kMs), 3600);
  EXPECT_EQ(zones.offset("America/New_York", 2'246'511'599 * kMs), -18000);  // 2041-03-10
  EXPECT_EQ(zones.offset("America/New_York", 2'246'511'600 * kMs), -14400);
  // Southern hemisphere: summer time spans the new year.
  EXPECT_EQ(zones.offset("Australia/Sydney", 2'210'198'400 * kMs), 39600);  // 2040-01-15
  EXPECT_EQ(zones.offset("Australia/Sydney", 2'225'923'200 * kMs), 36000);  // 2040-07-15
}

TEST(TimeZones, NamesThatAreNoZoneAreRefusedByName) {
  TimeZones zones;
  for (const char* bad : {"", "../etc/passwd", "/etc/localtime", "Europe/Berlin;rm"}) {
    auto r = zones.offset(bad, 0);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  auto missing = zones.offset("Europe/Atlantis", 0);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("Europe/Atlantis"), std::string::npos);
  EXPECT_FALSE(zones.known("Europe/Atlantis"));
  EXPECT_TRUE(zones.known("Europe/Berlin"));
  TimeZones elsewhere("/nonexistent");
  EXPECT_FALSE(elsewhere.known("Europe/Berlin"));
}

TEST(TimeZones, Rfc3339WithTheOffset) {
  EXPECT_EQ(format_rfc3339_offset(1'782'907'200'123, 7200), "2026-07-01T14:00:00.123+02:00");
  EXPECT_EQ(format_rfc3339_offset(1'782'907'200'000, -14400), "2026-07-01T08:00:00.000-04:00");
  EXPECT_EQ(format_rfc3339_offset(1'782'907'200'000, 19800), "2026-07-01T17:30:00.000+05:30");
  EXPECT_EQ(format_rfc3339_offset(1'782'907'200'000, 0), "2026-07-01T12:00:00.000+00:00");
}

}  // namespace
}  // namespace switchyard
