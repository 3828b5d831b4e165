// switchyard-status: consume ocpp.events.v1 into charger state, connector status history and
// configuration (PostgreSQL); serve Chargers over gRPC until SIGTERM.
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/runtime/bus/kafka_event_consumer.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/process/consumer_service.h"
#include "common/runtime/process/process.h"
#include "status/grpc_api.h"
#include "status/projector.h"
#include "status/store.h"

using namespace switchyard;

int main(int argc, char** argv) {
  Process process;  // first: blocks the signals before any thread starts
  ConsumerServiceOptions options(50073, 8093, "switchyard-status", 8);
  Settings settings(
      "switchyard-status",
      "Switchyard status service: charger state, connector status history, configuration");
  options.add_to(settings, "switchyard.v1.Chargers");
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("status", "", log::parse_level(options.log_level));
  auto fail = [](const std::string& what) {
    log::error("cannot start", {{"error", what}});
    return 1;
  };

  auto db = open_service_database(options, status::migrations(), "status", &process.metrics());
  if (!db) return fail(db.error().message);

  auto& consumer_config = options.consumer;
  consumer_config.topics = {options.events_topic};
  consumer_config.client_id = "status";
  auto consumer = kafka::Consumer::create(consumer_config, &process.metrics());
  if (!consumer) return fail(consumer.error().message);
  bus::KafkaEventConsumer events(std::move(*consumer));

  status::StatusProjector projector(**db, &process.metrics());
  WorkPool pool(options.threads);
  status::ChargersApi api(**db, pool);

  process.http(options.listen_address, options.http_port);
  if (auto r = process.start_http(); !r) return fail(r.error().message);
  auto bound = process.start_grpc(options.listen_address, options.grpc_port, {&api});
  if (!bound) return fail(bound.error().message);
  std::jthread consuming([&](std::stop_token stop) {
    events.run([&](const bus::Event& e) { return projector.handle(e); },
               [&] { return projector.flush(); }, std::move(stop));
  });
  std::jthread pruning([&](const std::stop_token& stop) {
    // Processed event ids are kept longer than the topic's retention, then forgotten.
    while (!stop.stop_requested()) {
      const auto cutoff = std::chrono::system_clock::now() - std::chrono::hours(24 * 8);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count();
      if (auto n = status::prune_processed(**db, ms); n && *n > 0)
        log::info("pruned processed event ids", {{"rows", *n}});
      std::mutex m;
      std::unique_lock lock(m);
      std::condition_variable_any().wait_for(lock, stop, std::chrono::minutes(10),
                                             [] { return false; });
    }
  });
  log::info("status started", {{"grpc_port", *bound},
                               {"http_port", options.http_port},
                               {"events_topic", options.events_topic}});

  const int signal = process.wait_for_signal();
  log::info("signal received; stopping", {{"signal", signal}});
  process.shutdown_grpc();
  consuming.request_stop();
  pruning.request_stop();
  return 0;
}
