// The port through which services consume event topics: a Kafka consumer group in production, a
// durable SQLite log in standalone mode. Offsets are committed only after the handler processed
// the event (at-least-once); handlers are idempotent on the event id.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard::bus {

struct Event {
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// Success: processed (its offset may be committed). Error: delivered again after a pause.
using EventHandler = std::function<Result<void>(const Event&)>;

class EventConsumer {
 public:
  virtual ~EventConsumer() = default;
  // Handles what is available (waiting up to the poll timeout), commits, returns how many.
  virtual Result<std::size_t> poll_once(const EventHandler& handler) = 0;
  // Polls until `stop`; handler errors are logged and retried after a pause.
  virtual void run(const EventHandler& handler, std::stop_token stop) = 0;
};

}  // namespace switchyard::bus
