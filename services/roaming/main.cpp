// switchyard-roaming: parse settings, open PostgreSQL and migrate, serve OCPI 2.2.1 (versions,
// credentials) on the HTTP side port and switchyard.v1.Roaming over gRPC until SIGTERM.
#include <grpcpp/grpcpp.h>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/process/process.h"
#include "common/runtime/sql/database.h"
#include "roaming/partners.h"
#include "roaming/roaming.h"
#include "roaming/settings.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  std::string listen_address = "0.0.0.0";
  int grpc_port = 50075;
  int http_port = 8095;
  sql::PostgresOptions db_options;
  roaming::OcpiSettings ocpi;
  int threads = 4;
  std::string log_level = "info";
  Settings settings("switchyard-roaming",
                    "Switchyard roaming: OCPI 2.2.1 CPO (versions, credentials) and its partners");
  settings.add("listen-address", listen_address, "Address the gRPC and HTTP listeners bind")
      .add("grpc-port", grpc_port, "gRPC: switchyard.v1.Roaming")
      .add("http-port", http_port,
           "HTTP side port: OCPI under --ocpi-base-url's path, /metrics, "
           "/healthz, /readyz")
      .add_secret("postgres-url", db_options.url, "PostgreSQL connection URL")
      .add("postgres-schema", db_options.schema,
           "Schema (created if missing); empty = search_path default")
      .add("postgres-pool-size", db_options.pool_size, "PostgreSQL connections")
      .add("threads", threads, "Threads doing gRPC work (database, calls to partners)")
      .add("log-level", log_level, "debug, info, warn or error");
  roaming::add_ocpi_settings(settings, ocpi);
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("roaming", "", log::parse_level(log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };

  const std::string default_base_url = roaming::ocpi_default_base_url(listen_address, http_port);
  // Bad OCPI flags fail before anything touches the database.
  if (auto checked = roaming::checked_ocpi_settings(ocpi, default_base_url); !checked) {
    return fail(checked.error().message);
  }
  auto db = sql::open_postgres(db_options, &process.metrics());
  if (!db) return fail(db.error().message);
  if (auto m = sql::migrate(**db, roaming::migrations(), "roaming"); !m) {
    return fail("cannot migrate: " + m.error().message);
  }
  WorkPool pool(threads);
  auto& http = process.http(listen_address, http_port);
  auto service = roaming::make_roaming_service(std::move(ocpi), default_base_url, **db, pool, http,
                                               system_clock(), &process.metrics());
  if (!service) return fail(service.error().message);

  if (auto r = process.start_http(); !r) return fail(r.error().message);
  auto bound = process.start_grpc(listen_address, grpc_port, {&(*service)->grpc_service()});
  if (!bound) return fail(bound.error().message);
  log::info("roaming started", {{"grpc_port", *bound},
                                {"http_port", http_port},
                                {"ocpi_versions_url", (*service)->versions_url()}});
  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  process.stop_http();  // no OCPI request reaches the registration once it goes
  return 0;
}
