// Settings: flags win over environment, environment over defaults, secrets come from files.
#include "common/runtime/core/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace switchyard {
namespace {

int parse(Settings& s, std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  auto r = s.parse(static_cast<int>(args.size()), args.data());
  return r ? *r : -1;
}

TEST(Settings, DerivesEnvironmentNameFromFlag) {
  EXPECT_EQ(Settings::env_name("kafka-brokers"), "SWITCHYARD_KAFKA_BROKERS");
  EXPECT_EQ(Settings::env_name("http.port"), "SWITCHYARD_HTTP_PORT");
}

TEST(Settings, KeepsDefaultsWhenNothingGiven) {
  std::string brokers = "127.0.0.1:9092";
  int port = 8080;
  Settings s("t", "test");
  s.add("unit-test-brokers", brokers, "brokers").add("unit-test-port", port, "port");
  EXPECT_EQ(parse(s, {}), -1);
  EXPECT_EQ(brokers, "127.0.0.1:9092");
  EXPECT_EQ(port, 8080);
}

TEST(Settings, EnvironmentOverridesDefaultAndFlagOverridesEnvironment) {
  ::setenv("SWITCHYARD_UNIT_TEST_A", "from-env", 1);
  ::setenv("SWITCHYARD_UNIT_TEST_B", "from-env", 1);
  std::string a = "default", b = "default";
  Settings s("t", "test");
  s.add("unit-test-a", a, "a").add("unit-test-b", b, "b");
  EXPECT_EQ(parse(s, {"--unit-test-b", "from-flag"}), -1);
  EXPECT_EQ(a, "from-env");
  EXPECT_EQ(b, "from-flag");
  ::unsetenv("SWITCHYARD_UNIT_TEST_A");
  ::unsetenv("SWITCHYARD_UNIT_TEST_B");
}

TEST(Settings, ParsesDurationsBooleansAndLists) {
  std::chrono::milliseconds timeout{30000};
  bool enabled = false;
  std::vector<std::string> versions{"ocpp1.6"};
  Settings s("t", "test");
  s.add("unit-timeout", timeout, "t")
      .add("unit-enabled", enabled, "e")
      .add("unit-versions", versions, "v");
  EXPECT_EQ(parse(s, {"--unit-timeout", "1500", "--unit-enabled", "true", "--unit-versions",
                      "ocpp2.0.1,ocpp2.1"}),
            -1);
  EXPECT_EQ(timeout, std::chrono::milliseconds(1500));
  EXPECT_TRUE(enabled);
  EXPECT_EQ(versions, (std::vector<std::string>{"ocpp2.0.1", "ocpp2.1"}));
}

TEST(Settings, RejectsMalformedValueWithUsageExitCode) {
  int port = 1;
  Settings s("t", "test");
  s.add("unit-port", port, "p");
  testing::internal::CaptureStderr();
  EXPECT_NE(parse(s, {"--unit-port", "eighty"}), -1);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unit-port"), std::string::npos) << err;
}

TEST(Settings, ReadsSecretFromFileAndTrimsNewline) {
  const std::string path = ::testing::TempDir() + "/secret.txt";
  std::ofstream(path) << "s3cret\n";
  std::string password;
  Settings s("t", "test");
  s.add_secret("unit-password", password, "pw");
  EXPECT_EQ(parse(s, {"--unit-password-file", path.c_str()}), -1);
  EXPECT_EQ(password, "s3cret");
}

TEST(Settings, MissingSecretFileStopsWithError) {
  std::string password;
  Settings s("t", "test");
  s.add_secret("unit-password", password, "pw");
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse(s, {"--unit-password-file", "/nonexistent/secret"}), 2);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("/nonexistent/secret"), std::string::npos);
}

TEST(Settings, HelpListsEverySettingWithItsDefaultAndVariable) {
  int port = 8080;
  std::string password = "never-shown";
  Settings s("t", "test");
  s.add("unit-http-port", port, "HTTP port");
  s.add_secret("unit-db-password", password, "database password");
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse(s, {"--help"}), 0);
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("--unit-http-port"), std::string::npos) << help;
  EXPECT_NE(help.find("8080"), std::string::npos) << help;
  EXPECT_NE(help.find("SWITCHYARD_UNIT_HTTP_PORT"), std::string::npos) << help;
  EXPECT_EQ(help.find("never-shown"), std::string::npos) << "secret printed by --help";
}

}  // namespace
}  // namespace switchyard
