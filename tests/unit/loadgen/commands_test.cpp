// CommandResults: every answer counted by outcome, and the slowest kept with its send time.
#include "loadgen/commands.h"

#include <gtest/gtest.h>

#include "loadgen/run.h"
#include "loadgen/stats.h"

namespace switchyard::loadgen {
namespace {

TEST(CommandResults, KeepsTheSlowestWithTheTimeItWasSent) {
  CommandResults r;
  r.record(800'000, 0.005, "OK");
  r.record(60'200'000, 0.411, "OK");  // the stall: those sent during it finish with it
  r.record(55'100'000, 0.416, "OK");
  r.record(900'000, 5.0, "DEADLINE_EXCEEDED");
  EXPECT_EQ(r.slowest_ns, 60'200'000u);
  EXPECT_DOUBLE_EQ(r.slowest_sent_at_s, 0.411);
  EXPECT_EQ(r.outcomes.at("OK"), 3u);
  EXPECT_EQ(r.outcomes.at("DEADLINE_EXCEEDED"), 1u);
  EXPECT_EQ(summarize(r.latency).count, 4u);
}

TEST(CommandResults, TheReportCarriesTheSlowestOrZeroWhenNothingWasAnswered) {
  LoadgenConfig config;
  config.profile = "commands";
  RunResult r;
  r.has_commands = true;
  const auto none = report_json(config, r).at("commands").as_object();
  EXPECT_EQ(none.at("slowest_ms").to_number<double>(), 0.0);
  EXPECT_EQ(none.at("slowest_sent_at_s").to_number<double>(), 0.0);
  EXPECT_TRUE(none.at("outcomes").as_object().empty());
  EXPECT_FALSE(none.at("channel_ready").as_bool());
  EXPECT_NE(summary_table(config, r).find("channel NOT connected"), std::string::npos);

  r.commands.record(60'200'000, 0.411, "OK");
  r.commands.channel_ready = true;
  r.commands.channel_connect_ms = 1.25;
  const auto one = report_json(config, r).at("commands").as_object();
  EXPECT_DOUBLE_EQ(one.at("slowest_ms").to_number<double>(), 60.2);
  EXPECT_DOUBLE_EQ(one.at("slowest_sent_at_s").to_number<double>(), 0.411);
  EXPECT_DOUBLE_EQ(one.at("channel_connect_ms").to_number<double>(), 1.25);
  EXPECT_NE(summary_table(config, r).find("slowest 60.200 ms, sent 0.411 s"), std::string::npos);
  EXPECT_NE(summary_table(config, r).find("channel connected in 1.250 ms"), std::string::npos);
}

}  // namespace
}  // namespace switchyard::loadgen
