// The roaming service's database schema: partners (partners.h) and locations
// (location_store.h), migrated with sql::migrate(db, migrations(), "roaming").
#pragma once

#include <span>

#include "common/runtime/sql/database.h"

namespace switchyard::roaming {

std::span<const sql::Migration> migrations();

}  // namespace switchyard::roaming
