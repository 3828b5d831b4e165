// A producer whose broker is gone or frozen reports delivery failures in bounded time instead
// of hanging, and works again once the broker is back. Runs alone (RUN_SERIAL): it freezes the
// shared local broker.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>

#include "common/runtime/kafka/admin.h"
#include "common/runtime/kafka/producer.h"
#include "support/environment.h"

namespace switchyard::kafka {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<int> timed_out{0};
};

void produce_n(Producer& p, const std::string& topic, int n, Outcome& out) {
  for (int i = 0; i < n; ++i) {
    auto r = p.produce(topic, "k" + std::to_string(i), "v", [&out](Result<Delivery> d) {
      if (d) {
        out.ok++;
      } else {
        out.failed++;
        if (d.error().code == ErrorCode::kDeadlineExceeded) out.timed_out++;
      }
    });
    ASSERT_TRUE(r) << r.error().message;
  }
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

TEST(KafkaOutage, UnreachableBrokerFailsEveryMessageWithinTheDeliveryTimeout) {
  ProducerConfig config;
  config.brokers = "127.0.0.1:1";  // nothing listens there
  config.delivery_timeout = 2s;
  auto p = Producer::create(config, nullptr);
  ASSERT_TRUE(p) << p.error().message;
  Outcome out;
  const auto started = std::chrono::steady_clock::now();
  produce_n(**p, "never", 100, out);
  ASSERT_TRUE(wait_until([&] { return out.failed.load() == 100; }, 20s))
      << "only " << out.failed.load() << " of 100 failures reported";
  EXPECT_EQ(out.ok.load(), 0);
  EXPECT_EQ(out.timed_out.load(), 100);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_EQ((*p)->in_flight(), 0u);
}

// Freezes the broker process with SIGSTOP and always thaws it, even when an assertion fails.
class FrozenBroker {
 public:
  explicit FrozenBroker(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~FrozenBroker() { thaw(); }
  void thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = 0;
  }

 private:
  pid_t pid_;
};

TEST(KafkaOutage, FrozenBrokerFailsDeliveriesInsteadOfHangingAndRecoversAfter) {
  auto brokers = testing::kafka_brokers();
  SWITCHYARD_REQUIRE(brokers, "Kafka");
  auto dir = testing::local_dir();
  SWITCHYARD_REQUIRE(dir, "deploy/local work directory");
  std::ifstream pid_file(*dir + "/kafka/kafka.pid");
  pid_t pid = 0;
  pid_file >> pid;
  ASSERT_GT(pid, 0) << "no kafka.pid in " << *dir;

  const std::string topic = testing::unique_name("t");
  ASSERT_TRUE(ensure_topic(*brokers, TopicSpec{topic, 2, 1}));
  ProducerConfig config;
  config.brokers = *brokers;
  config.delivery_timeout = 3s;
  auto p = Producer::create(config, nullptr);
  ASSERT_TRUE(p) << p.error().message;
  {
    Outcome warm;
    produce_n(**p, topic, 10, warm);
    ASSERT_TRUE((*p)->flush(30s));
    ASSERT_EQ(warm.ok.load(), 10);
  }

  Outcome out;
  {
    FrozenBroker frozen(pid);
    produce_n(**p, topic, 100, out);
    EXPECT_TRUE(wait_until([&] { return out.failed.load() + out.ok.load() == 100; }, 30s))
        << "callbacks: ok=" << out.ok.load() << " failed=" << out.failed.load();
    frozen.thaw();
  }
  EXPECT_EQ(out.failed.load(), 100) << "no message may be reported delivered while frozen";

  Outcome after;
  ASSERT_TRUE(wait_until(
      [&] {
        Outcome probe;
        produce_n(**p, topic, 1, probe);
        (*p)->flush(5s);
        return probe.ok.load() == 1;
      },
      60s))
      << "producer did not recover after the broker thawed";
}

}  // namespace
}  // namespace switchyard::kafka
