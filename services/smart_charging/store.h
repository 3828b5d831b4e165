// Sites and operator limits in the system of record (PostgreSQL, or SQLite in standalone), in
// portable SQL: the site definition as JSON, each node's schedule and override as JSON.
#pragma once

#include <span>

#include "common/runtime/sql/database.h"
#include "smart_charging/ports.h"

namespace switchyard::smart_charging {

std::span<const sql::Migration> migrations();

// The limits of one node as JSON and back (times in ms since the epoch).
std::string limits_to_json(const StoredSite::Limits& limits);
Result<StoredSite::Limits> limits_from_json(std::string_view json);

class SqlSiteStore final : public SiteStore {
 public:
  explicit SqlSiteStore(sql::Database& db) : db_(db) {}
  Result<std::vector<StoredSite>> load_all() override;
  Result<bool> put(const std::string& id, const std::string& definition_json,
                   const std::vector<std::string>& node_ids) override;
  Result<bool> remove(const std::string& id) override;
  Result<void> put_limits(const std::string& site_id, const StoredSite::Limits& limits) override;

 private:
  sql::Database& db_;
};

}  // namespace switchyard::smart_charging
