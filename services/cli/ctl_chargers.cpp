// `switchyardctl chargers ...`: what the status service knows about chargers (Chargers API) and
// the charger registry of the Authorization API.
#include <fstream>
#include <sstream>

#include "cli/ctl_command.h"
#include "switchyard/v1/authorization.pb.h"
#include "switchyard/v1/chargers.pb.h"

namespace switchyard::ctl {
namespace {

constexpr int kMaxSecurityProfile = 3;

std::string connectors_summary(const google::protobuf::Message& row) {
  const auto* charger = google::protobuf::DynamicCastToGenerated<v1::ChargerState>(&row);
  if (charger == nullptr) return "";
  std::string out;
  for (const auto& connector : charger->connectors()) {
    if (!out.empty()) out += ", ";
    out += std::to_string(connector.location().evse_id()) + "/" +
           std::to_string(connector.location().connector_id()) + " " + connector.status();
  }
  return out;
}

std::vector<Column> charger_state_columns() {
  return {field_column("CHARGER", "charger_id"),   field_column("ONLINE", "online"),
          field_column("OCPP", "ocpp_version"),    field_column("VENDOR", "vendor"),
          field_column("MODEL", "model"),          field_column("FIRMWARE", "firmware_version"),
          field_column("LAST_SEEN", "last_seen"),  field_column("POD", "pod_id"),
          Column{"CONNECTORS", connectors_summary}};
}

std::vector<Column> registration_columns() {
  return {field_column("CHARGER", "charger_id"),
          field_column("PROFILE", "security_profile"),
          field_column("PASSWORD", "has_password"),
          field_column("BOOT_POLICY", "boot_policy"),
          field_column("HEARTBEAT_S", "heartbeat_interval_s"),
          field_column("AUTO", "auto_registered"),
          field_column("REGISTERED", "registered_at")};
}

Outcome list_chargers(Session& session, const VerbArgs& args) {
  v1::ListChargersRequest request;
  request.set_online_only(args.has("online"));
  v1::ListChargersResponse response;
  return list_and_print(session, args, Api::kChargers, "ListChargers", request, response,
                        charger_state_columns());
}

Outcome get_charger(Session& session, const VerbArgs& args) {
  v1::GetChargerRequest request;
  request.set_charger_id(args.positional(0));
  v1::GetChargerResponse response;
  return call_and_print(session, Api::kChargers, "GetCharger", request, response);
}

Outcome show_configuration(Session& session, const VerbArgs& args) {
  v1::GetConfigurationSnapshotRequest request;
  request.set_charger_id(args.positional(0));
  request.set_key_prefix(args.value("prefix").value_or(""));
  v1::GetConfigurationSnapshotResponse response;
  std::vector<Column> columns{field_column("KEY", "key"), field_column("VALUE", "value"),
                              field_column("READONLY", "readonly"),
                              field_column("REPORTED", "reported_at")};
  return list_and_print(session, args, Api::kChargers, "GetConfiguration", request, response,
                        columns);
}

Outcome diff_configuration(Session& session, const VerbArgs& args) {
  v1::DiffConfigurationRequest request;
  request.set_charger_id(args.positional(0));
  request.set_other_charger_id(args.positional(1));
  v1::DiffConfigurationResponse response;
  std::vector<Column> columns{field_column("KEY", "key"), field_column(args.positional(0), "value"),
                              field_column(args.positional(1), "other_value")};
  return list_and_print(session, args, Api::kChargers, "DiffConfiguration", request, response,
                        columns);
}

Parsed<std::string> read_password(const VerbArgs& args) {
  if (args.has("password") && args.has("password-file")) {
    return usage_error("give --password or --password-file, not both");
  }
  if (auto password = args.value("password")) return *password;
  auto path = args.value("password-file");
  if (!path) return std::string();
  std::ifstream file(*path, std::ios::binary);
  if (!file) return usage_error("--password-file " + *path + ": cannot read the file");
  std::stringstream content;
  content << file.rdbuf();
  std::string password = content.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) return usage_error("--password-file " + *path + " is empty");
  return password;
}

Parsed<v1::ChargerRegistration> registration_from_flags(const VerbArgs& args) {
  v1::ChargerRegistration charger;
  charger.set_charger_id(args.positional(0));
  if (!args.has("security-profile")) return usage_error("register: --security-profile is required");
  auto profile = read_int_flag(args, "security-profile", 0);
  if (!profile) return std::unexpected(profile.error());
  if (*profile < 0 || *profile > kMaxSecurityProfile) {
    return usage_error("--security-profile must be 0, 1, 2 or 3");
  }
  charger.set_security_profile(*profile);
  auto password = read_password(args);
  if (!password) return std::unexpected(password.error());
  charger.set_password(*password);
  if (auto copied = copy_flag(args, "boot-policy", charger, "boot_policy"); !copied) {
    return std::unexpected(copied.error());
  }
  auto interval = read_int_flag(args, "heartbeat-interval", 0);
  if (!interval) return std::unexpected(interval.error());
  if (*interval < 0) return usage_error("--heartbeat-interval must not be negative");
  charger.set_heartbeat_interval_s(*interval);
  return charger;
}

Outcome register_charger(Session& session, const VerbArgs& args) {
  auto charger = registration_from_flags(args);
  if (!charger) return std::unexpected(charger.error());
  v1::PutChargerRequest request;
  *request.mutable_charger() = std::move(*charger);
  v1::PutChargerResponse response;
  return call_and_print(session, Api::kAuthorization, "PutCharger", request, response);
}

Outcome list_registrations(Session& session, const VerbArgs& args) {
  v1::ListChargerRegistrationsRequest request;
  v1::ListChargerRegistrationsResponse response;
  return list_and_print(session, args, Api::kAuthorization, "ListChargers", request, response,
                        registration_columns());
}

}  // namespace

Noun chargers_noun() {
  return Noun{
      "chargers",
      "Chargers as the status service knows them, and the charger registry (Authorization).",
      {
          {{"list",
            {},
            {{"online", "", "only connected chargers"}, limit_flag()},
            "Chargers.ListChargers"},
           list_chargers},
          {{"get", {"ID"}, {}, "Chargers.GetCharger"}, get_charger},
          {{"config",
            {"ID"},
            {{"prefix", "P", "only keys starting with P"}},
            "Chargers.GetConfiguration: the last configuration the charger reported"},
           show_configuration},
          {{"diff", {"ID", "OTHER"}, {}, "Chargers.DiffConfiguration: keys whose values differ"},
           diff_configuration},
          {{"register",
            {"ID"},
            {{"security-profile", "N", "0 none, 1 Basic over ws, 2 TLS + Basic, 3 TLS client cert"},
             {"password", "P", "Basic-auth password (profiles 1-2); visible in ps, prefer a file"},
             {"password-file", "F", "read the password from F (trailing newline dropped)"},
             {"boot-policy", "accept|pending|reject", "answer to its BootNotification"},
             {"heartbeat-interval", "S", "seconds; 0 = the service default"}},
            "Authorization.PutCharger: create or replace a registration"},
           register_charger},
          {{"registrations", {}, {limit_flag()}, "Authorization.ListChargers"}, list_registrations},
      }};
}

}  // namespace switchyard::ctl
