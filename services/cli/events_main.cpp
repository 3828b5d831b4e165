// switchyard-events: prints the ChargerEvents of a topic as JSON lines (proto3 JSON mapping), for
// operators and tests. Reads from the beginning in a fresh consumer group and stops when no event
// came for --idle-ms, or after --max events.
#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/kafka/consumer.h"
#include "switchyard/v1/events.pb.h"

using namespace switchyard;

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "ocpp.events.v1";
  std::string group;
  std::chrono::milliseconds idle{3000};
  std::int64_t max = 0;
  std::string charger;
  Settings settings("switchyard-events", "Print charger events from Kafka as JSON lines");
  settings.add("kafka-brokers", brokers, "Kafka bootstrap servers")
      .add("events-topic", topic, "Topic to read")
      .add("group", group, "Consumer group (default: a new one, reading from the beginning)")
      .add("idle-ms", idle, "Stop after this long without an event")
      .add("max", max, "Stop after this many events; 0 = no limit")
      .add("charger-id", charger, "Only this charger's events");
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("events", "", log::Level::kWarn);
  kafka::ConsumerConfig config;
  config.brokers = brokers;
  config.topics = {topic};
  config.group_id =
      group.empty()
          ? "switchyard-events-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())
          : group;
  auto consumer = kafka::Consumer::create(config, nullptr);
  if (!consumer) {
    std::cerr << consumer.error().message << "\n";
    return 2;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::int64_t printed = 0;
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last < idle && (max == 0 || printed < max)) {
    auto n = (*consumer)->poll_once([&](const kafka::Record& r) -> Result<void> {
      v1::ChargerEvent event;
      if (!event.ParseFromArray(r.value.data(), static_cast<int>(r.value.size()))) {
        std::cerr << "not a ChargerEvent at " << r.topic << "/" << r.partition << "@" << r.offset
                  << "\n";
        return {};
      }
      if (!charger.empty() && event.charger_id() != charger) return {};
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(event, &json, options);
      std::cout << json << "\n";
      ++printed;
      return {};
    });
    if (n && *n > 0) last = std::chrono::steady_clock::now();
  }
  std::cout.flush();
  return 0;
}
