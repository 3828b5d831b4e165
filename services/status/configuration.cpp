// Configuration values from OCPP payloads (see configuration.h).
#include "status/configuration.h"

#include <boost/json.hpp>

namespace switchyard::status {
namespace json = boost::json;
namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (const auto* s = v->if_string()) return std::string(*s);
  return json::serialize(*v);  // a number or bool where text was expected: keep it readable
}

const json::object* obj(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

const json::array* arr(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_array() : nullptr;
}

Result<json::object> parse_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + " is not a JSON object");
  }
  return std::move(v.as_object());
}

std::string key_of(const json::object& component, const json::object& variable) {
  std::string key = str(component, "name");
  if (auto instance = str(component, "instance"); !instance.empty()) key += "/" + instance;
  if (const auto* evse = obj(component, "evse")) {
    key += "@" + str(*evse, "id");
    if (evse->contains("connectorId")) key += ":" + str(*evse, "connectorId");
  }
  key += "." + str(variable, "name");
  if (auto instance = str(variable, "instance"); !instance.empty()) key += "/" + instance;
  return key;
}

// 2.x attribute types: absent means Actual; only Actual is the value in force.
bool is_actual(const json::object& o, std::string_view member) {
  auto type = str(o, member);
  return type.empty() || type == "Actual";
}

Result<std::vector<ConfigValue>> get_configuration(std::string_view result_json) {
  auto result = parse_object(result_json, "GetConfiguration answer");
  if (!result) return std::unexpected(result.error());
  std::vector<ConfigValue> out;
  if (const auto* keys = arr(*result, "configurationKey")) {
    for (const auto& k : *keys) {
      const auto* entry = k.if_object();
      if (entry == nullptr) continue;
      const auto* ro = entry->if_contains("readonly");
      out.push_back({str(*entry, "key"), str(*entry, "value"),
                     ro != nullptr && ro->is_bool() && ro->as_bool()});
    }
  }
  return out;
}

Result<std::vector<ConfigValue>> change_configuration(std::string_view request_json,
                                                      std::string_view result_json) {
  auto result = parse_object(result_json, "ChangeConfiguration answer");
  if (!result) return std::unexpected(result.error());
  // Accepted: in force now; RebootRequired: in force after a reboot; both are the new setting.
  const auto status = str(*result, "status");
  if (status != "Accepted" && status != "RebootRequired") return std::vector<ConfigValue>{};
  auto request = parse_object(request_json, "ChangeConfiguration request");
  if (!request) return std::unexpected(request.error());
  return std::vector<ConfigValue>{{str(*request, "key"), str(*request, "value"), false}};
}

Result<std::vector<ConfigValue>> get_variables(std::string_view result_json) {
  auto result = parse_object(result_json, "GetVariables answer");
  if (!result) return std::unexpected(result.error());
  std::vector<ConfigValue> out;
  if (const auto* results = arr(*result, "getVariableResult")) {
    for (const auto& r : *results) {
      const auto* entry = r.if_object();
      if (entry == nullptr || str(*entry, "attributeStatus") != "Accepted" ||
          !is_actual(*entry, "attributeType")) {
        continue;
      }
      const auto* component = obj(*entry, "component");
      const auto* variable = obj(*entry, "variable");
      if (component == nullptr || variable == nullptr) continue;
      out.push_back({key_of(*component, *variable), str(*entry, "attributeValue"), false});
    }
  }
  return out;
}

Result<std::vector<ConfigValue>> set_variables(std::string_view request_json,
                                               std::string_view result_json) {
  auto result = parse_object(result_json, "SetVariables answer");
  if (!result) return std::unexpected(result.error());
  auto request = parse_object(request_json, "SetVariables request");
  if (!request) return std::unexpected(request.error());
  // Results come in the order of the request's setVariableData.
  const auto* asked = arr(*request, "setVariableData");
  const auto* answered = arr(*result, "setVariableResult");
  std::vector<ConfigValue> out;
  if (asked == nullptr || answered == nullptr) return out;
  for (std::size_t i = 0; i < asked->size() && i < answered->size(); ++i) {
    const auto* a = (*asked)[i].if_object();
    const auto* r = (*answered)[i].if_object();
    if (a == nullptr || r == nullptr || !is_actual(*a, "attributeType")) continue;
    const auto status = str(*r, "attributeStatus");
    if (status != "Accepted" && status != "RebootRequired") continue;
    const auto* component = obj(*a, "component");
    const auto* variable = obj(*a, "variable");
    if (component == nullptr || variable == nullptr) continue;
    out.push_back({key_of(*component, *variable), str(*a, "attributeValue"), false});
  }
  return out;
}

}  // namespace

std::string variable_key(std::string_view component_json, std::string_view variable_json) {
  auto c = parse_object(component_json, "component");
  auto v = parse_object(variable_json, "variable");
  if (!c || !v) return "";
  return key_of(*c, *v);
}

Result<std::vector<ConfigValue>> values_from_command(std::string_view action,
                                                     std::string_view request_json,
                                                     std::string_view result_json) {
  if (action == "GetConfiguration") return get_configuration(result_json);
  if (action == "ChangeConfiguration") return change_configuration(request_json, result_json);
  if (action == "GetVariables") return get_variables(result_json);
  if (action == "SetVariables") return set_variables(request_json, result_json);
  return std::vector<ConfigValue>{};
}

Result<std::vector<ConfigValue>> values_from_report(std::string_view request_json) {
  auto request = parse_object(request_json, "NotifyReport request");
  if (!request) return std::unexpected(request.error());
  std::vector<ConfigValue> out;
  const auto* data = arr(*request, "reportData");
  if (data == nullptr) return out;
  for (const auto& d : *data) {
    const auto* entry = d.if_object();
    if (entry == nullptr) continue;
    const auto* component = obj(*entry, "component");
    const auto* variable = obj(*entry, "variable");
    const auto* attributes = arr(*entry, "variableAttribute");
    if (component == nullptr || variable == nullptr || attributes == nullptr) continue;
    for (const auto& a : *attributes) {
      const auto* attribute = a.if_object();
      if (attribute == nullptr || !is_actual(*attribute, "type") || !attribute->contains("value"))
        continue;
      out.push_back({key_of(*component, *variable), str(*attribute, "value"),
                     str(*attribute, "mutability") == "ReadOnly"});
    }
  }
  return out;
}

}  // namespace switchyard::status
