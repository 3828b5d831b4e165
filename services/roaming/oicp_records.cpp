// OICP 2.3 push messages (see oicp_records.h).
#include "roaming/oicp_records.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <regex>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/time_zones.h"

namespace switchyard::roaming {

namespace json = boost::json;

namespace {

// OICP's EvseID pattern (ISO or DIN).
bool is_oicp_evse_id(std::string_view id) {
  static const std::regex kEvse(
      R"(^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$)");
  return std::regex_match(id.begin(), id.end(), kEvse);
}

std::string without_stars_upper(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '*') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// The Plugs value of an OCPI connector standard and format; empty when OICP has none.
std::string_view plug(std::string_view standard, std::string_view format) {
  if (standard == "IEC_62196_T2") {
    return format == "CABLE" ? "Type 2 Connector (Cable Attached)" : "Type 2 Outlet";
  }
  if (standard == "IEC_62196_T2_COMBO") return "CCS Combo 2 Plug (Cable Attached)";
  if (standard == "IEC_62196_T1") return "Type 1 Connector (Cable Attached)";
  if (standard == "IEC_62196_T1_COMBO") return "CCS Combo 1 Plug (Cable Attached)";
  if (standard == "CHADEMO") return "CHAdeMO";
  if (standard == "IEC_62196_T3A" || standard == "IEC_62196_T3C") return "Type 3 Outlet";
  if (standard == "DOMESTIC_E") return "Type E French Standard";
  if (standard == "DOMESTIC_F") return "Type F Schuko";
  if (standard == "DOMESTIC_G") return "Type G British Standard";
  if (standard == "DOMESTIC_J") return "Type J Swiss Standard";
  if (standard == "IEC_60309_2_single_16") return "IEC 60309 Single Phase";
  if (standard.starts_with("IEC_60309_2_three")) return "IEC 60309 Three Phase";
  if (standard == "NEMA_5_20") return "NEMA 5-20";
  if (standard == "TESLA_R" || standard == "TESLA_S") return "Tesla Connector";
  return "";
}

json::object facility(const v1::RoamingConnector& c) {
  const bool three = c.power_type() == "AC_3_PHASE";
  const std::string_view type = c.power_type() == "DC" ? "DC" : three ? "AC_3_PHASE" : "AC_1_PHASE";
  double watts = c.max_electric_power();
  if (watts <= 0) watts = double(c.max_voltage()) * c.max_amperage() * (three ? 3 : 1);
  json::object f{{"PowerType", type},
                 {"Power", std::clamp<std::int64_t>(std::llround(watts / 1000.0), 0, 999)}};
  if (c.max_voltage() > 0 && c.max_voltage() <= 999) f["Voltage"] = c.max_voltage();
  if (c.max_amperage() > 0 && c.max_amperage() <= 99) f["Amperage"] = c.max_amperage();
  return f;
}

// OICP coordinates take at most 6 decimals (OCPI up to 7).
std::string six_decimals(const std::string& degrees) {
  const auto dot = degrees.find('.');
  return dot == std::string::npos ? degrees + ".0" : degrees.substr(0, dot + 7);
}

// "Hauptstr. 1" → ("Hauptstr.", "1"): OICP wants street and house number apart.
std::pair<std::string, std::string> street_and_number(const std::string& address) {
  const auto space = address.find_last_of(' ');
  if (space != std::string::npos && space > 0) {
    const std::string tail = address.substr(space + 1);
    if (!tail.empty() && tail.size() <= 10 &&
        std::isdigit(static_cast<unsigned char>(tail.front())) != 0) {
      return {address.substr(0, space), tail};
    }
  }
  return {address, ""};
}

std::string_view accessibility_location(std::string_view parking_type) {
  if (parking_type == "ON_STREET") return "OnStreet";
  if (parking_type == "PARKING_GARAGE") return "ParkingGarage";
  if (parking_type == "UNDERGROUND_GARAGE") return "UndergroundParkingGarage";
  if (parking_type == "PARKING_LOT") return "ParkingLot";
  return "";
}

bool has(const v1::RoamingEvse& e, std::string_view capability) {
  return std::find(e.capabilities().begin(), e.capabilities().end(), capability) !=
         e.capabilities().end();
}

json::object evse_data_object(const OicpEvse& in, const OicpSettings& s) {
  const v1::RoamingLocation& l = *in.location;
  const v1::RoamingEvse& e = *in.evse;
  auto [street, number] = street_and_number(l.address());
  json::object address{{"Country", l.country()},
                       {"City", l.city()},
                       {"Street", street},
                       {"PostalCode", l.postal_code()},
                       {"HouseNum", number}};
  if (!e.floor_level().empty() && e.floor_level().size() <= 5) address["Floor"] = e.floor_level();
  json::array plugs;
  json::array facilities;
  for (const auto& c : e.connectors()) {
    const auto p = plug(c.standard(), c.format());
    if (!p.empty() && std::find(plugs.begin(), plugs.end(), json::value(p)) == plugs.end()) {
      plugs.emplace_back(p);
    }
    facilities.emplace_back(facility(c));
  }
  json::array auth;
  if (has(e, "RFID_READER")) auth.emplace_back("NFC RFID Classic");
  if (has(e, "REMOTE_START_STOP_CAPABLE")) auth.emplace_back("REMOTE");
  json::array services;
  services.emplace_back(has(e, "RESERVABLE") ? "Reservation" : "None");
  json::object r{
      {"EvseID", e.evse_id()},
      {"ChargingStationId", e.charger_id()},
      {"ChargingStationNames",
       json::array{json::object{{"lang", "en"}, {"value", l.name().empty() ? l.id() : l.name()}}}},
      {"Address", std::move(address)},
      {"GeoCoordinates",
       json::object{{"DecimalDegree",
                     json::object{{"Latitude", six_decimals(l.coordinates().latitude())},
                                  {"Longitude", six_decimals(l.coordinates().longitude())}}}}},
      {"Plugs", std::move(plugs)},
      {"ChargingFacilities", std::move(facilities)},
      {"RenewableEnergy", false},
      {"CalibrationLawDataAvailability", "Not Available"},
      {"AuthenticationModes", std::move(auth)},
      {"PaymentOptions", json::array{"Contract"}},
      {"ValueAddedServices", std::move(services)},
      {"Accessibility", "Paying publicly accessible"},
      {"HotlinePhoneNumber", s.hotline_phone},
      {"IsOpen24Hours", true},
      {"IsHubjectCompatible", true},
      {"DynamicInfoAvailable", "true"}};
  if (const auto where = accessibility_location(l.parking_type()); !where.empty()) {
    r["AccessibilityLocation"] = where;
  }
  return r;
}

}  // namespace

std::string_view oicp_action_name(OicpAction action) {
  switch (action) {
    case OicpAction::kFullLoad:
      return "fullLoad";
    case OicpAction::kInsert:
      return "insert";
    case OicpAction::kUpdate:
      return "update";
    case OicpAction::kDelete:
      return "delete";
  }
  return "update";
}

std::string_view oicp_evse_status(std::string_view s) {
  if (s == "AVAILABLE") return "Available";
  if (s == "CHARGING" || s == "BLOCKED") return "Occupied";
  if (s == "RESERVED") return "Reserved";
  if (s == "INOPERATIVE" || s == "OUTOFORDER") return "OutOfService";
  return "Unknown";
}

bool evse_of_operator(std::string_view evse_id, std::string_view operator_id) {
  return without_stars_upper(evse_id).starts_with(without_stars_upper(operator_id));
}

std::string oicp_time(std::int64_t ms) { return format_rfc3339_offset(ms, 0); }

std::string oicp_time(std::int64_t ms, std::string_view time_zone) {
  if (time_zone.empty()) return oicp_time(ms);
  auto offset = TimeZones::system().offset(time_zone, ms);
  return format_rfc3339_offset(ms, offset ? *offset : 0);
}

Result<void> check_oicp_evse(const OicpEvse& in, const OicpSettings& s) {
  const auto& e = *in.evse;
  if (!is_oicp_evse_id(e.evse_id())) {
    return make_error(ErrorCode::kInvalidArgument,
                      "EVSE " + e.uid() + ": '" + e.evse_id() + "' is not an OICP EvseID");
  }
  if (!evse_of_operator(e.evse_id(), s.operator_id)) {
    return make_error(ErrorCode::kInvalidArgument, "EVSE " + e.uid() + ": '" + e.evse_id() +
                                                       "' is not of operator " + s.operator_id);
  }
  const bool any_plug =
      std::any_of(e.connectors().begin(), e.connectors().end(),
                  [](const auto& c) { return !plug(c.standard(), c.format()).empty(); });
  if (!any_plug) {
    return make_error(ErrorCode::kInvalidArgument,
                      "EVSE " + e.uid() + ": no connector has a plug type OICP knows");
  }
  return {};
}

std::string evse_data_record(const OicpEvse& evse, const OicpSettings& s) {
  return json::serialize(evse_data_object(evse, s));
}

std::string push_evse_data_body(OicpAction action, std::span<const std::string> records,
                                const OicpSettings& s) {
  std::string body =
      "{\"ActionType\":" + json::serialize(json::string(oicp_action_name(action))) +
      ",\"OperatorEvseData\":{\"OperatorID\":" + json::serialize(json::string(s.operator_id)) +
      ",\"OperatorName\":" + json::serialize(json::string(s.operator_name)) +
      ",\"EvseDataRecord\":[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) body += ',';
    body += records[i];
  }
  body += "]}}";
  return body;
}

std::string push_evse_status_body(OicpAction action, std::span<const OicpStatus> statuses,
                                  const OicpSettings& s) {
  json::array records;
  records.reserve(statuses.size());
  for (const auto& st : statuses) {
    records.emplace_back(json::object{{"EvseID", st.evse_id}, {"EvseStatus", st.status}});
  }
  return json::serialize(
      json::object{{"ActionType", oicp_action_name(action)},
                   {"OperatorEvseStatus", json::object{{"OperatorID", s.operator_id},
                                                       {"OperatorName", s.operator_name},
                                                       {"EvseStatusRecord", std::move(records)}}}});
}

}  // namespace switchyard::roaming
