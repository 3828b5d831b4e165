// Process-wide SQLite settings, for every opener of a connection (the services' database and the
// standalone event log) to apply before it opens one: sqlite3_config() works only before SQLite
// initializes, which the first open does.
#pragma once

#include <sqlite3.h>

namespace switchyard::sql {

// No memory statistics: with them every sqlite3_malloc and free takes one global mutex, which
// all connections of the process (the event log's writer and each consumer) contend for on
// every statement. Once per process; thread-safe.
inline void configure_sqlite_once() {
  static const int applied = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)applied;  // SQLITE_MISUSE if something opened a connection first: statistics stay on
}

}  // namespace switchyard::sql
