// The locations we publish, in portable SQL (PostgreSQL or SQLite, roaming migrations): each
// location's operator-given definition, each EVSE's OCPI status and last_updated, and the OCPP
// facts the statuses come from (connector statuses and whether each charger is connected), which
// are kept for every charger so an EVSE added later starts with its charger's current status.
//
// last_updated follows OCPI: an EVSE's moves when its status or definition changes, and a
// location's moves with any of its EVSEs. Nothing is deleted: an EVSE left out of a new version
// of its location stays, as REMOVED.
//
// The push outbox: per partner and object (a location, or one EVSE's status) only that it
// changed, written in the transaction of the change. The pusher sends the object's state at send
// time, so a partner that was down gets one request per changed object, never the history.
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

// An object a partner has still to be told about: the whole location (evse_uid empty: PUT) or
// one EVSE's status (PATCH). `version` grows with each change while it waits.
struct PendingPush {
  std::string partner_id;
  std::string location_id;
  std::string evse_uid;
  std::int64_t version = 0;
  std::int64_t enqueued_ms = 0;  // the oldest change not yet delivered
  std::int64_t attempts = 0;
};

// A partner's outbox.
struct PushStats {
  std::string partner_id;
  std::int64_t pending = 0;
  std::int64_t oldest_ms = 0;  // enqueued_ms of the oldest entry
  std::string last_error;      // of a failed entry, empty when none failed
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

  // --- the push outbox ------------------------------------------------------------------------
  // Entries whose next attempt is due, oldest change first.
  Result<std::vector<PendingPush>> due_pushes(std::int64_t now_ms, int limit);
  // Delivered: the entry goes unless the object changed again meanwhile (then it stays, due).
  Result<void> push_done(const PendingPush& push);
  // Not delivered: tried again at `next_ms`.
  Result<void> push_failed(const PendingPush& push, const std::string& error, std::int64_t next_ms);
  // An EVSE entry the partner refused becomes an entry for its whole location (due at `now_ms`).
  Result<void> push_whole_location(const PendingPush& push, std::int64_t now_ms);
  // The partner is unreachable: none of its entries is tried before `next_ms`.
  Result<void> defer_pushes(const std::string& partner_id, std::int64_t next_ms);
  // The partner no longer receives locations (unregistered): its outbox goes.
  Result<std::int64_t> drop_pushes(const std::string& partner_id);
  Result<std::vector<PushStats>> push_stats();

 private:
  // One OCPP fact (`upsert`, ignored when older than the stored one), then the EVSEs of the
  // charger (all, or those of `evse_id` when > 0) recomputed, in one transaction.
  Result<std::vector<EvseChange>> apply_fact(std::string_view upsert,
                                             std::span<const sql::Param> params,
                                             const std::string& charger_id, int evse_id,
                                             std::span<const std::string> push_to);

  sql::Database& db_;
  const Clock& clock_;
  // put and apply_* read statuses and write EVSE rows: on PostgreSQL (read committed) two of them
  // at once could each miss the other's change, so the writers of one process take turns (one
  // roaming process per database, as the registration requires).
  std::mutex write_mutex_;
};

}  // namespace switchyard::roaming
