// JSON log lines: valid JSON with the structured fields, escaping, and redaction.
#include "common/runtime/core/log.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace switchyard::log {
namespace {

TEST(Log, WritesOneJsonObjectPerLineWithFields) {
  init("gateway", "pod-0", Level::kInfo);
  testing::internal::CaptureStderr();
  info(
      "charger connected",
      {{"charger_id", "CP\"1"}, {"message_id", "m-1"}, {"count", 3}, {"ok", true}, {"ratio", 0.5}});
  const std::string line = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  auto doc = boost::json::parse(line).as_object();
  EXPECT_EQ(doc["level"].as_string(), "info");
  EXPECT_EQ(doc["service"].as_string(), "gateway");
  EXPECT_EQ(doc["pod"].as_string(), "pod-0");
  EXPECT_EQ(doc["msg"].as_string(), "charger connected");
  EXPECT_EQ(doc["charger_id"].as_string(), "CP\"1");
  EXPECT_EQ(doc["count"].as_int64(), 3);
  EXPECT_EQ(doc["ok"].as_bool(), true);
  EXPECT_DOUBLE_EQ(doc["ratio"].as_double(), 0.5);
  EXPECT_TRUE(doc.contains("ts"));
}

TEST(Log, DropsLinesBelowTheLevel) {
  init("gateway", "", Level::kWarn);
  testing::internal::CaptureStderr();
  info("not shown");
  debug("not shown");
  warn("shown");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("shown"), std::string::npos);
  init("gateway", "", Level::kInfo);
}

TEST(Log, EscapesControlCharacters) {
  std::string out;
  append_json_escaped(out, std::string("a\nb\x01\\", 5));
  EXPECT_EQ(out, "a\\nb\\u0001\\\\");
}

TEST(Log, RedactKeepsOnlyAPrefixAndTheLength) {
  EXPECT_EQ(redact("04A1B2C3D4E5F6"), "04A1…(14)");
  EXPECT_EQ(redact("ab"), "ab…(2)");
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(parse_level("debug"), Level::kDebug);
  EXPECT_EQ(parse_level("warn"), Level::kWarn);
  EXPECT_EQ(parse_level("error"), Level::kError);
  EXPECT_EQ(parse_level("nonsense"), Level::kInfo);
}

}  // namespace
}  // namespace switchyard::log
