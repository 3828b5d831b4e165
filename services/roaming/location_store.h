// The locations we publish, in portable SQL (PostgreSQL or SQLite, roaming migrations): each
// location's operator-given definition, each EVSE's OCPI status and last_updated, and the OCPP
// facts the statuses come from (connector statuses and whether each charger is connected), which
// are kept for every charger so an EVSE added later starts with its charger's current status.
//
// last_updated follows OCPI: an EVSE's moves when its status or definition changes, and a
// location's moves with any of its EVSEs. Nothing is deleted: an EVSE left out of a new version
// of its location stays, as REMOVED.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

// A page of the OCPI list: last_updated in [from_ms, to_ms), ordered by (last_updated, id).
struct LocationQuery {
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  int offset = 0;
  int limit = 50;
};
struct LocationPage {
  std::vector<v1::RoamingLocation> locations;
  std::int64_t total = 0;  // matching the window, over every page
};

// An EVSE whose OCPI status changed.
struct EvseChange {
  std::string location_id;
  std::string uid;
  std::string status;
};

class LocationStore {
 public:
  LocationStore(sql::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // Creates or replaces a location (checked by check_location first); returns it as stored,
  // with statuses.
  Result<v1::RoamingLocation> put(const v1::RoamingLocation& location);
  Result<std::optional<v1::RoamingLocation>> get(const std::string& id);
  // Published locations only (OCPI never shows unpublished ones to partners).
  Result<LocationPage> query(const LocationQuery& query);
  // Every location, by id, after `after_id` (the operator's view).
  Result<std::vector<v1::RoamingLocation>> list(const std::string& after_id, int limit);

  // An OCPP status of (charger, evse, connector) at `at_ms` (older than the one stored: ignored;
  // evse 0 is the whole charger). Returns the EVSEs whose OCPI status changed.
  Result<std::vector<EvseChange>> apply_status(const std::string& charger_id, int evse_id,
                                               int connector_id, const std::string& status,
                                               std::int64_t at_ms);
  // The charger connected (true) or disconnected at `at_ms`.
  Result<std::vector<EvseChange>> apply_online(const std::string& charger_id, bool online,
                                               std::int64_t at_ms);

 private:
  sql::Database& db_;
  const Clock& clock_;
};

}  // namespace switchyard::roaming
