// A charger's configuration as the status service keeps it: key -> value, from 1.6
// GetConfiguration / ChangeConfiguration and 2.x GetVariables / SetVariables answers and
// NotifyReport. 2.x variables are keyed
// "Component[/instance][@evse[:connector]].Variable[/instance]". Pure parsing of the OCPP payloads
// (JSON text); malformed input yields an error message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::status {

struct ConfigValue {
  std::string key;
  std::string value;
  bool readonly = false;
};

// The values a command's answer tells: `action` is the command (GetConfiguration, GetVariables,
// ChangeConfiguration, SetVariables); `request_json` is what was asked, `result_json` the answer.
// Other actions yield nothing.
Result<std::vector<ConfigValue>> values_from_command(std::string_view action,
                                                     std::string_view request_json,
                                                     std::string_view result_json);
// The values in a 2.x NotifyReport request (Actual attributes).
Result<std::vector<ConfigValue>> values_from_report(std::string_view request_json);

// "Component[/instance][@evse[:connector]].Variable[/instance]" from the 2.x JSON objects.
std::string variable_key(std::string_view component_json, std::string_view variable_json);

}  // namespace switchyard::status
