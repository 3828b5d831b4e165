// Setting protobuf fields from command-line text by reflection: dotted kebab-case paths
// ("--id-token.id"), enums by short name, RFC 3339 timestamps, repeated fields by repeating the
// flag, message-typed fields from a JSON object.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

// "id-token" or "idToken" -> "id_token".
std::string to_snake_case(std::string_view name);
// "id_token" -> "id-token".
std::string to_kebab_case(std::string_view snake);

// RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00") or "now".
Result<google::protobuf::Timestamp> parse_timestamp(std::string_view text);

bool is_timestamp(const google::protobuf::Descriptor& type);

// Sets the field at `path` (dot-separated, kebab, snake or camel case per segment) from `text`;
// a repeated field gets `text` appended. Intermediate message fields are created. The error of an
// unknown field lists the valid flags at that level.
Result<void> set_field(google::protobuf::Message& message, std::string_view path,
                       std::string_view text);

// Resolves the field at `path` without setting it (to know whether it is a bool flag, ...).
Result<const google::protobuf::FieldDescriptor*> find_field_by_path(
    const google::protobuf::Descriptor& type, std::string_view path);

// Merges a proto3 JSON object into `message`.
Result<void> merge_json(google::protobuf::Message& message, std::string_view json);

// One line per field for help: "--evse-id <int32>", "--purpose <tx-default|tx|...>".
std::vector<std::string> describe_fields(const google::protobuf::Descriptor& type);

}  // namespace switchyard::ctl
