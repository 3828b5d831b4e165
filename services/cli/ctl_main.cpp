// switchyardctl: the operator CLI over the gRPC APIs (Authorization, Transactions, Chargers,
// ChargerControl, SmartCharging, Roaming). Parses the shared options, then dispatches NOUN VERB
// to its handler; exit 0 on success, 1 when a call failed, 2 on a usage error.
#include <cstdlib>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "cli/ctl_charger_control.h"
#include "cli/ctl_command.h"
#include "cli/ctl_global_options.h"

using namespace switchyard::ctl;

namespace {

std::vector<Noun> all_nouns() {
  return {chargers_noun(), status_noun(), tokens_noun(),   transactions_noun(), cdrs_noun(),
          tariffs_noun(),  sites_noun(),  partners_noun(), locations_noun()};
}

std::string top_help() {
  std::string out =
      "switchyardctl: the operator CLI over the Switchyard gRPC APIs.\n\n"
      "Usage: switchyardctl [OPTIONS] NOUN VERB [ARGS]\n\nCommands:\n";
  for (const auto& noun : all_nouns()) {
    std::string verbs;
    for (const auto& verb : noun.verbs) verbs += (verbs.empty() ? "" : "|") + verb.spec.name;
    out += "  " + noun.name + " " + verbs + "\n";
  }
  out +=
      "  charger ID ACTION [--field value ...]   any ChargerControl RPC ('charger ID help')\n\n"
      "Run 'switchyardctl NOUN --help' for the verbs and flags of a noun.\n\n" +
      global_options_help() + "\nExit codes: 0 done, 1 a call failed, 2 usage error.\n";
  return out;
}

std::optional<std::string> environment_variable(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value == nullptr ? std::nullopt : std::optional<std::string>(value);
}

int report(const Outcome& outcome, const std::string& usage) {
  if (outcome) return static_cast<int>(ExitCode::kOk);
  const CommandError& error = outcome.error();
  std::cerr << "switchyardctl: " << error.message << "\n";
  if (error.exit_code == ExitCode::kUsage) {
    std::cerr << "\n" << (error.help.empty() ? usage : error.help);
  }
  return static_cast<int>(error.exit_code);
}

bool asks_help(std::span<const std::string> args) {
  for (const auto& arg : args) {
    if (is_help_flag(arg)) return true;
  }
  return false;
}

Outcome run_verb(Session& session, const Noun& noun, std::span<const std::string> args) {
  const std::string& verb_name = args.front();
  for (const auto& verb : noun.verbs) {
    if (verb.spec.name != verb_name) continue;
    auto parsed = parse_verb_args(verb.spec, args.subspan(1));
    if (!parsed)
      return usage_error(parsed.error().message, "Usage: switchyardctl [OPTIONS] " +
                                                     usage_line(noun.name, verb.spec) + "\n");
    return verb.run(session, *parsed);
  }
  return usage_error(noun.name + ": unknown verb \"" + verb_name + "\"");
}

int run_noun(Session& session, const std::vector<std::string>& command) {
  const std::string& name = command.front();
  std::span<const std::string> args(command.begin() + 1, command.end());
  if (name == "charger") {
    if (args.size() == 1 && is_help_flag(args.front())) {
      std::cout << charger_command_help();
      return 0;
    }
    return report(run_charger_command(session, args), charger_command_help());
  }
  for (const auto& noun : all_nouns()) {
    if (noun.name != name) continue;
    if (asks_help(args) || (!args.empty() && args.front() == "help")) {
      std::cout << noun_help(noun);
      return 0;
    }
    if (args.empty()) return report(usage_error(name + ": missing VERB"), noun_help(noun));
    return report(run_verb(session, noun, args), noun_help(noun));
  }
  return report(usage_error("unknown command \"" + name + "\""), top_help());
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parse_global_options(args, environment_variable);
  if (!options) return report(usage_error(options.error().message), top_help());
  const auto& command = options->rest;
  if (command.empty()) return report(usage_error("missing NOUN"), top_help());
  if (is_help_flag(command.front()) || command.front() == "help") {
    std::cout << top_help();
    return 0;
  }
  ApiClient client(options->endpoints, options->timeout);
  Session session{client, options->format, std::cout, std::cerr};
  return run_noun(session, command);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // A programming error; still one line, no trace.
    std::cerr << "switchyardctl: internal error: " << e.what() << "\n";
    return 1;
  }
}
