// Sites and operator limits in the system of record (PostgreSQL, or SQLite in standalone), in
// portable SQL: the site definition as JSON, each node's schedule and override as JSON, the limits
// other parties put on running sessions; and the OSCP peer's last Register (SqlOscpPeerStore).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/runtime/sql/database.h"
#include "smart_charging/ports.h"

namespace switchyard::smart_charging {

std::span<const sql::Migration> migrations();

// The limits of one node as JSON and back (times in ms since the epoch).
std::string limits_to_json(const StoredSite::Limits& limits);
Result<StoredSite::Limits> limits_from_json(std::string_view json);
// A session limit as JSON and back (times in ms since the epoch, offsets in ms).
std::string session_limit_to_json(const SessionLimit& limit);
Result<SessionLimit> session_limit_from_json(std::string_view json);

// What the OSCP capacity provider's last Register gave us (oscp.h): its token for us and its
// base URL, with a fingerprint of the configured token and URL they replaced, so that after a
// restart the rotated token is sent (the peer no longer knows the configured one) unless the
// operator configured another token or peer since.
struct OscpPeer {
  std::string token;
  std::string base_url;
  std::string configured;  // oscp_configuration_fingerprint() of the flags then
};

// base64(SHA-256(send token, peer URL)): never the token itself.
std::string oscp_configuration_fingerprint(std::string_view send_token,
                                           std::string_view peer_base_url);

class SqlOscpPeerStore {
 public:
  explicit SqlOscpPeerStore(sql::Database& db) : db_(db) {}
  Result<std::optional<OscpPeer>> load();
  Result<void> save(const OscpPeer& peer, std::int64_t now_ms);

 private:
  sql::Database& db_;
};

class SqlSiteStore final : public SiteStore {
 public:
  explicit SqlSiteStore(sql::Database& db) : db_(db) {}
  Result<std::vector<StoredSite>> load_all() override;
  Result<bool> put(const std::string& id, const std::string& definition_json,
                   const std::vector<std::string>& node_ids) override;
  Result<bool> remove(const std::string& id) override;
  Result<void> put_limits(const std::string& site_id, const StoredSite::Limits& limits) override;
  Result<std::vector<StoredSessionLimit>> load_session_limits() override;
  Result<void> put_session_limit(const StoredSessionLimit& limit) override;
  Result<void> remove_session_limit(const std::string& charger_id,
                                    const std::string& transaction_id) override;

 private:
  sql::Database& db_;
};

}  // namespace switchyard::smart_charging
