// The event bus of standalone mode: a durable log in a SQLite file. publish() returns once the
// event is committed to disk (group commit: every publish within a few milliseconds shares one
// transaction), so the durability rule holds without Kafka. Consumers read in order by topic,
// one committed position per (group, topic), like Kafka consumer groups. The newest commits also
// stay in memory (up to `tail_bytes`), where the consumers of this process that keep up read them.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/bus/event_publisher.h"

namespace prometheus {
class Registry;
}

namespace switchyard::bus {

class SqliteEventLog {
 public:
  static constexpr std::size_t kDefaultTailBytes = 8 << 20;

  // Opens (creating if needed) the log in `path`.
  static Result<std::unique_ptr<SqliteEventLog>> open(const std::string& path,
                                                      prometheus::Registry* metrics,
                                                      std::size_t tail_bytes = kDefaultTailBytes);
  virtual ~SqliteEventLog() = default;

  // Lives as long as the log; destroying the log commits what is queued and runs every callback.
  virtual EventPublisher& publisher() = 0;
  // A consumer of `topics` for `group`, starting after the group's committed position (at the
  // beginning for a new group). Every consumer of one group shares its position; consumers of
  // one group in this process take turns, so each event is handled once per group (barring a
  // failed position commit: at-least-once). Events of all its topics come in log order, at most
  // 500 per poll; Event::offset is the log's sequence number (increasing, shared by all
  // topics), Event::partition 0. The consumer has its own connection and may outlive the log.
  // poll_timeout bounds the wait for events published by another process.
  virtual Result<std::unique_ptr<EventConsumer>> consumer(
      const std::string& group, const std::vector<std::string>& topics,
      std::chrono::milliseconds poll_timeout = std::chrono::milliseconds(200)) = 0;
};

}  // namespace switchyard::bus
