// ChargerControl actions by reflection: every RPC of switchyard.v1.ChargerControl is an action of
// `switchyardctl charger ID ACTION`, its request built from --json and --field flags.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

// switchyard.v1.ChargerControl from the generated descriptor pool.
const google::protobuf::ServiceDescriptor& charger_control_service();

// The RPC an action names, case-insensitively, in kebab, snake or camel case ("remote-start",
// "RemoteStart", "remote_start"); nullptr when none.
const google::protobuf::MethodDescriptor* find_action(
    const google::protobuf::ServiceDescriptor& service, std::string_view action);

// "RemoteStart" -> "remote-start".
std::string action_name(const google::protobuf::MethodDescriptor& method);

struct FieldFlag {
  std::string path;  // as typed, without dashes: "id-token.id"
  std::string value;
};

struct ActionArgs {
  std::optional<std::string> json;  // --json '{...}'
  std::vector<FieldFlag> fields;    // in command-line order
};

// Splits the arguments after ACTION. A bool field's flag may stand alone ("--hard"); every other
// flag takes a value ("--evse-id 1" or "--evse-id=1"). Unknown fields are reported by name with
// the valid ones.
Result<ActionArgs> parse_action_args(const google::protobuf::Descriptor& request_type,
                                     std::span<const std::string> args);

// The request: charger_id = `charger_id` (when the message has that field), then the --json
// object merged in, then each field flag applied in order.
Result<std::unique_ptr<google::protobuf::Message>> build_action_request(
    const google::protobuf::MethodDescriptor& method, std::string_view charger_id,
    const ActionArgs& args);

// An empty response message of the method's output type.
std::unique_ptr<google::protobuf::Message> new_action_response(
    const google::protobuf::MethodDescriptor& method);

// One action with its request fields (charger_id left out: it comes from ID).
std::string action_help(const google::protobuf::MethodDescriptor& method);

// Usage of `charger` and every action with its request fields.
std::string actions_help(const google::protobuf::ServiceDescriptor& service);

}  // namespace switchyard::ctl
