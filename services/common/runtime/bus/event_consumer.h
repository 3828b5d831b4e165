// The port through which services consume event topics: a Kafka consumer group in production, a
// durable log of segment files in standalone mode. Offsets are committed only after the handler
// processed the event (at-least-once); handlers are idempotent on the event id.
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
// Runs after the handler took the events of one poll and before their offsets are committed, so
// a handler may gather what those events change in memory and write it once per poll (one
// transaction instead of one per event). An error commits nothing of the poll: every event of it
// is delivered again.
using FlushHandler = std::function<Result<void>()>;

class EventConsumer {
 public:
  virtual ~EventConsumer() = default;
  // Handles what is available (waiting up to the poll timeout), flushes, commits, returns how
  // many. `flush` may be empty.
  virtual Result<std::size_t> poll_once(const EventHandler& handler, const FlushHandler& flush) = 0;
  // Polls until `stop`; handler and flush errors are logged and retried after a pause.
  virtual void run(const EventHandler& handler, const FlushHandler& flush,
                   std::stop_token stop) = 0;

  Result<std::size_t> poll_once(const EventHandler& handler) { return poll_once(handler, {}); }
  void run(const EventHandler& handler, std::stop_token stop) { run(handler, {}, std::move(stop)); }
};

}  // namespace switchyard::bus
