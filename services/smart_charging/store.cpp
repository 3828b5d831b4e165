// Sites and limits in portable SQL (see store.h).
#include "smart_charging/store.h"

#include <boost/json.hpp>
#include <map>

#include "common/runtime/core/base64.h"
#include "common/runtime/core/password.h"

namespace switchyard::smart_charging {
namespace {

namespace json = boost::json;
using sql::Param;

const sql::Migration kMigrations[] = {
    {1, "smart charging sites and limits",
     R"sql(
CREATE TABLE sc_sites (
  site_id TEXT PRIMARY KEY,
  definition TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE TABLE sc_node_limits (
  site_id TEXT NOT NULL REFERENCES sc_sites (site_id) ON DELETE CASCADE,
  node_id TEXT NOT NULL,
  limits TEXT NOT NULL,
  PRIMARY KEY (site_id, node_id)
);
)sql",
     ""},
    // The OSCP capacity provider's token and base URL from its last Register (oscp.h).
    {2, "smart charging oscp peer",
     R"sql(
CREATE TABLE sc_oscp_peer (
  name TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  base_url TEXT NOT NULL,
  configured TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
)sql",
     ""},
    // Limits other parties (an eMSP over OCPI) put on running sessions.
    {3, "smart charging session limits",
     R"sql(
CREATE TABLE sc_session_limits (
  charger_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  session_limit TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (charger_id, transaction_id)
);
)sql",
     ""},
};

std::int64_t ms(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Time from_ms(std::int64_t v) { return Time(std::chrono::milliseconds(v)); }

json::object slot_json(const LimitSlot& slot) {
  json::object o{{"from_ms", ms(slot.from)}, {"until_ms", ms(slot.until)}};
  if (slot.current_a)
    o["current_a"] = json::array{(*slot.current_a)[0], (*slot.current_a)[1], (*slot.current_a)[2]};
  if (slot.power_kw) o["power_kw"] = *slot.power_kw;
  return o;
}

Result<LimitSlot> slot_from(const json::value& v) {
  const auto* o = v.if_object();
  const auto bad = [] { return make_error(ErrorCode::kInvalidArgument, "stored limit slot"); };
  if (o == nullptr || !o->contains("from_ms") || !o->contains("until_ms")) return bad();
  LimitSlot slot;
  slot.from = from_ms(json::value_to<std::int64_t>(o->at("from_ms")));
  slot.until = from_ms(json::value_to<std::int64_t>(o->at("until_ms")));
  if (const auto* c = o->if_contains("current_a")) {
    const auto* a = c->if_array();
    if (a == nullptr || a->size() != 3) return bad();
    slot.current_a = PhaseCurrents{json::value_to<double>((*a)[0]), json::value_to<double>((*a)[1]),
                                   json::value_to<double>((*a)[2])};
  }
  if (const auto* p = o->if_contains("power_kw")) slot.power_kw = json::value_to<double>(*p);
  return slot;
}

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

std::string oscp_configuration_fingerprint(std::string_view send_token,
                                           std::string_view peer_base_url) {
  std::string text(send_token);
  text += '\n';
  text += peer_base_url;
  return base64_encode(sha256(text));
}

Result<std::optional<OscpPeer>> SqlOscpPeerStore::load() {
  auto r = db_.exec("SELECT token, base_url, configured FROM sc_oscp_peer WHERE name = 'peer'");
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return OscpPeer{r->text(0, 0), r->text(0, 1), r->text(0, 2)};
}

Result<void> SqlOscpPeerStore::save(const OscpPeer& peer, std::int64_t now_ms) {
  auto r = db_.exec(
      "INSERT INTO sc_oscp_peer (name, token, base_url, configured, updated_at_ms) VALUES "
      "('peer', $1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET token = $1, base_url = $2, "
      "configured = $3, updated_at_ms = $4",
      {peer.token, peer.base_url, peer.configured, std::to_string(now_ms)});
  if (!r) return std::unexpected(r.error());
  return {};
}

std::string limits_to_json(const StoredSite::Limits& limits) {
  json::array schedule;
  for (const auto& slot : limits.schedule) schedule.push_back(slot_json(slot));
  json::object o{{"schedule", std::move(schedule)}};
  if (limits.override_slot) o["override"] = slot_json(*limits.override_slot);
  if (!limits.forecast.empty()) {
    json::array forecast;
    for (const auto& slot : limits.forecast) forecast.push_back(slot_json(slot));
    o["forecast"] = std::move(forecast);
  }
  return json::serialize(o);
}

Result<StoredSite::Limits> limits_from_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return make_error(ErrorCode::kInvalidArgument, "stored limits");
  StoredSite::Limits out;
  try {
    if (const auto* s = v.as_object().if_contains("schedule"); s && s->is_array()) {
      for (const auto& slot : s->as_array()) {
        auto parsed = slot_from(slot);
        if (!parsed) return std::unexpected(parsed.error());
        out.schedule.push_back(*parsed);
      }
    }
    if (const auto* o = v.as_object().if_contains("override")) {
      auto parsed = slot_from(*o);
      if (!parsed) return std::unexpected(parsed.error());
      out.override_slot = *parsed;
    }
    if (const auto* f = v.as_object().if_contains("forecast"); f && f->is_array()) {
      for (const auto& slot : f->as_array()) {
        auto parsed = slot_from(slot);
        if (!parsed) return std::unexpected(parsed.error());
        out.forecast.push_back(*parsed);
      }
    }
  } catch (const std::exception& e) {  // value_to on a wrong type
    return make_error(ErrorCode::kInvalidArgument, std::string("stored limits: ") + e.what());
  }
  return out;
}

std::string session_limit_to_json(const SessionLimit& limit) {
  json::array periods;
  for (const SessionLimit::Period& p : limit.periods) {
    periods.push_back(json::array{
        std::chrono::duration_cast<std::chrono::milliseconds>(p.offset).count(), p.limit});
  }
  json::object o{{"unit", limit.unit == RateUnit::kWatts ? "W" : "A"},
                 {"start_ms", ms(limit.start)},
                 {"periods", std::move(periods)},
                 {"source", limit.source}};
  if (limit.end) o["end_ms"] = ms(*limit.end);
  if (limit.min_rate > 0.0) o["min_rate"] = limit.min_rate;
  return json::serialize(o);
}

Result<SessionLimit> session_limit_from_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  const auto bad = [](const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument, "stored session limit: " + what);
  };
  if (ec || !v.is_object()) return bad("not a JSON object");
  const json::object& o = v.as_object();
  SessionLimit out;
  try {
    const std::string unit = json::value_to<std::string>(o.at("unit"));
    if (unit != "A" && unit != "W") return bad("unit " + unit);
    out.unit = unit == "W" ? RateUnit::kWatts : RateUnit::kAmperes;
    out.start = from_ms(json::value_to<std::int64_t>(o.at("start_ms")));
    if (const auto* end = o.if_contains("end_ms")) {
      out.end = from_ms(json::value_to<std::int64_t>(*end));
    }
    for (const auto& p : o.at("periods").as_array()) {
      const auto& pair = p.as_array();
      if (pair.size() != 2) return bad("a period is not [offset_ms, limit]");
      out.periods.push_back({std::chrono::milliseconds(json::value_to<std::int64_t>(pair[0])),
                             json::value_to<double>(pair[1])});
    }
    if (const auto* source = o.if_contains("source")) {
      out.source = json::value_to<std::string>(*source);
    }
    if (const auto* min_rate = o.if_contains("min_rate")) {
      out.min_rate = json::value_to<double>(*min_rate);
    }
  } catch (const std::exception& e) {  // a missing key or a wrong type
    return bad(e.what());
  }
  if (out.periods.empty()) return bad("no period");
  return out;
}

Result<std::vector<StoredSessionLimit>> SqlSiteStore::load_session_limits() {
  auto rows = db_.exec(
      "SELECT charger_id, transaction_id, session_limit FROM sc_session_limits "
      "ORDER BY charger_id, transaction_id");
  if (!rows) return std::unexpected(rows.error());
  std::vector<StoredSessionLimit> out;
  for (int r = 0; r < rows->size(); ++r) {
    auto limit = session_limit_from_json(rows->text(r, 2));
    if (!limit) return std::unexpected(limit.error());
    out.push_back({rows->text(r, 0), rows->text(r, 1), std::move(*limit)});
  }
  return out;
}

Result<void> SqlSiteStore::put_session_limit(const StoredSessionLimit& limit) {
  auto r = db_.exec(
      "INSERT INTO sc_session_limits (charger_id, transaction_id, session_limit, updated_at_ms) "
      "VALUES ($1, $2, $3, $4) ON CONFLICT (charger_id, transaction_id) DO UPDATE SET "
      "session_limit = excluded.session_limit, updated_at_ms = excluded.updated_at_ms",
      {limit.charger_id, limit.transaction_id, session_limit_to_json(limit.limit),
       std::to_string(ms(std::chrono::system_clock::now()))});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> SqlSiteStore::remove_session_limit(const std::string& charger_id,
                                                const std::string& transaction_id) {
  auto r = db_.exec("DELETE FROM sc_session_limits WHERE charger_id = $1 AND transaction_id = $2",
                    {charger_id, transaction_id});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<StoredSite>> SqlSiteStore::load_all() {
  auto sites = db_.exec("SELECT site_id, definition FROM sc_sites ORDER BY site_id");
  if (!sites) return std::unexpected(sites.error());
  auto limits = db_.exec("SELECT site_id, node_id, limits FROM sc_node_limits");
  if (!limits) return std::unexpected(limits.error());
  std::vector<StoredSite> out;
  std::map<std::string, std::size_t> index;
  for (int r = 0; r < sites->size(); ++r) {
    index[sites->text(r, 0)] = out.size();
    out.push_back({sites->text(r, 0), sites->text(r, 1), {}});
  }
  for (int r = 0; r < limits->size(); ++r) {
    auto site = index.find(limits->text(r, 0));
    if (site == index.end()) continue;
    auto parsed = limits_from_json(limits->text(r, 2));
    if (!parsed) return std::unexpected(parsed.error());
    parsed->node_id = limits->text(r, 1);
    out[site->second].limits.push_back(std::move(*parsed));
  }
  return out;
}

Result<bool> SqlSiteStore::put(const std::string& id, const std::string& definition_json,
                               const std::vector<std::string>& node_ids) {
  bool created = false;
  const auto now = std::to_string(ms(std::chrono::system_clock::now()));
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto existing = tx.exec("SELECT 1 FROM sc_sites WHERE site_id = $1", {id});
    if (!existing) return std::unexpected(existing.error());
    created = existing->empty();
    auto put = tx.exec(
        "INSERT INTO sc_sites (site_id, definition, updated_at_ms) VALUES ($1, $2, $3) "
        "ON CONFLICT (site_id) DO UPDATE SET definition = excluded.definition, "
        "updated_at_ms = excluded.updated_at_ms",
        {id, definition_json, now});
    if (!put) return std::unexpected(put.error());
    auto nodes = tx.exec("SELECT node_id FROM sc_node_limits WHERE site_id = $1", {id});
    if (!nodes) return std::unexpected(nodes.error());
    for (int row = 0; row < nodes->size(); ++row) {
      const std::string& node = nodes->text(row, 0);
      if (std::find(node_ids.begin(), node_ids.end(), node) != node_ids.end()) continue;
      auto gone =
          tx.exec("DELETE FROM sc_node_limits WHERE site_id = $1 AND node_id = $2", {id, node});
      if (!gone) return std::unexpected(gone.error());
    }
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return created;
}

Result<bool> SqlSiteStore::remove(const std::string& id) {
  bool removed = false;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto limits = tx.exec("DELETE FROM sc_node_limits WHERE site_id = $1", {id});
    if (!limits) return std::unexpected(limits.error());
    auto site = tx.exec("DELETE FROM sc_sites WHERE site_id = $1", {id});
    if (!site) return std::unexpected(site.error());
    removed = site->affected() > 0;
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return removed;
}

Result<void> SqlSiteStore::put_limits(const std::string& site_id,
                                      const StoredSite::Limits& limits) {
  auto r = db_.exec(
      "INSERT INTO sc_node_limits (site_id, node_id, limits) VALUES ($1, $2, $3) "
      "ON CONFLICT (site_id, node_id) DO UPDATE SET limits = excluded.limits",
      {site_id, limits.node_id, limits_to_json(limits)});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace switchyard::smart_charging
