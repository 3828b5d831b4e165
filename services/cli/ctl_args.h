// The arguments of one verb ("tokens add ID --group G"): positionals and flags checked against
// the verb's declaration, and the usage lines generated from it.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

struct FlagSpec {
  std::string name;        // without dashes: "security-profile"
  std::string value_name;  // "N"; empty for a switch (--online)
  std::string help;
};

struct VerbSpec {
  std::string name;                      // "add"
  std::vector<std::string> positionals;  // "ID", "FILE.csv"; all required
  std::vector<FlagSpec> flags;
  std::string help;
};

class VerbArgs {
 public:
  VerbArgs() = default;
  VerbArgs(std::vector<std::string> positionals,
           std::map<std::string, std::vector<std::string>, std::less<>> flags);

  const std::string& positional(std::size_t index) const { return positionals_.at(index); }
  // The last value given for a flag.
  std::optional<std::string> value(std::string_view flag) const;
  // Every value given for a flag, in order.
  std::vector<std::string> values(std::string_view flag) const;
  bool has(std::string_view flag) const;

 private:
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>, std::less<>> flags_;
};

// "--name value", "--name=value", switches without a value; "--" ends the flags. Errors name the
// unknown flag, a missing value or a missing/extra positional.
Result<VerbArgs> parse_verb_args(const VerbSpec& spec, std::span<const std::string> args);

// "tokens add ID [--type T] [--refuse-concurrent]".
std::string usage_line(std::string_view noun, const VerbSpec& spec);

// The usage line plus one indented line per flag with its help.
std::string verb_help(std::string_view noun, const VerbSpec& spec);

// Splits "--name=value" into name and value; "--name" gives no value. Only for "--" tokens.
std::pair<std::string, std::optional<std::string>> split_flag(std::string_view token);

bool is_help_flag(std::string_view token);

}  // namespace switchyard::ctl
