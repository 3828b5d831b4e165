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

  Result<std::size_t> poll_once(const EventHandler& handler) override {
    return consumer_->poll_once([&](const kafka::Record& r) {
      return handler(Event{r.topic, r.key, r.value, r.partition, r.offset});
    });
  }
  void run(const EventHandler& handler, std::stop_token stop) override {
    consumer_->run(
        [&](const kafka::Record& r) {
          return handler(Event{r.topic, r.key, r.value, r.partition, r.offset});
        },
        std::move(stop));
  }

 private:
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace switchyard::bus
