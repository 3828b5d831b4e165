// Value formats: RFC 3339 date-times, URIs, decimal multipleOf, numbers in strings.
#include <gtest/gtest.h>

#include "common/ocpp/formats.h"
#include "common/ocpp/types.h"

namespace switchyard::ocpp {
namespace {

TEST(DateTimeFormat, AcceptsRfc3339WithZoneFractionAndEitherCase) {
  for (std::string_view ok :
       {"2025-03-01T10:00:00Z", "2025-03-01t10:00:00z", "2025-03-01T10:00:00.123456789+02:00",
        "2024-02-29T23:59:59-23:59", "0001-01-01T00:00:00Z"}) {
    EXPECT_TRUE(DateTime::parse(ok)) << ok;
  }
}

TEST(DateTimeFormat, RejectsWhatJsonSchemaRejects) {
  for (std::string_view bad :
       {"2025-03-01T10:00:00", "2025-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
        "2025-13-01T00:00:00Z", "2025-03-01T24:00:00Z", "2025-03-01T10:00:60Z",
        "2025-03-01 10:00:00Z", "2025-03-01T10:00:00.Z", "2025-03-01T10:00:00+0200",
        "2025-03-01T10:00:00+24:00", "yesterday", "", "2025-03-01T10:00:00Z "}) {
    EXPECT_FALSE(DateTime::parse(bad)) << bad;
  }
}

TEST(DateTimeFormat, ComputesTheInstantWithTheOffset) {
  auto a = DateTime::parse("2025-03-01T12:00:00.5+02:00");
  auto b = DateTime::parse("2025-03-01T10:00:00.500Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->time(), b->time());
  EXPECT_EQ(a->text(), "2025-03-01T12:00:00.5+02:00");
}

TEST(DateTimeFormat, LenientReadsAMissingZoneAsUtc) {
  bool missing = false;
  auto t = DateTime::parse("2025-03-01T10:00:00", true, &missing);
  ASSERT_TRUE(t);
  EXPECT_TRUE(missing);
  EXPECT_EQ(t->text(), "2025-03-01T10:00:00Z");
}

TEST(DateTimeFormat, FormatsATimePointAsUtcMilliseconds) {
  const DateTime t(DateTime::TimePoint(std::chrono::milliseconds(-1)));
  EXPECT_EQ(t.text(), "1969-12-31T23:59:59.999Z");
  using std::chrono::milliseconds;
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(0))).text(), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(1764583200123))).text(),
            "2025-12-01T10:00:00.123Z");
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(951782400007))).text(),
            "2000-02-29T00:00:00.007Z");
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(253402300799999))).text(),
            "9999-12-31T23:59:59.999Z");
  // Beyond four digits of year: as printf writes them.
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(253402300800000))).text(),
            "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(DateTime(DateTime::TimePoint(milliseconds(-62167219200001))).text(),
            "-001-12-31T23:59:59.999Z");
  // What the text says is the instant it was made from.
  const DateTime now(DateTime::TimePoint(milliseconds(1796634528456)));
  auto back = DateTime::parse(now.text());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time(), now.time());
}

TEST(UriFormat, AcceptsUrisAndRejectsTheRest) {
  for (std::string_view ok :
       {"ftp://user@example.com:21/path/file.tar.gz?x=1#frag", "https://[2001:db8::1]:8443/a",
        "urn:isbn:0451450523", "mailto:a@b.c", "http://a/%20b"}) {
    EXPECT_TRUE(is_uri(ok)) << ok;
  }
  for (std::string_view bad :
       {"not a uri", "/relative/path", "1http://x", "http://a/%zz", "http://exa mple.com", ""}) {
    EXPECT_FALSE(is_uri(bad)) << bad;
  }
}

TEST(MultipleOf, IsExactInDecimal) {
  EXPECT_TRUE(is_multiple_of("21.4", "0.1"));
  EXPECT_TRUE(is_multiple_of("7", "0.1"));
  EXPECT_TRUE(is_multiple_of("2.140e1", "0.1"));
  EXPECT_TRUE(is_multiple_of("0", "0.1"));
  EXPECT_TRUE(is_multiple_of("-3.3", "0.1"));
  EXPECT_FALSE(is_multiple_of("21.45", "0.1"));
  EXPECT_FALSE(is_multiple_of("1e-5", "0.1"));
  EXPECT_TRUE(is_multiple_of("1.5", "0.5"));
  EXPECT_FALSE(is_multiple_of("1.25", "0.5"));
}

TEST(NumberText, ReadsOnlyWholeJsonNumbers) {
  EXPECT_TRUE(parse_number_text("12").is_integer);
  EXPECT_EQ(parse_number_text("-12").integer, -12);
  EXPECT_DOUBLE_EQ(parse_number_text("1.5e2").value, 150);
  for (std::string_view bad : {"", " 1", "1 ", "01", "1.", ".5", "+1", "0x10", "NaN", "1e"}) {
    EXPECT_FALSE(parse_number_text(bad).valid) << bad;
  }
}

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("é€𝄞"), 3u);
}

}  // namespace
}  // namespace switchyard::ocpp
