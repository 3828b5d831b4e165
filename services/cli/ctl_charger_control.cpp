// `switchyardctl charger ID ACTION ...`: any ChargerControl RPC, found and filled by reflection.
#include "cli/ctl_charger_control.h"

#include <algorithm>

#include "cli/ctl_actions.h"

namespace switchyard::ctl {
namespace {

bool wants_help(std::span<const std::string> args) {
  return std::any_of(args.begin(), args.end(),
                     [](const std::string& a) { return is_help_flag(a); });
}

Outcome send_action(Session& session, const google::protobuf::MethodDescriptor& method,
                    const std::string& charger_id, std::span<const std::string> flags) {
  auto parsed = parse_action_args(*method.input_type(), flags);
  std::string hint =
      "Run 'switchyardctl charger ID " + action_name(method) + " --help' for its fields.\n";
  if (!parsed) return usage_error(action_name(method) + ": " + parsed.error().message, hint);
  auto request = build_action_request(method, charger_id, *parsed);
  if (!request) return usage_error(action_name(method) + ": " + request.error().message, hint);
  auto response = new_action_response(method);
  return call_and_print(session, Api::kChargerControl, method.name(), **request, *response);
}

}  // namespace

std::string charger_command_help() { return actions_help(charger_control_service()); }

Outcome run_charger_command(Session& session, std::span<const std::string> args) {
  if (args.empty()) return usage_error("charger: missing ID and ACTION");
  if (args.size() < 2) return usage_error("charger " + args[0] + ": missing ACTION");
  const std::string& action = args[1];
  if (action == "help" || is_help_flag(action)) {
    session.out << charger_command_help();
    return {};
  }
  const auto* method = find_action(charger_control_service(), action);
  if (method == nullptr) {
    return usage_error("charger: unknown action \"" + action + "\"", charger_command_help());
  }
  auto flags = args.subspan(2);
  if (wants_help(flags)) {
    session.out << "Usage: switchyardctl [OPTIONS] charger ID " << action_name(*method)
                << " [--field value ...] [--json '{...}']\n\n"
                << action_help(*method);
    return {};
  }
  return send_action(session, *method, args[0], flags);
}

}  // namespace switchyard::ctl
