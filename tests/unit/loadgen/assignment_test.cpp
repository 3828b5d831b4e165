// Charger ids, OCPP versions, target URLs and source addresses of the simulated fleet.
#include "loadgen/assignment.h"

#include <gtest/gtest.h>

namespace switchyard::loadgen {
namespace {

TEST(AssignmentTest, ChargerIdsArePrefixAndZeroPaddedIndex) {
  EXPECT_EQ(charger_id("lg-", 7, 6), "lg-000007");
  EXPECT_EQ(charger_id("lg-", 1234567, 6), "lg-1234567");  // wider indexes are not cut
  EXPECT_EQ(charger_id("", 0, 0), "0");
}

TEST(AssignmentTest, PatternsExpandIdAndIndex) {
  EXPECT_EQ(expand_pattern("certs/{id}.pem", "lg-000003", 3), "certs/lg-000003.pem");
  EXPECT_EQ(expand_pattern("pw-{i}-{id}", "x", 12), "pw-12-x");
  EXPECT_EQ(expand_pattern("plain", "x", 1), "plain");
}

TEST(AssignmentTest, VersionShareIsSpreadEvenly) {
  for (double share : {0.0, 0.1, 0.25, 0.5, 0.75, 1.0}) {
    int v16 = 0;
    int longest_run = 0;
    int run = 0;
    for (std::uint64_t i = 0; i < 1000; ++i) {
      const bool is16 = version_for(i, share) == ocpp::Version::k16;
      v16 += is16;
      run = is16 ? run + 1 : 0;
      longest_run = std::max(longest_run, run);
    }
    EXPECT_EQ(v16, static_cast<int>(share * 1000)) << share;
    if (share > 0 && share <= 0.5) {
      EXPECT_EQ(longest_run, 1) << share;
    }
  }
  // Any window of consecutive chargers holds round(n * share) +- 1 of them.
  int in_window = 0;
  for (std::uint64_t i = 500; i < 600; ++i) in_window += pick_share(i, 0.3);
  EXPECT_NEAR(in_window, 30, 1);
}

TEST(AssignmentTest, ChargerGoesToUrlAndSourceIndexModuloCount) {
  EXPECT_EQ(spread(0, 3), 0u);
  EXPECT_EQ(spread(4, 3), 1u);
  EXPECT_EQ(spread(5, 1), 0u);
}

TEST(AssignmentTest, ParsesWsAndWssUrls) {
  auto plain = parse_url("ws://127.0.0.1:9000/ocpp/");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, "9000");
  EXPECT_EQ(plain->path, "/ocpp");
  EXPECT_EQ(request_target(*plain, "lg-000001"), "/ocpp/lg-000001");

  auto tls = parse_url("wss://gateway.example");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, "443");
  EXPECT_EQ(request_target(*tls, "a"), "/a");

  auto v6 = parse_url("ws://[::1]:9001/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9001");

  EXPECT_FALSE(parse_url("http://127.0.0.1/"));
  EXPECT_FALSE(parse_url("ws://"));
  EXPECT_FALSE(parse_url("ws://host:90x0/"));
}

TEST(AssignmentTest, SplitsCommaLists) {
  EXPECT_EQ(split_list("127.0.0.2, 127.0.0.3,,127.0.0.4"),
            (std::vector<std::string>{"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  EXPECT_TRUE(split_list("").empty());
}

}  // namespace
}  // namespace switchyard::loadgen
