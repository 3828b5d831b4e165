// Command-line parsing: verb flags, shared options with their environment variables, and the
// error text of failed calls.
#include <gtest/gtest.h>

#include <map>

#include "cli/ctl_args.h"
#include "cli/ctl_client.h"
#include "cli/ctl_global_options.h"
#include "common/runtime/grpc/status.h"

namespace switchyard::ctl {
namespace {

VerbSpec add_spec() {
  return {"add", {"ID"}, {{"group", "G", ""}, {"refuse-concurrent", "", ""}}, ""};
}

TEST(CtlArgs, ParsesPositionalsValuesAndSwitches) {
  std::vector<std::string> args{"04A1", "--group", "fleet", "--refuse-concurrent"};
  auto parsed = parse_verb_args(add_spec(), args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->positional(0), "04A1");
  EXPECT_EQ(parsed->value("group"), "fleet");
  EXPECT_TRUE(parsed->has("refuse-concurrent"));
}

TEST(CtlArgs, AcceptsInlineValuesAndDoubleDash) {
  std::vector<std::string> args{"--group=a=b", "--", "--weird-id"};
  auto parsed = parse_verb_args(add_spec(), args);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->value("group"), "a=b");
  EXPECT_EQ(parsed->positional(0), "--weird-id");
}

TEST(CtlArgs, ReportsUnknownFlagsAndMissingArguments) {
  std::vector<std::string> unknown{"X", "--colour", "red"};
  auto parsed = parse_verb_args(add_spec(), unknown);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "unknown flag --colour for add; valid: --group, --refuse-concurrent");
  std::vector<std::string> none;
  EXPECT_FALSE(parse_verb_args(add_spec(), none));
  std::vector<std::string> extra{"A", "B"};
  EXPECT_FALSE(parse_verb_args(add_spec(), extra));
  std::vector<std::string> no_value{"A", "--group"};
  EXPECT_FALSE(parse_verb_args(add_spec(), no_value));
}

TEST(CtlArgs, WritesUsageLine) {
  EXPECT_EQ(usage_line("tokens", add_spec()), "tokens add ID [--group G] [--refuse-concurrent]");
}

EnvironmentLookup environment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(CtlGlobalOptions, DefaultsEveryServiceToServer) {
  std::vector<std::string> args{"tokens", "list"};
  auto options = parse_global_options(args, environment({}));
  ASSERT_TRUE(options);
  EXPECT_EQ(options->endpoints.authorization, "127.0.0.1:50051");
  EXPECT_EQ(options->endpoints.charger_control, "127.0.0.1:50051");
  EXPECT_EQ(options->format, OutputFormat::kTable);
  EXPECT_EQ(options->timeout, std::chrono::seconds(30));
  EXPECT_EQ(options->rest, args);
}

TEST(CtlGlobalOptions, EmptyArgumentsArePassedOnNotTakenForFlags) {
  std::vector<std::string> args{"partners", "connect", "", "token", "-"};
  auto options = parse_global_options(args, environment({}));
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->rest, args);
  EXPECT_EQ(split_flag("").first, "");
  EXPECT_EQ(split_flag("-").first, "");
}

TEST(CtlGlobalOptions, FlagsWinOverEnvironmentAndOverridesWinOverServer) {
  std::vector<std::string> args{
      "--server",  "core:50051", "tokens", "-o", "json", "list", "--gateway-server=gw:50052",
      "--timeout", "5s"};
  auto options = parse_global_options(
      args,
      environment({{"SWITCHYARD_SERVER", "env:1"}, {"SWITCHYARD_AUTH_SERVER", "auth:50053"}}));
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->endpoints.transactions, "core:50051");
  // An explicit --server beats the per-service variable; a per-service flag beats --server.
  EXPECT_EQ(options->endpoints.authorization, "core:50051");
  EXPECT_EQ(options->endpoints.charger_control, "gw:50052");
  EXPECT_EQ(options->format, OutputFormat::kJson);
  EXPECT_EQ(options->timeout, std::chrono::seconds(5));
  EXPECT_EQ(options->rest, (std::vector<std::string>{"tokens", "list"}));
}

TEST(CtlGlobalOptions, PerServiceVariablesWinOverTheServerVariable) {
  std::vector<std::string> args{"tokens", "list"};
  auto options = parse_global_options(
      args,
      environment({{"SWITCHYARD_SERVER", "env:1"}, {"SWITCHYARD_AUTH_SERVER", "auth:50053"}}));
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->endpoints.authorization, "auth:50053");
  EXPECT_EQ(options->endpoints.transactions, "env:1");
}

TEST(CtlGlobalOptions, RejectsBadOutputAndTimeout) {
  std::vector<std::string> bad_output{"-o", "yaml", "tokens", "list"};
  EXPECT_FALSE(parse_global_options(bad_output, environment({})));
  std::vector<std::string> bad_timeout{"--timeout", "soon"};
  EXPECT_FALSE(parse_global_options(bad_timeout, environment({})));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
}

TEST(CtlClient, NamesServiceMethodAndCode) {
  grpc::Status status(grpc::StatusCode::NOT_FOUND, "no token 04A1");
  EXPECT_EQ(describe_rpc_failure(Api::kAuthorization, "GetToken", status, "h:1"),
            "Authorization.GetToken: NOT_FOUND: no token 04A1");
  EXPECT_EQ(grpc_code_name(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_EQ(grpc_code_name(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(CtlClient, NamesTheAddressWhenTheConnectionIsRefused) {
  grpc::Status refused(
      grpc::StatusCode::UNAVAILABLE,
      "failed to connect to all addresses; last error: UNKNOWN: "
      "ipv4:127.0.0.1:50051: Failed to connect to remote host: Connection refused");
  std::string text =
      describe_rpc_failure(Api::kChargers, "ListChargers", refused, "127.0.0.1:50051");
  EXPECT_TRUE(
      text.starts_with("Chargers.ListChargers: UNAVAILABLE: cannot reach the Chargers "
                       "service at 127.0.0.1:50051 (set --status-server or --server)"))
      << text;
}

TEST(CtlClient, LeavesAServicesOwnUnavailableAsItIs) {
  // The roaming service could not reach a partner: the service answered, its address is fine.
  grpc::Status partner_down(grpc::StatusCode::UNAVAILABLE,
                            "GET http://127.0.0.1:9/ocpi/versions: connect: Connection refused");
  EXPECT_EQ(describe_rpc_failure(Api::kRoaming, "ConnectPartner", partner_down, "h:1"),
            "Roaming.ConnectPartner: UNAVAILABLE: GET http://127.0.0.1:9/ocpi/versions: "
            "connect: Connection refused");
}

}  // namespace
}  // namespace switchyard::ctl
