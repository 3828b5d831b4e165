// OCPI 2.2.1 locations as this CPO publishes them: the operator's Location / EVSE / Connector
// objects (switchyard.v1.RoamingLocation, which also ties each EVSE to an OCPP charger and EVSE)
// checked field by field, the OCPI EVSE status folded from the OCPP statuses of its connectors,
// and the OCPI JSON of each object. Boost.JSON stays in the .cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"
#include "roaming/ocpi_envelope.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::roaming {

// kInvalidArgument "<field>: <problem>", e.g. "evses[1].evse_id: 'DE*XYZ*E1' is not an eMI3
// EVSE id of party DE*SWY". Checks lengths, the OCPI enums, ISO 3166-1 alpha-3, coordinates,
// unique EVSE uids and connector ids, and that every EVSE names a charger.
Result<void> check_location(const v1::RoamingLocation& location, const Party& party);

// The OCPP status of one connector (or of connector/EVSE 0: the whole charger), as events carry
// it: Available, Preparing, Charging, SuspendedEV, SuspendedEVSE, Finishing, Occupied, Reserved,
// Unavailable, Faulted.
struct OcppStatus {
  int connector_id = 0;
  std::string status;
};

// The OCPI status of an EVSE: UNKNOWN while its charger is offline or has not reported; the
// whole charger's Unavailable / Faulted (EVSE or connector 0) wins; otherwise the busiest of
// its connectors (CHARGING > RESERVED > AVAILABLE > OUTOFORDER > INOPERATIVE).
std::string ocpi_evse_status(std::span<const OcppStatus> evse_connectors,
                             std::string_view charger_status, bool online);

// The OCPI JSON of a location with every EVSE (status and last_updated as set in `location`),
// of one EVSE, of one connector. `last_updated` values come from the message's timestamps.
std::string location_json(const v1::RoamingLocation& location, const Party& party);
std::string evse_json(const v1::RoamingEvse& evse);
std::string connector_json(const v1::RoamingConnector& connector,
                           const google::protobuf::Timestamp& last_updated);

}  // namespace switchyard::roaming
