// The Redis adapter against a real server: pipelining, scripts, errors and unavailability.
#include "common/runtime/redis/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>

#include "support/environment.h"

namespace switchyard::redis {
namespace {

using namespace std::chrono_literals;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto address = testing::redis_address();
    SWITCHYARD_REQUIRE(address, "Redis");
    Config config;
    config.host = address->substr(0, address->find(':'));
    config.port = std::stoi(address->substr(address->find(':') + 1));
    client_ = Client::create(config, nullptr);
    prefix_ = testing::unique_name("t") + ":";
  }
  void TearDown() override {
    if (!client_) return;
    auto keys = client_->execute_sync({"KEYS", prefix_ + "*"});
    if (keys && !keys->elements.empty()) {
      Command del{"DEL"};
      for (auto& k : keys->elements) del.push_back(k.str);
      (void)client_->execute_sync(del);
    }
  }
  std::unique_ptr<Client> client_;
  std::string prefix_;
};

TEST_F(RedisTest, PipelinedSetsAndGetsReturnInOrder) {
  std::vector<Command> sets, gets;
  for (int i = 0; i < 1000; ++i) {
    sets.push_back({"SET", prefix_ + std::to_string(i), "value-" + std::to_string(i)});
    gets.push_back({"GET", prefix_ + std::to_string(i)});
  }
  auto set_replies = client_->execute_batch_sync(sets);
  ASSERT_TRUE(set_replies) << set_replies.error().message;
  ASSERT_EQ(set_replies->size(), 1000u);
  for (const auto& r : *set_replies) EXPECT_EQ(r.str, "OK");
  auto get_replies = client_->execute_batch_sync(gets);
  ASSERT_TRUE(get_replies) << get_replies.error().message;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*get_replies)[i].str, "value-" + std::to_string(i));
}

TEST_F(RedisTest, ConcurrentCallersShareRoundTripsAndEachGetsItsOwnReply) {
  constexpr int kCalls = 2000;
  std::atomic<int> correct{0};
  std::latch done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client_->execute({"INCRBY", prefix_ + "counter", "1"}, [&](Result<Reply> r) {
      if (r && r->type == Reply::Type::kInteger && r->integer >= 1) correct++;
      done.count_down();
    });
  }
  done.wait();
  EXPECT_EQ(correct.load(), kCalls);
  auto total = client_->execute_sync({"GET", prefix_ + "counter"});
  ASSERT_TRUE(total);
  EXPECT_EQ(total->str, std::to_string(kCalls));
}

TEST_F(RedisTest, LuaCompareAndDeleteDeletesOnlyTheMatchingValue) {
  const Script compare_and_delete(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
      "else return 0 end");
  const std::string key = prefix_ + "owner";
  ASSERT_TRUE(client_->execute_sync({"SET", key, "pod-a:7"}));

  auto wrong = compare_and_delete.call_sync(*client_, {key}, {"pod-b:6"});
  ASSERT_TRUE(wrong) << wrong.error().message;
  EXPECT_EQ(wrong->integer, 0);
  EXPECT_EQ(client_->execute_sync({"GET", key})->str, "pod-a:7");

  auto right = compare_and_delete.call_sync(*client_, {key}, {"pod-a:7"});
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(right->integer, 1);
  EXPECT_TRUE(client_->execute_sync({"GET", key})->is_nil());
}

TEST_F(RedisTest, ScriptFallsBackToEvalAfterTheScriptCacheIsFlushed) {
  const Script script("return ARGV[1] .. '!'");
  ASSERT_TRUE(script.call_sync(*client_, {}, {"a"}));
  ASSERT_TRUE(client_->execute_sync({"SCRIPT", "FLUSH"}));
  auto r = script.call_sync(*client_, {}, {"b"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->str, "b!");
}

TEST_F(RedisTest, ServerErrorIsFailedPreconditionWithTheServersText) {
  ASSERT_TRUE(client_->execute_sync({"SET", prefix_ + "s", "x"}));
  auto r = client_->execute_sync({"LPUSH", prefix_ + "s", "y"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("WRONGTYPE"), std::string::npos) << r.error().message;
  // In a batch the error stays with its element and the others succeed.
  auto batch = client_->execute_batch_sync({{"LPUSH", prefix_ + "s", "y"}, {"GET", prefix_ + "s"}});
  ASSERT_TRUE(batch);
  EXPECT_TRUE((*batch)[0].is_error());
  EXPECT_EQ((*batch)[1].str, "x");
}

TEST(RedisUnavailable, CommandsFailFastWithUnavailableWhenNothingListens) {
  Config config;
  config.port = 1;
  config.connect_timeout = 200ms;
  auto client = Client::create(config, nullptr);
  const auto started = std::chrono::steady_clock::now();
  auto r = client->execute_sync({"PING"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("127.0.0.1:1"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_FALSE(client->connected());
}

}  // namespace
}  // namespace switchyard::redis
