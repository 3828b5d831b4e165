// Protobuf enum values by their short names: RESET_TYPE_HARD is "hard" on the command line and
// "HARD" in a table, OCPP_VERSION_1_6 is "1.6".
#pragma once

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard::ctl {

// "ChargingProfilePurpose" -> "CHARGING_PROFILE_PURPOSE".
std::string to_upper_snake_case(std::string_view camel);

// The prefix every value of the enum shares ("CHARGING_PROFILE_PURPOSE_"), or "" when none.
std::string enum_prefix(const google::protobuf::EnumDescriptor& type);

// Finds a value by its full name or its name without the prefix, case-insensitively and with
// '-' for '_' ("tx-default", "TX_DEFAULT", "CHARGING_PROFILE_PURPOSE_TX_DEFAULT"), or by number.
Result<const google::protobuf::EnumValueDescriptor*> parse_enum_value(
    const google::protobuf::EnumDescriptor& type, std::string_view text);

// The value for people: "TX_DEFAULT", "1.6" for a version-like remainder, "" for the
// *_UNSPECIFIED zero value.
std::string enum_display_name(const google::protobuf::EnumValueDescriptor& value);

// "active, ended": the accepted short names in lower case, without the zero value.
std::string enum_choices(const google::protobuf::EnumDescriptor& type,
                         std::string_view separator = ", ");

}  // namespace switchyard::ctl
