// The locations we publish, in portable SQL (PostgreSQL or SQLite, roaming migrations): each
// location's operator-given definition, each EVSE's OCPI status and last_updated, and the OCPP
// facts the statuses come from (connector statuses and whether each charger is connected), which
// are kept for every charger so an EVSE added later starts with its charger's current status.
//
// last_updated follows OCPI: an EVSE's moves when its status or definition changes, and a
// location's moves with any of its EVSEs. Nothing is deleted: an EVSE left out of a new version
// of its location stays, as REMOVED.
//
// Changes of published locations go into the push outbox (push_outbox.h, module "locations": the
// whole location, or one EVSE's status) in the transaction of the change.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "switchyard/v1/roaming.pb.h"

#include "common/runtime/sql/database.h"

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
  // with statuses. When it changed, each of `push_to` (partner ids) gets it in its outbox.
  Result<v1::RoamingLocation> put(const v1::RoamingLocation& location,
                                  std::span<const std::string> push_to = {});
  Result<std::optional<v1::RoamingLocation>> get(const std::string& id);
  // Published locations only (OCPI never shows unpublished ones to partners).
  Result<LocationPage> query(const LocationQuery& query);
  // Every published location into `partner_id`'s outbox (a partner that just registered gets
  // what exists, not only what changes from now on); how many.
  Result<std::int64_t> enqueue_published(const std::string& partner_id);
  // The location whose live (not removed) EVSE is the charger's OCPP EVSE `evse_id`, and that
  // EVSE's uid; nullopt when it is in none.
  struct Placement {
    v1::RoamingLocation location;
    std::string evse_uid;
  };
  Result<std::optional<Placement>> place(const std::string& charger_id, int evse_id);
  // Every location, by id, after `after_id` (the operator's view).
  Result<std::vector<v1::RoamingLocation>> list(const std::string& after_id, int limit);

  // An OCPP status of (charger, evse, connector) at `at_ms` (older than the one stored: ignored;
  // evse 0 is the whole charger). Returns the EVSEs whose OCPI status changed; each of them goes
  // into the outbox of each of `push_to` (partner ids) of a published location.
  Result<std::vector<EvseChange>> apply_status(const std::string& charger_id, int evse_id,
                                               int connector_id, const std::string& status,
                                               std::int64_t at_ms,
                                               std::span<const std::string> push_to = {});
  // The charger connected (true) or disconnected at `at_ms`.
  Result<std::vector<EvseChange>> apply_online(const std::string& charger_id, bool online,
                                               std::int64_t at_ms,
                                               std::span<const std::string> push_to = {});

  // An OCPP fact as apply_status() (with a status) or apply_online() (without) take it.
  struct Fact {
    std::string charger_id;
    std::optional<std::string> status;  // of (evse_id, connector_id); nullopt: `online`
    int evse_id = 0;
    int connector_id = 0;
    bool online = false;
    std::int64_t at_ms = 0;
  };
  // The facts in order, in one transaction (a poll's worth of events): the same as
  // apply_status / apply_online one by one, without a transaction each. The changes of all.
  Result<std::vector<EvseChange>> apply_facts(std::span<const Fact> facts,
                                              std::span<const std::string> push_to = {});

 private:
  sql::Database& db_;
  const Clock& clock_;
  // put and apply_* read statuses and write EVSE rows: on PostgreSQL (read committed) two of them
  // at once could each miss the other's change, so the writers of one process take turns (one
  // roaming process per database, as the registration requires).
  std::mutex write_mutex_;
};

}  // namespace switchyard::roaming
