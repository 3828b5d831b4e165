// The SQLite event log's publisher: publish() queues, one writer thread commits what is queued
// in one transaction (group commit) and then runs the callbacks of that batch. An idle writer
// commits the first event at once (its charger is waiting for the acknowledgement), and what
// arrives during a commit forms the next batch, so batches grow with the load by themselves.
// Only after a large batch does the writer linger, and only while events keep coming: until as
// many are queued as the last batch held (in the steady state, the chargers of that batch have
// all sent their next message), or no new event came for a step, or at most kBusyLinger. One
// fsync then serves a whole round of chargers, and a charger never waits for arrivals that the
// load cannot bring (a fixed linger would cost every event the whole wait).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <deque>
#include <thread>

#include "common/runtime/bus/sqlite_file.h"
#include "common/runtime/bus/sqlite_log_parts.h"
#include "common/runtime/core/log.h"

namespace switchyard::bus::sqlite_log {
namespace {

constexpr size_t kMaxBatch = 1000;  // events per commit at most
constexpr size_t kBusyBatch = 64;   // a batch this large means the log is busy: linger next time
constexpr auto kBusyLinger = std::chrono::milliseconds(2);
constexpr auto kLingerStep = std::chrono::microseconds(250);  // no new event for this long: go
// Past this many queued events publish() refuses instead of growing memory without bound.
constexpr size_t kMaxQueued = 100000;

// seq is the rowid: one more than the largest at each insert, so a number is never reused
// while the newest event stays (nothing deletes events; a retention that did would have to keep
// the newest), and committed positions refer to it. Files made before this schema have seq
// AUTOINCREMENT, which works the same, a fifth slower (it updates sqlite_sequence on every
// insert). There is no index on topic: consumers read in seq order and skip other topics, and
// the index cost a fifth of every insert (tests/bench/event_log_bench); files that have it lose
// it here.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, key BLOB NOT NULL,"
    " value BLOB NOT NULL, published_at_ms INTEGER NOT NULL);"
    "DROP INDEX IF EXISTS events_by_topic;"
    "CREATE TABLE IF NOT EXISTS positions ("
    " consumer_group TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (consumer_group, topic)) WITHOUT ROWID;";

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

class SqliteLogPublisher final : public EventPublisher {
 public:
  SqliteLogPublisher(sqlite::File file, sqlite::Statement insert, std::shared_ptr<Shared> shared)
      : file_(std::move(file)), insert_(std::move(insert)), shared_(std::move(shared)) {
    writer_ = std::thread([this] { write_loop(); });
  }

  // Commits what is still queued (every callback runs) before the connection closes.
  ~SqliteLogPublisher() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    writer_.join();
  }

  void publish(std::string_view topic, std::string_view key, std::string_view value,
               PublishCallback done) override {
    std::unique_lock lock(mutex_);
    if (stopping_ || queue_.size() >= kMaxQueued) {
      const bool closed = stopping_;
      lock.unlock();
      done(closed ? make_error(ErrorCode::kUnavailable, "sqlite event log: closed")
                  : make_error(ErrorCode::kResourceExhausted, "sqlite event log: queue full"));
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
      if (batch.empty()) return;
      auto committed = commit(batch);
      finish(batch, committed);
    }
  }

  // Waits for events and takes what is queued, up to kMaxBatch. Empty: stop.
  std::vector<Pending> next_batch() {
    std::unique_lock lock(mutex_);
    work_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return {};
    if (last_batch_ >= kBusyBatch) linger(lock);
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
    using Clock = std::chrono::steady_clock;
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

  // Inserts the batch in one transaction; the sequence number of its first event.
  Result<std::int64_t> commit(const std::vector<Pending>& batch) {
    std::lock_guard writing(shared_->write_lock());
    if (auto r = file_.exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
    const std::int64_t at = now_ms();
    for (const Pending& p : batch) {
      auto r = insert_.bind_text(1, p.topic)
                   .bind_blob(2, p.key)
                   .bind_blob(3, p.value)
                   .bind_int64(4, at)
                   .run();
      if (!r) {
        file_.rollback();
        return std::unexpected(r.error());
      }
    }
    // One transaction of this connection's inserts: consecutive numbers up to the last.
    const auto first = file_.last_insert_rowid() - static_cast<std::int64_t>(batch.size()) + 1;
    if (auto r = file_.exec("COMMIT"); !r) {
      file_.rollback();
      return std::unexpected(r.error());
    }
    return first;
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
      log::error("sqlite event log commit failed",
                 {{"events", batch.size()}, {"error", committed.error().message}});
    }
    for (Pending& p : batch) p.done(outcome);
    {
      std::lock_guard lock(mutex_);
      in_flight_ -= batch.size();
    }
    idle_.notify_all();
  }

  sqlite::File file_;
  sqlite::Statement insert_;
  std::shared_ptr<Shared> shared_;
  mutable std::mutex mutex_;
  std::condition_variable work_;  // the writer waits here for events
  std::condition_variable idle_;  // flush() waits here for in_flight_ == 0
  std::deque<Pending> queue_;
  size_t in_flight_ = 0;  // queued or being committed, callback not yet run
  size_t last_batch_ = 0;
  size_t wake_at_ = kMaxBatch;  // publish() wakes the writer at this many queued events
  bool stopping_ = false;
  std::thread writer_;  // last: starts once everything above exists
};

struct Contents {
  std::int64_t events = 0;
  std::int64_t last_seq = 0;
};

// Both from the ends of the rowid tree (a count(*) would read the whole table): nothing deletes
// events, so the numbers between the first and the last are all there.
Result<Contents> contents(sqlite::File& file) {
  auto count = file.prepare(
      "SELECT coalesce(last - first + 1, 0), coalesce(last, 0) FROM"
      " (SELECT (SELECT min(seq) FROM events) AS first, (SELECT max(seq) FROM events) AS last)");
  if (!count) return std::unexpected(count.error());
  Contents c;
  auto r = count->for_each([&](const sqlite::Statement& row) {
    c.events = row.column_int64(0);
    c.last_seq = row.column_int64(1);
  });
  if (!r) return std::unexpected(r.error());
  return c;
}

}  // namespace

Result<std::unique_ptr<EventPublisher>> make_publisher(std::shared_ptr<Shared> shared) {
  // FULL: a commit is fsynced, so a publish callback means the event survives a power loss;
  // group commit pays one fsync per batch.
  auto file = sqlite::File::open(shared->path, sqlite::Sync::kFull);
  if (!file) return std::unexpected(file.error());
  if (auto r = file->exec(kSchema); !r) return std::unexpected(r.error());
  auto existing = contents(*file);
  if (!existing) return std::unexpected(existing.error());
  if (shared->metrics.log_events)
    shared->metrics.log_events->Set(static_cast<double>(existing->events));
  shared->tail.reset(existing->last_seq);
  auto insert = file->prepare(
      "INSERT INTO events (topic, key, value, published_at_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return std::unexpected(insert.error());
  return std::make_unique<SqliteLogPublisher>(std::move(*file), std::move(*insert),
                                              std::move(shared));
}

}  // namespace switchyard::bus::sqlite_log
