// Typed commands to OCPP payloads per version, and answers back to typed responses.
#include "gateway/commands.h"

#include <boost/json.hpp>

#include <charconv>

#include "common/runtime/core/clock.h"

namespace switchyard::gateway {
namespace {

namespace json = boost::json;
using ocpp::Version;

bool is16(Version v) { return v == Version::k16; }

Result<OcppCall> make(std::string action, const json::object& payload) {
  return OcppCall{std::move(action), json::serialize(payload)};
}

Result<OcppCall> only_2x(std::string_view what, Version v) {
  return make_error(ErrorCode::kUnimplemented, std::string(what) + " does not exist in OCPP " +
                                                   std::string(ocpp::version_label(v)));
}

std::string timestamp(const google::protobuf::Timestamp& t) {
  return format_rfc3339(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(t.seconds() * 1000 + t.nanos() / 1'000'000)));
}

Result<std::int64_t> integer_id(const std::string& text, std::string_view field) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return make_error(
        ErrorCode::kInvalidArgument,
        std::string(field) + ": a 1.6 transaction id is an integer, got '" + text + "'");
  }
  return value;
}

json::object evse_object(int evse_id, int connector_id) {
  json::object evse{{"id", evse_id}};
  if (connector_id > 0) evse["connectorId"] = connector_id;
  return evse;
}

json::object id_token_2x(const v1::IdToken& t) {
  return {{"idToken", t.id()},
          {"type", t.type().empty() || t.type() == "IdTag" ? "Central" : t.type()}};
}

const char* purpose_name(v1::ChargingProfilePurpose p, Version v) {
  switch (p) {
    case v1::CHARGING_PROFILE_PURPOSE_STATION_MAX:
      return is16(v) ? "ChargePointMaxProfile" : "ChargingStationMaxProfile";
    case v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT:
      return "TxDefaultProfile";
    case v1::CHARGING_PROFILE_PURPOSE_TX:
      return "TxProfile";
    case v1::CHARGING_PROFILE_PURPOSE_EXTERNAL_CONSTRAINTS:
      return "ChargingStationExternalConstraints";
    default:
      return "";
  }
}

const char* kind_name(v1::ChargingProfileKind k) {
  switch (k) {
    case v1::CHARGING_PROFILE_KIND_ABSOLUTE:
      return "Absolute";
    case v1::CHARGING_PROFILE_KIND_RECURRING:
      return "Recurring";
    case v1::CHARGING_PROFILE_KIND_RELATIVE:
      return "Relative";
    default:
      return "";
  }
}

const char* unit_name(v1::ChargingRateUnit u) {
  return u == v1::CHARGING_RATE_UNIT_WATTS ? "W" : "A";
}

json::object schedule_object(const v1::ChargingSchedule& s, Version v) {
  json::array periods;
  for (const auto& p : s.periods()) {
    json::object period{{"startPeriod", p.start_period_s()}, {"limit", p.limit()}};
    if (p.number_phases() > 0) period["numberPhases"] = p.number_phases();
    if (!is16(v) && p.phase_to_use() > 0) period["phaseToUse"] = p.phase_to_use();
    periods.push_back(std::move(period));
  }
  json::object schedule{{"chargingRateUnit", unit_name(s.rate_unit())},
                        {"chargingSchedulePeriod", std::move(periods)}};
  if (!is16(v)) schedule["id"] = s.id();
  if (s.duration_s() > 0) schedule["duration"] = s.duration_s();
  if (s.has_start_schedule()) schedule["startSchedule"] = timestamp(s.start_schedule());
  if (s.min_charging_rate() > 0) schedule["minChargingRate"] = s.min_charging_rate();
  return schedule;
}

Result<json::object> profile_object(const v1::ChargingProfile& p, Version v) {
  if (p.schedules().empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "profile.schedules: at least one schedule is required");
  }
  if (is16(v) && p.schedules_size() > 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      "profile.schedules: OCPP 1.6 takes exactly one schedule");
  }
  json::object profile{{"stackLevel", p.stack_level()},
                       {"chargingProfilePurpose", purpose_name(p.purpose(), v)},
                       {"chargingProfileKind", kind_name(p.kind())}};
  profile[is16(v) ? "chargingProfileId" : "id"] = p.id();
  if (!p.recurrency_kind().empty()) profile["recurrencyKind"] = p.recurrency_kind();
  if (p.has_valid_from()) profile["validFrom"] = timestamp(p.valid_from());
  if (p.has_valid_to()) profile["validTo"] = timestamp(p.valid_to());
  if (!p.transaction_id().empty()) {
    if (is16(v)) {
      auto id = integer_id(p.transaction_id(), "profile.transaction_id");
      if (!id) return std::unexpected(id.error());
      profile["transactionId"] = *id;
    } else {
      profile["transactionId"] = p.transaction_id();
    }
  }
  if (is16(v)) {
    profile["chargingSchedule"] = schedule_object(p.schedules(0), v);
  } else {
    json::array schedules;
    for (const auto& s : p.schedules()) schedules.push_back(schedule_object(s, v));
    profile["chargingSchedule"] = std::move(schedules);
  }
  if (v == Version::k21 && p.max_offline_duration_s() > 0) {
    profile["maxOfflineDuration"] = p.max_offline_duration_s();
  }
  return profile;
}

json::object component_variable(const v1::VariableSelector& s) {
  json::object component{{"name", s.component()}};
  if (!s.component_instance().empty()) component["instance"] = s.component_instance();
  if (s.evse_id() > 0) component["evse"] = evse_object(s.evse_id(), s.connector_id());
  json::object variable{{"name", s.variable()}};
  if (!s.variable_instance().empty()) variable["instance"] = s.variable_instance();
  json::object out{{"component", std::move(component)}, {"variable", std::move(variable)}};
  if (!s.attribute_type().empty()) out["attributeType"] = s.attribute_type();
  return out;
}

std::optional<json::value> parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string text_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  return json::serialize(it->value());
}

void fill_selector(v1::VariableSelector& out, const json::object& item) {
  if (auto c = item.if_contains("component"); c && c->is_object()) {
    const auto& component = c->as_object();
    out.set_component(text_of(component, "name"));
    out.set_component_instance(text_of(component, "instance"));
    if (auto e = component.if_contains("evse"); e && e->is_object()) {
      if (auto id = e->as_object().if_contains("id"); id && id->is_int64())
        out.set_evse_id(static_cast<int>(id->as_int64()));
      if (auto cid = e->as_object().if_contains("connectorId"); cid && cid->is_int64()) {
        out.set_connector_id(static_cast<int>(cid->as_int64()));
      }
    }
  }
  if (auto v = item.if_contains("variable"); v && v->is_object()) {
    out.set_variable(text_of(v->as_object(), "name"));
    out.set_variable_instance(text_of(v->as_object(), "instance"));
  }
  out.set_attribute_type(text_of(item, "attributeType"));
}

}  // namespace

Result<OcppCall> translate(const v1::RemoteStartRequest& r, Version v) {
  if (r.id_token().id().empty())
    return make_error(ErrorCode::kInvalidArgument, "id_token.id is required");
  if (is16(v)) {
    json::object p{{"idTag", r.id_token().id()}};
    if (r.evse_id() > 0) p["connectorId"] = r.evse_id();
    if (r.has_charging_profile()) {
      auto profile = profile_object(r.charging_profile(), v);
      if (!profile) return std::unexpected(profile.error());
      p["chargingProfile"] = std::move(*profile);
    }
    return make("RemoteStartTransaction", p);
  }
  static std::atomic<int> next_remote_start_id{1};
  json::object p{
      {"idToken", id_token_2x(r.id_token())},
      {"remoteStartId", r.remote_start_id() > 0 ? r.remote_start_id() : next_remote_start_id++}};
  if (r.evse_id() > 0) p["evseId"] = r.evse_id();
  if (r.has_charging_profile()) {
    auto profile = profile_object(r.charging_profile(), v);
    if (!profile) return std::unexpected(profile.error());
    p["chargingProfile"] = std::move(*profile);
  }
  return make("RequestStartTransaction", p);
}

Result<OcppCall> translate(const v1::RemoteStopRequest& r, Version v) {
  if (is16(v)) {
    auto id = integer_id(r.transaction_id(), "transaction_id");
    if (!id) return std::unexpected(id.error());
    return make("RemoteStopTransaction", {{"transactionId", *id}});
  }
  return make("RequestStopTransaction", {{"transactionId", r.transaction_id()}});
}

Result<OcppCall> translate(const v1::ResetRequest& r, Version v) {
  if (is16(v)) return make("Reset", {{"type", r.hard() ? "Hard" : "Soft"}});
  json::object p{{"type", r.hard() ? "Immediate" : "OnIdle"}};
  if (r.evse_id() > 0) p["evseId"] = r.evse_id();
  return make("Reset", p);
}

Result<OcppCall> translate(const v1::ChangeConfigurationRequest& r, Version v) {
  if (!is16(v)) {
    return make_error(ErrorCode::kUnimplemented,
                      "ChangeConfiguration is OCPP 1.6; use SetVariables for a " +
                          std::string(ocpp::version_label(v)) + " charger");
  }
  return make("ChangeConfiguration", {{"key", r.key()}, {"value", r.value()}});
}

Result<OcppCall> translate(const v1::GetConfigurationRequest& r, Version v) {
  if (!is16(v)) {
    return make_error(ErrorCode::kUnimplemented,
                      "GetConfiguration is OCPP 1.6; use GetVariables or GetBaseReport for a " +
                          std::string(ocpp::version_label(v)) + " charger");
  }
  json::object p;
  if (!r.keys().empty()) {
    json::array keys;
    for (const auto& k : r.keys()) keys.emplace_back(k);
    p["key"] = std::move(keys);
  }
  return make("GetConfiguration", p);
}

Result<OcppCall> translate(const v1::GetVariablesRequest& r, Version v) {
  if (is16(v)) return only_2x("GetVariables (use GetConfiguration)", v);
  json::array data;
  for (const auto& s : r.variables()) data.push_back(component_variable(s));
  return make("GetVariables", {{"getVariableData", std::move(data)}});
}

Result<OcppCall> translate(const v1::SetVariablesRequest& r, Version v) {
  if (is16(v)) return only_2x("SetVariables (use ChangeConfiguration)", v);
  json::array data;
  for (const auto& e : r.entries()) {
    json::object item = component_variable(e.variable());
    item["attributeValue"] = e.value();
    data.push_back(std::move(item));
  }
  return make("SetVariables", {{"setVariableData", std::move(data)}});
}

Result<OcppCall> translate(const v1::GetBaseReportRequest& r, Version v) {
  if (is16(v)) return only_2x("GetBaseReport", v);
  return make("GetBaseReport",
              {{"requestId", r.request_id()},
               {"reportBase", r.report_base().empty() ? "FullInventory" : r.report_base()}});
}

Result<OcppCall> translate(const v1::ChangeAvailabilityRequest& r, Version v) {
  const char* status = r.operative() ? "Operative" : "Inoperative";
  if (is16(v)) return make("ChangeAvailability", {{"connectorId", r.evse_id()}, {"type", status}});
  json::object p{{"operationalStatus", status}};
  if (r.evse_id() > 0) p["evse"] = evse_object(r.evse_id(), r.connector_id());
  return make("ChangeAvailability", p);
}

Result<OcppCall> translate(const v1::UnlockConnectorRequest& r, Version v) {
  if (is16(v)) return make("UnlockConnector", {{"connectorId", r.evse_id()}});
  return make("UnlockConnector", {{"evseId", r.evse_id()},
                                  {"connectorId", r.connector_id() > 0 ? r.connector_id() : 1}});
}

Result<OcppCall> translate(const v1::TriggerMessageRequest& r, Version v) {
  json::object p{{"requestedMessage", r.requested_message()}};
  if (is16(v)) {
    if (r.evse_id() > 0) p["connectorId"] = r.evse_id();
  } else if (r.evse_id() > 0) {
    p["evse"] = evse_object(r.evse_id(), r.connector_id());
  }
  return make("TriggerMessage", p);
}

Result<OcppCall> translate(const v1::SetChargingProfileRequest& r, Version v) {
  auto profile = profile_object(r.profile(), v);
  if (!profile) return std::unexpected(profile.error());
  if (is16(v)) {
    return make("SetChargingProfile",
                {{"connectorId", r.evse_id()}, {"csChargingProfiles", std::move(*profile)}});
  }
  return make("SetChargingProfile",
              {{"evseId", r.evse_id()}, {"chargingProfile", std::move(*profile)}});
}

Result<OcppCall> translate(const v1::ClearChargingProfileRequest& r, Version v) {
  json::object p;
  if (is16(v)) {
    if (r.profile_id() > 0) p["id"] = r.profile_id();
    if (r.has_evse_id()) p["connectorId"] = r.evse_id();
    if (r.purpose() != v1::CHARGING_PROFILE_PURPOSE_UNSPECIFIED)
      p["chargingProfilePurpose"] = purpose_name(r.purpose(), v);
    if (r.has_stack_level()) p["stackLevel"] = r.stack_level();
    return make("ClearChargingProfile", p);
  }
  if (r.profile_id() > 0) p["chargingProfileId"] = r.profile_id();
  json::object criteria;
  if (r.has_evse_id()) criteria["evseId"] = r.evse_id();
  if (r.purpose() != v1::CHARGING_PROFILE_PURPOSE_UNSPECIFIED)
    criteria["chargingProfilePurpose"] = purpose_name(r.purpose(), v);
  if (r.has_stack_level()) criteria["stackLevel"] = r.stack_level();
  if (!criteria.empty()) p["chargingProfileCriteria"] = std::move(criteria);
  return make("ClearChargingProfile", p);
}

Result<OcppCall> translate(const v1::GetCompositeScheduleRequest& r, Version v) {
  json::object p{{"duration", r.duration_s()}};
  if (r.rate_unit() != v1::CHARGING_RATE_UNIT_UNSPECIFIED)
    p["chargingRateUnit"] = unit_name(r.rate_unit());
  p[is16(v) ? "connectorId" : "evseId"] = r.evse_id();
  return make("GetCompositeSchedule", p);
}

Result<OcppCall> translate(const v1::SendLocalListRequest& r, Version v) {
  json::array list;
  for (const auto& e : r.entries()) {
    json::object entry;
    if (is16(v)) {
      entry["idTag"] = e.id_token().id();
      if (e.has_info()) {
        json::object info{{"status", e.info().status()}};
        if (e.info().has_expires_at()) info["expiryDate"] = timestamp(e.info().expires_at());
        entry["idTagInfo"] = std::move(info);
      }
    } else {
      entry["idToken"] = id_token_2x(e.id_token());
      if (e.has_info()) {
        json::object info{{"status", e.info().status()}};
        if (e.info().has_expires_at())
          info["cacheExpiryDateTime"] = timestamp(e.info().expires_at());
        entry["idTokenInfo"] = std::move(info);
      }
    }
    list.push_back(std::move(entry));
  }
  json::object p{{is16(v) ? "listVersion" : "versionNumber", r.version()},
                 {"updateType", r.full() ? "Full" : "Differential"}};
  if (!list.empty()) p["localAuthorizationList"] = std::move(list);
  return make("SendLocalList", p);
}

Result<OcppCall> translate(const v1::GetLocalListVersionRequest&, Version) {
  return make("GetLocalListVersion", json::object{});
}

Result<OcppCall> translate(const v1::ReserveNowRequest& r, Version v) {
  if (!r.has_expires_at()) return make_error(ErrorCode::kInvalidArgument, "expires_at is required");
  if (is16(v)) {
    json::object p{{"connectorId", r.evse_id()},
                   {"expiryDate", timestamp(r.expires_at())},
                   {"idTag", r.id_token().id()},
                   {"reservationId", r.reservation_id()}};
    if (!r.parent_id_tag().empty()) p["parentIdTag"] = r.parent_id_tag();
    return make("ReserveNow", p);
  }
  json::object p{{"id", r.reservation_id()},
                 {"expiryDateTime", timestamp(r.expires_at())},
                 {"idToken", id_token_2x(r.id_token())}};
  if (r.evse_id() > 0) p["evseId"] = r.evse_id();
  return make("ReserveNow", p);
}

Result<OcppCall> translate(const v1::CancelReservationRequest& r, Version) {
  return make("CancelReservation", {{"reservationId", r.reservation_id()}});
}

Result<OcppCall> translate(const v1::UpdateFirmwareRequest& r, Version v) {
  const std::string retrieve = r.has_retrieve_at()
                                   ? timestamp(r.retrieve_at())
                                   : format_rfc3339(std::chrono::system_clock::now());
  if (is16(v)) {
    json::object p{{"location", r.location()}, {"retrieveDate", retrieve}};
    if (r.retries() > 0) p["retries"] = r.retries();
    if (r.retry_interval_s() > 0) p["retryInterval"] = r.retry_interval_s();
    return make("UpdateFirmware", p);
  }
  json::object firmware{{"location", r.location()}, {"retrieveDateTime", retrieve}};
  if (!r.signing_certificate().empty()) firmware["signingCertificate"] = r.signing_certificate();
  if (!r.signature().empty()) firmware["signature"] = r.signature();
  json::object p{{"requestId", r.request_id()}, {"firmware", std::move(firmware)}};
  if (r.retries() > 0) p["retries"] = r.retries();
  if (r.retry_interval_s() > 0) p["retryInterval"] = r.retry_interval_s();
  return make("UpdateFirmware", p);
}

Result<OcppCall> translate(const v1::GetLogRequest& r, Version v) {
  if (is16(v) && r.log_type() != "SecurityLog") {
    json::object p{{"location", r.location()}};
    if (r.retries() > 0) p["retries"] = r.retries();
    if (r.retry_interval_s() > 0) p["retryInterval"] = r.retry_interval_s();
    if (r.has_oldest()) p["startTime"] = timestamp(r.oldest());
    if (r.has_latest()) p["stopTime"] = timestamp(r.latest());
    return make("GetDiagnostics", p);
  }
  json::object log{{"remoteLocation", r.location()}};
  if (r.has_oldest()) log["oldestTimestamp"] = timestamp(r.oldest());
  if (r.has_latest()) log["latestTimestamp"] = timestamp(r.latest());
  json::object p{{"logType", r.log_type().empty() ? "DiagnosticsLog" : r.log_type()},
                 {"requestId", r.request_id()},
                 {"log", std::move(log)}};
  if (r.retries() > 0) p["retries"] = r.retries();
  if (r.retry_interval_s() > 0) p["retryInterval"] = r.retry_interval_s();
  return make("GetLog", p);
}

Result<OcppCall> translate(const v1::DataTransferRequest& r, Version v) {
  json::object p{{"vendorId", r.vendor_id()}};
  if (!r.message_id().empty()) p["messageId"] = r.message_id();
  if (!r.data().empty()) {
    // 1.6 data is a string; 2.x data is any JSON value (text that is not JSON goes as a string).
    auto parsed = is16(v) ? std::nullopt : parse(r.data());
    if (parsed) {
      p["data"] = std::move(*parsed);
    } else {
      p["data"] = r.data();
    }
  }
  return make("DataTransfer", p);
}

namespace {

// OCPP's name of a certificate type in version v; an error naming the version when it has none.
Result<std::string> certificate_type_name(v1::CertificateType t, Version v) {
  const auto missing = [&](std::string_view what) -> Result<std::string> {
    return make_error(ErrorCode::kUnimplemented, std::string(what) + " does not exist in OCPP " +
                                                     std::string(ocpp::version_label(v)));
  };
  switch (t) {
    case v1::CERTIFICATE_TYPE_CSMS_ROOT:
      return std::string(is16(v) ? "CentralSystemRootCertificate" : "CSMSRootCertificate");
    case v1::CERTIFICATE_TYPE_MANUFACTURER_ROOT:
      return std::string("ManufacturerRootCertificate");
    case v1::CERTIFICATE_TYPE_V2G_ROOT:
      if (is16(v)) return missing("a V2G root certificate");
      return std::string("V2GRootCertificate");
    case v1::CERTIFICATE_TYPE_MO_ROOT:
      if (is16(v)) return missing("a mobility operator root certificate");
      return std::string("MORootCertificate");
    case v1::CERTIFICATE_TYPE_OEM_ROOT:
      if (v != Version::k21) return missing("an OEM root certificate");
      return std::string("OEMRootCertificate");
    case v1::CERTIFICATE_TYPE_V2G_CHAIN:
      if (is16(v)) return missing("a V2G certificate chain");
      return std::string("V2GCertificateChain");
    default:
      return make_error(ErrorCode::kInvalidArgument, "certificate_type is required");
  }
}

v1::CertificateType certificate_type_of(std::string_view name) {
  if (name == "CentralSystemRootCertificate" || name == "CSMSRootCertificate")
    return v1::CERTIFICATE_TYPE_CSMS_ROOT;
  if (name == "ManufacturerRootCertificate") return v1::CERTIFICATE_TYPE_MANUFACTURER_ROOT;
  if (name == "V2GRootCertificate") return v1::CERTIFICATE_TYPE_V2G_ROOT;
  if (name == "MORootCertificate") return v1::CERTIFICATE_TYPE_MO_ROOT;
  if (name == "OEMRootCertificate") return v1::CERTIFICATE_TYPE_OEM_ROOT;
  if (name == "V2GCertificateChain") return v1::CERTIFICATE_TYPE_V2G_CHAIN;
  return v1::CERTIFICATE_TYPE_UNSPECIFIED;
}

}  // namespace

Result<OcppCall> translate(const v1::InstallCertificateRequest& r, Version v) {
  if (r.certificate_type() == v1::CERTIFICATE_TYPE_V2G_CHAIN) {
    return make_error(ErrorCode::kInvalidArgument,
                      "certificate_type: a V2G chain is installed by the vehicle's own flow "
                      "(CertificateSigned), not as a root");
  }
  auto type = certificate_type_name(r.certificate_type(), v);
  if (!type) return std::unexpected(type.error());
  if (r.certificate_pem().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "certificate_pem: not a PEM certificate (no BEGIN CERTIFICATE line)");
  }
  return make("InstallCertificate",
              {{"certificateType", *type}, {"certificate", r.certificate_pem()}});
}

Result<OcppCall> translate(const v1::GetInstalledCertificateIdsRequest& r, Version v) {
  if (is16(v)) {
    if (r.certificate_types_size() != 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "certificate_types: OCPP 1.6 asks for exactly one type (CSMS or "
                        "manufacturer root)");
    }
    auto type = certificate_type_name(r.certificate_types(0), v);
    if (!type) return std::unexpected(type.error());
    return make("GetInstalledCertificateIds", {{"certificateType", *type}});
  }
  json::array types;
  for (int i = 0; i < r.certificate_types_size(); ++i) {
    auto type = certificate_type_name(r.certificate_types(i), v);
    if (!type) return std::unexpected(type.error());
    types.emplace_back(*type);
  }
  json::object p;
  if (!types.empty()) p["certificateType"] = std::move(types);
  return make("GetInstalledCertificateIds", p);
}

Result<OcppCall> translate(const v1::DeleteCertificateRequest& r, Version) {
  const v1::CertificateHashData& h = r.hash();
  if (h.serial_number().empty() || h.issuer_name_hash().empty() || h.issuer_key_hash().empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "hash: serial_number, issuer_name_hash and issuer_key_hash are required "
                      "(as GetInstalledCertificateIds lists them)");
  }
  return make("DeleteCertificate",
              {{"certificateHashData",
                {{"hashAlgorithm", h.hash_algorithm().empty() ? "SHA256" : h.hash_algorithm()},
                 {"issuerNameHash", h.issuer_name_hash()},
                 {"issuerKeyHash", h.issuer_key_hash()},
                 {"serialNumber", h.serial_number()}}}});
}

Result<OcppCall> translate(const v1::CallRequest& r, Version) {
  if (r.action().empty()) return make_error(ErrorCode::kInvalidArgument, "action is required");
  return OcppCall{r.action(), r.payload_json().empty() ? "{}" : r.payload_json()};
}

void fill_outcome(const std::string& action, Version v, const std::string& payload_json,
                  v1::CommandOutcome& outcome) {
  outcome.set_action(action);
  outcome.set_payload_json(payload_json);
  outcome.set_ocpp_version(v == Version::k16    ? v1::OCPP_VERSION_1_6
                           : v == Version::k201 ? v1::OCPP_VERSION_2_0_1
                                                : v1::OCPP_VERSION_2_1);
  if (auto parsed = parse(payload_json); parsed && parsed->is_object()) {
    outcome.set_status(text_of(parsed->as_object(), "status"));
  }
}

void fill(v1::RemoteStartResponse& out, const std::string& payload_json) {
  if (auto p = parse(payload_json); p && p->is_object())
    out.set_transaction_id(text_of(p->as_object(), "transactionId"));
}

void fill(v1::GetConfigurationResponse& out, const std::string& payload_json) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  if (auto keys = p->as_object().if_contains("configurationKey"); keys && keys->is_array()) {
    for (const auto& k : keys->as_array()) {
      if (!k.is_object()) continue;
      auto* e = out.add_entries();
      e->set_key(text_of(k.as_object(), "key"));
      e->set_value(text_of(k.as_object(), "value"));
      if (auto ro = k.as_object().if_contains("readonly"); ro && ro->is_bool())
        e->set_readonly(ro->as_bool());
    }
  }
  if (auto unknown = p->as_object().if_contains("unknownKey"); unknown && unknown->is_array()) {
    for (const auto& k : unknown->as_array()) {
      if (k.is_string()) out.add_unknown_keys(std::string(k.as_string()));
    }
  }
}

namespace {
template <typename Response>
void fill_variable_results(Response& out, const std::string& payload_json,
                           std::string_view member) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  auto results = p->as_object().if_contains(member);
  if (!results || !results->is_array()) return;
  for (const auto& item : results->as_array()) {
    if (!item.is_object()) continue;
    auto* r = out.add_results();
    fill_selector(*r->mutable_variable(), item.as_object());
    r->set_status(text_of(item.as_object(), "attributeStatus"));
    r->set_value(text_of(item.as_object(), "attributeValue"));
  }
}
}  // namespace

void fill(v1::GetVariablesResponse& out, const std::string& payload_json) {
  fill_variable_results(out, payload_json, "getVariableResult");
}

void fill(v1::SetVariablesResponse& out, const std::string& payload_json) {
  fill_variable_results(out, payload_json, "setVariableResult");
}

void fill(v1::GetCompositeScheduleResponse& out, Version v, const std::string& payload_json) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  const json::value* schedule =
      p->as_object().if_contains(is16(v) ? "chargingSchedule" : "schedule");
  if (!schedule || !schedule->is_object()) return;
  const auto& s = schedule->as_object();
  auto* out_schedule = out.mutable_schedule();
  out_schedule->set_rate_unit(text_of(s, "chargingRateUnit") == "W"
                                  ? v1::CHARGING_RATE_UNIT_WATTS
                                  : v1::CHARGING_RATE_UNIT_AMPERES);
  if (auto d = s.if_contains("duration"); d && d->is_int64())
    out_schedule->set_duration_s(static_cast<int>(d->as_int64()));
  if (auto periods = s.if_contains("chargingSchedulePeriod"); periods && periods->is_array()) {
    for (const auto& item : periods->as_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.as_object();
      auto* period = out_schedule->add_periods();
      if (auto start = o.if_contains("startPeriod"); start && start->is_int64()) {
        period->set_start_period_s(static_cast<int>(start->as_int64()));
      }
      if (auto limit = o.if_contains("limit"); limit && limit->is_number())
        period->set_limit(limit->to_number<double>());
      if (auto n = o.if_contains("numberPhases"); n && n->is_int64())
        period->set_number_phases(static_cast<int>(n->as_int64()));
    }
  }
}

void fill(v1::GetLocalListVersionResponse& out, const std::string& payload_json) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  for (const char* key : {"listVersion", "versionNumber"}) {
    if (auto n = p->as_object().if_contains(key); n && n->is_int64())
      out.set_version(static_cast<int>(n->as_int64()));
  }
}

void fill(v1::GetLogResponse& out, const std::string& payload_json) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  out.set_file_name(
      text_of(p->as_object(), p->as_object().contains("fileName") ? "fileName" : "filename"));
}

void fill(v1::DataTransferResponse& out, const std::string& payload_json) {
  if (auto p = parse(payload_json); p && p->is_object())
    out.set_data(text_of(p->as_object(), "data"));
}

namespace {
void fill_hash(v1::CertificateHashData& out, const json::object& o) {
  out.set_hash_algorithm(text_of(o, "hashAlgorithm"));
  out.set_issuer_name_hash(text_of(o, "issuerNameHash"));
  out.set_issuer_key_hash(text_of(o, "issuerKeyHash"));
  out.set_serial_number(text_of(o, "serialNumber"));
}
}  // namespace

void fill(v1::GetInstalledCertificateIdsResponse& out, Version v, const std::string& payload_json,
          v1::CertificateType asked) {
  auto p = parse(payload_json);
  if (!p || !p->is_object()) return;
  if (is16(v)) {
    auto hashes = p->as_object().if_contains("certificateHashData");
    if (!hashes || !hashes->is_array()) return;
    for (const auto& item : hashes->as_array()) {
      if (!item.is_object()) continue;
      auto* c = out.add_certificates();
      c->set_certificate_type(asked);
      fill_hash(*c->mutable_hash(), item.as_object());
    }
    return;
  }
  auto chains = p->as_object().if_contains("certificateHashDataChain");
  if (!chains || !chains->is_array()) return;
  for (const auto& item : chains->as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    auto* c = out.add_certificates();
    c->set_certificate_type(certificate_type_of(text_of(o, "certificateType")));
    if (auto hash = o.if_contains("certificateHashData"); hash && hash->is_object())
      fill_hash(*c->mutable_hash(), hash->as_object());
    if (auto children = o.if_contains("childCertificateHashData");
        children && children->is_array()) {
      for (const auto& child : children->as_array()) {
        if (child.is_object()) fill_hash(*c->add_children(), child.as_object());
      }
    }
  }
}

}  // namespace switchyard::gateway
