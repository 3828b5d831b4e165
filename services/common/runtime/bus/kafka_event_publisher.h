// EventPublisher on the idempotent, acks=all Kafka producer.
#pragma once

#include <memory>

#include "common/runtime/bus/event_publisher.h"
#include "common/runtime/kafka/producer.h"

namespace switchyard::bus {

class KafkaEventPublisher final : public EventPublisher {
 public:
  explicit KafkaEventPublisher(std::unique_ptr<kafka::Producer> producer)
      : producer_(std::move(producer)) {}

  void publish(std::string_view topic, std::string_view key, std::string_view value,
               PublishCallback done) override {
    // The producer either takes the callback (called later) or returns the error now.
    auto shared = std::make_shared<PublishCallback>(std::move(done));
    auto r = producer_->produce(topic, key, value, [shared](Result<kafka::Delivery> d) {
      (*shared)(d ? Result<void>{} : Result<void>(std::unexpected(d.error())));
    });
    if (!r) (*shared)(std::unexpected(r.error()));
  }

  bool flush(std::chrono::milliseconds timeout) override { return producer_->flush(timeout); }
  std::size_t in_flight() const override { return producer_->in_flight(); }
  Result<void> probe(std::chrono::milliseconds timeout) override {
    return producer_->probe(timeout);
  }
  std::optional<int> take_deliveries() override { return producer_->take_deliveries(); }
  void serve_deliveries() override { producer_->serve_deliveries(); }

 private:
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace switchyard::bus
