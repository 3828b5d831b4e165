// The event bus of standalone mode: a durable log of segment files (log_segments.h) in the
// directory `<path>-segments`, with the consumer groups' positions in the SQLite file `path`.
// publish() returns once the event is on disk (group commit: every publish that arrives while a
// batch is written shares the next write and fdatasync), so the durability rule holds without
// Kafka. Consumers read in order by topic, one committed position per (group, topic), like Kafka
// consumer groups. The newest commits also stay in memory (up to `tail_bytes`), where the
// consumers of this process that keep up read them. One process writes a log at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/bus/event_publisher.h"

namespace prometheus {
class Registry;
}

namespace switchyard::bus {

class EventLog {
 public:
  static constexpr std::size_t kDefaultTailBytes = 8 << 20;

  struct Options {
    std::size_t tail_bytes = kDefaultTailBytes;  // the newest commits kept in memory
    std::int64_t segment_bytes = std::int64_t{64} << 20;
    // Retention: a segment goes once its file was last written longer ago than this and every
    // consumer running in this process has handled all of its events (a group that does not run
    // is not waited for, as with Kafka's retention); never the newest segment. 0: keep every
    // event. Checked every `retention_check` by the writer thread, between batches.
    std::chrono::milliseconds retention{0};
    std::chrono::milliseconds retention_check{std::chrono::minutes(1)};
  };

  // Opens (creating if needed) the log in `path`.
  static Result<std::unique_ptr<EventLog>> open(const std::string& path,
                                                prometheus::Registry* metrics, Options options);
  static Result<std::unique_ptr<EventLog>> open(const std::string& path,
                                                prometheus::Registry* metrics) {
    return open(path, metrics, Options{});
  }
  virtual ~EventLog() = default;

  // Lives as long as the log; destroying the log commits what is queued and runs every callback.
  virtual EventPublisher& publisher() = 0;
  // A consumer of `topics` for `group`, starting after the group's committed position (at the
  // beginning for a new group). Every consumer of one group shares its position; consumers of
  // one group in this process take turns, so each event is handled once per group (barring a
  // failed position commit: at-least-once). Events of all its topics come in log order, at most
  // 500 per poll; Event::offset is the log's sequence number (increasing, shared by all
  // topics), Event::partition 0. The consumer has its own connection and may outlive the log,
  // but it keeps the segment files open and with them the log's lock: the log opens again only
  // once its consumers are gone too. poll_timeout bounds a poll's wait for a commit.
  virtual Result<std::unique_ptr<EventConsumer>> consumer(
      const std::string& group, const std::vector<std::string>& topics,
      std::chrono::milliseconds poll_timeout = std::chrono::milliseconds(200)) = 0;
};

}  // namespace switchyard::bus
