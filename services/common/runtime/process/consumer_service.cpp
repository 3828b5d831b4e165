// The shared flags and database start-up of the events-consuming services (see
// consumer_service.h).
#include "common/runtime/process/consumer_service.h"

namespace switchyard {

ConsumerServiceOptions::ConsumerServiceOptions(int grpc, int http, std::string consumer_group,
                                               int worker_threads)
    : grpc_port(grpc), http_port(http), threads(worker_threads) {
  consumer.group_id = std::move(consumer_group);
}

void ConsumerServiceOptions::add_to(Settings& settings, const std::string& grpc_api) {
  settings.add("listen-address", listen_address, "Address the gRPC and HTTP listeners bind")
      .add("grpc-port", grpc_port, "gRPC: " + grpc_api)
      .add("http-port", http_port, "HTTP side port: /metrics, /healthz, /readyz")
      .add_secret("postgres-url", db.url, "PostgreSQL connection URL")
      .add("postgres-schema", db.schema, "Schema (created if missing); empty = search_path default")
      .add("postgres-pool-size", db.pool_size, "PostgreSQL connections")
      .add("kafka-brokers", consumer.brokers, "Kafka bootstrap servers")
      .add("events-topic", events_topic, "Topic of the gateways' ChargerEvents")
      .add("consumer-group", consumer.group_id, "Kafka consumer group")
      .add("threads", threads, "Threads doing database work for gRPC calls")
      .add("log-level", log_level, "debug, info, warn or error");
}

Result<std::unique_ptr<sql::Database>> open_service_database(
    const ConsumerServiceOptions& options, std::span<const sql::Migration> migrations,
    std::string_view scope, prometheus::Registry* metrics) {
  auto db = sql::open_postgres(options.db, metrics);
  if (!db) return std::unexpected(db.error());
  if (auto m = sql::migrate(**db, migrations, scope); !m) return std::unexpected(m.error());
  return db;
}

}  // namespace switchyard
