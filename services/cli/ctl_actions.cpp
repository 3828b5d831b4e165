// ChargerControl actions by reflection: lookup by name, request building, help.
#include "cli/ctl_actions.h"

#include <algorithm>
#include <cctype>

#include "cli/ctl_args.h"
#include "cli/ctl_fields.h"
#include "switchyard/v1/charger_control.pb.h"

namespace switchyard::ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

constexpr std::string_view kChargerIdField = "charger_id";

// "Remote-Start" / "remote_start" -> "remotestart".
std::string fold_action(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '-' || c == '_') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool is_lone_bool_flag(const FieldDescriptor& field, std::span<const std::string> rest) {
  bool is_bool = field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL && !field.is_repeated();
  return is_bool && (rest.empty() || rest.front().starts_with("--"));
}

}  // namespace

const ServiceDescriptor& charger_control_service() {
  // Naming a generated message keeps charger_control.pb.cc (and its descriptors) in the link.
  const ServiceDescriptor* service =
      v1::RemoteStartRequest::descriptor()->file()->FindServiceByName("ChargerControl");
  return *service;
}

const MethodDescriptor* find_action(const ServiceDescriptor& service, std::string_view action) {
  std::string wanted = fold_action(action);
  for (int i = 0; i < service.method_count(); ++i) {
    if (fold_action(service.method(i)->name()) == wanted) return service.method(i);
  }
  return nullptr;
}

std::string action_name(const MethodDescriptor& method) {
  return to_kebab_case(to_snake_case(method.name()));
}

Result<ActionArgs> parse_action_args(const Descriptor& request_type,
                                     std::span<const std::string> args) {
  ActionArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (!token.starts_with("--") || token.size() == 2) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unexpected argument \"" + token + "\"; fields are given as --field value");
    }
    auto [name, inline_value] = split_flag(token);
    if (name == "json") {
      if (!inline_value && i + 1 >= args.size()) {
        return make_error(ErrorCode::kInvalidArgument, "--json needs a JSON object");
      }
      parsed.json = inline_value ? *inline_value : args[++i];
      continue;
    }
    auto field = find_field_by_path(request_type, name);
    if (!field) return std::unexpected(field.error());
    if (inline_value) {
      parsed.fields.push_back({name, *inline_value});
    } else if (is_lone_bool_flag(**field, args.subspan(i + 1))) {
      parsed.fields.push_back({name, "true"});
    } else if (i + 1 < args.size()) {
      parsed.fields.push_back({name, args[++i]});
    } else {
      return make_error(ErrorCode::kInvalidArgument, "--" + name + " needs a value");
    }
  }
  return parsed;
}

Result<std::unique_ptr<Message>> build_action_request(const MethodDescriptor& method,
                                                      std::string_view charger_id,
                                                      const ActionArgs& args) {
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(method.input_type())
                                       ->New());
  const FieldDescriptor* id_field =
      method.input_type()->FindFieldByName(std::string(kChargerIdField));
  if (id_field != nullptr && id_field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    request->GetReflection()->SetString(request.get(), id_field, std::string(charger_id));
  }
  if (args.json) {
    if (auto merged = merge_json(*request, *args.json); !merged) {
      return make_error(ErrorCode::kInvalidArgument, "--json: " + merged.error().message);
    }
  }
  for (const auto& flag : args.fields) {
    if (auto set = set_field(*request, flag.path, flag.value); !set) {
      return std::unexpected(set.error());
    }
  }
  return request;
}

std::unique_ptr<Message> new_action_response(const MethodDescriptor& method) {
  return std::unique_ptr<Message>(google::protobuf::MessageFactory::generated_factory()
                                      ->GetPrototype(method.output_type())
                                      ->New());
}

std::string action_help(const MethodDescriptor& method) {
  std::string out = "  " + action_name(method) + "  (ChargerControl." + method.name() + ")\n";
  for (const auto& line : describe_fields(*method.input_type())) {
    if (line.starts_with("--charger-id ")) continue;
    out += "      " + line + "\n";
  }
  return out;
}

std::string actions_help(const ServiceDescriptor& service) {
  std::string out =
      "Usage: switchyardctl [OPTIONS] charger ID ACTION [--field value ...] [--json '{...}']\n"
      "Sends a command to charger ID through ChargerControl. The request gets charger_id = ID,\n"
      "then the --json object (proto3 JSON), then each --field (kebab-case; dotted paths for\n"
      "nested fields; enums by short name; bools true/false or alone; times RFC 3339; repeat a\n"
      "flag for a list; a message field also takes a JSON object).\n"
      "\nActions:\n";
  for (int i = 0; i < service.method_count(); ++i) out += action_help(*service.method(i));
  return out;
}

}  // namespace switchyard::ctl
