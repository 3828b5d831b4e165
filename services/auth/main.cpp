// switchyard-auth: parse settings, open PostgreSQL and migrate, serve Authorization until SIGTERM.
#include <grpcpp/grpcpp.h>

#include "auth/auth.h"
#include "auth/grpc_api.h"
#include "auth/sql_store.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/process/process.h"
#include "common/runtime/sql/database.h"
#include "switchyard/v1/roaming.grpc.pb.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  std::string listen_address = "0.0.0.0";
  int grpc_port = 50071;
  int http_port = 8091;
  sql::PostgresOptions db_options;
  auth::AuthConfig config;
  auth::CertificateAuthorityConfig ca_config;
  auth::CertificateAuthorityConfig v2g_ca_config;
  v2g_ca_config.use = auth::CertificateUse::kV2g;
  std::string gateway_address;
  std::string roaming_address;
  std::chrono::milliseconds roaming_timeout{3000};
  int threads = 8;
  std::string log_level = "info";
  Settings settings("switchyard-auth",
                    "Switchyard auth service: tokens, chargers, boot and connection decisions");
  settings.add("listen-address", listen_address, "Address the gRPC and HTTP listeners bind")
      .add("grpc-port", grpc_port, "gRPC: switchyard.v1.Authorization")
      .add("http-port", http_port, "HTTP side port: /metrics, /healthz, /readyz")
      .add_secret("postgres-url", db_options.url, "PostgreSQL connection URL")
      .add("postgres-schema", db_options.schema,
           "Schema (created if missing); empty = search_path default")
      .add("postgres-pool-size", db_options.pool_size, "PostgreSQL connections")
      .add("accept-unknown-chargers", config.accept_unknown_chargers,
           "Accept chargers that are not registered and register them (with a warning)")
      .add("heartbeat-interval", config.default_heartbeat_interval_s,
           "Heartbeat interval given at boot (s)")
      .add("boot-policy", config.default_boot_policy,
           "Boot answer for chargers without their own: Accept, Pending, Reject")
      .add("gateway-address", gateway_address,
           "A gateway pod's gRPC (ChargerControl) for SyncLocalList")
      .add("roaming-address", roaming_address,
           "The roaming service's gRPC: tokens of roaming partners (OCPI) that the registry does "
           "not know are authorized there; empty = none")
      .add("roaming-timeout", roaming_timeout,
           "Deadline of a roaming authorization (it may ask the eMSP in real time)")
      .add("threads", threads, "Threads doing database work")
      .add("log-level", log_level, "debug, info, warn or error");
  auth::add_settings(settings, ca_config);
  auth::add_settings(settings, v2g_ca_config);
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("auth", "", log::parse_level(log_level));

  auto db = sql::open_postgres(db_options, &process.metrics());
  if (!db) return log::error("cannot start", {{"error", db.error().message}}), 1;
  if (auto m = sql::migrate(**db, auth::migrations(), "auth"); !m) {
    return log::error("cannot migrate", {{"error", m.error().message}}), 1;
  }
  auto ca = auth::CertificateAuthority::load(ca_config);
  if (!ca) return log::error("cannot start", {{"error", ca.error().message}}), 1;
  auto v2g_ca = auth::CertificateAuthority::load(v2g_ca_config);
  if (!v2g_ca) return log::error("cannot start", {{"error", v2g_ca.error().message}}), 1;
  auth::SqlAuthStore store(**db);
  auth::AuthService service(config, store, system_clock(), &process.metrics());
  service.set_certificate_authority(std::move(*ca));
  service.set_v2g_certificate_authority(std::move(*v2g_ca));
  std::shared_ptr<v1::Roaming::Stub> roaming;
  if (!roaming_address.empty()) {
    roaming = v1::Roaming::NewStub(service_channel(roaming_address));
    service.set_roaming([roaming, roaming_timeout](const std::string& id_token,
                                                   const std::string& charger_id)
                            -> Result<std::optional<auth::TokenDecision>> {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + roaming_timeout);
      v1::AuthorizeTokenRequest request;
      request.set_id_token(id_token);
      request.set_charger_id(charger_id);
      v1::AuthorizeTokenResponse response;
      if (auto s = roaming->AuthorizeToken(&ctx, request, &response); !s.ok()) {
        return make_error(ErrorCode::kUnavailable, "Roaming.AuthorizeToken: " + s.error_message());
      }
      if (!response.known()) return std::optional<auth::TokenDecision>{};
      auth::TokenDecision d;
      d.status = response.status();
      d.group_id = response.group_id();
      return std::optional<auth::TokenDecision>(std::move(d));
    });
  }
  WorkPool pool(threads);
  std::unique_ptr<v1::ChargerControl::Stub> gateway;
  if (!gateway_address.empty()) {
    gateway = v1::ChargerControl::NewStub(service_channel(gateway_address));
  }
  auth::AuthorizationApi api(service, pool, gateway.get());

  process.http(listen_address, http_port);
  if (auto r = process.start_http(); !r)
    return log::error("cannot start", {{"error", r.error().message}}), 1;
  auto bound = process.start_grpc(listen_address, grpc_port, {&api});
  if (!bound) return log::error("cannot start", {{"error", bound.error().message}}), 1;
  log::info("auth started", {{"grpc_port", *bound}, {"http_port", http_port}});
  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  return 0;
}
