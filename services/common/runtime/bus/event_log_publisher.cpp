// The event log's publisher: publish() queues, one writer thread appends what is queued to the
// log's segment files with one write and one fdatasync (group commit) and then runs the
// callbacks of that batch. An idle writer commits the first event at once (its charger is waiting
// for the acknowledgement), and what arrives during a commit forms the next batch, so batches grow
// with the load by themselves. Only after a large batch does the writer linger, and only while
// events keep coming: until as many are queued as the last batch held (in the steady state, the
// chargers of that batch have all sent their next message), or no new event came for a step, or at
// most kBusyLinger. One fsync then serves a whole round of chargers, and a charger never waits for
// arrivals that the load cannot bring (a fixed linger would cost every event the whole wait).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <deque>
#include <optional>
#include <thread>

#include "common/runtime/bus/event_log_parts.h"
#include "common/runtime/bus/log_segments.h"
#include "common/runtime/bus/sqlite_file.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"

namespace switchyard::bus::event_log {
namespace {

constexpr size_t kMaxBatch = 1000;  // events per commit at most
constexpr size_t kBusyBatch = 64;   // a batch this large means the log is busy: linger next time
constexpr auto kBusyLinger = std::chrono::milliseconds(2);
constexpr auto kLingerStep = std::chrono::microseconds(250);  // no new event for this long: go
// Past this many queued events publish() refuses instead of growing memory without bound.
constexpr size_t kMaxQueued = 100000;
static_assert(EventLog::Options{}.segment_bytes == segments::Segments::kDefaultSegmentBytes,
              "the log's default segment size is the segments' own");
// Segments the retention deletes at most in one pass between two batches (1 GiB by default).
constexpr size_t kRetentionSegmentsPerPass = 16;

// The SQLite file keeps the consumer groups' positions. Events were rows of an `events` table
// there before they went to segment files (a B-tree insert cost 5 µs per event, a segment
// append under 1 µs: tests/bench/event_log_bench); a file that still has the table has its rows
// moved to the segments, numbers kept, when the log opens.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS positions ("
    " consumer_group TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (consumer_group, topic)) WITHOUT ROWID;";
constexpr int kImportChunk = 1000;  // rows per append while moving the table to segments

struct Pending {
  std::string topic;
  std::string key;
  std::string value;
  PublishCallback done;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LogPublisher final : public EventPublisher {
 public:
  explicit LogPublisher(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
    writer_ = std::thread([this] {
      name_this_thread("log-writer");
      write_loop();
    });
  }

  // Commits what is still queued (every callback runs) before the connection closes.
  ~LogPublisher() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    writer_.join();
  }

  void publish(std::string_view topic, std::string_view key, std::string_view value,
               PublishCallback done) override {
    if (topic.size() + key.size() + value.size() > segments::kMaxRecordBytes) {
      done(make_error(
          ErrorCode::kInvalidArgument,
          "event log: an event of " + std::to_string(topic.size() + key.size() + value.size()) +
              " bytes is over the limit of " + std::to_string(segments::kMaxRecordBytes)));
      return;
    }
    std::unique_lock lock(mutex_);
    if (stopping_ || queue_.size() >= kMaxQueued) {
      const bool closed = stopping_;
      lock.unlock();
      done(closed ? make_error(ErrorCode::kUnavailable, "event log: closed")
                  : make_error(ErrorCode::kResourceExhausted, "event log: queue full"));
      return;
    }
    queue_.push_back(
        Pending{std::string(topic), std::string(key), std::string(value), std::move(done)});
    ++in_flight_;
    // The writer waits for the first event, or for the batch it lingers for.
    const bool wake = queue_.size() == 1 || queue_.size() >= wake_at_;
    lock.unlock();
    if (wake) work_.notify_one();
  }

  bool flush(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
  }

  std::size_t in_flight() const override {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }

 private:
  void write_loop() {
    for (;;) {
      auto batch = next_batch();
      if (!batch) return;
      if (retention_due_ && Clock::now() >= *retention_due_) apply_retention();
      if (batch->empty()) continue;  // woke for the retention
      const auto started = Clock::now();
      auto committed = commit(*batch);
      if (committed && shared_->metrics.commit_seconds) {
        shared_->metrics.commit_seconds->Observe(
            std::chrono::duration<double>(Clock::now() - started).count());
      }
      finish(*batch, committed);
    }
  }

  using Clock = std::chrono::steady_clock;

  // Waits for events (or the retention's next turn) and takes what is queued, up to kMaxBatch.
  // Nullopt: stop.
  std::optional<std::vector<Pending>> next_batch() {
    std::unique_lock lock(mutex_);
    const auto ready = [&] { return !queue_.empty() || stopping_; };
    if (retention_due_) {
      work_.wait_until(lock, *retention_due_, ready);
    } else {
      work_.wait(lock, ready);
    }
    if (queue_.empty()) {
      if (stopping_) return std::nullopt;
      return std::vector<Pending>{};
    }
    if (last_batch_ >= kBusyBatch) {
      linger(lock);
    } else {
      // The publisher's notify may have put the writer on the CPU in the middle of the I/O
      // thread's round of sockets; yielding once lets that round queue its events into this
      // batch. Where nothing else is runnable (an idle pod, a core of its own) it returns at
      // once. On one shared core it took batches from ~9 to ~14 events at saturation and
      // the writer's CPU per event from 3.0 to 1.8 µs.
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    const auto end =
        queue_.begin() + static_cast<std::ptrdiff_t>(std::min(queue_.size(), kMaxBatch));
    std::vector<Pending> batch(std::make_move_iterator(queue_.begin()),
                               std::make_move_iterator(end));
    queue_.erase(queue_.begin(), end);
    last_batch_ = batch.size();
    return batch;
  }

  // Waits for as many events as the last batch held, while they keep coming (see the top).
  void linger(std::unique_lock<std::mutex>& lock) {
    const auto deadline = Clock::now() + kBusyLinger;
    wake_at_ = std::min(last_batch_, kMaxBatch);
    std::size_t seen = queue_.size();
    while (!stopping_ && queue_.size() < wake_at_) {
      const auto step_end = std::min(deadline, Clock::now() + kLingerStep);
      work_.wait_until(lock, step_end, [&] { return queue_.size() >= wake_at_ || stopping_; });
      if (queue_.size() == seen || Clock::now() >= deadline) break;
      seen = queue_.size();
    }
    wake_at_ = kMaxBatch;
  }

  // Deletes the segments past the retention whose events every consumer of this process has
  // handled (Segments::drop_before()); the writer's thread, between batches.
  void apply_retention() {
    const EventLog::Options& o = shared_->options;
    retention_due_ = Clock::now() + o.retention_check;
    auto& log = *shared_->segments;
    const std::int64_t handled = shared_->handled_by_every_reader();
    auto dropped = log.drop_before(handled, std::chrono::system_clock::now() - o.retention,
                                   kRetentionSegmentsPerPass);
    if (!dropped) {
      log::error("event log retention failed", {{"error", dropped.error().message}});
      return;
    }
    if (dropped->segments == 0) return;
    // A log that is far past its retention (the first start with it) goes a few segments a
    // second, not in one stall of the writer.
    if (dropped->segments == kRetentionSegmentsPerPass)
      retention_due_ = Clock::now() + std::chrono::seconds(1);
    shared_->tail.forget_before(log.first_seq());
    if (shared_->metrics.segments_deleted)
      shared_->metrics.segments_deleted->Increment(static_cast<double>(dropped->segments));
    if (shared_->metrics.log_events)
      shared_->metrics.log_events->Set(static_cast<double>(log.last_seq() - log.first_seq() + 1));
    if (shared_->metrics.log_bytes)
      shared_->metrics.log_bytes->Set(static_cast<double>(log.bytes()));
    log::info("event log: deleted segments past the retention",
              {{"segments", static_cast<std::int64_t>(dropped->segments)},
               {"events", dropped->records},
               {"bytes", dropped->bytes},
               {"first_seq", log.first_seq()},
               {"retention_hours",
                std::chrono::duration<double, std::ratio<3600>>(o.retention).count()}});
  }

  // Appends the batch durably; the sequence number of its first event.
  Result<std::int64_t> commit(const std::vector<Pending>& batch) {
    entries_.clear();
    const std::int64_t at = now_ms();
    for (const Pending& p : batch) entries_.push_back(segments::Entry{p.topic, p.key, p.value, at});
    return shared_->segments->append(entries_);
  }

  // Counts the commit, hands its events to the tail and announces it, then runs every callback
  // of the batch.
  void finish(std::vector<Pending>& batch, const Result<std::int64_t>& committed) {
    Result<void> outcome;
    if (committed) {
      if (shared_->metrics.published)
        shared_->metrics.published->Increment(static_cast<double>(batch.size()));
      if (shared_->metrics.log_events)
        shared_->metrics.log_events->Increment(static_cast<double>(batch.size()));
      if (shared_->metrics.log_bytes)
        shared_->metrics.log_bytes->Set(static_cast<double>(shared_->segments->bytes()));
      auto events = std::make_shared<TailBatch>();
      events->reserve(batch.size());
      std::int64_t seq = *committed;
      for (Pending& p : batch) {
        events->push_back(
            TailEvent{seq++, std::move(p.topic), std::move(p.key), std::move(p.value)});
      }
      shared_->tail.append(std::move(events));
      shared_->notify_commit();
    } else {
      outcome = std::unexpected(committed.error());
      log::error("event log append failed",
                 {{"events", batch.size()}, {"error", committed.error().message}});
    }
    for (Pending& p : batch) p.done(outcome);
    {
      std::lock_guard lock(mutex_);
      in_flight_ -= batch.size();
    }
    idle_.notify_all();
  }

  std::shared_ptr<Shared> shared_;
  std::vector<segments::Entry> entries_;  // the writer's, reused for every batch
  mutable std::mutex mutex_;
  std::condition_variable work_;  // the writer waits here for events
  std::condition_variable idle_;  // flush() waits here for in_flight_ == 0
  std::deque<Pending> queue_;
  size_t in_flight_ = 0;  // queued or being committed, callback not yet run
  size_t last_batch_ = 0;
  size_t wake_at_ = kMaxBatch;  // publish() wakes the writer at this many queued events
  bool stopping_ = false;
  // When the writer next applies the retention (writer only); none when every event is kept.
  std::optional<Clock::time_point> retention_due_ =
      shared_->options.retention.count() > 0
          ? std::optional(Clock::now() + shared_->options.retention_check)
          : std::nullopt;
  std::thread writer_;  // last: starts once everything above exists
};

// Moves the rows of the `events` table of a file from before the segments into them, keeping
// their numbers, then drops the table. Safe to run again after a crash: rows already in the
// segments are skipped, and the table goes only once every row is in them.
Result<void> import_table(sqlite::File& file, segments::Segments& log) {
  bool exists = false;
  auto table = file.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'");
  if (!table) return std::unexpected(table.error());
  if (auto r = table->for_each([&](const sqlite::Statement&) { exists = true; }); !r) return r;
  if (!exists) return {};
  std::int64_t first = 0;
  auto bounds = file.prepare("SELECT coalesce(min(seq), 0) FROM events");
  if (!bounds) return std::unexpected(bounds.error());
  if (auto r = bounds->for_each([&](const sqlite::Statement& row) { first = row.column_int64(0); });
      !r) {
    return r;
  }
  if (first > 0 && log.last_seq() < log.first_seq()) {
    if (auto r = log.start_at(first); !r) return r;
  }
  auto rows = file.prepare(
      "SELECT seq, topic, key, value, published_at_ms FROM events WHERE seq > ?1 ORDER BY seq "
      "LIMIT ?2");
  if (!rows) return std::unexpected(rows.error());
  std::int64_t moved = 0;
  for (;;) {
    struct Row {
      std::int64_t seq, at;
      std::string topic, key, value;
    };
    std::vector<Row> chunk;
    auto r = rows->bind_int64(1, log.last_seq())
                 .bind_int64(2, kImportChunk)
                 .for_each([&](const sqlite::Statement& row) {
                   chunk.push_back(Row{
                       row.column_int64(0), row.column_int64(4), std::string(row.column_bytes(1)),
                       std::string(row.column_bytes(2)), std::string(row.column_bytes(3))});
                 });
    if (!r) return r;
    if (chunk.empty()) break;
    // One append (one sync) per chunk; the numbers must run on without a gap.
    std::vector<segments::Entry> entries;
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i].seq != log.last_seq() + 1 + static_cast<std::int64_t>(i)) {
        return make_error(ErrorCode::kInternal,
                          "event log " + log.dir() + ": the SQLite table skips from " +
                              std::to_string(log.last_seq() + static_cast<std::int64_t>(i)) +
                              " to " + std::to_string(chunk[i].seq));
      }
      entries.push_back(segments::Entry{chunk[i].topic, chunk[i].key, chunk[i].value, chunk[i].at});
    }
    if (auto a = log.append(entries); !a) return std::unexpected(a.error());
    moved += static_cast<std::int64_t>(entries.size());
  }
  if (auto r = file.exec("DROP TABLE events"); !r) return r;
  log::info("event log: moved the SQLite table's events to segment files",
            {{"events", moved}, {"segments", log.dir()}, {"last_seq", log.last_seq()}});
  return {};
}

}  // namespace

Result<std::unique_ptr<EventPublisher>> make_publisher(std::shared_ptr<Shared> shared) {
  auto file = sqlite::File::open(shared->path, sqlite::Sync::kFull);
  if (!file) return std::unexpected(file.error());
  if (auto r = file->exec(kSchema); !r) return std::unexpected(r.error());
  auto log = segments::Segments::open(segments_dir(shared->path), shared->options.segment_bytes);
  if (!log) return std::unexpected(log.error());
  if (auto r = import_table(*file, **log); !r) return std::unexpected(r.error());
  const std::int64_t last = (*log)->last_seq();
  // Positions past the end: the segments are not the ones the positions were saved against
  // (the directory lost or replaced). Reading on would skip every event up to those positions.
  std::int64_t furthest = 0;
  auto positions = file->prepare("SELECT coalesce(max(seq), 0) FROM positions");
  if (!positions) return std::unexpected(positions.error());
  if (auto r = positions->for_each(
          [&](const sqlite::Statement& row) { furthest = row.column_int64(0); });
      !r) {
    return std::unexpected(r.error());
  }
  if (furthest > last) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "event log: consumer positions in " + shared->path + " reach event " +
                          std::to_string(furthest) + " but the segments in " + (*log)->dir() +
                          " end at " + std::to_string(last) +
                          "; were the segments lost or replaced? Restore them, or move both "
                          "away to start an empty log");
  }
  if (shared->metrics.log_events)
    shared->metrics.log_events->Set(static_cast<double>(last - (*log)->first_seq() + 1));
  if (shared->metrics.log_bytes)
    shared->metrics.log_bytes->Set(static_cast<double>((*log)->bytes()));
  shared->tail.reset(last);
  shared->segments = std::move(*log);
  return std::make_unique<LogPublisher>(std::move(shared));
}

}  // namespace switchyard::bus::event_log
