// switchyard-standalone: the whole CSMS in one process for development, evaluation and small
// sites. Gateway, auth, transactions, status, smart charging and roaming (OCPI) share one SQLite
// database; events go through a durable log of segment files instead of Kafka (its consumer
// groups' positions in a SQLite file of their own), ownership through an in-process
// registry, and the services call each other over in-process gRPC channels, the same interfaces
// as distributed.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "auth/auth.h"
#include "auth/grpc_api.h"
#include "auth/sql_store.h"
#include "common/runtime/bus/event_log.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/status.h"
#include "common/runtime/process/process.h"
#include "common/runtime/registry/memory_owner_registry.h"
#include "gateway/gateway.h"
#include "gateway/peer_client.h"
#include "gateway/service_clients.h"
#include "roaming/roaming.h"
#include "roaming/schema.h"
#include "roaming/settings.h"
#include "roaming/tokens.h"
#include "smart_charging/bootstrap.h"
#include "smart_charging/charger_control_sender.h"
#include "smart_charging/charger_events.h"
#include "smart_charging/grpc_api.h"
#include "smart_charging/oscp.h"
#include "smart_charging/smart_charging.h"
#include "smart_charging/store.h"
#include "standalone/direct_auth.h"
#include "standalone/late_bound.h"
#include "status/grpc_api.h"
#include "status/projector.h"
#include "status/store.h"
#include "transactions/authority.h"
#include "transactions/grpc_api.h"
#include "transactions/outbox.h"
#include "transactions/projector.h"
#include "transactions/store.h"

using namespace switchyard;

namespace {

// Admissions and boots waiting for the auth service's threads: one per charger of a storm as
// large as the OCPP ports' accept queues (--listen-backlog's default).
constexpr std::size_t kAuthQueue = 65536;

int fail(const std::string& what) {
  log::error("cannot start", {{"error", what}});
  return 1;
}

}  // namespace

constexpr int kMaxRetentionHours = 876000;  // 100 years

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  gateway::GatewayConfig gw_config;
  gw_config.pod_id = "standalone";
  std::string listen_address = "0.0.0.0";
  int grpc_port = 50051;
  int http_port = 8080;
  std::string database = "switchyard.db";
  std::string event_log;
  int event_log_retention_hours = 168;
  auth::AuthConfig auth_config;
  auth_config.accept_unknown_chargers = true;  // a first try just works; the log says so
  auth::CertificateAuthorityConfig ca_config;
  auth::CertificateAuthorityConfig v2g_ca_config;
  v2g_ca_config.use = auth::CertificateUse::kV2g;
  int threads = 4;
  std::string log_level = "info";

  Settings settings(
      "switchyard-standalone",
      "Switchyard CSMS in one process: gateway, auth, transactions, status, smart charging and "
      "roaming (OCPI) on SQLite");
  settings.add("listen-address", listen_address, "Address the OCPP, gRPC and HTTP listeners bind")
      .add("grpc-port", grpc_port,
           "gRPC: every service (ChargerControl, Authorization, Transactions, Chargers, "
           "SmartCharging, Roaming)")
      .add("http-port", http_port, "HTTP side port: /metrics, /healthz, /readyz, OCPI under /ocpi")
      .add("database", database, "SQLite file of every service's tables (created if missing)")
      .add("event-log", event_log,
           "The event log: its consumers' positions in this SQLite file, its events in the "
           "directory <event-log>-segments (default: <database>-events)")
      .add("event-log-retention-hours", event_log_retention_hours,
           "A segment of the event log (64 MiB) is deleted once it was last written this long "
           "ago and every consumer has handled it (0: keep every event)")
      .add("accept-unknown-chargers", auth_config.accept_unknown_chargers,
           "Accept chargers that are not registered and register them (with a warning)")
      .add("heartbeat-interval", auth_config.default_heartbeat_interval_s,
           "Heartbeat interval given at boot (s)")
      .add("boot-policy", auth_config.default_boot_policy,
           "Boot answer for chargers without their own: Accept, Pending, Reject")
      .add("service-threads", threads, "Threads doing database work for gRPC calls")
      .add("log-level", log_level, "debug, info, warn or error");
  auth::add_settings(settings, ca_config);
  auth::add_settings(settings, v2g_ca_config);
  gateway::add_settings(settings, gw_config, gateway::SettingsScope::kEmbedded);
  smart_charging::ProfileSettings profiles;
  smart_charging::add_profile_settings(settings, profiles);
  smart_charging::ServiceSettings smart_settings;
  smart_charging::add_service_settings(settings, smart_settings);
  smart_charging::OscpOptions oscp;
  smart_charging::add_oscp_settings(settings, oscp);
  // --ocpi-base-url, --ocpi-country-code, --ocpi-party-id, --ocpi-business-name, --ocpi-timeout:
  // the same flags as switchyard-roaming's.
  roaming::OcpiSettings ocpi;
  roaming::add_ocpi_settings(settings, ocpi);
  roaming::add_oicp_settings(settings, ocpi.oicp);
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("standalone", gw_config.pod_id, log::parse_level(log_level));
  gateway::use_small_objects_for_openssl(gw_config);
  gw_config.listen_address = listen_address;
  gw_config.grpc_port = grpc_port;
  gw_config.http_port = http_port;
  if (auto checked = gateway::check_config(gw_config); !checked) {
    return fail(checked.error().message);
  }
  if (event_log.empty()) event_log = database + "-events";
  if (event_log_retention_hours < 0 || event_log_retention_hours > kMaxRetentionHours) {
    return fail("--event-log-retention-hours must be 0 (keep every event) to " +
                std::to_string(kMaxRetentionHours) + " (100 years), not " +
                std::to_string(event_log_retention_hours));
  }
  const std::string ocpi_default_url = roaming::ocpi_default_base_url(listen_address, http_port);
  ocpi.oicp.listen_address = listen_address;
  // Bad OCPI flags fail before anything touches the database.
  if (auto checked = roaming::checked_ocpi_settings(ocpi, ocpi_default_url); !checked)
    return fail(checked.error().message);
  if (auth_config.accept_unknown_chargers) {
    log::warn(
        "unknown chargers are accepted and registered on first connection "
        "(--accept-unknown-chargers=false to refuse them)");
  }

  auto ca = auth::CertificateAuthority::load(ca_config);
  if (!ca) return fail(ca.error().message);
  auto v2g_ca = auth::CertificateAuthority::load(v2g_ca_config);
  if (!v2g_ca) return fail(v2g_ca.error().message);

  auto& metrics = process.metrics();
  auto db = sql::open_sqlite(database, &metrics);
  if (!db) return fail(db.error().message);
  for (auto [scope, migrations] : {std::pair{"auth", auth::migrations()},
                                   std::pair{"transactions", transactions::migrations()},
                                   std::pair{"status", status::migrations()},
                                   std::pair{"smart_charging", smart_charging::migrations()},
                                   std::pair{"roaming", roaming::migrations()}}) {
    if (auto m = sql::migrate(**db, migrations, scope); !m)
      return fail(std::string(scope) + ": " + m.error().message);
  }
  bus::EventLog::Options log_options;
  log_options.retention = std::chrono::hours(event_log_retention_hours);
  auto log_store = bus::EventLog::open(event_log, &metrics, log_options);
  if (!log_store) return fail(log_store.error().message);
  bus::EventPublisher& publisher = (*log_store)->publisher();

  // auth
  auth::SqlAuthStore auth_store(**db);
  auth::AuthService auth_service(auth_config, auth_store, system_clock(), &metrics);
  auth_service.set_certificate_authority(std::move(*ca));
  auth_service.set_v2g_certificate_authority(std::move(*v2g_ca));
  WorkPool pool(threads);
  // Transactions' decisions call Authorize in process and wait for it: auth answers from its
  // own threads, or a few concurrent starts would take every thread and wait for each other.
  // Every connection's admission and boot queue here too: room for a whole reconnect storm (a
  // full queue refuses the upgrade with 503 and a Retry-After).
  WorkPool auth_pool(threads, kAuthQueue);

  // transactions
  transactions::TransactionHub hub;
  std::shared_ptr<v1::Authorization::Stub> auth_stub;  // set once the server runs
  std::atomic<v1::Authorization::Stub*> auth_for_transactions{nullptr};
  transactions::Decider decider(
      **db,
      [&auth_for_transactions](
          const v1::AuthorizeRequest& request) -> Result<v1::AuthorizeResponse> {
        auto* stub = auth_for_transactions.load();
        if (stub == nullptr) return make_error(ErrorCode::kUnavailable, "starting");
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        v1::AuthorizeResponse response;
        auto status = stub->Authorize(&context, request, &response);
        if (!status.ok())
          return make_error(from_grpc_code(status.error_code()), status.error_message());
        return response;
      },
      &metrics);
  transactions::Projector tx_projector(**db, hub, {}, &metrics);
  transactions::Outbox outbox(**db, publisher, {}, &metrics);
  tx_projector.on_commit([&outbox] { outbox.wake(); });
  transactions::TransactionsApi transactions_api(**db, decider, hub, pool);

  // status
  status::StatusProjector status_projector(**db, &metrics);
  status::ChargersApi chargers_api(**db, pool);

  // smart charging
  if (auto r = smart_charging::check_profile_settings(profiles); !r) return fail(r.error().message);
  if (auto r = smart_charging::check_service_settings(smart_settings); !r)
    return fail(r.error().message);
  standalone::LateBoundProfileSender profile_sender(profiles);
  smart_charging::SqlSiteStore site_store(**db);
  smart_charging::SmartChargingService smart(profile_sender, site_store, system_clock(),
                                             smart_settings, &metrics, &profile_sender,
                                             &profile_sender);
  if (auto loaded = smart.load(smart_charging::site_definition_from_json); !loaded)
    return fail(loaded.error().message);
  smart_charging::ChargerEvents smart_events_handler(smart, &metrics);
  smart_charging::SmartChargingApi smart_api(smart, pool);

  // roaming (OCPI 2.2.1 partners): its gRPC calls wait for partners (up to --ocpi-timeout), so
  // a pool of their own; a slow eMSP never holds the threads the other services answer with.
  WorkPool roaming_pool(threads);

  // gateway
  registry::MemoryOwnerRegistry owners;
  standalone::LateBoundDecisions decisions;
  standalone::LateBoundCredentials credentials;
  gateway::GrpcPeerGateway peers;  // one pod: never used
  gateway::Gateway gw(gw_config, {publisher, owners, decisions, credentials, peers}, metrics);

  auth::AuthorizationApi auth_api(auth_service, auth_pool, nullptr);
  std::atomic<bool> listening{false};
  process.health().add_readiness_check("standalone", [&listening]() -> std::optional<std::string> {
    if (!listening) return "starting";
    return std::nullopt;
  });
  auto& http = process.http(listen_address, http_port);
  auto grid = smart_charging::make_oscp_provider(
      std::move(oscp), smart_charging::oscp_own_url(listen_address, http_port), smart, http,
      system_clock(), &metrics, &**db);
  if (!grid) return fail(grid.error().message);
  auto roaming_service =  // OCPI under /ocpi on the HTTP port
      roaming::make_roaming_service(std::move(ocpi), ocpi_default_url, **db, roaming_pool, http,
                                    system_clock(), &metrics);
  if (!roaming_service) return fail(roaming_service.error().message);
  // Tokens the registry does not know may be a roaming partner's (OCPI tokens module).
  auth_service.set_roaming(
      [&service = **roaming_service](
          const std::string& id_token,
          const std::string& charger_id) -> Result<std::optional<auth::TokenDecision>> {
        auto d = service.authorize_token(id_token, charger_id);
        if (!d) return std::unexpected(d.error());
        if (!d->known) return std::optional<auth::TokenDecision>{};
        auth::TokenDecision decision;
        decision.status = d->status;
        decision.group_id = d->group_id;
        return std::optional<auth::TokenDecision>(std::move(decision));
      });
  if (auto r = process.start_http(); !r) return fail(r.error().message);
  if (*grid) (*grid)->start();
  std::vector<grpc::Service*> services = gw.grpc_services();
  services.insert(services.end(), {&auth_api, &transactions_api, &chargers_api, &smart_api,
                                   &(*roaming_service)->grpc_service()});
  auto bound = process.start_grpc(listen_address, grpc_port, services);
  if (!bound) return fail(bound.error().message);

  // In-process channels, now that the server runs.
  auto channel = process.grpc_server()->InProcessChannel(grpc::ChannelArguments());
  auth_stub = v1::Authorization::NewStub(channel);
  auth_for_transactions.store(auth_stub.get());
  // Admission and boots straight to the auth service; the rest through gRPC (direct_auth.h).
  decisions.bind(std::make_unique<standalone::DirectBootDecisions>(
      auth_service, auth_pool,
      std::make_unique<gateway::GrpcDecisions>(auth_stub, v1::Transactions::NewStub(channel))));
  credentials.bind(std::make_unique<standalone::DirectCredentials>(auth_service, auth_pool));
  auto control_stub = v1::ChargerControl::NewStub(channel);
  (*roaming_service)->set_gateway_channel(channel);         // the eMSPs' commands
  (*roaming_service)->set_transactions_channel(channel);    // tariffs
  (*roaming_service)->set_smart_charging_channel(channel);  // the eMSPs' charging profiles
  auth_api.set_charger_control(control_stub.get());
  profile_sender.bind(
      std::make_unique<smart_charging::ChargerControlSender>(channel, profile_sender.settings()));
  if (auto known =
          smart_charging::bootstrap_facts(channel, channel, smart, std::chrono::seconds(10));
      !known) {
    log::error("smart charging: facts at start unknown", {{"error", known.error().message}});
  }

  auto tx_events = (*log_store)->consumer("switchyard-transactions", {gw_config.events_topic});
  auto status_events = (*log_store)->consumer("switchyard-status", {gw_config.events_topic});
  if (!tx_events) return fail(tx_events.error().message);
  if (!status_events) return fail(status_events.error().message);
  auto smart_events = (*log_store)->consumer("switchyard-smart-charging", {gw_config.events_topic});
  if (!smart_events) return fail(smart_events.error().message);
  // Roaming follows the charger events and the transaction updates and CDRs (roaming drivers).
  const transactions::ProjectorTopics tx_topics;
  auto roaming_events =
      (*log_store)
          ->consumer("switchyard-roaming",
                     {gw_config.events_topic, tx_topics.transactions, tx_topics.cdrs});
  if (!roaming_events) return fail(roaming_events.error().message);
  outbox.start();
  std::jthread tx_consuming([&](std::stop_token stop) {
    (*tx_events)->run([&](const bus::Event& e) { return tx_projector.handle(e); }, std::move(stop));
  });
  std::jthread status_consuming([&](std::stop_token stop) {
    (*status_events)
        ->run([&](const bus::Event& e) { return status_projector.handle(e); },
              [&] { return status_projector.flush(); }, std::move(stop));
  });

  std::jthread smart_consuming([&](std::stop_token stop) {
    (*smart_events)
        ->run([&](const bus::Event& e) { return smart_events_handler.handle(e); }, std::move(stop));
  });
  std::jthread smart_driving([&](const std::stop_token& stop) { smart.run(stop); });
  (*roaming_service)->start();  // pushes to partners
  std::jthread roaming_consuming([&](std::stop_token stop) {
    (*roaming_events)
        ->run([&](const bus::Event& e) { return (*roaming_service)->handle_event(e); },
              [&] { return (*roaming_service)->flush_events(); }, std::move(stop));
  });

  if (auto r = gw.start(); !r) return fail(r.error().message);
  listening = true;
  log::info("standalone started", {{"ws_port", gw.ws_port()},
                                   {"wss_port", gw.wss_port()},
                                   {"grpc_port", *bound},
                                   {"http_port", http_port},
                                   {"ocpi_versions_url", (*roaming_service)->versions_url()},
                                   {"database", std::filesystem::absolute(database).string()}});

  const int signal = process.wait_for_signal();
  log::info("signal received; draining", {{"signal", signal}});
  process.health().set_draining(true);
  gw.drain();
  process.shutdown_grpc();
  // Admissions and boots still queued answer the gateway, which must still be there.
  auth_pool.close_and_drain();
  if (*grid) (*grid)->stop();
  process.stop_http();
  gw.stop();
  tx_consuming.request_stop();
  status_consuming.request_stop();
  smart_consuming.request_stop();
  smart_driving.request_stop();
  roaming_consuming.request_stop();
  tx_consuming.join();
  status_consuming.join();
  smart_consuming.join();
  smart_driving.join();
  roaming_consuming.join();
  (*roaming_service)->stop();
  outbox.stop();
  log::info("standalone stopped");
  return 0;
}
