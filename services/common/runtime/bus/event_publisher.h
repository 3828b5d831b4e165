// The port through which services publish events durably: Kafka in production, an in-process
// log in standalone mode. Implementations live next to this header.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard::bus {

// Runs once, on a publisher thread, when the event is durable (Kafka: acknowledged by all
// in-sync replicas) or when publishing failed for good. Must not block.
using PublishCallback = std::move_only_function<void(Result<void>)>;

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Events with the same key stay in order. A refused publish (e.g. a full queue) calls `done`
  // with the error at once.
  virtual void publish(std::string_view topic, std::string_view key, std::string_view value,
                       PublishCallback done) = 0;
  // Waits until every published event got its callback; false on timeout.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;
  // Events published and not yet durable.
  virtual std::size_t in_flight() const = 0;
  // Whether the bus answers now (Kafka: a broker answers a metadata request within `timeout`).
  // Blocks up to `timeout`: not for an I/O thread. An in-process log always answers.
  virtual Result<void> probe(std::chrono::milliseconds timeout) {
    (void)timeout;
    return {};
  }
};

}  // namespace switchyard::bus
