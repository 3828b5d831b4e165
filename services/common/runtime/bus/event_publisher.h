// The port through which services publish events durably: Kafka in production, an in-process
// log in standalone mode. Implementations live next to this header.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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

  // Callbacks run on a thread of the publisher's. One with an event loop can take them over, so
  // that an acknowledgement does not wake a thread of the publisher's and then the loop's: from
  // now on the publisher only marks the returned descriptor readable (level-triggered: it stays
  // so until served), and the loop calls serve_deliveries() on it. nullopt: this publisher
  // cannot (its callbacks stay where they are; the standalone's event log's run on its writer
  // thread). flush() still runs waiting callbacks on the thread that calls it.
  virtual std::optional<int> take_deliveries() { return std::nullopt; }
  // Runs the callbacks waiting now; after take_deliveries(), when its descriptor is readable.
  virtual void serve_deliveries() {}
};

}  // namespace switchyard::bus
