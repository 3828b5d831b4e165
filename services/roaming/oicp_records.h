// Hubject OICP 2.3 messages of the CPO's pushes, from the same locations OCPI publishes
// (locations.h): the EvseDataRecord of an EVSE, the OICP EvseStatus of an OCPI status, and the
// bodies of eRoamingPushEvseData and eRoamingPushEvseStatus. Pure functions; Boost.JSON stays in
// the .cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"
#include "roaming/settings.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::roaming {

// Hubject's ActionType of a push.
enum class OicpAction { kFullLoad, kInsert, kUpdate, kDelete };
std::string_view oicp_action_name(OicpAction action);  // "fullLoad", "insert", ...

// The OICP EvseStatus of an OCPI EVSE status: AVAILABLE → Available, CHARGING / BLOCKED →
// Occupied, RESERVED → Reserved, INOPERATIVE / OUTOFORDER → OutOfService, anything else Unknown.
std::string_view oicp_evse_status(std::string_view ocpi_status);

// Whether `evse_id` (eMI3 / ISO, "DE*SWY*E1*1") starts with OperatorID `operator_id`
// ("DE*SWY"; case and the optional '*' separators do not matter).
bool evse_of_operator(std::string_view evse_id, std::string_view operator_id);

// "2026-12-01T10:00:00.123+00:00": OICP wants a zone offset (Z is not in its format).
std::string oicp_time(std::int64_t unix_ms);
// The same in the local offset of the charge point at that instant, as Hubject requires (its
// time-based products): `time_zone` the location's IANA zone ("Europe/Berlin" in July:
// "...T12:00:00.000+02:00"); UTC (+00:00) when it is empty or unknown here.
std::string oicp_time(std::int64_t unix_ms, std::string_view time_zone);

// One EVSE of a location as Hubject shows it. kInvalidArgument says why it cannot go to Hubject
// (an EVSE id of another operator, or not an OICP EvseID).
struct OicpEvse {
  const v1::RoamingLocation* location = nullptr;
  const v1::RoamingEvse* evse = nullptr;
};
Result<void> check_oicp_evse(const OicpEvse& evse, const OicpSettings& settings);

// The EvseDataRecord of an EVSE (checked first) as JSON. It has no lastUpdate, so the record of an
// unchanged EVSE is the same text whatever its status did.
std::string evse_data_record(const OicpEvse& evse, const OicpSettings& settings);

// The eRoamingPushEvseData body around `records` (EvseDataRecord JSON texts).
std::string push_evse_data_body(OicpAction action, std::span<const std::string> records,
                                const OicpSettings& settings);

// The eRoamingPushEvseStatus body: (EvseID, OICP EvseStatus) pairs.
struct OicpStatus {
  std::string evse_id;
  std::string status;
};
std::string push_evse_status_body(OicpAction action, std::span<const OicpStatus> statuses,
                                  const OicpSettings& settings);

}  // namespace switchyard::roaming
