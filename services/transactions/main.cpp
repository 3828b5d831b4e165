// switchyard-transactions: consume ocpp.events.v1 into transactions and CDRs (PostgreSQL),
// publish CDRs to csms.cdrs.v1, serve Transactions over gRPC until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "common/runtime/bus/kafka_event_consumer.h"
#include "common/runtime/bus/kafka_event_publisher.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/kafka/admin.h"
#include "common/runtime/process/process.h"
#include "transactions/authority.h"
#include "transactions/grpc_api.h"
#include "transactions/outbox.h"
#include "transactions/projector.h"
#include "transactions/store.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  std::string listen_address = "0.0.0.0";
  int grpc_port = 50072;
  int http_port = 8092;
  sql::PostgresOptions db_options;
  kafka::ConsumerConfig consumer_config;
  consumer_config.group_id = "switchyard-transactions";
  std::string events_topic = "ocpp.events.v1";
  transactions::ProjectorTopics topics;
  std::string auth_address = "127.0.0.1:50071";
  int threads = 8;
  std::string log_level = "info";
  Settings settings("switchyard-transactions",
                    "Switchyard transactions service: sessions, energy, tariffs and CDRs");
  settings.add("listen-address", listen_address, "Address the gRPC and HTTP listeners bind")
      .add("grpc-port", grpc_port, "gRPC: switchyard.v1.Transactions")
      .add("http-port", http_port, "HTTP side port: /metrics, /healthz, /readyz")
      .add_secret("postgres-url", db_options.url, "PostgreSQL connection URL")
      .add("postgres-schema", db_options.schema,
           "Schema (created if missing); empty = search_path default")
      .add("postgres-pool-size", db_options.pool_size, "PostgreSQL connections")
      .add("kafka-brokers", consumer_config.brokers, "Kafka bootstrap servers")
      .add("events-topic", events_topic, "Topic of the gateways' ChargerEvents")
      .add("consumer-group", consumer_config.group_id, "Kafka consumer group")
      .add("transactions-topic", topics.transactions, "Topic transaction updates are published to")
      .add("cdr-topic", topics.cdrs, "Topic CDRs are published to")
      .add("auth-address", auth_address, "Authorization service (host:port) for Decide")
      .add("threads", threads, "Threads doing database work for gRPC calls")
      .add("log-level", log_level, "debug, info, warn or error");
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("transactions", "", log::parse_level(log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };

  auto db = sql::open_postgres(db_options, &process.metrics());
  if (!db) return fail(db.error().message);
  if (auto m = sql::migrate(**db, transactions::migrations(), "transactions"); !m)
    return fail(m.error().message);

  for (const auto& topic : {topics.transactions, topics.cdrs}) {
    if (auto r = kafka::ensure_topic(consumer_config.brokers, {topic, 12, 1}); !r) {
      log::warn("could not ensure a topic (continuing)",
                {{"topic", topic}, {"error", r.error().message}});
    }
  }
  kafka::ProducerConfig producer_config;
  producer_config.brokers = consumer_config.brokers;
  producer_config.client_id = "transactions";
  auto producer = kafka::Producer::create(producer_config, &process.metrics());
  if (!producer) return fail(producer.error().message);
  bus::KafkaEventPublisher publisher(std::move(*producer));

  consumer_config.topics = {events_topic};
  consumer_config.client_id = "transactions";
  auto consumer = kafka::Consumer::create(consumer_config, &process.metrics());
  if (!consumer) return fail(consumer.error().message);
  bus::KafkaEventConsumer events(std::move(*consumer));

  std::shared_ptr<v1::Authorization::StubInterface> auth_stub = v1::Authorization::NewStub(
      grpc::CreateChannel(auth_address, grpc::InsecureChannelCredentials()));
  transactions::TransactionHub hub;
  transactions::Decider decider(**db, transactions::grpc_token_authority(auth_stub),
                                &process.metrics());
  transactions::Projector projector(**db, hub, topics, &process.metrics());
  transactions::Outbox outbox(**db, publisher, {}, &process.metrics());
  projector.on_commit([&outbox] { outbox.wake(); });
  WorkPool pool(threads);
  transactions::TransactionsApi api(**db, decider, hub, pool);

  process.http(listen_address, http_port);
  if (auto r = process.start_http(); !r) return fail(r.error().message);
  auto bound = process.start_grpc(listen_address, grpc_port, {&api});
  if (!bound) return fail(bound.error().message);
  outbox.start();
  std::jthread consuming([&](std::stop_token stop) {
    events.run([&](const bus::Event& e) { return projector.handle(e); }, std::move(stop));
  });
  log::info("transactions started",
            {{"grpc_port", *bound}, {"http_port", http_port}, {"events_topic", events_topic}});

  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  consuming.request_stop();
  consuming.join();
  outbox.stop();
  publisher.flush(std::chrono::seconds(5));
  return 0;
}
