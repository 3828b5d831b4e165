// The event log's consumer: reads its topics after the group's committed positions (one per
// group and topic, kept in memory for the process and saved in the SQLite file) in log order,
// hands each event to the handler, commits what was handled. While it keeps up, it reads the newest
// commits from the log's in-memory tail rather than the segment files; behind the tail (after a
// pause, after a restart) it reads the segments, in log order from its lowest position, skipping
// other topics. A poll moves the position of every one of its topics to what it has gone through,
// events of that topic or not, so the next read starts there and a rarely used topic does not hold
// the scan back.
#include <prometheus/counter.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <optional>

#include "common/runtime/bus/event_log_parts.h"
#include "common/runtime/bus/log_segments.h"
#include "common/runtime/bus/sqlite_file.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"

namespace switchyard::bus::event_log {
namespace {

constexpr int kMaxPoll = 500;  // events handled per poll
constexpr auto kRetryPause = std::chrono::milliseconds(500);
// After a poll that found events, the next waits this long at least, so a log is read (and each
// consumer's flush written) in batches of several commits rather than once per commit, at fleet
// rates too: at 100 events/s the status consumer's flush, a SQLite transaction, cost 65-75 µs per
// event with 10 ms and 20-25 µs with 50 ms. Consumers are not on the acknowledgement path; this
// only delays projections by at most this much. A poll that leaves events behind (500 at most
// per poll) reads on at once.
constexpr auto kBatchWindow = std::chrono::milliseconds(50);
// A group's committed positions go to the SQLite file at most this often, and when a consumer of
// it goes. A crash in between delivers the events since the last save again (at-least-once; the
// handlers are idempotent on the event id). A save per poll cost each consumer a SQLite
// transaction per event on a quiet log: half the standalone's CPU at 100 Heartbeats a second.
constexpr auto kSaveInterval = std::chrono::milliseconds(250);

struct Stored {
  std::int64_t seq;
  size_t topic;  // index into the consumer's topics
  std::string_view key;
  std::string_view value;
};

// The events of one poll and what their bytes live in.
struct Polled {
  std::vector<Stored> events;
  bool drained = true;  // nothing more was there to read
  // Every event of the consumer's topics up to this sequence number is in `events` or at or
  // before the group's positions.
  std::int64_t through = 0;
  std::vector<std::shared_ptr<const TailBatch>> batches;  // read from the tail (else empty)
  std::deque<std::string> rows;                           // read from the segments
};

// The statements of one consumer, on its own connection.
struct Statements {
  sqlite::Statement positions;  // ?1 group → (topic, seq)
  sqlite::Statement save;       // ?1 group, ?2 topic, ?3 seq
};

Result<Statements> prepare(sqlite::File& file) {
  auto positions = file.prepare("SELECT topic, seq FROM positions WHERE consumer_group = ?1");
  // max(): a position never moves back, whoever else commits for the group.
  auto save = file.prepare(
      "INSERT INTO positions (consumer_group, topic, seq) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (consumer_group, topic) DO UPDATE SET seq = max(seq, excluded.seq)");
  for (auto* s : {&positions, &save}) {
    if (!*s) return std::unexpected(s->error());
  }
  return Statements{std::move(*positions), std::move(*save)};
}

void pause(std::chrono::milliseconds how_long, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, how_long, [] { return false; });
}

class LogConsumer final : public EventConsumer {
 public:
  LogConsumer(std::shared_ptr<Shared> shared, sqlite::File file, Statements statements,
              std::string group, std::vector<std::string> topics,
              std::chrono::milliseconds poll_timeout)
      : shared_(std::move(shared)),
        file_(std::move(file)),
        statements_(std::move(statements)),
        group_(std::move(group)),
        topics_(std::move(topics)),
        poll_timeout_(poll_timeout),
        shared_group_(shared_->group(group_)),
        from_tail_(shared_->metrics.consumed_from(group_, "memory")),
        from_file_(shared_->metrics.consumed_from(group_, "file")),
        saves_(shared_->metrics.positions_saved_by(group_)),
        mark_(shared_->add_reader(group_, topics_)) {}

  ~LogConsumer() override {
    std::lock_guard lock(shared_group_.lock);
    if (auto r = save_positions(true); !r) {
      log::warn(
          "event log consumer: cannot save its group's positions; the events after the "
          "last saved ones come again",
          {{"group", group_}, {"error", r.error().message}});
    }
  }

  using EventConsumer::poll_once;
  using EventConsumer::run;

  Result<std::size_t> poll_once(const EventHandler& handler, const FlushHandler& flush) override {
    return poll(handler, flush, {});
  }

  void run(const EventHandler& handler, const FlushHandler& flush, std::stop_token stop) override {
    name_this_thread(consumer_thread_name(group_));
    while (!stop.stop_requested()) {
      auto r = poll(handler, flush, stop);
      if (r && behind_) continue;  // more is there: read on at once
      if (r && *r > 0) pause(kBatchWindow, stop);
      if (r) continue;
      log::warn("event log consumer failed; retrying",
                {{"group", group_}, {"error", r.error().message}});
      pause(kRetryPause, stop);
    }
  }

 private:
  // Reads at once; when nothing is there, waits for a commit (or the poll timeout) and reads
  // once more.
  Result<std::size_t> poll(const EventHandler& handler, const FlushHandler& flush,
                           const std::stop_token& stop) {
    const auto seen = shared_->commits();
    {
      std::lock_guard lock(shared_group_.lock);
      auto handled = poll_locked(handler, flush);
      if (!handled || *handled > 0 || behind_) return handled;
    }
    shared_->wait_for_commit(seen, poll_timeout_, stop);
    std::lock_guard lock(shared_group_.lock);
    return poll_locked(handler, flush);
  }

  Result<std::size_t> poll_locked(const EventHandler& handler, const FlushHandler& flush) {
    auto positions = load_positions();
    if (!positions) return std::unexpected(positions.error());
    // Every event of the topics up to the lowest position is handled.
    through_ = std::max(through_, *std::min_element(positions->begin(), positions->end()));
    mark_->store(through_);
    Polled polled;
    if (!read_tail(*positions, polled)) {
      if (auto r = read_file(*positions, polled); !r) return std::unexpected(r.error());
    }
    std::vector<std::int64_t> handled_to = *positions;
    size_t handled = 0;
    Result<void> outcome;
    for (const Stored& e : polled.events) {
      outcome = handler(Event{topics_[e.topic], e.key, e.value, 0, e.seq});
      if (!outcome) break;  // this event and everything after it come again
      handled_to[e.topic] = e.seq;
      ++handled;
    }
    if (handled > 0 && flush) {
      if (auto flushed = flush(); !flushed) {
        return make_error(flushed.error().code, "flushing a batch of " + std::to_string(handled) +
                                                    " events failed: " + flushed.error().message);
      }
    }
    // What the group has now gone through: every topic's position moves there.
    const std::int64_t through = outcome ? polled.through : polled.events[handled].seq - 1;
    for (auto& position : handled_to) position = std::max(position, through);
    commit(handled_to);
    if (auto r = save_positions(false); !r) return std::unexpected(r.error());
    through_ = std::max(through_, through);
    mark_->store(through_);
    behind_ = outcome && !polled.drained;
    if (auto* counter = polled.batches.empty() ? from_file_ : from_tail_; counter != nullptr) {
      counter->Increment(static_cast<double>(handled));
    }
    update_lag(handled_to, polled.drained && handled == polled.events.size());
    if (!outcome) return std::unexpected(outcome.error());
    return handled;
  }

  // Where `topic` is in topics_; nullopt when it is not one of them.
  std::optional<size_t> topic_index(std::string_view topic) const {
    const auto it = std::find(topics_.begin(), topics_.end(), topic);
    if (it == topics_.end()) return std::nullopt;
    return static_cast<size_t>(it - topics_.begin());
  }

  // The group's committed position of each topic (0: from the beginning), read from the file at
  // the group's first poll in this process. Under the group's lock.
  Result<std::vector<std::int64_t>> load_positions() {
    Group& g = shared_group_;
    if (!g.loaded) {
      std::map<std::string, std::int64_t, std::less<>> rows;
      auto r =
          statements_.positions.bind_text(1, group_).for_each([&](const sqlite::Statement& row) {
            rows[std::string(row.column_bytes(0))] = row.column_int64(1);
          });
      if (!r) return std::unexpected(r.error());
      g.committed = std::move(rows);
      g.saved_at = std::chrono::steady_clock::now();
      g.loaded = true;
    }
    std::vector<std::int64_t> positions(topics_.size(), 0);
    for (size_t t = 0; t < topics_.size(); ++t) {
      if (const auto it = g.committed.find(topics_[t]); it != g.committed.end())
        positions[t] = it->second;
    }
    return positions;
  }

  // The group has handled its topics up to `positions`. Under the group's lock.
  void commit(const std::vector<std::int64_t>& positions) {
    for (size_t t = 0; t < topics_.size(); ++t) {
      if (positions[t] <= 0) continue;
      auto [it, added] = shared_group_.committed.try_emplace(topics_[t], positions[t]);
      if (!added && it->second >= positions[t]) continue;
      it->second = positions[t];
      shared_group_.unsaved = true;
    }
  }

  // The next kMaxPoll events after the positions from the log's tail, when it holds every event
  // after through_ and at least one of them is for this consumer. False: read the file (nothing
  // new here, or the tail does not reach back far enough).
  bool read_tail(const std::vector<std::int64_t>& positions, Polled& polled) {
    auto tail = shared_->tail.after(through_);
    if (!tail) return false;
    std::int64_t through = tail->last;
    for (const auto& batch : tail->batches) {
      for (const TailEvent& e : *batch) {
        if (e.seq <= through_) continue;
        const auto t = topic_index(e.topic);
        if (!t || e.seq <= positions[*t]) continue;
        if (polled.events.size() == static_cast<size_t>(kMaxPoll)) {
          polled.drained = false;
          through = polled.events.back().seq;
          break;
        }
        polled.events.push_back(Stored{e.seq, *t, e.key, e.value});
      }
      if (!polled.drained) break;
    }
    if (polled.events.empty()) return false;
    polled.through = through;
    polled.batches = std::move(tail->batches);
    return true;
  }

  // The events after the positions among the next kMaxPoll of the segments, in log order.
  Result<void> read_file(const std::vector<std::int64_t>& positions, Polled& polled) {
    // Committed before the read begins, so a read that reaches the end has seen all up to it.
    const std::int64_t committed = shared_->tail.last();
    std::int64_t last_row = through_;
    auto read =
        shared_->segments->read(cursor_, through_, kMaxPoll, [&](const segments::Record& record) {
          last_row = record.seq;
          const auto t = topic_index(record.topic);
          if (!t || record.seq <= positions[*t]) return;
          const std::string& key = polled.rows.emplace_back(record.key);
          const std::string& value = polled.rows.emplace_back(record.value);
          polled.events.push_back(Stored{record.seq, *t, key, value});
        });
    if (!read) return std::unexpected(read.error());
    polled.drained = *read < static_cast<std::size_t>(kMaxPoll);
    polled.through = polled.drained ? std::max(committed, last_row) : last_row;
    return {};
  }

  // Writes the group's positions to the file when they moved since its last save, once
  // kSaveInterval has passed since that save (or `now`): a row per topic, a few. Under the
  // group's lock.
  Result<void> save_positions(bool now) {
    Group& g = shared_group_;
    if (!g.unsaved) return {};
    const auto at = std::chrono::steady_clock::now();
    if (!now && at - g.saved_at < kSaveInterval) return {};
    std::lock_guard writing(shared_->write_lock());
    if (auto r = file_.exec("BEGIN IMMEDIATE"); !r) return r;
    for (const auto& [topic, seq] : g.committed) {
      auto r = statements_.save.bind_text(1, group_).bind_text(2, topic).bind_int64(3, seq).run();
      if (!r) {
        file_.rollback();
        return r;
      }
    }
    if (auto r = file_.exec("COMMIT"); !r) {
      file_.rollback();
      return r;
    }
    g.unsaved = false;
    g.saved_at = at;
    if (saves_ != nullptr) saves_->Increment();
    return {};
  }

  // The log's events after the group's lowest position (0 when the poll drained them).
  void update_lag(const std::vector<std::int64_t>& positions, bool drained) {
    if (shared_->metrics.lag == nullptr) return;
    const std::int64_t lowest = *std::min_element(positions.begin(), positions.end());
    shared_->metrics.set_lag(
        group_, drained ? 0 : std::max<std::int64_t>(0, shared_->tail.last() - lowest));
  }

  std::shared_ptr<Shared> shared_;
  sqlite::File file_;
  Statements statements_;
  const std::string group_;
  const std::vector<std::string> topics_;
  const std::chrono::milliseconds poll_timeout_;
  Group& shared_group_;  // the turns and positions of group_ in this process
  prometheus::Counter* const from_tail_;
  prometheus::Counter* const from_file_;
  prometheus::Counter* const saves_;
  const std::shared_ptr<std::atomic<std::int64_t>> mark_;  // through_, for the retention
  // Every event of the topics up to this sequence number has been handled by the group; the
  // tail serves a poll when it holds every event after it.
  std::int64_t through_ = 0;
  bool behind_ = false;      // the last poll left events to read
  segments::Cursor cursor_;  // where the last read of the segments stopped
};

}  // namespace

Result<std::unique_ptr<EventConsumer>> make_consumer(std::shared_ptr<Shared> shared,
                                                     const std::string& group,
                                                     const std::vector<std::string>& topics,
                                                     std::chrono::milliseconds poll_timeout) {
  std::vector<std::string> unique = topics;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (group.empty() || unique.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "event log: a consumer needs a group and topics");
  }
  // NORMAL: a position lost in a power cut only means events are delivered again.
  auto file = sqlite::File::open(shared->path, sqlite::Sync::kNormal);
  if (!file) return std::unexpected(file.error());
  auto statements = prepare(*file);
  if (!statements) return std::unexpected(statements.error());
  return std::make_unique<LogConsumer>(std::move(shared), std::move(*file), std::move(*statements),
                                       group, std::move(unique), poll_timeout);
}

}  // namespace switchyard::bus::event_log
