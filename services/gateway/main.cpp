// switchyard-gateway: parse settings, build the Kafka / Redis adapters, run a gateway pod until
// SIGTERM, then drain. `switchyard-gateway hash-password` prints a credential hash for a password
// read from stdin.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/registry.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <iostream>
#include <optional>

#include "common/runtime/bus/kafka_event_publisher.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/callback_polling.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/http/health.h"
#include "common/runtime/http/server.h"
#include "common/runtime/kafka/admin.h"
#include "common/runtime/process/process.h"
#include "common/runtime/redis/client.h"
#include "common/runtime/registry/redis_owner_registry.h"
#include "common/runtime/registry/redis_pod_directory.h"
#include "gateway/builtin_decisions.h"
#include "gateway/credentials.h"
#include "gateway/gateway.h"
#include "gateway/peer_client.h"
#include "gateway/service_clients.h"

using namespace switchyard;

namespace {

int fail(const std::string& what) {
  log::error("cannot start", {{"error", what}});
  return 1;
}

std::pair<std::string, int> host_port(const std::string& address, int default_port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, default_port};
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "hash-password") {
    std::string password;
    std::getline(std::cin, password);
    std::cout << hash_password(password) << "\n";
    return 0;
  }
  gateway::GatewayConfig config;
  Settings settings("switchyard-gateway", "Switchyard gateway pod: OCPP 1.6J/2.0.1/2.1 front door");
  gateway::add_settings(settings, config);
  if (auto code = settings.parse(argc, argv)) return *code;
  if (config.pod_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    config.pod_id = host;
  }
  if (config.advertise_address.empty())
    config.advertise_address = "127.0.0.1:" + std::to_string(config.grpc_port);
  log::init("gateway", config.pod_id, log::parse_level(config.log_level));
  gateway::use_small_objects_for_openssl(config);
  if (auto checked = gateway::check_config(config); !checked) {
    log::error("cannot start", {{"error", checked.error().message}});
    return 1;
  }

  // Signals are waited for on this thread; every other thread inherits the mask.
  // A charger gone while we write (OpenSSL writes the socket itself: a TLS 1.3 session ticket to
  // a client that closed right after its handshake) is EPIPE there, never the end of the pod.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  prometheus::Registry metrics;
  http::Health health;
  // Ready once the OCPP and gRPC ports listen, until the drain. Kafka and Redis are shared by
  // every pod: their outages show in metrics and logs, not in readiness (taking every pod out of
  // the load balancer at once would only add a reconnect storm to the outage), unless this pod
  // alone lost them (the "dependencies" check below).
  std::atomic<bool> listening{false};
  health.add_readiness_check("gateway", [&listening]() -> std::optional<std::string> {
    if (!listening) return "starting";
    return std::nullopt;
  });
  http::ServerConfig http_config;
  http_config.address = config.listen_address;
  http_config.port = config.http_port;
  http::Server http_server(http_config);
  http::add_observability_routes(http_server, metrics, health);
  if (auto r = http_server.start(); !r) return fail(r.error().message);

  if (auto r = kafka::ensure_topic(config.kafka_brokers,
                                   {config.events_topic, config.events_topic_partitions, 1});
      !r) {
    log::warn("could not ensure the events topic (continuing: the broker may create it)",
              {{"topic", config.events_topic}, {"error", r.error().message}});
  }
  kafka::ProducerConfig kafka_config;
  kafka_config.brokers = config.kafka_brokers;
  kafka_config.client_id = "gateway-" + config.pod_id;
  kafka_config.delivery_timeout = config.publish_timeout;
  kafka_config.linger = config.kafka_linger;
  auto producer = kafka::Producer::create(kafka_config, &metrics);
  if (!producer) return fail(producer.error().message);
  bus::KafkaEventPublisher publisher(std::move(*producer));

  redis::Config redis_config;
  std::tie(redis_config.host, redis_config.port) = host_port(config.redis_address, 6379);
  redis_config.password = config.redis_password;
  auto redis = redis::Client::create(redis_config, &metrics);
  registry::RedisOwnerRegistry owners(*redis, config.redis_prefix, config.owner_ttl);
  registry::RedisPodDirectory pods(*redis, config.redis_prefix);

  // Decisions and admissions: the auth and transactions services when configured, else the
  // built-in policy and the credentials file.
  std::unique_ptr<gateway::DecisionService> decisions;
  std::unique_ptr<gateway::CredentialStore> credentials;
  std::shared_ptr<v1::Authorization::Stub> auth;
  if (!config.auth_address.empty()) {
    auth = v1::Authorization::NewStub(service_channel(config.auth_address));
    credentials = std::make_unique<gateway::GrpcCredentialStore>(auth, config.service_timeout);
  } else {
    std::unordered_map<std::string, gateway::ChargerCredential> chargers;
    if (!config.credentials_file.empty()) {
      auto read = gateway::FileCredentialStore::read(config.credentials_file);
      if (!read) return fail(read.error().message);
      chargers = std::move(*read);
    }
    credentials = std::make_unique<gateway::FileCredentialStore>(std::move(chargers),
                                                                 config.unknown_charger_profile);
  }
  if (!config.auth_address.empty() && !config.transactions_address.empty()) {
    decisions = std::make_unique<gateway::GrpcDecisions>(
        auth, v1::Transactions::NewStub(service_channel(config.transactions_address)),
        config.service_timeout);
  } else {
    if (!config.auth_address.empty() || !config.transactions_address.empty()) {
      return fail("--auth-address and --transactions-address go together (decisions need both)");
    }
    std::unordered_set<std::string> tokens;
    if (!config.accepted_tokens_file.empty()) {
      auto read = gateway::BuiltinDecisions::read_tokens(config.accepted_tokens_file);
      if (!read) return fail(read.error().message);
      tokens = std::move(*read);
    }
    decisions = std::make_unique<gateway::BuiltinDecisions>(
        config.heartbeat_interval_s, std::move(tokens),
        gateway::redis_transaction_ids(*redis, config.redis_prefix + "tx16:next"));
  }
  log::info("decisions", {{"by", config.auth_address.empty() ? "built-in policy"
                                                             : "auth and transactions services"},
                          {"auth", config.auth_address},
                          {"transactions", config.transactions_address}});
  gateway::GrpcPeerGateway peers;

  gateway::Gateway gw(config, {publisher, owners, *decisions, *credentials, peers, &pods}, metrics);
  // A pod cut off from Kafka or Redis while a peer is not fences itself: then it is not ready.
  health.add_readiness_check("dependencies", [&gw]() -> std::optional<std::string> {
    std::string reason = gw.fenced_reason();
    if (reason.empty()) return std::nullopt;
    return reason;
  });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config.listen_address + ":" + std::to_string(config.grpc_port),
                           grpc::InsecureServerCredentials(), &grpc_port);
  for (auto* service : gw.grpc_services()) builder.RegisterService(service);
  ServiceHealth service_health;
  service_health.attach(builder);
  auto grpc_server = builder.BuildAndStart();
  if (!grpc_server || grpc_port == 0) {
    return fail("cannot listen for gRPC on " + config.listen_address + ":" +
                std::to_string(config.grpc_port));
  }
  service_health.serving(*grpc_server);
  // gRPC's callback pollers kept polling while the pod is idle (callback_polling.h).
  std::optional<CallbackPolling> polling(std::in_place, *grpc_server);
  if (auto r = gw.start(); !r) return fail(r.error().message);
  listening = true;
  log::info("gateway started", {{"grpc_port", grpc_port}, {"http_port", http_server.port()}});

  int signal = 0;
  sigwait(&signals, &signal);
  log::info("signal received; draining", {{"signal", signal}});
  health.set_draining(true);
  gw.drain();
  polling.reset();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  gw.stop();
  http_server.stop();
  log::info("gateway stopped");
  return 0;
}
