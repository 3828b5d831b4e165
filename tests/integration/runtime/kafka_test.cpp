// The Kafka adapter against the real broker: ordering per key, nothing lost, commit semantics.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

#include "common/runtime/core/log.h"
#include "common/runtime/kafka/admin.h"
#include "common/runtime/kafka/consumer.h"
#include "common/runtime/kafka/producer.h"
#include "support/environment.h"

namespace switchyard::kafka {
namespace {

using namespace std::chrono_literals;

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    brokers_ = testing::kafka_brokers();
    SWITCHYARD_REQUIRE(brokers_, "Kafka");
    topic_ = testing::unique_name("t");
    auto created = ensure_topic(*brokers_, TopicSpec{topic_, 4, 1});
    ASSERT_TRUE(created) << created.error().message;
  }

  std::unique_ptr<Producer> producer() {
    ProducerConfig config;
    config.brokers = *brokers_;
    auto p = Producer::create(config, nullptr);
    EXPECT_TRUE(p) << p.error().message;
    return std::move(*p);
  }

  std::unique_ptr<Consumer> consumer(const std::string& group) {
    ConsumerConfig config;
    config.brokers = *brokers_;
    config.group_id = group;
    config.topics = {topic_};
    auto c = Consumer::create(config, nullptr);
    EXPECT_TRUE(c) << c.error().message;
    return std::move(*c);
  }

  std::optional<std::string> brokers_;
  std::string topic_;
};

TEST_F(KafkaTest, TenThousandMessagesOverEightKeysComeBackInPerKeyOrderAndNoneLost) {
  constexpr int kMessages = 10000;
  constexpr int kKeys = 8;
  auto p = producer();
  std::atomic<int> acked{0}, failed{0};
  for (int i = 0; i < kMessages; ++i) {
    const std::string key = "charger-" + std::to_string(i % kKeys);
    const std::string value = key + ":" + std::to_string(i / kKeys);
    auto r = p->produce(topic_, key, value,
                        [&](Result<Delivery> d) { (d ? acked : failed).fetch_add(1); });
    ASSERT_TRUE(r) << r.error().message;
  }
  ASSERT_TRUE(p->flush(60s));
  EXPECT_EQ(acked.load(), kMessages);
  EXPECT_EQ(failed.load(), 0);

  auto c = consumer(testing::unique_name("g"));
  std::map<std::string, int> next_seq;
  int received = 0, out_of_order = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (received < kMessages && std::chrono::steady_clock::now() < deadline) {
    auto r = c->poll_once([&](const Record& rec) -> Result<void> {
      const std::string value(rec.value);
      const std::string key(rec.key);
      EXPECT_EQ(value.substr(0, value.find(':')), key);
      const int seq = std::stoi(value.substr(value.find(':') + 1));
      if (seq != next_seq[key]) ++out_of_order;
      next_seq[key] = seq + 1;
      ++received;
      return {};
    });
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(received, kMessages);
  EXPECT_EQ(out_of_order, 0);
  ASSERT_EQ(next_seq.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, n] : next_seq) EXPECT_EQ(n, kMessages / kKeys) << key;
}

TEST_F(KafkaTest, AFailedFlushCommitsNothingOfItsBatch) {
  auto p = producer();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(p->produce(topic_, "k" + std::to_string(i % 4), std::to_string(i),
                           [](Result<Delivery>) {}));
  }
  ASSERT_TRUE(p->flush(30s));
  const std::string group = testing::unique_name("g");
  std::multiset<std::string> pending;  // handled since the last flush
  std::multiset<std::string> flushed;  // what the flushes wrote
  int failed_flushes = 0;
  {
    auto c = consumer(group);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (flushed.size() < 20 && std::chrono::steady_clock::now() < deadline) {
      auto r = c->poll_once(
          [&](const Record& rec) -> Result<void> {
            pending.emplace(rec.value);
            return {};
          },
          [&]() -> Result<void> {
            if (failed_flushes == 0) {
              ++failed_flushes;
              pending.clear();  // what a failed transaction leaves: nothing
              return make_error(ErrorCode::kUnavailable, "database down");
            }
            flushed.merge(pending);
            pending.clear();
            return {};
          });
      if (!r) {
        EXPECT_NE(r.error().message.find("database down"), std::string::npos);
      }
    }
    c->close();
  }
  EXPECT_EQ(failed_flushes, 1);
  std::multiset<std::string> all;
  for (int i = 0; i < 20; ++i) all.emplace(std::to_string(i));
  EXPECT_EQ(flushed, all);  // each once: the failed batch came again, nothing committed twice

  // Everything flushed was committed: a new member of the group gets nothing old.
  auto again = consumer(group);
  std::vector<std::string> later;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  ASSERT_TRUE(p->produce(topic_, "k", "20", [](Result<Delivery>) {}));
  ASSERT_TRUE(p->flush(30s));
  while (later.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)again->poll_once([&](const Record& rec) -> Result<void> {
      later.emplace_back(rec.value);
      return {};
    });
  }
  EXPECT_EQ(later, std::vector<std::string>{"20"});
}

TEST_F(KafkaTest, CommittedRecordsAreNotDeliveredAgainButFailedOnesAre) {
  auto p = producer();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(p->produce(topic_, "k", std::to_string(i), [](Result<Delivery>) {}));
  }
  ASSERT_TRUE(p->flush(30s));
  const std::string group = testing::unique_name("g");
  std::vector<std::string> seen;
  {
    auto c = consumer(group);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    bool failed_once = false;
    while (seen.size() < 10 && std::chrono::steady_clock::now() < deadline) {
      auto r = c->poll_once([&](const Record& rec) -> Result<void> {
        // Fail record "5" once: it must come again, and nothing after it may be skipped.
        if (rec.value == "5" && !failed_once) {
          failed_once = true;
          return make_error(ErrorCode::kUnavailable, "database down");
        }
        seen.emplace_back(rec.value);
        return {};
      });
      if (!r) {
        EXPECT_NE(r.error().message.find("database down"), std::string::npos);
      }
    }
    EXPECT_TRUE(failed_once);
    c->close();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));

  // A new consumer in the same group starts after the committed offsets: nothing comes back.
  auto again = consumer(group);
  ASSERT_TRUE(p->produce(topic_, "k", "10", [](Result<Delivery>) {}));
  ASSERT_TRUE(p->flush(30s));
  std::vector<std::string> later;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (later.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)again->poll_once([&](const Record& rec) -> Result<void> {
      later.emplace_back(rec.value);
      return {};
    });
  }
  EXPECT_EQ(later, (std::vector<std::string>{"10"}));
}

TEST_F(KafkaTest, AStopEndsTheBatchAfterTheRecordInHandAndTheRestComesAgain) {
  auto p = producer();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(p->produce(topic_, "k", std::to_string(i), [](Result<Delivery>) {}));
  }
  ASSERT_TRUE(p->flush(30s));
  const std::string group = testing::unique_name("g");
  std::vector<std::string> seen;
  {
    auto c = consumer(group);
    std::stop_source stop;
    // A SIGTERM arrives while the third record is handled: run() returns after it, not after
    // the up to 500 records of its batch (a service restart would wait for them all).
    c->run(
        [&](const Record& rec) -> Result<void> {
          seen.emplace_back(rec.value);
          if (seen.size() == 3) stop.request_stop();
          return {};
        },
        stop.get_token());
    c->close();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2"}));

  // What was handled was committed; the rest comes to the group's next member.
  auto again = consumer(group);
  std::vector<std::string> later;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (later.size() < 97 && std::chrono::steady_clock::now() < deadline) {
    (void)again->poll_once([&](const Record& rec) -> Result<void> {
      later.emplace_back(rec.value);
      return {};
    });
  }
  ASSERT_EQ(later.size(), 97U);
  EXPECT_EQ(later.front(), "3");
  EXPECT_EQ(later.back(), "99");
}

TEST_F(KafkaTest, AConsumerOfTwoTopicsTellsEachRecordsTopic) {
  const std::string second = testing::unique_name("t2");
  ASSERT_TRUE(ensure_topic(*brokers_, TopicSpec{second, 1, 1}));
  auto p = producer();
  ASSERT_TRUE(p->produce(topic_, "k", "first", [](Result<Delivery>) {}));
  ASSERT_TRUE(p->produce(second, "k", "second", [](Result<Delivery>) {}));
  ASSERT_TRUE(p->flush(30s));
  ConsumerConfig config;
  config.brokers = *brokers_;
  config.group_id = testing::unique_name("g");
  config.topics = {topic_, second};
  auto c = Consumer::create(config, nullptr);
  ASSERT_TRUE(c) << c.error().message;
  std::map<std::string, std::string> topic_of;  // value -> the record's topic, read in the handler
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (topic_of.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    (void)(*c)->poll_once([&](const Record& rec) -> Result<void> {
      topic_of[std::string(rec.value)] = std::string(rec.topic);
      return {};
    });
  }
  EXPECT_EQ(topic_of, (std::map<std::string, std::string>{{"first", topic_}, {"second", second}}));
}

// An event loop takes the delivery reports over: they wait until it serves them, on its thread,
// and the descriptor says when there are some.
TEST_F(KafkaTest, TakenDeliveriesRunWhereTheyAreServedOnceTheDescriptorIsReadable) {
  auto p = producer();
  const auto fd = p->take_deliveries();
  ASSERT_TRUE(fd.has_value());
  EXPECT_FALSE(p->take_deliveries().has_value()) << "taken once";
  p->serve_deliveries();  // what came before the switch (nothing here)
  constexpr int kMessages = 200;
  std::atomic<int> acked{0};
  std::atomic<int> elsewhere{0};
  const auto me = std::this_thread::get_id();
  for (int i = 0; i < kMessages; ++i) {
    const std::string value = std::to_string(i);
    auto r = p->produce(topic_, "k", value, [&](Result<Delivery> d) {
      if (d) ++acked;
      if (std::this_thread::get_id() != me) ++elsewhere;
    });
    ASSERT_TRUE(r) << r.error().message;
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(acked.load(), 0) << "nothing runs before it is served";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (acked.load() < kMessages && std::chrono::steady_clock::now() < deadline) {
    pollfd readable{*fd, POLLIN, 0};
    if (::poll(&readable, 1, 1000) == 1) p->serve_deliveries();
  }
  EXPECT_EQ(acked.load(), kMessages);
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(p->in_flight(), 0u);
  pollfd after{*fd, POLLIN, 0};
  EXPECT_EQ(::poll(&after, 1, 0), 0) << "served: not readable any more";
}

TEST_F(KafkaTest, EnsureTopicIsIdempotent) {
  auto again = ensure_topic(*brokers_, TopicSpec{topic_, 4, 1});
  EXPECT_TRUE(again) << again.error().message;
}

TEST(KafkaProducer, RejectsInvalidConfigurationAtCreate) {
  ProducerConfig config;
  config.properties["no.such.property"] = "1";
  auto p = Producer::create(config, nullptr);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(p.error().message.find("no.such.property"), std::string::npos);
}

TEST(KafkaConsumer, RequiresAGroup) {
  ConsumerConfig config;
  config.topics = {"x"};
  auto c = Consumer::create(config, nullptr);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace switchyard::kafka
