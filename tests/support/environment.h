// The real-server environment of integration tests: addresses from deploy/local/env, unique
// names per test, and the skip-or-fail rule for a missing server.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace switchyard::testing {

// Addresses exported by deploy/local/env; nullopt when that server is not running.
std::optional<std::string> kafka_brokers();  // SWITCHYARD_KAFKA_BROKERS
std::optional<std::string> redis_address();  // SWITCHYARD_REDIS_ADDRESS host:port
std::optional<std::string> postgres_url();   // SWITCHYARD_POSTGRES_URL
// The work directory of deploy/local (pid files, logs).
std::optional<std::string> local_dir();  // SWITCHYARD_LOCAL_DIR

// CI=true: a missing server fails the test instead of skipping it.
bool in_ci();

// A name unique to this test and process, safe for Kafka topics, Redis keys and SQL schema
// names: "<prefix>_<suite>_<test>_<pid>_<n>" in lower case, [a-z0-9_] only.
std::string unique_name(std::string_view prefix);

// Reads a whole file; empty when missing.
std::string read_file(const std::string& path);

// Runs a shell command, returns its stdout and sets `exit_code`.
std::string run_command(const std::string& command, int* exit_code = nullptr);

namespace detail {
void report_missing(const char* what);
}

}  // namespace switchyard::testing

// Skips the test loudly when the server is missing, or fails it in CI.
#define SWITCHYARD_REQUIRE(optional_address, what)                                  \
  do {                                                                              \
    if (!(optional_address)) {                                                      \
      ::switchyard::testing::detail::report_missing(what);                          \
      if (::switchyard::testing::in_ci()) {                                         \
        FAIL() << what << " is not running (deploy/local/up, then eval "            \
               << "\"$(deploy/local/env)\"); CI=true makes this a failure";         \
      }                                                                             \
      GTEST_SKIP() << "SKIPPED: " << what << " not running; start deploy/local/up"; \
    }                                                                               \
  } while (0)
