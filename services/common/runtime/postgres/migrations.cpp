// Applies versioned migrations once each, serialized by an advisory lock.
#include "common/runtime/postgres/migrations.h"

#include "common/runtime/core/log.h"

namespace switchyard::postgres {
namespace {

// Arbitrary constant shared by every Switchyard process: "SWYD".
constexpr const char* kLockKey = "1398228292";

const Statement kApplied{"switchyard_migration_applied",
                         "SELECT name FROM schema_migrations WHERE version = $1"};
const Statement kRecord{"switchyard_migration_record",
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"};

}  // namespace

Result<int> migrate(Connection& connection, std::span<const Migration> migrations) {
  // Created under the lock too: two processes creating it at once would race on the catalog.
  auto history = in_transaction(connection, [&](Connection& c) -> Result<bool> {
    if (auto r = c.exec(std::string("SELECT pg_advisory_xact_lock(") + kLockKey + ")"); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = c.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version integer PRIMARY KEY,"
                        " name text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())");
        !r) {
      return std::unexpected(r.error());
    }
    return true;
  });
  if (!history) return std::unexpected(history.error());
  int applied = 0;
  for (const Migration& m : migrations) {
    auto outcome = in_transaction(connection, [&](Connection& c) -> Result<bool> {
      if (auto r = c.exec(std::string("SELECT pg_advisory_xact_lock(") + kLockKey + ")"); !r) {
        return std::unexpected(r.error());
      }
      auto existing = c.exec(kApplied, {std::to_string(m.version)});
      if (!existing) return std::unexpected(existing.error());
      if (existing->size() > 0) {
        if (existing->text(0, 0) != m.name) {
          return make_error(ErrorCode::kFailedPrecondition,
                            "migration " + std::to_string(m.version) + " is recorded as '" +
                                std::string(existing->text(0, 0)) + "', not '" + m.name + "'");
        }
        return false;
      }
      if (auto r = c.exec(m.sql); !r) {
        return make_error(r.error().code, "migration " + std::to_string(m.version) + " (" + m.name +
                                              "): " + r.error().message);
      }
      if (auto r = c.exec(kRecord, {std::to_string(m.version), m.name}); !r) {
        return std::unexpected(r.error());
      }
      return true;
    });
    if (!outcome) return std::unexpected(outcome.error());
    if (*outcome) {
      ++applied;
      log::info("migration applied", {{"version", m.version}, {"name", m.name}});
    }
  }
  return applied;
}

}  // namespace switchyard::postgres
