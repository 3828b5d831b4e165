// Kafka producer: idempotent, acks=all, one delivery callback per message. librdkafka stays in
// the .cpp so services never include it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace prometheus {
class Registry;
}

namespace switchyard::kafka {

// None: at fleet rates (a few hundred events a second, spread over the partitions) every event is
// a request of its own whatever the linger, and a linger only adds a wake-up of librdkafka's
// broker thread per event (the first event of an empty partition wakes it to set the timer, the
// timer wakes it to send). 1 ms batches more under saturation and costs the fleet a fifth more
// CPU (README, "Answers").
inline constexpr std::chrono::milliseconds kDefaultLinger{0};

struct ProducerConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string client_id = "switchyard";
  // How long librdkafka may wait to batch messages. Small: the charger waits for the ack.
  std::chrono::milliseconds linger = kDefaultLinger;
  // Upper bound from produce() to the delivery callback (librdkafka message.timeout.ms).
  std::chrono::milliseconds delivery_timeout{30000};
  // Local queue bound; produce() fails with RESOURCE_EXHAUSTED beyond it (back-pressure).
  int queue_max_messages = 200000;
  // Extra librdkafka properties, applied last (e.g. security.protocol).
  std::map<std::string, std::string> properties;
};

struct Delivery {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

// Runs exactly once per accepted message, on the producer's delivery thread (or where
// serve_deliveries() runs, after take_deliveries()): with the
// partition/offset once every in-sync replica has the message, or with an error
// (UNAVAILABLE, DEADLINE_EXCEEDED, ...) once librdkafka gave up. Must not block.
using DeliveryCallback = std::move_only_function<void(Result<Delivery>)>;

class Producer {
 public:
  // Connects lazily; fails only on invalid configuration.
  static Result<std::unique_ptr<Producer>> create(const ProducerConfig& config,
                                                  prometheus::Registry* metrics);
  virtual ~Producer() = default;

  // Queues one message. On success the callback will run later; on failure (queue full,
  // unknown topic, ...) it is not called and the error is returned here.
  virtual Result<void> produce(std::string_view topic, std::string_view key, std::string_view value,
                               DeliveryCallback callback) = 0;

  // Waits until every queued message got its callback; false on timeout.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;

  // Messages queued or in flight, not yet acknowledged.
  virtual std::size_t in_flight() const = 0;

  // Whether a broker answers now: a metadata request, waited for up to `timeout` (blocks; not
  // for an I/O thread). UNAVAILABLE or DEADLINE_EXCEEDED when none did.
  virtual Result<void> probe(std::chrono::milliseconds timeout) = 0;

  // Stops the delivery thread and returns a descriptor that is readable while callbacks wait;
  // the caller's event loop then calls serve_deliveries() (bus::EventPublisher's contract).
  // nullopt when the descriptor cannot be made (the delivery thread goes on) or was taken.
  virtual std::optional<int> take_deliveries() = 0;
  virtual void serve_deliveries() = 0;
};

}  // namespace switchyard::kafka
