// Versioned migrations on sql::Database: each applies once, in order, in its own transaction;
// on PostgreSQL an advisory lock serializes processes that migrate at the same time.
#include <algorithm>
#include <string>

#include "common/runtime/core/log.h"
#include "common/runtime/sql/database.h"

namespace switchyard::sql {
namespace {

// The key postgres::migrate takes too ("SWYD"), so both kinds of migrator exclude each other.
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(1398228292)";

// The history table of a scope: "schema_migrations", or "<scope>_schema_migrations" so several
// services can share one database (standalone mode) with their own version sequences.
std::string history_table(std::string_view scope) {
  return scope.empty() ? "schema_migrations" : std::string(scope) + "_schema_migrations";
}

bool valid_scope(std::string_view scope) {
  return std::all_of(scope.begin(), scope.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

std::string history_ddl(Dialect dialect, const std::string& table) {
  return dialect == Dialect::kPostgres
             ? "CREATE TABLE IF NOT EXISTS " + table +
                   " (version integer PRIMARY KEY, "
                   "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
             : "CREATE TABLE IF NOT EXISTS " + table +
                   " (version INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)";
}

// Taken first in every migration transaction; SQLite's BEGIN IMMEDIATE already serializes.
Result<void> lock(Dialect dialect, Transaction& tx) {
  if (dialect != Dialect::kPostgres) return {};
  auto r = tx.exec(kLockSql);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> ensure_history(Database& db, const std::string& table) {
  return db.transaction([&](Transaction& tx) -> Result<void> {
    if (auto r = lock(db.dialect(), tx); !r) return r;
    auto r = tx.exec(history_ddl(db.dialect(), table));
    if (!r) return std::unexpected(r.error());
    return {};
  });
}

Result<void> check_order(std::span<const Migration> migrations) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return make_error(ErrorCode::kInvalidArgument,
                        "migration " + std::to_string(migrations[i].version) + " (" +
                            migrations[i].name + ") does not come after version " +
                            std::to_string(migrations[i - 1].version));
    }
  }
  return {};
}

// Inside the migration's transaction: true when it ran now, false when it was recorded before.
Result<bool> apply(Dialect dialect, Transaction& tx, const std::string& table, const Migration& m) {
  if (auto r = lock(dialect, tx); !r) return std::unexpected(r.error());
  const std::string version = std::to_string(m.version);
  auto existing = tx.exec("SELECT name FROM " + table + " WHERE version = $1", {version});
  if (!existing) return std::unexpected(existing.error());
  if (!existing->empty()) {
    if (existing->text(0, 0) == m.name) return false;
    return make_error(ErrorCode::kFailedPrecondition, "migration " + version + " is recorded as '" +
                                                          existing->text(0, 0) + "', not '" +
                                                          m.name + "'");
  }
  const std::string& sql = dialect == Dialect::kSqlite && !m.sqlite.empty() ? m.sqlite : m.postgres;
  if (auto r = tx.exec(sql); !r) {
    return make_error(r.error().code,
                      "migration " + version + " (" + m.name + "): " + r.error().message);
  }
  auto recorded =
      tx.exec("INSERT INTO " + table + " (version, name) VALUES ($1, $2)", {version, m.name});
  if (!recorded) return std::unexpected(recorded.error());
  return true;
}

}  // namespace

Result<int> migrate(Database& db, std::span<const Migration> migrations, std::string_view scope) {
  if (!valid_scope(scope)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "migration scope must be [a-z_]: " + std::string(scope));
  }
  const std::string table = history_table(scope);
  if (auto r = check_order(migrations); !r) return std::unexpected(r.error());
  if (auto r = ensure_history(db, table); !r) return std::unexpected(r.error());
  int applied = 0;
  for (const Migration& m : migrations) {
    bool ran = false;
    auto r = db.transaction([&](Transaction& tx) -> Result<void> {
      auto outcome = apply(db.dialect(), tx, table, m);
      if (!outcome) return std::unexpected(outcome.error());
      ran = *outcome;
      return {};
    });
    if (!r) return std::unexpected(r.error());
    if (ran) {
      ++applied;
      log::info("migration applied", {{"scope", scope}, {"version", m.version}, {"name", m.name}});
    }
  }
  return applied;
}

}  // namespace switchyard::sql
