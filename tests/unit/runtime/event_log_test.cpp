// The SQLite event log of standalone mode: durable publish with group commit, consumer groups
// with committed positions, redelivery after a handler error, reopening the file.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "common/runtime/bus/event_log.h"
#include "common/runtime/bus/log_segments.h"
#include "common/runtime/bus/sqlite_file.h"
#include "support/environment.h"

namespace switchyard::bus {
namespace {

using namespace std::chrono_literals;

struct Seen {
  std::string topic;
  std::string key;
  std::string value;
  std::int64_t offset;
};

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (std::filesystem::temp_directory_path() / (testing::unique_name("log") + ".db")).string();
    log_ = open();
  }
  void TearDown() override {
    log_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
    std::filesystem::remove_all(path_ + "-segments");
  }

  std::unique_ptr<EventLog> open(prometheus::Registry* metrics = nullptr) {
    auto log = EventLog::open(path_, metrics);
    EXPECT_TRUE(log) << log.error().message;
    return log ? std::move(*log) : nullptr;
  }

  std::unique_ptr<EventConsumer> consumer(const std::string& group,
                                          const std::vector<std::string>& topics) {
    auto c = log_->consumer(group, topics, 50ms);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
  }

  // Publishes and waits for every callback; returns how many failed.
  int publish(const std::string& topic, int count, const std::string& prefix = "v") {
    std::atomic<int> failed{0};
    for (int i = 0; i < count; ++i) {
      log_->publisher().publish(topic, "k" + std::to_string(i % 5), prefix + std::to_string(i),
                                [&](Result<void> r) {
                                  if (!r) ++failed;
                                });
    }
    EXPECT_TRUE(log_->publisher().flush(10s));
    return failed.load();
  }

  // Polls until `want` events arrived (or a 10 s deadline passed).
  static std::vector<Seen> drain(EventConsumer& c, size_t want) {
    std::vector<Seen> seen;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (seen.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto r = c.poll_once([&](const Event& e) -> Result<void> {
        seen.push_back({std::string(e.topic), std::string(e.key), std::string(e.value), e.offset});
        return {};
      });
      EXPECT_TRUE(r) << r.error().message;
    }
    return seen;
  }

  // One more poll that must find nothing.
  static void expect_nothing_more(EventConsumer& c) {
    auto r = c.poll_once([](const Event& e) -> Result<void> {
      ADD_FAILURE() << "unexpected event " << e.value;
      return {};
    });
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 0U);
  }

  // switchyard_bus_consumed_total of `group` read from `source` (memory or file).
  double consumed(const std::string& group, const std::string& source) {
    double total = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != "switchyard_bus_consumed_total") continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> labels;
        for (const auto& l : m.label) labels[l.name] = l.value;
        if (labels["group"] == group && labels["source"] == source) total += m.counter.value;
      }
    }
    return total;
  }

  // The log again with 4-KiB segments, each deleted 1 ms after it was written once every
  // consumer handled it, checked every 20 ms.
  void open_with_retention() {
    log_.reset();
    auto log = EventLog::open(
        path_, &registry_,
        EventLog::Options{.segment_bytes = 4096, .retention = 1ms, .retention_check = 20ms});
    ASSERT_TRUE(log) << log.error().message;
    log_ = std::move(*log);
  }

  // 300 events of about 140 bytes in commits of 10 (a segment ends at the commit that crosses
  // 4 KiB): about 10 segments.
  void publish_300_in_segments() {
    const std::string padding(100, 'x');
    for (int i = 0; i < 30; ++i) ASSERT_EQ(publish("t", 10, padding), 0);
  }

  // One poll that handles the events up to `last` and refuses the next (it comes again).
  static std::size_t handle_through(EventConsumer& c, std::int64_t last) {
    std::size_t handled = 0;
    auto r = c.poll_once([&](const Event& e) -> Result<void> {
      if (e.offset > last) return make_error(ErrorCode::kUnavailable, "not yet");
      ++handled;
      return {};
    });
    EXPECT_FALSE(r);
    return handled;
  }

  double deleted() { return counter_total("switchyard_bus_log_segments_deleted_total"); }

  // The number of the first event of the oldest segment file left.
  std::int64_t oldest_file() const {
    std::string oldest;
    for (const auto& f : std::filesystem::directory_iterator(path_ + "-segments")) {
      const auto name = f.path().filename().string();
      if (name.ends_with(".log") && (oldest.empty() || name < oldest)) oldest = name;
    }
    return std::stoll(oldest.substr(0, 20));
  }

  template <typename Done>
  static bool wait_for(const Done& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    return done();
  }

  // Every sample of the counter `name`, summed.
  double counter_total(const std::string& name) {
    double total = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) total += m.counter.value;
    }
    return total;
  }

  static std::vector<std::string> values_of(const std::vector<Seen>& seen) {
    std::vector<std::string> values;
    for (const auto& s : seen) values.push_back(s.value);
    return values;
  }

  // A handler that fails (kUnavailable) the first time it meets `value` and keeps the values it
  // handled in `handled`.
  static EventHandler fails_once_at(std::string value, std::vector<std::string>& handled) {
    return [value = std::move(value), &handled,
            failed = false](const Event& e) mutable -> Result<void> {
      if (e.value == value && !failed) {
        failed = true;
        return make_error(ErrorCode::kUnavailable, "downstream is down");
      }
      handled.emplace_back(e.value);
      return {};
    };
  }

  static std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
    std::vector<std::string> values;
    for (int i = from; i < to; ++i) values.push_back(prefix + std::to_string(i));
    return values;
  }

  prometheus::Registry registry_;  // outlives log_, which holds its metrics
  std::string path_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, EveryCallbackSucceedsOnceTheEventIsCommitted) {
  std::atomic<int> ok{0};
  const std::string binary("\0\xff\x01proto", 8);
  std::vector<std::string> values = {binary, "", "plain"};
  for (const auto& v : values) {
    log_->publisher().publish("ocpp.events.v1", "CP1", v, [&](Result<void> r) {
      EXPECT_TRUE(r);
      ++ok;
    });
  }
  ASSERT_TRUE(log_->publisher().flush(10s));
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(log_->publisher().in_flight(), 0U);
  // Committed: a consumer on its own connection reads them back byte for byte.
  auto c = consumer("reader", {"ocpp.events.v1"});
  auto seen = drain(*c, 3);
  ASSERT_EQ(seen.size(), 3U);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(seen[i].value, values[i]);
    EXPECT_EQ(seen[i].key, "CP1");
  }
}

TEST_F(EventLogTest, TwoGroupsEachReadEveryEventInOrder) {
  for (int i = 0; i < 50; ++i) {
    log_->publisher().publish(i % 2 ? "b" : "a", "k", std::to_string(i),
                              [](Result<void> r) { EXPECT_TRUE(r); });
  }
  ASSERT_TRUE(log_->publisher().flush(10s));
  auto both = consumer("both", {"a", "b"});
  auto only_a = consumer("only_a", {"a"});
  auto all = drain(*both, 50);
  auto as = drain(*only_a, 25);
  ASSERT_EQ(all.size(), 50U);
  ASSERT_EQ(as.size(), 25U);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(all[i].value, std::to_string(i));
    EXPECT_EQ(all[i].topic, i % 2 ? "b" : "a");
    if (i > 0) {
      EXPECT_GT(all[i].offset, all[i - 1].offset);
    }
  }
  for (int i = 0; i < 25; ++i) EXPECT_EQ(as[i].value, std::to_string(2 * i));
  expect_nothing_more(*both);
  expect_nothing_more(*only_a);
}

TEST_F(EventLogTest, HandlerErrorRedeliversThatEventAndSkipsNothing) {
  ASSERT_EQ(publish("t", 10), 0);
  auto c = consumer("g", {"t"});
  std::vector<std::string> handled;
  auto handler = fails_once_at("v4", handled);
  auto first = c->poll_once(handler);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().message, "downstream is down");
  EXPECT_EQ(handled.size(), 4U);  // v0..v3, nothing after the failed one
  auto second = c->poll_once(handler);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, 6U);
  ASSERT_EQ(handled.size(), 10U);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(handled[i], "v" + std::to_string(i));
}

TEST_F(EventLogTest, FlushRunsOncePerPollAndItsFailureRedeliversThePoll) {
  ASSERT_EQ(publish("t", 10), 0);
  auto c = consumer("g", {"t"});
  std::vector<std::string> handled;
  std::vector<std::string> written;  // what the handler gathered, as its flush writes it
  int flushes = 0;
  bool fail_flush = true;
  auto handler = [&](const Event& e) -> Result<void> {
    handled.emplace_back(e.value);
    return {};
  };
  auto flush = [&]() -> Result<void> {
    ++flushes;
    if (fail_flush) {
      fail_flush = false;
      return make_error(ErrorCode::kUnavailable, "database down");
    }
    written = handled;
    return {};
  };
  auto first = c->poll_once(handler, flush);
  ASSERT_FALSE(first);
  EXPECT_NE(first.error().message.find("flushing a batch of 10 events failed: database down"),
            std::string::npos)
      << first.error().message;
  EXPECT_EQ(flushes, 1);
  handled.clear();
  // Nothing of the failed poll was committed: all ten come again, and are flushed once.
  auto second = c->poll_once(handler, flush);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, 10U);
  EXPECT_EQ(flushes, 2);
  ASSERT_EQ(written.size(), 10U);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(written[i], "v" + std::to_string(i));
  expect_nothing_more(*c);
  EXPECT_EQ(flushes, 2);  // an empty poll flushes nothing
}

TEST_F(EventLogTest, ReopenedLogKeepsEventsAndCommittedPositions) {
  ASSERT_EQ(publish("t", 10, "old"), 0);
  {
    auto c = consumer("g", {"t"});
    ASSERT_EQ(drain(*c, 10).size(), 10U);
  }
  log_.reset();
  log_ = open();
  ASSERT_NE(log_, nullptr);
  ASSERT_EQ(publish("t", 5, "new"), 0);
  auto same_group = consumer("g", {"t"});
  auto seen = drain(*same_group, 5);
  ASSERT_EQ(seen.size(), 5U);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i].value, "new" + std::to_string(i));
  expect_nothing_more(*same_group);
  auto new_group = consumer("fresh", {"t"});
  auto everything = drain(*new_group, 15);
  ASSERT_EQ(everything.size(), 15U);
  EXPECT_EQ(everything.front().value, "old0");
  EXPECT_EQ(everything.back().value, "new4");
}

// Positions saved against segments that are gone (the directory lost, or an empty one put in
// its place): the log refuses to open rather than let groups skip every new event up to them.
TEST_F(EventLogTest, PositionsPastTheSegmentsEndRefuseTheOpen) {
  ASSERT_EQ(publish("t", 4), 0);
  {
    auto c = consumer("g", {"t"});
    ASSERT_EQ(drain(*c, 4).size(), 4U);
  }
  log_.reset();
  std::filesystem::remove_all(path_ + "-segments");
  auto reopened = EventLog::open(path_, nullptr);
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(reopened.error().message.find("were the segments lost or replaced"), std::string::npos)
      << reopened.error().message;
}

// An event too large for a record fails its own publish at once; the others go on.
TEST_F(EventLogTest, AnEventOverTheRecordLimitFailsAtOnce) {
  std::optional<Result<void>> outcome;
  log_->publisher().publish("t", "k", std::string(segments::kMaxRecordBytes, 'x'),
                            [&](Result<void> r) { outcome = std::move(r); });
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code, ErrorCode::kInvalidArgument);
  auto c = consumer("g", {"t"});
  ASSERT_EQ(publish("t", 1), 0);
  EXPECT_EQ(values_of(drain(*c, 1)), numbered("v", 0, 1));
}

// A group's positions stay in memory while its consumers poll and go to the SQLite file at most
// every 250 ms and when a consumer goes: a quiet log does not pay a transaction per event and
// group. Read back here through a connection of the test's own.
TEST_F(EventLogTest, PositionsGoToTheFileEveryFewHundredMillisecondsAndWhenTheConsumerGoes) {
  auto saved = [this](const std::string& group) -> std::optional<std::int64_t> {
    auto file = sqlite::File::open(path_, sqlite::Sync::kNormal);
    EXPECT_TRUE(file) << file.error().message;
    auto select = file->prepare("SELECT seq FROM positions WHERE consumer_group = ?1");
    EXPECT_TRUE(select) << select.error().message;
    std::optional<std::int64_t> seq;
    EXPECT_TRUE(select->bind_text(1, group).for_each(
        [&](const sqlite::Statement& row) { seq = row.column_int64(0); }));
    return seq;
  };
  auto saves = [this] { return counter_total("switchyard_bus_positions_saved_total"); };
  log_.reset();
  log_ = open(&registry_);
  ASSERT_EQ(publish("t", 3), 0);
  auto c = consumer("g", {"t"});
  ASSERT_EQ(drain(*c, 3).size(), 3U);
  EXPECT_EQ(saved("g"), std::nullopt) << "saved by the poll that handled the events";
  // The next poll at least 250 ms after the group's positions were read saves them.
  std::this_thread::sleep_for(300ms);
  expect_nothing_more(*c);
  EXPECT_EQ(saved("g"), 3);
  // Handled, not yet saved; saved when the consumer goes.
  ASSERT_EQ(publish("t", 2), 0);
  ASSERT_EQ(drain(*c, 2).size(), 2U);
  EXPECT_EQ(saved("g"), 3);
  c.reset();
  EXPECT_EQ(saved("g"), 5);
  EXPECT_EQ(saves(), 2);
}

TEST_F(EventLogTest, ConsumersOfOneGroupShareItsPosition) {
  ASSERT_EQ(publish("t", 20), 0);
  auto first = consumer("g", {"t"});
  auto second = consumer("g", {"t"});
  auto a = drain(*first, 20);
  EXPECT_EQ(a.size(), 20U);
  expect_nothing_more(*second);
}

TEST_F(EventLogTest, FlushWaitsForEveryCallback) {
  std::atomic<int> called{0};
  for (int i = 0; i < 3000; ++i) {
    log_->publisher().publish("t", "k", std::to_string(i), [&](Result<void> r) {
      EXPECT_TRUE(r);
      ++called;
    });
  }
  ASSERT_TRUE(log_->publisher().flush(30s));
  EXPECT_EQ(called.load(), 3000);
  EXPECT_EQ(log_->publisher().in_flight(), 0U);
}

TEST_F(EventLogTest, ConcurrentPublishersLoseNothingAndKeepTheirOrder) {
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        log_->publisher().publish("t", "p" + std::to_string(t), std::to_string(i),
                                  [&](Result<void> r) {
                                    if (!r) ++failed;
                                  });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log_->publisher().flush(30s));
  EXPECT_EQ(failed.load(), 0);
  auto c = consumer("g", {"t"});
  auto seen = drain(*c, kThreads * kEach);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
  std::map<std::string, int> next;
  for (const Seen& s : seen) EXPECT_EQ(s.value, std::to_string(next[s.key]++)) << s.key;
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next["p" + std::to_string(t)], kEach);
}

TEST_F(EventLogTest, PollWakesWhenAnEventIsPublished) {
  auto waiting = log_->consumer("g", {"t"}, 20s);
  ASSERT_TRUE(waiting);
  std::jthread publisher([&] {
    std::this_thread::sleep_for(100ms);  // let the poll start waiting first
    log_->publisher().publish("t", "k", "v", [](Result<void>) {});
  });
  const auto started = std::chrono::steady_clock::now();
  auto r = (*waiting)->poll_once([](const Event&) -> Result<void> { return {}; });
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 1U);
  // Woken by the commit, not by the 20 s timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(EventLogTest, RunHandlesEventsUntilStopped) {
  auto c = consumer("g", {"t"});
  std::atomic<int> handled{0};
  std::jthread runner([&](std::stop_token stop) {
    c->run(
        [&](const Event&) -> Result<void> {
          ++handled;
          return {};
        },
        stop);
  });
  ASSERT_EQ(publish("t", 20), 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (handled.load() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(handled.load(), 20);
  runner.request_stop();
  runner.join();  // returns: run() noticed the stop
}

TEST_F(EventLogTest, ConsumerNeedsAGroupAndTopics) {
  auto no_topics = log_->consumer("g", {});
  ASSERT_FALSE(no_topics);
  EXPECT_EQ(no_topics.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(EventLogTest, MetricsCountPublishedEventsAndLag) {
  log_.reset();
  log_ = open(&registry_);
  ASSERT_EQ(publish("t", 7), 0);
  auto c = consumer("g", {"t"});
  // A failing handler leaves the group behind by all 7.
  (void)c->poll_once(
      [](const Event&) -> Result<void> { return make_error(ErrorCode::kInternal, "no"); });
  std::map<std::string, double> values;
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) values[family.name] += m.counter.value + m.gauge.value;
  }
  EXPECT_EQ(values["switchyard_bus_published_total"], 7);
  EXPECT_EQ(values["switchyard_bus_log_events"], 7);
  EXPECT_EQ(values["switchyard_bus_consumer_lag_events"], 7);
}

// A consumer that keeps up takes the newest commits from memory; what was committed before the
// log was opened is only in the file.
TEST_F(EventLogTest, AConsumerThatKeepsUpReadsTheNewestCommitsFromMemory) {
  ASSERT_EQ(publish("t", 5, "old"), 0);
  log_.reset();
  log_ = open(&registry_);
  auto c = consumer("g", {"t", "u"});
  EXPECT_EQ(values_of(drain(*c, 5)), numbered("old", 0, 5));
  EXPECT_EQ(consumed("g", "file"), 5);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(publish(round == 1 ? "u" : "t", 10, "r" + std::to_string(round) + "-"), 0);
    ASSERT_EQ(publish("other", 3), 0);  // not this consumer's topic: skipped
    auto seen = drain(*c, 10);
    EXPECT_EQ(values_of(seen), numbered("r" + std::to_string(round) + "-", 0, 10));
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i].offset, seen[i - 1].offset);
    EXPECT_EQ(seen.front().topic, round == 1 ? "u" : "t");
  }
  expect_nothing_more(*c);
  EXPECT_EQ(consumed("g", "memory"), 30);
  EXPECT_EQ(consumed("g", "file"), 5);
  // The positions were committed, "u" moved along with "t" though it had no event since: a
  // consumer on a reopened log starts after them and reads what comes next from memory.
  c.reset();
  log_.reset();
  log_ = open(&registry_);  // the same families: the counts go on
  auto again = consumer("g", {"t", "u"});
  expect_nothing_more(*again);
  ASSERT_EQ(publish("t", 4, "next"), 0);
  EXPECT_EQ(values_of(drain(*again, 4)), numbered("next", 0, 4));
  EXPECT_EQ(consumed("g", "memory"), 34);
  EXPECT_EQ(consumed("g", "file"), 5);
}

// A file written before events moved to segment files (its `events` table, even of the schema
// with AUTOINCREMENT and a topic index) still opens: its events move to the segments with their
// numbers, are read, and new ones follow them; the table is gone, and a reopened log has every
// event once.
TEST_F(EventLogTest, AFileOfTheEarlierSchemaIsReadAndWrittenOn) {
  log_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  {
    auto file = sqlite::File::open(path_, sqlite::Sync::kFull);
    ASSERT_TRUE(file) << file.error().message;
    ASSERT_TRUE(file->exec(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
        " key BLOB NOT NULL, value BLOB NOT NULL, published_at_ms INTEGER NOT NULL);"
        "CREATE INDEX events_by_topic ON events (topic);"
        "INSERT INTO events (topic, key, value, published_at_ms) VALUES"
        " ('t', 'k', 'before0', 0), ('other', 'k', 'x', 0), ('t', 'k', 'before1', 0);"));
  }
  log_ = open(&registry_);
  auto c = consumer("g", {"t"});
  EXPECT_EQ(values_of(drain(*c, 2)), (std::vector<std::string>{"before0", "before1"}));
  ASSERT_EQ(publish("t", 3), 0);
  auto seen = drain(*c, 3);
  EXPECT_EQ(values_of(seen), numbered("v", 0, 3));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().offset, 4);
  expect_nothing_more(*c);
  std::map<std::string, double> values;
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) values[family.name] += m.gauge.value;
  }
  EXPECT_EQ(values["switchyard_bus_log_events"], 6);
  c.reset();
  log_.reset();
  {
    auto file = sqlite::File::open(path_, sqlite::Sync::kNormal);
    ASSERT_TRUE(file) << file.error().message;
    auto tables = file->prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events'");
    ASSERT_TRUE(tables) << tables.error().message;
    std::int64_t count = -1;
    ASSERT_TRUE(
        tables->for_each([&](const sqlite::Statement& row) { count = row.column_int64(0); }));
    EXPECT_EQ(count, 0);
  }
  log_ = open();
  auto fresh = consumer("fresh", {"t", "other"});
  const auto all = drain(*fresh, 6);
  EXPECT_EQ(values_of(all),
            (std::vector<std::string>{"before0", "x", "before1", "v0", "v1", "v2"}));
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back().offset, 6);
  expect_nothing_more(*fresh);
}

// Past the tail's budget a consumer falls back to the file, and gets every event once, in order.
TEST_F(EventLogTest, AConsumerBehindTheTailReadsTheFileAndMissesNothing) {
  log_.reset();
  auto small = EventLog::open(path_, &registry_, EventLog::Options{.tail_bytes = 4096});
  ASSERT_TRUE(small) << small.error().message;
  log_ = std::move(*small);
  auto c = consumer("g", {"t"});
  expect_nothing_more(*c);
  ASSERT_EQ(publish("t", 100), 0);  // many commits; the tail keeps only the last few
  EXPECT_EQ(values_of(drain(*c, 100)), numbered("v", 0, 100));
  EXPECT_GT(consumed("g", "file"), 0);
  ASSERT_EQ(publish("t", 3, "w"), 0);
  EXPECT_EQ(values_of(drain(*c, 3)), numbered("w", 0, 3));
  expect_nothing_more(*c);
  EXPECT_EQ(consumed("g", "memory") + consumed("g", "file"), 103);
}

// Retention: the segments every running consumer has handled go once they are old enough (here
// at once), counted in switchyard_bus_log_segments_deleted_total; a consumer behind keeps what
// it has not read, gets every event after its position without a gap, and a new group starts at
// the oldest event left.
TEST_F(EventLogTest, RetentionDeletesTheSegmentsEveryConsumerHandledAndNoOther) {
  open_with_retention();
  auto fast = consumer("fast", {"t"});
  auto slow = consumer("slow", {"t"});
  publish_300_in_segments();
  ASSERT_EQ(drain(*fast, 300).size(), 300u);
  ASSERT_EQ(handle_through(*slow, 60), 60u);
  // The segments wholly at or before event 60 go; the one holding event 61 stays.
  ASSERT_TRUE(wait_for([&] { return deleted() > 0; }));
  std::this_thread::sleep_for(100ms);  // a few more turns of the retention: nothing more goes
  const auto oldest = oldest_file();
  EXPECT_GT(oldest, 1);
  EXPECT_LE(oldest, 61);
  const double before = deleted();  // nothing more goes while the slow one stays at 60
  const auto rest = drain(*slow, 240);
  ASSERT_EQ(rest.size(), 240u);
  EXPECT_EQ(rest.front().offset, 61);
  EXPECT_EQ(rest.back().offset, 300);
  // Both handled everything: every segment but the newest goes.
  ASSERT_TRUE(wait_for([&] { return deleted() > before; }));
  const auto newest = oldest_file();
  EXPECT_GT(newest, 240);
  auto late = consumer("late", {"t"});
  const auto left = drain(*late, static_cast<size_t>(300 - newest + 1));
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front().offset, newest);
  EXPECT_EQ(left.back().offset, 300);
  expect_nothing_more(*late);
}

// Nothing goes before a consumer came; a consumer that went keeps, until the log closes, the
// events it had not handled (a group that stopped first at shutdown is not robbed by a pass of
// the retention in between).
TEST_F(EventLogTest, RetentionWaitsForTheFirstConsumerAndKeepsWhatAGoneOneHadNotHandled) {
  open_with_retention();
  publish_300_in_segments();
  std::this_thread::sleep_for(100ms);  // five turns of the retention
  EXPECT_EQ(deleted(), 0);
  EXPECT_EQ(oldest_file(), 1);
  auto stays = consumer("stays", {"t"});  // holds everything until its first poll
  {
    auto gone = consumer("gone", {"t"});
    ASSERT_EQ(handle_through(*gone, 60), 60u);
  }
  ASSERT_EQ(drain(*stays, 300).size(), 300u);
  ASSERT_TRUE(wait_for([&] { return deleted() > 0; }));
  std::this_thread::sleep_for(100ms);
  const auto oldest = oldest_file();
  EXPECT_GT(oldest, 1);
  EXPECT_LE(oldest, 61);  // event 61 on are still there for "gone"
}

// A handler error on an event read from memory redelivers that event and skips nothing.
TEST_F(EventLogTest, HandlerErrorOnTheTailRedeliversThatEvent) {
  log_.reset();
  log_ = open(&registry_);
  auto c = consumer("g", {"t"});
  expect_nothing_more(*c);
  ASSERT_EQ(publish("t", 10), 0);
  std::vector<std::string> handled;
  auto handler = fails_once_at("v6", handled);
  ASSERT_FALSE(c->poll_once(handler));
  EXPECT_EQ(handled, numbered("v", 0, 6));
  auto second = c->poll_once(handler);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(handled, numbered("v", 0, 10));
  EXPECT_EQ(consumed("g", "memory"), 10);
  EXPECT_EQ(consumed("g", "file"), 0);
}

// The segments have one writer: a second log on the same file (another process, or another
// object in this one) is refused with a clear error, and the first goes on.
TEST_F(EventLogTest, ASecondWriterIsRefusedAndTheFirstGoesOn) {
  auto other = EventLog::open(path_, nullptr);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(other.error().message.find("is open in another process"), std::string::npos)
      << other.error().message;
  auto c = consumer("g", {"t"});
  ASSERT_EQ(publish("t", 2), 0);
  EXPECT_EQ(values_of(drain(*c, 2)), numbered("v", 0, 2));
}

// Events go to segment files next to the SQLite file, which keeps only the positions.
TEST_F(EventLogTest, EventsLiveInSegmentFilesAndTheirBytesAreCounted) {
  log_.reset();
  log_ = open(&registry_);
  ASSERT_EQ(publish("t", 10), 0);
  EXPECT_TRUE(std::filesystem::is_directory(path_ + "-segments"));
  std::uintmax_t on_disk = 0;
  for (const auto& f : std::filesystem::directory_iterator(path_ + "-segments")) {
    if (f.path().extension() == ".log") on_disk += f.file_size();
  }
  EXPECT_GT(on_disk, 10u * 32);
  std::map<std::string, double> values;
  for (const auto& family : registry_.Collect()) {
    for (const auto& m : family.metric) values[family.name] += m.gauge.value;
  }
  EXPECT_EQ(values["switchyard_bus_log_bytes"], static_cast<double>(on_disk));
}

// Each group commit (one write, one fdatasync) is timed: its count is the syncs, so the events a
// sync served are switchyard_bus_published_total over it.
TEST_F(EventLogTest, EveryGroupCommitIsTimed) {
  log_.reset();
  log_ = open(&registry_);
  ASSERT_EQ(publish("t", 50), 0);
  ASSERT_EQ(publish("t", 1), 0);
  std::uint64_t commits = 0;
  double seconds = 0;
  double published = 0;
  for (const auto& family : registry_.Collect()) {
    if (family.name == "switchyard_bus_published_total") published = family.metric[0].counter.value;
    if (family.name != "switchyard_bus_log_commit_seconds") continue;
    ASSERT_EQ(family.metric.size(), 1u);
    commits = family.metric[0].histogram.sample_count;
    seconds = family.metric[0].histogram.sample_sum;
  }
  EXPECT_EQ(published, 51);
  EXPECT_GE(commits, 2u);  // the last event came after the first 50 were committed
  EXPECT_LE(commits, 51u);
  EXPECT_GT(seconds, 0);
}

}  // namespace
}  // namespace switchyard::bus
