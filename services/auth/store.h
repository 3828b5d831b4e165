// What the auth service keeps: tokens, groups, registered chargers, local authorization lists.
// SqlAuthStore (sql_store.cpp) keeps them in PostgreSQL or SQLite; tests may use SQLite in
// memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::auth {

using TimePoint = std::chrono::system_clock::time_point;

struct TokenRecord {
  std::string id_token;
  std::string type = "Central";
  std::string status = "Accepted";  // Accepted, Blocked, Expired, Invalid
  std::optional<TimePoint> expires_at;
  std::string group_id;
  bool refuse_concurrent = false;
  TimePoint updated_at{};
};

struct GroupRecord {
  std::string group_id;
  std::string name;
  bool refuse_concurrent = false;
};

struct ChargerRecord {
  std::string charger_id;
  int security_profile = 1;
  std::string password_hash;  // empty: none
  std::string boot_policy;    // "", Accept, Pending, Reject ("" = the service default)
  int heartbeat_interval_s = 0;
  bool auto_registered = false;
  TimePoint registered_at{};
};

struct LocalListEntry {
  std::string id_token;
  std::string type;
  std::string status;  // Accepted, Blocked, Expired, Invalid
  std::optional<TimePoint> expires_at;
  bool operator==(const LocalListEntry&) const = default;
};

struct LocalList {
  int version = 0;
  std::vector<LocalListEntry> entries;
  // What the charger confirmed last (the base of a differential update).
  int charger_version = 0;
  std::vector<LocalListEntry> charger_entries;
};

struct Page {
  int size = 100;
  std::string after;  // the last key of the previous page
};

class AuthStore {
 public:
  virtual ~AuthStore() = default;
  // Tokens are looked up case-insensitively (OCPP's CiString): "04a1" finds "04A1".
  virtual Result<std::optional<TokenRecord>> token(const std::string& id_token) = 0;
  virtual Result<void> put_token(const TokenRecord& token) = 0;
  virtual Result<bool> delete_token(const std::string& id_token) = 0;
  virtual Result<std::vector<TokenRecord>> tokens(const std::string& group_id,
                                                  const Page& page) = 0;

  virtual Result<std::optional<GroupRecord>> group(const std::string& group_id) = 0;
  virtual Result<void> put_group(const GroupRecord& group) = 0;
  virtual Result<std::vector<GroupRecord>> groups() = 0;

  virtual Result<std::optional<ChargerRecord>> charger(const std::string& charger_id) = 0;
  virtual Result<void> put_charger(const ChargerRecord& charger) = 0;
  // Registers the charger unless it exists; false when it existed.
  virtual Result<bool> insert_charger(const ChargerRecord& charger) = 0;
  virtual Result<bool> delete_charger(const std::string& charger_id) = 0;
  virtual Result<std::vector<ChargerRecord>> chargers(const Page& page) = 0;

  virtual Result<LocalList> local_list(const std::string& charger_id) = 0;
  // Replaces the list; returns the new version.
  virtual Result<int> put_local_list(const std::string& charger_id,
                                     const std::vector<LocalListEntry>& entries) = 0;
  // The charger accepted `version` with these entries.
  virtual Result<void> confirm_local_list(const std::string& charger_id, int version,
                                          const std::vector<LocalListEntry>& entries) = 0;
};

}  // namespace switchyard::auth
