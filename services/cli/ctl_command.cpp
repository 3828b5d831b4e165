// Helpers every switchyardctl noun shares: calling, paging, printing, reading typed flags.
#include "cli/ctl_command.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "cli/ctl_enums.h"
#include "cli/ctl_fields.h"
#include "cli/ctl_paging.h"

namespace switchyard::ctl {

std::string noun_help(const Noun& noun) {
  std::string out = "Usage: switchyardctl [OPTIONS] " + noun.name + " VERB [ARGS]\n";
  if (!noun.summary.empty()) out += noun.summary + "\n";
  out += "\nVerbs:\n";
  for (const auto& verb : noun.verbs) out += verb_help(noun.name, verb.spec);
  return out;
}

FlagSpec limit_flag() { return {"limit", "N", "at most N entries (default: every page)"}; }

Outcome call(Session& session, Api api, std::string_view method,
             const google::protobuf::Message& request, google::protobuf::Message& response) {
  if (auto called = session.client.call(api, method, request, response); !called) {
    return failure(called.error().message);
  }
  return {};
}

Outcome list_and_print(Session& session, const VerbArgs& args, Api api, std::string_view method,
                       google::protobuf::Message& request, google::protobuf::Message& response,
                       std::span<const Column> columns) {
  auto limit = read_int_flag(args, "limit", 0);
  if (!limit) return std::unexpected(limit.error());
  if (args.has("limit") && *limit <= 0) return usage_error("--limit must be at least 1");
  std::optional<int> max_entries = args.has("limit") ? std::optional<int>(*limit) : std::nullopt;
  auto fetched = fetch_all_pages(
      request, response, max_entries,
      [&](const google::protobuf::Message& page_request, google::protobuf::Message& page) {
        return session.client.call(api, method, page_request, page);
      });
  if (!fetched) return failure(fetched.error().message);
  print_list(session.out, session.format, response, columns);
  return {};
}

Outcome call_and_print(Session& session, Api api, std::string_view method,
                       const google::protobuf::Message& request,
                       google::protobuf::Message& response) {
  if (auto called = call(session, api, method, request, response); !called) return called;
  print_single(session.out, session.format, response);
  return {};
}

Parsed<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return usage_error("cannot read " + path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

std::unexpected<CommandError> usage_error_for(std::string_view flag, const Error& error) {
  return usage_error("--" + std::string(flag) + ": " + error.message);
}

Outcome copy_flag(const VerbArgs& args, std::string_view flag, google::protobuf::Message& message,
                  std::string_view field_path) {
  auto text = args.value(flag);
  if (!text) return {};
  auto field = find_field_by_path(*message.GetDescriptor(), field_path);
  if (!field) return failure("internal: " + field.error().message);
  const auto& type = **field;
  Result<void> set;
  if (type.cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    auto timestamp = parse_timestamp(*text);
    if (!timestamp) return usage_error_for(flag, timestamp.error());
    set = set_field(message, field_path, *text);
  } else if (type.cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
    auto value = parse_enum_value(*type.enum_type(), *text);
    if (!value) return usage_error_for(flag, value.error());
    set = set_field(message, field_path, (*value)->name());
  } else {
    set = set_field(message, field_path, *text);
  }
  if (!set) return usage_error("--" + std::string(flag) + " " + *text + ": invalid value");
  return {};
}

Parsed<std::int32_t> read_int_flag(const VerbArgs& args, std::string_view flag,
                                   std::int32_t fallback) {
  auto text = args.value(flag);
  if (!text) return fallback;
  std::int32_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || text->empty()) {
    return usage_error("--" + std::string(flag) + " " + *text + ": not a whole number");
  }
  return value;
}

}  // namespace switchyard::ctl
