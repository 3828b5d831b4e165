// Locations, EVSE statuses and the OCPP facts behind them (see location_store.h).
#include "roaming/location_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/runtime/core/base64.h"
#include "common/runtime/sql/database.h"
#include "roaming/locations.h"
#include "roaming/push_outbox.h"

namespace switchyard::roaming {
namespace {

using sql::Param;

void set_ms(std::int64_t v, google::protobuf::Timestamp* out) {
  out->set_seconds(v / 1000);
  out->set_nanos(static_cast<int>(v % 1000) * 1'000'000);
}

Param opt(const std::optional<std::int64_t>& v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}

struct EvseRow {
  std::string uid;
  std::string charger_id;
  int ocpp_evse_id = 0;
  std::string status;
  bool removed = false;
  std::int64_t last_updated_ms = 0;
};

// The stored definition: the operator's message without anything the store computes.
v1::RoamingLocation definition(const v1::RoamingLocation& location) {
  v1::RoamingLocation d = location;
  d.clear_last_updated();
  for (auto& evse : *d.mutable_evses()) {
    evse.clear_status();
    evse.clear_last_updated();
  }
  return d;
}

std::string serialized(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

// The location a stored row describes, with its EVSEs' statuses and times.
Result<v1::RoamingLocation> assemble(const std::string& body, std::int64_t last_updated_ms,
                                     const std::map<std::string, EvseRow>& evses) {
  v1::RoamingLocation l;
  auto bytes = base64_decode(body);
  if (!bytes || !l.ParseFromString(*bytes)) {
    return make_error(ErrorCode::kInternal, "stored location is not readable");
  }
  set_ms(last_updated_ms, l.mutable_last_updated());
  for (auto& evse : *l.mutable_evses()) {
    if (auto it = evses.find(evse.uid()); it != evses.end()) {
      evse.set_status(it->second.status);
      set_ms(it->second.last_updated_ms, evse.mutable_last_updated());
    }
  }
  return l;
}

Result<std::map<std::string, EvseRow>> evse_rows(sql::Transaction& tx,
                                                 const std::string& location_id) {
  auto r = tx.exec(
      "SELECT uid, charger_id, ocpp_evse_id, status, removed, last_updated_ms FROM roaming_evses "
      "WHERE location_id = $1",
      {location_id});
  if (!r) return std::unexpected(r.error());
  std::map<std::string, EvseRow> out;
  for (int i = 0; i < r->size(); ++i) {
    out[r->text(i, 0)] =
        EvseRow{r->text(i, 0), r->text(i, 1),       static_cast<int>(r->int64(i, 2)),
                r->text(i, 3), r->int64(i, 4) != 0, r->int64(i, 5)};
  }
  return out;
}

// The OCPI status of (charger, evse) from the stored OCPP facts.
Result<std::string> fold_status(sql::Transaction& tx, const std::string& charger_id, int evse_id) {
  auto statuses = tx.exec(
      "SELECT ocpp_evse_id, connector_id, status FROM roaming_ocpp_status "
      "WHERE charger_id = $1 AND (ocpp_evse_id = 0 OR ocpp_evse_id = $2)",
      {charger_id, std::to_string(evse_id)});
  if (!statuses) return std::unexpected(statuses.error());
  auto online =
      tx.exec("SELECT online FROM roaming_charger_online WHERE charger_id = $1", {charger_id});
  if (!online) return std::unexpected(online.error());
  std::vector<OcppStatus> connectors;
  std::string whole;
  for (int i = 0; i < statuses->size(); ++i) {
    if (statuses->int64(i, 0) == 0) {
      whole = statuses->text(i, 2);
    } else {
      connectors.push_back({static_cast<int>(statuses->int64(i, 1)), statuses->text(i, 2)});
    }
  }
  // Never seen connecting (e.g. connected before this service first ran): its statuses decide.
  const bool is_online = online->empty() || online->int64(0, 0) != 0;
  return ocpi_evse_status(connectors, whole, is_online);
}

Result<void> touch_location(sql::Transaction& tx, const std::string& location_id,
                            std::int64_t now) {
  auto r = tx.exec("UPDATE roaming_locations SET last_updated_ms = $2 WHERE location_id = $1",
                   {location_id, std::to_string(now)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> is_published(sql::Transaction& tx, const std::string& location_id) {
  auto r = tx.exec("SELECT publish FROM roaming_locations WHERE location_id = $1", {location_id});
  if (!r) return std::unexpected(r.error());
  return !r->empty() && r->int64(0, 0) != 0;
}

// Recomputes the live EVSEs of `charger_id` (all, or those of `evse_id` when > 0) and records
// the ones whose status changed.
Result<std::vector<EvseChange>> refresh(sql::Transaction& tx, const std::string& charger_id,
                                        int evse_id, std::int64_t now,
                                        std::span<const std::string> push_to) {
  const std::string select =
      "SELECT location_id, uid, ocpp_evse_id, status FROM roaming_evses "
      "WHERE charger_id = $1 AND removed = 0";
  auto r = evse_id == 0
               ? tx.exec(select, {charger_id})
               : tx.exec(select + " AND ocpp_evse_id = $2", {charger_id, std::to_string(evse_id)});
  if (!r) return std::unexpected(r.error());
  std::vector<EvseChange> changes;
  for (int i = 0; i < r->size(); ++i) {
    auto status = fold_status(tx, charger_id, static_cast<int>(r->int64(i, 2)));
    if (!status) return std::unexpected(status.error());
    if (*status == r->text(i, 3)) continue;
    auto u = tx.exec(
        "UPDATE roaming_evses SET status = $3, last_updated_ms = $4 "
        "WHERE location_id = $1 AND uid = $2",
        {r->text(i, 0), r->text(i, 1), *status, std::to_string(now)});
    if (!u) return std::unexpected(u.error());
    if (auto t = touch_location(tx, r->text(i, 0), now); !t) return std::unexpected(t.error());
    if (!push_to.empty()) {
      auto published = is_published(tx, r->text(i, 0));
      if (!published) return std::unexpected(published.error());
      if (*published) {
        auto q = enqueue_push(tx, push_to, "locations", r->text(i, 0), r->text(i, 1), now);
        if (!q) return std::unexpected(q.error());
      }
    }
    changes.push_back({r->text(i, 0), r->text(i, 1), *status});
  }
  return changes;
}

}  // namespace

Result<v1::RoamingLocation> LocationStore::put(const v1::RoamingLocation& location,
                                               std::span<const std::string> push_to) {
  const v1::RoamingLocation given = definition(location);
  std::unique_lock writing(write_mutex_);
  auto committed = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::int64_t now = unix_ms(clock_.now());
    // One OCPP EVSE is one OCPI EVSE, in one location.
    for (const auto& evse : given.evses()) {
      auto other = tx.exec(
          "SELECT location_id, uid FROM roaming_evses WHERE charger_id = $1 AND "
          "ocpp_evse_id = $2 AND removed = 0 AND location_id <> $3",
          {evse.charger_id(), std::to_string(evse.ocpp_evse_id()), given.id()});
      if (!other) return std::unexpected(other.error());
      if (!other->empty()) {
        return make_error(ErrorCode::kAlreadyExists, "charger " + evse.charger_id() + " EVSE " +
                                                         std::to_string(evse.ocpp_evse_id()) +
                                                         " is already EVSE " + other->text(0, 1) +
                                                         " of location " + other->text(0, 0));
      }
    }
    auto old = tx.exec(
        "SELECT body, last_updated_ms, publish FROM roaming_locations WHERE location_id = $1",
        {given.id()});
    if (!old) return std::unexpected(old.error());
    const bool previous_publish = !old->empty() && old->int64(0, 2) != 0;
    v1::RoamingLocation previous;
    if (!old->empty()) {
      auto bytes = base64_decode(old->text(0, 0));
      if (!bytes || !previous.ParseFromString(*bytes)) {
        return make_error(ErrorCode::kInternal, "stored location is not readable");
      }
    }
    auto rows = evse_rows(tx, given.id());
    if (!rows) return std::unexpected(rows.error());

    v1::RoamingLocation body = given;
    bool changed = old->empty();
    std::set<std::string> uids;
    for (const auto& evse : given.evses()) {
      uids.insert(evse.uid());
      auto status = fold_status(tx, evse.charger_id(), evse.ocpp_evse_id());
      if (!status) return std::unexpected(status.error());
      const auto before = std::ranges::find(previous.evses(), evse.uid(), &v1::RoamingEvse::uid);
      const auto row = rows->find(evse.uid());
      const bool same = before != previous.evses().end() && row != rows->end() &&
                        !row->second.removed && row->second.status == *status &&
                        serialized(*before) == serialized(evse);
      if (same) continue;
      changed = true;
      auto r = tx.exec(
          "INSERT INTO roaming_evses (location_id, uid, charger_id, ocpp_evse_id, status, "
          "removed, last_updated_ms) VALUES ($1, $2, $3, $4, $5, 0, $6) "
          "ON CONFLICT (location_id, uid) DO UPDATE SET charger_id = excluded.charger_id, "
          "ocpp_evse_id = excluded.ocpp_evse_id, status = excluded.status, removed = 0, "
          "last_updated_ms = excluded.last_updated_ms",
          {given.id(), evse.uid(), evse.charger_id(), std::to_string(evse.ocpp_evse_id()), *status,
           std::to_string(now)});
      if (!r) return std::unexpected(r.error());
    }
    // EVSEs left out stay, as REMOVED, with their last definition.
    for (const auto& evse : previous.evses()) {
      if (uids.contains(evse.uid())) continue;
      *body.add_evses() = evse;
      const auto row = rows->find(evse.uid());
      if (row != rows->end() && row->second.removed) continue;
      changed = true;
      auto r = tx.exec(
          "UPDATE roaming_evses SET status = 'REMOVED', removed = 1, last_updated_ms = $3 "
          "WHERE location_id = $1 AND uid = $2",
          {given.id(), evse.uid(), std::to_string(now)});
      if (!r) return std::unexpected(r.error());
    }
    previous.clear_evses();
    v1::RoamingLocation without_evses = given;
    without_evses.clear_evses();
    if (serialized(previous) != serialized(without_evses)) changed = true;
    const std::int64_t last_updated = changed ? now : old->int64(0, 1);
    // Published, or just unpublished (partners must hear that too): the whole location.
    if (changed && (given.publish() || previous_publish)) {
      if (auto q = enqueue_push(tx, push_to, "locations", given.id(), "", now); !q) return q;
    }
    auto r = tx.exec(
        "INSERT INTO roaming_locations (location_id, publish, body, last_updated_ms) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (location_id) DO UPDATE SET "
        "publish = excluded.publish, body = excluded.body, "
        "last_updated_ms = excluded.last_updated_ms",
        {given.id(), given.publish() ? "1" : "0", base64_encode(serialized(body)),
         std::to_string(last_updated)});
    if (!r) return std::unexpected(r.error());
    return {};
  });
  writing.unlock();
  if (!committed) return std::unexpected(committed.error());
  auto stored = get(given.id());
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) return make_error(ErrorCode::kInternal, "location vanished after its put");
  return std::move(**stored);
}

Result<std::optional<v1::RoamingLocation>> LocationStore::get(const std::string& id) {
  std::optional<v1::RoamingLocation> out;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    out.reset();
    auto row =
        tx.exec("SELECT body, last_updated_ms FROM roaming_locations WHERE location_id = $1", {id});
    if (!row) return std::unexpected(row.error());
    if (row->empty()) return {};
    auto evses = evse_rows(tx, id);
    if (!evses) return std::unexpected(evses.error());
    auto l = assemble(row->text(0, 0), row->int64(0, 1), *evses);
    if (!l) return std::unexpected(l.error());
    out = std::move(*l);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

namespace {

Result<std::vector<v1::RoamingLocation>> assemble_rows(sql::Transaction& tx,
                                                       const sql::Rows& rows) {
  std::vector<v1::RoamingLocation> out;
  for (int i = 0; i < rows.size(); ++i) {
    auto evses = evse_rows(tx, rows.text(i, 0));
    if (!evses) return std::unexpected(evses.error());
    auto l = assemble(rows.text(i, 1), rows.int64(i, 2), *evses);
    if (!l) return std::unexpected(l.error());
    out.push_back(std::move(*l));
  }
  return out;
}

}  // namespace

Result<LocationPage> LocationStore::query(const LocationQuery& q) {
  LocationPage page;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::string where =
        " FROM roaming_locations WHERE publish = 1 AND (last_updated_ms >= $1 OR $1 IS NULL) "
        "AND (last_updated_ms < $2 OR $2 IS NULL)";
    auto count = tx.exec("SELECT COUNT(*)" + where, {opt(q.from_ms), opt(q.to_ms)});
    if (!count) return std::unexpected(count.error());
    page.total = count->int64(0, 0);
    auto rows = tx.exec("SELECT location_id, body, last_updated_ms" + where +
                            " ORDER BY last_updated_ms, location_id LIMIT " +
                            std::to_string(q.limit) + " OFFSET " + std::to_string(q.offset),
                        {opt(q.from_ms), opt(q.to_ms)});
    if (!rows) return std::unexpected(rows.error());
    auto locations = assemble_rows(tx, *rows);
    if (!locations) return std::unexpected(locations.error());
    page.locations = std::move(*locations);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return page;
}

Result<std::int64_t> LocationStore::enqueue_published(const std::string& partner_id) {
  std::int64_t count = 0;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto rows = tx.exec("SELECT location_id FROM roaming_locations WHERE publish = 1");
    if (!rows) return std::unexpected(rows.error());
    const std::string to[] = {partner_id};
    const std::int64_t now = unix_ms(clock_.now());
    for (int i = 0; i < rows->size(); ++i) {
      if (auto q = enqueue_push(tx, to, "locations", rows->text(i, 0), "", now); !q) return q;
    }
    count = rows->size();
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return count;
}

Result<std::optional<LocationStore::Placement>> LocationStore::place(const std::string& charger_id,
                                                                     int evse_id) {
  auto r = db_.exec(
      "SELECT location_id, uid FROM roaming_evses WHERE charger_id = $1 AND ocpp_evse_id = $2 "
      "AND removed = 0",
      {charger_id, std::to_string(evse_id)});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  auto location = get(r->text(0, 0));
  if (!location) return std::unexpected(location.error());
  if (!*location) return std::nullopt;
  return Placement{std::move(**location), r->text(0, 1)};
}

Result<std::vector<v1::RoamingLocation>> LocationStore::list(const std::string& after_id,
                                                             int limit) {
  std::vector<v1::RoamingLocation> out;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto rows = tx.exec(
        "SELECT location_id, body, last_updated_ms FROM roaming_locations "
        "WHERE location_id > $1 ORDER BY location_id LIMIT " +
            std::to_string(limit),
        {after_id});
    if (!rows) return std::unexpected(rows.error());
    auto locations = assemble_rows(tx, *rows);
    if (!locations) return std::unexpected(locations.error());
    out = std::move(*locations);
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return out;
}

namespace {

constexpr std::string_view kStatusUpsert =
    "INSERT INTO roaming_ocpp_status (charger_id, ocpp_evse_id, connector_id, status, at_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charger_id, ocpp_evse_id, connector_id) "
    "DO UPDATE SET status = excluded.status, at_ms = excluded.at_ms "
    "WHERE excluded.at_ms >= roaming_ocpp_status.at_ms";
constexpr std::string_view kOnlineUpsert =
    "INSERT INTO roaming_charger_online (charger_id, online, at_ms) VALUES ($1, $2, $3) "
    "ON CONFLICT (charger_id) DO UPDATE SET online = excluded.online, at_ms = excluded.at_ms "
    "WHERE excluded.at_ms >= roaming_charger_online.at_ms";

// One fact (its upsert ignored when older than the stored one), then the EVSEs of the charger
// (all, or those of an EVSE > 0) recomputed; their changes appended.
Result<void> apply_in(sql::Transaction& tx, const LocationStore::Fact& fact, std::int64_t now,
                      std::span<const std::string> push_to, std::vector<EvseChange>& changes) {
  Result<sql::Rows> upserted;
  if (fact.status) {
    upserted = tx.exec(kStatusUpsert, {fact.charger_id, std::to_string(fact.evse_id),
                                       std::to_string(fact.connector_id), *fact.status,
                                       std::to_string(fact.at_ms)});
  } else {
    upserted = tx.exec(kOnlineUpsert,
                       {fact.charger_id, fact.online ? "1" : "0", std::to_string(fact.at_ms)});
  }
  if (!upserted) return std::unexpected(upserted.error());
  if (upserted->affected() == 0) return {};  // older than what we know
  auto c = refresh(tx, fact.charger_id, fact.status ? fact.evse_id : 0, now, push_to);
  if (!c) return std::unexpected(c.error());
  changes.insert(changes.end(), std::make_move_iterator(c->begin()),
                 std::make_move_iterator(c->end()));
  return {};
}

}  // namespace

Result<std::vector<EvseChange>> LocationStore::apply_facts(std::span<const Fact> facts,
                                                           std::span<const std::string> push_to) {
  std::vector<EvseChange> changes;
  if (facts.empty()) return changes;
  std::lock_guard writing(write_mutex_);
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::int64_t now = unix_ms(clock_.now());
    changes.clear();  // the body may run again
    for (const Fact& fact : facts) {
      if (auto applied = apply_in(tx, fact, now, push_to, changes); !applied) return applied;
    }
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return changes;
}

Result<std::vector<EvseChange>> LocationStore::apply_status(const std::string& charger_id,
                                                            int evse_id, int connector_id,
                                                            const std::string& status,
                                                            std::int64_t at_ms,
                                                            std::span<const std::string> push_to) {
  const Fact fact{charger_id, status, evse_id, connector_id, false, at_ms};
  return apply_facts({&fact, 1}, push_to);
}

Result<std::vector<EvseChange>> LocationStore::apply_online(const std::string& charger_id,
                                                            bool online, std::int64_t at_ms,
                                                            std::span<const std::string> push_to) {
  const Fact fact{charger_id, std::nullopt, 0, 0, online, at_ms};
  return apply_facts({&fact, 1}, push_to);
}

}  // namespace switchyard::roaming
