// The loadgen's settings checks.
#include "loadgen/config.h"

#include <gtest/gtest.h>

namespace switchyard::loadgen {
namespace {

TEST(LoadgenConfigTest, DefaultsAreValid) {
  LoadgenConfig config;
  auto profile = validate(config);
  ASSERT_TRUE(profile) << profile.error().message;
  EXPECT_EQ(*profile, Profile::kIdle);
}

TEST(LoadgenConfigTest, RefusesBadCombinations) {
  auto refused = [](auto mutate) {
    LoadgenConfig config;
    mutate(config);
    return !validate(config).has_value();
  };
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.profile = "burst"; }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.chargers = 0; }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.urls = {"http://x/"}; }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.ocpp16_share = 1.5; }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.cert = "a.pem"; }));  // without --key
  EXPECT_TRUE(refused([](LoadgenConfig& c) {
    c.profile = "saturate";
    c.action = "StopTransaction";
  }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) {
    c.profile = "rate";
    c.rate = 0;
  }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) {
    c.profile = "commands";
    c.command = "Explode";
  }));
  EXPECT_TRUE(refused([](LoadgenConfig& c) { c.id_tags = -1; }));
  EXPECT_FALSE(refused([](LoadgenConfig& c) {
    c.profile = "rate";
    c.action = "Authorize";
    c.id_tags = 10'000;
  }));
  EXPECT_FALSE(refused([](LoadgenConfig& c) {
    c.profile = "saturate";
    c.action = "Heartbeat";
    c.urls = {"ws://127.0.0.1:9000/ocpp", "wss://127.0.0.1:9443/ocpp"};
  }));
}

}  // namespace
}  // namespace switchyard::loadgen
