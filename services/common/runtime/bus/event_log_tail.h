// The newest events of the event log, kept in memory by the writer after each commit, so a
// consumer in the same process that keeps up reads them there instead of from the segment files
// (a read from a file costs the reads and a copy of every record; at 30,000 events/s, four
// consumers reading the log's file took a quarter of the standalone's CPU). The
// tail holds one run of consecutive sequence numbers: a commit that does not follow on from the
// last (another process wrote to the file in between) starts it over, and the oldest commits go
// once it holds more than its byte budget. A consumer that fell behind it reads from the file.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace switchyard::bus::event_log {

struct TailEvent {
  std::int64_t seq = 0;
  std::string topic;
  std::string key;
  std::string value;
};
// The events of one commit, in sequence order without gaps.
using TailBatch = std::vector<TailEvent>;

class Tail {
 public:
  explicit Tail(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // Forgets every commit; `last` is the newest sequence number in the file (0: none).
  void reset(std::int64_t last);
  // The writer committed `batch` (not empty, consecutive sequence numbers).
  void append(std::shared_ptr<const TailBatch> batch);
  // The retention deleted every event before `first` from the file: the commits wholly before
  // it go here too, so a new consumer does not get from memory what the file no longer has.
  void forget_before(std::int64_t first);

  struct Snapshot {
    // The commits that hold events after the asked position, oldest first; they may also hold
    // events at or before it.
    std::vector<std::shared_ptr<const TailBatch>> batches;
    // The newest sequence number committed: every event up to it is in `batches` or before the
    // asked position.
    std::int64_t last = 0;
  };
  // Every event after `position`, when the tail holds them all (nothing between `position` and
  // the tail's oldest event is missing); nullopt when it does not.
  std::optional<Snapshot> after(std::int64_t position) const;
  // The newest sequence number committed through this tail (or in the file when it was reset).
  std::int64_t last() const;
  std::size_t bytes() const;

 private:
  static std::size_t size_of(const TailBatch& batch);

  mutable std::mutex mutex_;
  const std::size_t max_bytes_;
  struct Held {
    std::shared_ptr<const TailBatch> batch;
    std::size_t bytes;  // size_of(*batch)
  };
  std::deque<Held> batches_;
  std::size_t bytes_ = 0;
  std::int64_t last_ = 0;
  std::int64_t first_ = 1;  // the oldest event held; last_ + 1 when none is
};

}  // namespace switchyard::bus::event_log
