// EventConsumer on a Kafka consumer group.
#pragma once

#include <memory>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/kafka/consumer.h"

namespace switchyard::bus {

class KafkaEventConsumer final : public EventConsumer {
 public:
  explicit KafkaEventConsumer(std::unique_ptr<kafka::Consumer> consumer)
      : consumer_(std::move(consumer)) {}

  using EventConsumer::poll_once;
  using EventConsumer::run;

  Result<std::size_t> poll_once(const EventHandler& handler, const FlushHandler& flush) override {
    return consumer_->poll_once(
        [&](const kafka::Record& r) {
          return handler(Event{r.topic, r.key, r.value, r.partition, r.offset});
        },
        flush);
  }
  void run(const EventHandler& handler, const FlushHandler& flush, std::stop_token stop) override {
    consumer_->run(
        [&](const kafka::Record& r) {
          return handler(Event{r.topic, r.key, r.value, r.partition, r.offset});
        },
        flush, std::move(stop));
  }

 private:
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace switchyard::bus
