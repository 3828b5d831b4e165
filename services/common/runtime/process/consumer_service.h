// What every service that consumes the events topic into PostgreSQL shares (status,
// transactions, smart charging): where it listens, its database, its consumer group, its
// threads and log level, as flags; and opening its database with its own migrations.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/runtime/core/settings.h"
#include "common/runtime/kafka/consumer.h"
#include "common/runtime/sql/database.h"

namespace switchyard {

struct ConsumerServiceOptions {
  ConsumerServiceOptions(int grpc_port, int http_port, std::string consumer_group, int threads);

  // The shared flags; `grpc_api` says what the gRPC port serves ("switchyard.v1.Chargers").
  void add_to(Settings& settings, const std::string& grpc_api);

  std::string listen_address = "0.0.0.0";
  int grpc_port;
  int http_port;
  sql::PostgresOptions db;
  kafka::ConsumerConfig consumer;  // topics and client id are the service's to set
  std::string events_topic = "ocpp.events.v1";
  int threads;  // database work for gRPC calls
  std::string log_level = "info";
};

// PostgreSQL with `scope`'s migrations applied.
Result<std::unique_ptr<sql::Database>> open_service_database(
    const ConsumerServiceOptions& options, std::span<const sql::Migration> migrations,
    std::string_view scope, prometheus::Registry* metrics);

}  // namespace switchyard
