// What every switchyardctl noun shares: the session a verb runs in, its failure value (usage
// errors exit 2, everything else 1), the noun/verb table, and helpers that call an RPC and print
// its answer.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <expected>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/ctl_args.h"
#include "cli/ctl_client.h"
#include "cli/ctl_output.h"
#include "common/runtime/core/error.h"

namespace switchyard::ctl {

enum class ExitCode { kOk = 0, kFailure = 1, kUsage = 2 };

struct CommandError {
  ExitCode exit_code = ExitCode::kFailure;
  std::string message;
  std::string help;  // printed after a usage error; empty: the noun's usage
};

using Outcome = std::expected<void, CommandError>;
template <typename T>
using Parsed = std::expected<T, CommandError>;

inline std::unexpected<CommandError> usage_error(std::string message, std::string help = "") {
  return std::unexpected(CommandError{ExitCode::kUsage, std::move(message), std::move(help)});
}
inline std::unexpected<CommandError> failure(std::string message) {
  return std::unexpected(CommandError{ExitCode::kFailure, std::move(message), ""});
}

struct Session {
  ApiClient& client;
  OutputFormat format;
  std::ostream& out;
  std::ostream& err;
};

struct Verb {
  VerbSpec spec;
  std::function<Outcome(Session&, const VerbArgs&)> run;
};

struct Noun {
  std::string name;
  std::string summary;
  std::vector<Verb> verbs;
};

// The nouns with fixed verbs; `charger ID ACTION` is dispatched separately (ctl_charger_control).
Noun chargers_noun();
Noun status_noun();
Noun tokens_noun();
Noun transactions_noun();
Noun cdrs_noun();
Noun tariffs_noun();
Noun sites_noun();
Noun partners_noun();
Noun locations_noun();

// "Usage:" and one help block per verb.
std::string noun_help(const Noun& noun);

// The --limit flag every list verb has.
FlagSpec limit_flag();

// Calls and maps an RPC error to a failure (exit 1).
Outcome call(Session& session, Api api, std::string_view method,
             const google::protobuf::Message& request, google::protobuf::Message& response);

// Calls a list RPC page by page (up to --limit) and prints the merged response.
Outcome list_and_print(Session& session, const VerbArgs& args, Api api, std::string_view method,
                       google::protobuf::Message& request, google::protobuf::Message& response,
                       std::span<const Column> columns);

// Calls a unary RPC and prints its single answer.
Outcome call_and_print(Session& session, Api api, std::string_view method,
                       const google::protobuf::Message& request,
                       google::protobuf::Message& response);

// Copies --flag, when given, into the field at `field_path` of `message`: strings as they are,
// timestamps from RFC 3339, enums by short name, int32 as whole numbers, bools from a switch.
Outcome copy_flag(const VerbArgs& args, std::string_view flag, google::protobuf::Message& message,
                  std::string_view field_path);

// Turns a parse error of user input into a usage failure prefixed with the flag.
std::unexpected<CommandError> usage_error_for(std::string_view flag, const Error& error);

// The content of a file the user named; a usage error when it cannot be read.
Parsed<std::string> read_file(const std::string& path);

// The whole-number value of --flag, `fallback` when not given.
Parsed<std::int32_t> read_int_flag(const VerbArgs& args, std::string_view flag,
                                   std::int32_t fallback);

}  // namespace switchyard::ctl
