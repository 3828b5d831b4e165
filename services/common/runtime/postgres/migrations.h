// Versioned schema migrations: each applies once, in order, in its own transaction, under an
// advisory lock so several replicas starting together do not race.
#pragma once

#include <span>
#include <string>

#include "common/runtime/postgres/pool.h"

namespace switchyard::postgres {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Applies the migrations not yet recorded in schema_migrations of the current schema; returns
// how many were applied. A migration whose version is recorded with another name is an error
// (someone edited history).
Result<int> migrate(Connection& connection, std::span<const Migration> migrations);

}  // namespace switchyard::postgres
