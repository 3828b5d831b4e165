// OCPI locations: checks, the EVSE status fold and the JSON (see locations.h).
#include "roaming/locations.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "common/runtime/core/time_zones.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 40> kConnectorStandards = {
    "CHADEMO",
    "CHAOJI",
    "DOMESTIC_A",
    "DOMESTIC_B",
    "DOMESTIC_C",
    "DOMESTIC_D",
    "DOMESTIC_E",
    "DOMESTIC_F",
    "DOMESTIC_G",
    "DOMESTIC_H",
    "DOMESTIC_I",
    "DOMESTIC_J",
    "DOMESTIC_K",
    "DOMESTIC_L",
    "DOMESTIC_M",
    "DOMESTIC_N",
    "DOMESTIC_O",
    "GBT_AC",
    "GBT_DC",
    "IEC_60309_2_single_16",
    "IEC_60309_2_three_16",
    "IEC_60309_2_three_32",
    "IEC_60309_2_three_64",
    "IEC_62196_T1",
    "IEC_62196_T1_COMBO",
    "IEC_62196_T2",
    "IEC_62196_T2_COMBO",
    "IEC_62196_T3A",
    "IEC_62196_T3C",
    "NEMA_5_20",
    "NEMA_6_30",
    "NEMA_6_50",
    "NEMA_10_30",
    "NEMA_10_50",
    "NEMA_14_30",
    "NEMA_14_50",
    "PANTOGRAPH_BOTTOM_UP",
    "PANTOGRAPH_TOP_DOWN",
    "TESLA_R",
    "TESLA_S",
};
constexpr std::array<std::string_view, 2> kFormats = {"SOCKET", "CABLE"};
constexpr std::array<std::string_view, 5> kPowerTypes = {"AC_1_PHASE", "AC_2_PHASE",
                                                         "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"};
constexpr std::array<std::string_view, 6> kParkingTypes = {"ALONG_MOTORWAY", "PARKING_GARAGE",
                                                           "PARKING_LOT",    "ON_DRIVEWAY",
                                                           "ON_STREET",      "UNDERGROUND_GARAGE"};
constexpr std::array<std::string_view, 13> kCapabilities = {"CHARGING_PROFILE_CAPABLE",
                                                            "CHARGING_PREFERENCES_CAPABLE",
                                                            "CHIP_CARD_SUPPORT",
                                                            "CONTACTLESS_CARD_SUPPORT",
                                                            "CREDIT_CARD_PAYABLE",
                                                            "DEBIT_CARD_PAYABLE",
                                                            "PED_TERMINAL",
                                                            "REMOTE_START_STOP_CAPABLE",
                                                            "RESERVABLE",
                                                            "RFID_READER",
                                                            "START_SESSION_CONNECTOR_REQUIRED",
                                                            "TOKEN_GROUP_CAPABLE",
                                                            "UNLOCK_CAPABLE"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& values, std::string_view v) {
  return std::ranges::find(values, v) != values.end();
}

Error invalid(const std::string& field, const std::string& problem) {
  return Error{ErrorCode::kInvalidArgument, field + ": " + problem};
}

// OCPI CiString: printable ASCII.
bool printable_ascii(std::string_view s) {
  return std::ranges::all_of(s, [](char c) { return c >= 0x20 && c <= 0x7E; });
}

std::optional<Error> check_text(const std::string& field, const std::string& value, std::size_t max,
                                bool required, bool ascii = false) {
  if (value.empty()) {
    if (required) return invalid(field, "required");
    return std::nullopt;
  }
  if (value.size() > max) return invalid(field, "longer than " + std::to_string(max));
  if (ascii && !printable_ascii(value)) return invalid(field, "not printable ASCII");
  if (std::ranges::any_of(value, [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return invalid(field, "control characters");
  }
  return std::nullopt;
}

// "52.520008": an optional minus, 1 to `int_digits` digits, a dot, 1 to 8 digits, within
// +-`bound` degrees.
bool valid_degrees(std::string_view s, int int_digits, double bound) {
  std::string_view body = s;
  if (body.starts_with('-')) body.remove_prefix(1);
  const auto dot = body.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > static_cast<std::size_t>(int_digits) ||
      body.size() - dot - 1 < 1 || body.size() - dot - 1 > 8) {
    return false;
  }
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (i != dot && (body[i] < '0' || body[i] > '9')) return false;
  }
  double value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  return value >= -bound && value <= bound;
}

bool upper_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// eMI3 / ISO 15118 EVSE id of our party: "DE*SWY*E123*1" or "DESWYE1231" (separators optional),
// compared case-insensitively: <country><*><party><*>E<one or more [A-Z0-9*]>.
bool is_our_evse_id(std::string_view id, const Party& party) {
  std::string upper(id);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view rest = upper;
  auto take = [&](std::string_view prefix) {
    if (!rest.starts_with(prefix)) return false;
    rest.remove_prefix(prefix.size());
    return true;
  };
  if (!take(party.country_code)) return false;
  take("*");
  if (!take(party.party_id)) return false;
  take("*");
  if (!take("E") || rest.empty() || rest.size() > 31) return false;
  return std::ranges::all_of(rest, [](char c) { return upper_alnum(c) || c == '*'; });
}

std::optional<Error> check_connector(const std::string& field, const v1::RoamingConnector& c) {
  if (auto e = check_text(field + ".id", c.id(), 36, true, true)) return e;
  if (!one_of(kConnectorStandards, c.standard())) {
    return invalid(field + ".standard", "'" + c.standard() + "' is no OCPI ConnectorType");
  }
  if (!one_of(kFormats, c.format())) {
    return invalid(field + ".format", "'" + c.format() + "' is not SOCKET or CABLE");
  }
  if (!one_of(kPowerTypes, c.power_type())) {
    return invalid(field + ".power_type", "'" + c.power_type() + "' is no OCPI PowerType");
  }
  if (c.max_voltage() <= 0) return invalid(field + ".max_voltage", "must be positive");
  if (c.max_amperage() <= 0) return invalid(field + ".max_amperage", "must be positive");
  if (c.max_electric_power() < 0) return invalid(field + ".max_electric_power", "negative");
  for (int i = 0; i < c.tariff_ids_size(); ++i) {
    const std::string f = field + ".tariff_ids[" + std::to_string(i) + "]";
    if (auto e = check_text(f, c.tariff_ids(i), 36, true, true)) return e;
  }
  return std::nullopt;
}

std::optional<Error> check_evse(const std::string& field, const v1::RoamingEvse& evse,
                                const Party& party) {
  if (auto e = check_text(field + ".uid", evse.uid(), 36, true, true)) return e;
  if (auto e = check_text(field + ".evse_id", evse.evse_id(), 48, true, true)) return e;
  if (!is_our_evse_id(evse.evse_id(), party)) {
    return invalid(field + ".evse_id", "'" + evse.evse_id() + "' is not an eMI3 EVSE id of party " +
                                           party.country_code + "*" + party.party_id + " (e.g. " +
                                           party.country_code + "*" + party.party_id + "*E123*1)");
  }
  if (auto e = check_text(field + ".charger_id", evse.charger_id(), 64, true, true)) return e;
  if (evse.ocpp_evse_id() < 1) {
    return invalid(field + ".ocpp_evse_id", "must be 1 or more (1.6: the connector id)");
  }
  if (evse.connectors_size() == 0) return invalid(field + ".connectors", "at least one");
  std::set<std::string> connector_ids;
  for (int i = 0; i < evse.connectors_size(); ++i) {
    const std::string f = field + ".connectors[" + std::to_string(i) + "]";
    if (auto e = check_connector(f, evse.connectors(i))) return e;
    if (!connector_ids.insert(evse.connectors(i).id()).second) {
      return invalid(f + ".id", "'" + evse.connectors(i).id() + "' twice in the EVSE");
    }
  }
  for (int i = 0; i < evse.capabilities_size(); ++i) {
    if (!one_of(kCapabilities, evse.capabilities(i))) {
      return invalid(field + ".capabilities[" + std::to_string(i) + "]",
                     "'" + evse.capabilities(i) + "' is no OCPI Capability");
    }
  }
  if (auto e = check_text(field + ".floor_level", evse.floor_level(), 4, false)) return e;
  if (auto e = check_text(field + ".physical_reference", evse.physical_reference(), 16, false)) {
    return e;
  }
  return std::nullopt;
}

std::string timestamp(const google::protobuf::Timestamp& t) {
  return ocpi_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(t.seconds())));
}

json::object connector_object(const v1::RoamingConnector& c,
                              const google::protobuf::Timestamp& last_updated) {
  json::object o{{"id", c.id()},
                 {"standard", c.standard()},
                 {"format", c.format()},
                 {"power_type", c.power_type()},
                 {"max_voltage", c.max_voltage()},
                 {"max_amperage", c.max_amperage()}};
  if (c.max_electric_power() > 0) o["max_electric_power"] = c.max_electric_power();
  if (c.tariff_ids_size() > 0) {
    json::array ids;
    for (const auto& id : c.tariff_ids()) ids.emplace_back(id);
    o["tariff_ids"] = std::move(ids);
  }
  o["last_updated"] = timestamp(last_updated);
  return o;
}

json::object evse_object(const v1::RoamingEvse& evse) {
  json::object o{{"uid", evse.uid()}, {"evse_id", evse.evse_id()}, {"status", evse.status()}};
  if (evse.capabilities_size() > 0) {
    json::array caps;
    for (const auto& c : evse.capabilities()) caps.emplace_back(c);
    o["capabilities"] = std::move(caps);
  }
  json::array connectors;
  for (const auto& c : evse.connectors()) {
    connectors.emplace_back(connector_object(c, evse.last_updated()));
  }
  o["connectors"] = std::move(connectors);
  if (!evse.floor_level().empty()) o["floor_level"] = evse.floor_level();
  if (!evse.physical_reference().empty()) o["physical_reference"] = evse.physical_reference();
  o["last_updated"] = timestamp(evse.last_updated());
  return o;
}

// Ranks for the fold: the higher, the more an EVSE with such a connector is "in use".
int rank(std::string_view ocpi) {
  if (ocpi == "CHARGING") return 5;
  if (ocpi == "RESERVED") return 4;
  if (ocpi == "AVAILABLE") return 3;
  if (ocpi == "OUTOFORDER") return 2;
  if (ocpi == "INOPERATIVE") return 1;
  return 0;  // UNKNOWN
}

std::string_view from_ocpp(std::string_view s) {
  if (s == "Available") return "AVAILABLE";
  if (s == "Preparing" || s == "Charging" || s == "SuspendedEV" || s == "SuspendedEVSE" ||
      s == "Finishing" || s == "Occupied") {
    return "CHARGING";
  }
  if (s == "Reserved") return "RESERVED";
  if (s == "Unavailable") return "INOPERATIVE";
  if (s == "Faulted") return "OUTOFORDER";
  return "UNKNOWN";
}

}  // namespace

Result<void> check_location(const v1::RoamingLocation& l, const Party& party) {
  auto first = [&]() -> std::optional<Error> {
    if (auto e = check_text("id", l.id(), 36, true, true)) return e;
    if (auto e = check_text("name", l.name(), 255, false)) return e;
    if (auto e = check_text("address", l.address(), 45, true)) return e;
    if (auto e = check_text("city", l.city(), 45, true)) return e;
    if (auto e = check_text("postal_code", l.postal_code(), 10, false)) return e;
    if (auto e = check_text("state", l.state(), 20, false)) return e;
    if (l.country().size() != 3 ||
        !std::ranges::all_of(l.country(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return invalid("country", "'" + l.country() + "' is no ISO 3166-1 alpha-3 code (e.g. DEU)");
    }
    if (!valid_degrees(l.coordinates().latitude(), 2, 90)) {
      return invalid("coordinates.latitude", "'" + l.coordinates().latitude() +
                                                 "' is not decimal degrees (e.g. 52.520008)");
    }
    if (!valid_degrees(l.coordinates().longitude(), 3, 180)) {
      return invalid("coordinates.longitude", "'" + l.coordinates().longitude() +
                                                  "' is not decimal degrees (e.g. 13.404954)");
    }
    if (!l.parking_type().empty() && !one_of(kParkingTypes, l.parking_type())) {
      return invalid("parking_type", "'" + l.parking_type() + "' is no OCPI ParkingType");
    }
    if (auto e = check_text("time_zone", l.time_zone(), 255, true, true)) return e;
    // OICP gives times in the location's local offset: the zone must be one this host knows.
    if (l.time_zone().find('/') == std::string::npos || !TimeZones::system().known(l.time_zone())) {
      return invalid("time_zone", "'" + l.time_zone() + "' is no IANA zone (e.g. Europe/Berlin)");
    }
    std::set<std::string> uids;
    std::set<std::pair<std::string, int>> ocpp;
    for (int i = 0; i < l.evses_size(); ++i) {
      const std::string f = "evses[" + std::to_string(i) + "]";
      const auto& evse = l.evses(i);
      if (auto e = check_evse(f, evse, party)) return e;
      if (!uids.insert(evse.uid()).second) {
        return invalid(f + ".uid", "'" + evse.uid() + "' twice in the location");
      }
      if (!ocpp.insert({evse.charger_id(), evse.ocpp_evse_id()}).second) {
        return invalid(f + ".ocpp_evse_id", "charger " + evse.charger_id() + " EVSE " +
                                                std::to_string(evse.ocpp_evse_id()) +
                                                " twice in the location");
      }
    }
    return std::nullopt;
  }();
  if (first) return std::unexpected(*first);
  return {};
}

std::string ocpi_evse_status(std::span<const OcppStatus> evse_connectors,
                             std::string_view charger_status, bool online) {
  if (!online) return "UNKNOWN";
  const std::string_view whole = from_ocpp(charger_status);
  if (whole == "INOPERATIVE" || whole == "OUTOFORDER") return std::string(whole);
  int best = -1;
  std::string_view status = "UNKNOWN";
  for (const auto& c : evse_connectors) {
    const std::string_view s = from_ocpp(c.status);
    if (rank(s) > best) {
      best = rank(s);
      status = s;
    }
  }
  return std::string(status);
}

std::string location_json(const v1::RoamingLocation& l, const Party& party) {
  json::object o{{"country_code", party.country_code},
                 {"party_id", party.party_id},
                 {"id", l.id()},
                 {"publish", l.publish()}};
  if (!l.name().empty()) o["name"] = l.name();
  o["address"] = l.address();
  o["city"] = l.city();
  if (!l.postal_code().empty()) o["postal_code"] = l.postal_code();
  if (!l.state().empty()) o["state"] = l.state();
  o["country"] = l.country();
  o["coordinates"] = json::object{{"latitude", l.coordinates().latitude()},
                                  {"longitude", l.coordinates().longitude()}};
  if (!l.parking_type().empty()) o["parking_type"] = l.parking_type();
  json::array evses;
  for (const auto& e : l.evses()) evses.emplace_back(evse_object(e));
  o["evses"] = std::move(evses);
  o["time_zone"] = l.time_zone();
  o["last_updated"] = timestamp(l.last_updated());
  return json::serialize(o);
}

std::string evse_json(const v1::RoamingEvse& evse) { return json::serialize(evse_object(evse)); }

std::string connector_json(const v1::RoamingConnector& connector,
                           const google::protobuf::Timestamp& last_updated) {
  return json::serialize(connector_object(connector, last_updated));
}

}  // namespace switchyard::roaming
