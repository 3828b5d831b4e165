// Parsing one verb's arguments against its declaration.
#include "cli/ctl_args.h"

#include <algorithm>

namespace switchyard::ctl {
namespace {

const FlagSpec* find_flag(const VerbSpec& spec, std::string_view name) {
  auto it = std::find_if(spec.flags.begin(), spec.flags.end(),
                         [&](const FlagSpec& flag) { return flag.name == name; });
  return it == spec.flags.end() ? nullptr : &*it;
}

std::string flag_list(const VerbSpec& spec) {
  if (spec.flags.empty()) return "none";
  std::string out;
  for (const auto& flag : spec.flags) out += (out.empty() ? "--" : ", --") + flag.name;
  return out;
}

std::string flag_usage(const FlagSpec& flag) {
  return "--" + flag.name + (flag.value_name.empty() ? "" : " " + flag.value_name);
}

}  // namespace

VerbArgs::VerbArgs(std::vector<std::string> positionals,
                   std::map<std::string, std::vector<std::string>, std::less<>> flags)
    : positionals_(std::move(positionals)), flags_(std::move(flags)) {}

std::optional<std::string> VerbArgs::value(std::string_view flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> VerbArgs::values(std::string_view flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? std::vector<std::string>{} : it->second;
}

bool VerbArgs::has(std::string_view flag) const { return flags_.find(flag) != flags_.end(); }

std::pair<std::string, std::optional<std::string>> split_flag(std::string_view token) {
  // "--name[=value]" or "-n[=value]"; anything shorter is a name of its own.
  const std::size_t dashes = token.starts_with("--") ? 2 : token.starts_with('-') ? 1 : 0;
  std::string_view body = token.substr(dashes);
  auto equals = body.find('=');
  if (equals == std::string_view::npos) return {std::string(body), std::nullopt};
  return {std::string(body.substr(0, equals)), std::string(body.substr(equals + 1))};
}

bool is_help_flag(std::string_view token) { return token == "--help" || token == "-h"; }

Result<VerbArgs> parse_verb_args(const VerbSpec& spec, std::span<const std::string> args) {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;
  bool flags_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (flags_ended || !token.starts_with("--") || token.size() == 2) {
      if (token == "--" && !flags_ended) {
        flags_ended = true;
      } else {
        positionals.push_back(token);
      }
      continue;
    }
    auto [name, inline_value] = split_flag(token);
    const FlagSpec* flag = find_flag(spec, name);
    if (flag == nullptr) {
      return make_error(ErrorCode::kInvalidArgument, "unknown flag --" + name + " for " +
                                                         spec.name + "; valid: " + flag_list(spec));
    }
    if (flag->value_name.empty()) {
      if (inline_value) {
        return make_error(ErrorCode::kInvalidArgument, "--" + name + " takes no value");
      }
      flags[name].emplace_back("true");
    } else if (inline_value) {
      flags[name].push_back(*inline_value);
    } else if (i + 1 < args.size()) {
      flags[name].push_back(args[++i]);
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        "--" + name + " needs a value (" + flag->value_name + ")");
    }
  }
  if (positionals.size() < spec.positionals.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      spec.name + ": missing " + spec.positionals[positionals.size()]);
  }
  if (positionals.size() > spec.positionals.size()) {
    return make_error(ErrorCode::kInvalidArgument, spec.name + ": unexpected argument \"" +
                                                       positionals[spec.positionals.size()] + "\"");
  }
  return VerbArgs(std::move(positionals), std::move(flags));
}

std::string usage_line(std::string_view noun, const VerbSpec& spec) {
  std::string line = std::string(noun) + " " + spec.name;
  for (const auto& positional : spec.positionals) line += " " + positional;
  for (const auto& flag : spec.flags) line += " [" + flag_usage(flag) + "]";
  return line;
}

std::string verb_help(std::string_view noun, const VerbSpec& spec) {
  std::string out = "  " + usage_line(noun, spec) + "\n";
  if (!spec.help.empty()) out += "      " + spec.help + "\n";
  for (const auto& flag : spec.flags) {
    if (flag.help.empty()) continue;
    out += "        " + flag_usage(flag) + ": " + flag.help + "\n";
  }
  return out;
}

}  // namespace switchyard::ctl
