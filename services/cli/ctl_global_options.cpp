// The options every switchyardctl command shares, from flags and environment.
#include "cli/ctl_global_options.h"

#include <array>
#include <charconv>

#include "cli/ctl_args.h"

namespace switchyard::ctl {
namespace {

struct OptionValues {
  std::optional<std::string> server, auth, transactions, status, gateway, smart_charging, roaming,
      output, timeout;
};

// The slot of a known global flag, or nullptr.
std::optional<std::string>* option_slot(OptionValues& values, std::string_view name) {
  if (name == "server") return &values.server;
  if (name == "auth-server") return &values.auth;
  if (name == "transactions-server") return &values.transactions;
  if (name == "status-server") return &values.status;
  if (name == "gateway-server") return &values.gateway;
  if (name == "smart-charging-server") return &values.smart_charging;
  if (name == "roaming-server") return &values.roaming;
  if (name == "output" || name == "o") return &values.output;
  if (name == "timeout") return &values.timeout;
  return nullptr;
}

bool is_flag_token(std::string_view token) {
  return (token.starts_with("--") && token.size() > 2) ||
         (token.starts_with("-o") && token.size() >= 2);
}

// "-ojson" -> name "o", value "json"; "--server=x" -> "server", "x".
std::pair<std::string, std::optional<std::string>> split_global(std::string_view token) {
  if (!token.starts_with("--") && token.size() > 2) {
    std::string_view value = token.substr(2);
    if (value.starts_with('=')) value.remove_prefix(1);
    return {"o", std::string(value)};
  }
  return split_flag(token);
}

std::string pick(const std::optional<std::string>& flag, const EnvironmentLookup& environment,
                 std::string_view variable, const std::string& fallback) {
  if (flag) return *flag;
  if (auto from_env = environment(variable); from_env && !from_env->empty()) return *from_env;
  return fallback;
}

Result<OutputFormat> parse_format(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  return make_error(ErrorCode::kInvalidArgument,
                    "-o " + std::string(text) + ": expected table or json");
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  std::string_view unit(end, text.data() + text.size() - end);
  if (ec == std::errc{} && number > 0) {
    if (unit.empty() || unit == "s") return std::chrono::seconds(number);
    if (unit == "ms") return std::chrono::milliseconds(number);
    if (unit == "m") return std::chrono::minutes(number);
  }
  return make_error(
      ErrorCode::kInvalidArgument,
      "--timeout " + std::string(text) + ": expected a positive duration (30, 30s, 500ms, 2m)");
}

Result<GlobalOptions> parse_global_options(std::span<const std::string> args,
                                           const EnvironmentLookup& environment) {
  OptionValues values;
  GlobalOptions options;
  bool flags_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (token == "--") flags_ended = true;
    if (flags_ended || !is_flag_token(token)) {  // an argument, possibly empty
      options.rest.push_back(token);
      continue;
    }
    auto [name, inline_value] = split_global(token);
    std::optional<std::string>* slot = option_slot(values, name);
    if (slot == nullptr) {
      options.rest.push_back(token);
      continue;
    }
    if (inline_value && !inline_value->empty()) {
      *slot = *inline_value;
    } else if (i + 1 < args.size()) {
      *slot = args[++i];
    } else {
      return make_error(ErrorCode::kInvalidArgument, "--" + name + " needs a value");
    }
  }
  // A flag beats every variable: an explicit --server sends every service there even when the
  // environment (deploy/local/env) names per-service addresses; a per-service flag beats both.
  const std::string server =
      pick(values.server, environment, "SWITCHYARD_SERVER", std::string(kDefaultServer));
  auto endpoint = [&](const std::optional<std::string>& flag, const char* variable) {
    if (flag) return *flag;
    if (values.server) return *values.server;
    return pick(flag, environment, variable, server);
  };
  options.endpoints.authorization = endpoint(values.auth, "SWITCHYARD_AUTH_SERVER");
  options.endpoints.transactions = endpoint(values.transactions, "SWITCHYARD_TRANSACTIONS_SERVER");
  options.endpoints.chargers = endpoint(values.status, "SWITCHYARD_STATUS_SERVER");
  options.endpoints.charger_control = endpoint(values.gateway, "SWITCHYARD_GATEWAY_SERVER");
  options.endpoints.smart_charging =
      endpoint(values.smart_charging, "SWITCHYARD_SMART_CHARGING_SERVER");
  options.endpoints.roaming = endpoint(values.roaming, "SWITCHYARD_ROAMING_SERVER");
  auto format = parse_format(pick(values.output, environment, "SWITCHYARD_OUTPUT", "table"));
  if (!format) return std::unexpected(format.error());
  options.format = *format;
  std::string timeout = pick(values.timeout, environment, "SWITCHYARD_TIMEOUT", "30s");
  auto parsed_timeout = parse_duration(timeout);
  if (!parsed_timeout) return std::unexpected(parsed_timeout.error());
  options.timeout = *parsed_timeout;
  return options;
}

std::string global_options_help() {
  return "Options (flag, environment variable, default):\n"
         "  --server HOST:PORT               SWITCHYARD_SERVER               127.0.0.1:50051\n"
         "      every service (the standalone binary serves all on one port)\n"
         "  --auth-server HOST:PORT          SWITCHYARD_AUTH_SERVER          --server\n"
         "      Authorization (tokens, chargers register/registrations)\n"
         "  --transactions-server HOST:PORT  SWITCHYARD_TRANSACTIONS_SERVER  --server\n"
         "      Transactions (transactions, cdrs, tariffs)\n"
         "  --status-server HOST:PORT        SWITCHYARD_STATUS_SERVER        --server\n"
         "      Chargers (chargers list/get/config/diff, status)\n"
         "  --gateway-server HOST:PORT       SWITCHYARD_GATEWAY_SERVER       --server\n"
         "      ChargerControl (charger ID ACTION)\n"
         "  --smart-charging-server HOST:PORT  SWITCHYARD_SMART_CHARGING_SERVER  --server\n"
         "      SmartCharging (sites)\n"
         "  --roaming-server HOST:PORT       SWITCHYARD_ROAMING_SERVER       --server\n"
         "      Roaming (partners, locations)\n"
         "  -o, --output table|json          SWITCHYARD_OUTPUT               table\n"
         "  --timeout DURATION               SWITCHYARD_TIMEOUT              30s\n"
         "      deadline of each call (30, 30s, 500ms, 2m)\n";
}

}  // namespace switchyard::ctl
