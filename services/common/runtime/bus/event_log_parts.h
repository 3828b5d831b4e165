// The pieces of the event log (internal to the bus library): what the publisher's writer thread
// and the consumers share, and the factories event_log.cpp wires together.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/bus/event_log.h"
#include "common/runtime/bus/event_log_tail.h"
#include "common/runtime/bus/event_publisher.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::bus::segments {
class Segments;
}

namespace switchyard::bus::event_log {

// The directory of the segment files of the log whose positions are in the SQLite file `path`.
inline std::string segments_dir(const std::string& path) { return path + "-segments"; }

// switchyard_bus_published_total, switchyard_bus_log_events, switchyard_bus_log_bytes,
// switchyard_bus_consumer_lag_events{group},
// switchyard_bus_consumed_total{group, source="memory|file"},
// switchyard_bus_positions_saved_total{group}, switchyard_bus_log_segments_deleted_total,
// switchyard_bus_log_commit_seconds; all null without a registry.
struct Metrics {
  explicit Metrics(prometheus::Registry* registry);
  prometheus::Counter* published = nullptr;
  prometheus::Gauge* log_events = nullptr;
  prometheus::Gauge* log_bytes = nullptr;
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  prometheus::Family<prometheus::Counter>* consumed = nullptr;
  prometheus::Family<prometheus::Counter>* positions_saved = nullptr;
  prometheus::Counter* segments_deleted = nullptr;
  prometheus::Histogram* commit_seconds = nullptr;
  void set_lag(const std::string& group, std::int64_t events);
  // The counter of events `group` took from `source` (null without a registry).
  prometheus::Counter* consumed_from(const std::string& group, const char* source);
  // The counter of `group`'s saves of its positions to the SQLite file (null without a registry).
  prometheus::Counter* positions_saved_by(const std::string& group);
};

// A consumer group of this process. Its consumers take turns under `lock`, so its positions move
// forward exactly once per event even with several consumer objects. Its committed positions
// (topic → the last event handled) live here, read from the SQLite file at the group's first
// poll; a consumer writes them to the file at most every few hundred milliseconds and when it
// goes, so a quiet log does not pay a SQLite transaction per event and group.
struct Group {
  std::mutex lock;
  bool loaded = false;
  std::map<std::string, std::int64_t, std::less<>> committed;
  bool unsaved = false;  // committed moved since the file was last written
  std::chrono::steady_clock::time_point saved_at{};
};

// Shared by the log, its publisher and every consumer (a consumer may outlive the log).
class Shared {
 public:
  Shared(std::string file, prometheus::Registry* registry, const EventLog::Options& settings)
      : path(std::move(file)), options(settings), metrics(registry), tail(settings.tail_bytes) {}

  // The writer committed a batch: wakes consumers waiting for events.
  void notify_commit();
  std::uint64_t commits() const;
  // Waits until a commit after `seen`, the timeout, or `stop`; true when something committed.
  bool wait_for_commit(std::uint64_t seen, std::chrono::milliseconds timeout, std::stop_token stop);
  // The group of that name (made at its first consumer; lives as long as this).
  Group& group(const std::string& name);
  // Held by a consumer while it saves its group's positions to the SQLite file. SQLite's own
  // lock makes a second writer sleep and retry in steps of 1 to 25 ms; waiting here wakes it the
  // moment the first one commits.
  std::mutex& write_lock() { return write_lock_; }

  // The mark of the consumers of `group` reading `topics`, which each moves on after its polls:
  // every event of the log up to it is handled as far as they are concerned (-1 from here until
  // the consumer's first poll). The retention never deletes an event past the lowest mark. A mark
  // stays when its consumer goes, at what it had handled, so a group that stopped first at
  // shutdown (or one that comes again) keeps its events until the log closes.
  std::shared_ptr<std::atomic<std::int64_t>> add_reader(const std::string& group,
                                                        const std::vector<std::string>& topics);
  // The lowest mark; -1 (nothing may go) before any consumer came.
  std::int64_t handled_by_every_reader() const;

  const std::string path;  // the SQLite file of the positions
  const EventLog::Options options;
  Metrics metrics;
  // The events, set once by make_publisher() before any consumer exists.
  std::shared_ptr<segments::Segments> segments;
  // The newest commits, appended by the writer before it announces them.
  Tail tail;

 private:
  mutable std::mutex mutex_;
  std::condition_variable_any committed_;
  std::uint64_t commits_ = 0;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<std::string, std::shared_ptr<std::atomic<std::int64_t>>> readers_;
  std::mutex write_lock_;
};

// Opens the writer's connection (creating the schema when missing) and starts its thread.
Result<std::unique_ptr<EventPublisher>> make_publisher(std::shared_ptr<Shared> shared);

// A consumer on its own connection.
Result<std::unique_ptr<EventConsumer>> make_consumer(std::shared_ptr<Shared> shared,
                                                     const std::string& group,
                                                     const std::vector<std::string>& topics,
                                                     std::chrono::milliseconds poll_timeout);

}  // namespace switchyard::bus::event_log
