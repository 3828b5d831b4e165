// AuthStore on the SQL Database (PostgreSQL or SQLite) and its schema migrations.
#pragma once

#include <span>

#include "auth/store.h"
#include "common/runtime/sql/database.h"

namespace switchyard::auth {

std::span<const sql::Migration> migrations();

class SqlAuthStore final : public AuthStore {
 public:
  explicit SqlAuthStore(sql::Database& db) : db_(db) {}

  Result<std::optional<TokenRecord>> token(const std::string& id_token) override;
  Result<void> put_token(const TokenRecord& token) override;
  Result<bool> delete_token(const std::string& id_token) override;
  Result<std::vector<TokenRecord>> tokens(const std::string& group_id, const Page& page) override;
  Result<std::optional<GroupRecord>> group(const std::string& group_id) override;
  Result<void> put_group(const GroupRecord& group) override;
  Result<std::vector<GroupRecord>> groups() override;
  Result<std::optional<ChargerRecord>> charger(const std::string& charger_id) override;
  Result<void> put_charger(const ChargerRecord& charger) override;
  Result<bool> insert_charger(const ChargerRecord& charger) override;
  Result<bool> delete_charger(const std::string& charger_id) override;
  Result<std::vector<ChargerRecord>> chargers(const Page& page) override;
  Result<LocalList> local_list(const std::string& charger_id) override;
  Result<int> put_local_list(const std::string& charger_id,
                             const std::vector<LocalListEntry>& entries) override;
  Result<void> confirm_local_list(const std::string& charger_id, int version,
                                  const std::vector<LocalListEntry>& entries) override;

 private:
  sql::Database& db_;
};

}  // namespace switchyard::auth
