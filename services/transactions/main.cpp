// switchyard-transactions: consume ocpp.events.v1 into transactions and CDRs (PostgreSQL),
// publish CDRs to csms.cdrs.v1, serve Transactions over gRPC until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "common/runtime/bus/kafka_event_consumer.h"
#include "common/runtime/bus/kafka_event_publisher.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/kafka/admin.h"
#include "common/runtime/process/consumer_service.h"
#include "common/runtime/process/process.h"
#include "transactions/authority.h"
#include "transactions/grpc_api.h"
#include "transactions/outbox.h"
#include "transactions/projector.h"
#include "transactions/store.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  ConsumerServiceOptions options(50072, 8092, "switchyard-transactions", 8);
  transactions::ProjectorTopics topics;
  std::string auth_address = "127.0.0.1:50071";
  Settings settings("switchyard-transactions",
                    "Switchyard transactions service: sessions, energy, tariffs and CDRs");
  options.add_to(settings, "switchyard.v1.Transactions");
  settings
      .add("transactions-topic", topics.transactions, "Topic transaction updates are published to")
      .add("cdr-topic", topics.cdrs, "Topic CDRs are published to")
      .add("auth-address", auth_address, "Authorization service (host:port) for Decide");
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("transactions", "", log::parse_level(options.log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };

  auto db = open_service_database(options, transactions::migrations(), "transactions",
                                  &process.metrics());
  if (!db) return fail(db.error().message);
  auto& consumer_config = options.consumer;

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

  consumer_config.topics = {options.events_topic};
  consumer_config.client_id = "transactions";
  auto consumer = kafka::Consumer::create(consumer_config, &process.metrics());
  if (!consumer) return fail(consumer.error().message);
  bus::KafkaEventConsumer events(std::move(*consumer));

  std::shared_ptr<v1::Authorization::StubInterface> auth_stub =
      v1::Authorization::NewStub(service_channel(auth_address));
  transactions::TransactionHub hub;
  transactions::Decider decider(**db, transactions::grpc_token_authority(auth_stub),
                                &process.metrics());
  transactions::Projector projector(**db, hub, topics, &process.metrics());
  transactions::Outbox outbox(**db, publisher, {}, &process.metrics());
  projector.on_commit([&outbox] { outbox.wake(); });
  WorkPool pool(options.threads);
  transactions::TransactionsApi api(**db, decider, hub, pool);

  process.http(options.listen_address, options.http_port);
  if (auto r = process.start_http(); !r) return fail(r.error().message);
  auto bound = process.start_grpc(options.listen_address, options.grpc_port, {&api});
  if (!bound) return fail(bound.error().message);
  outbox.start();
  std::jthread consuming([&](std::stop_token stop) {
    events.run([&](const bus::Event& e) { return projector.handle(e); }, std::move(stop));
  });
  log::info("transactions started", {{"grpc_port", *bound},
                                     {"http_port", options.http_port},
                                     {"events_topic", options.events_topic}});

  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  consuming.request_stop();
  consuming.join();
  outbox.stop();
  publisher.flush(std::chrono::seconds(5));
  return 0;
}
