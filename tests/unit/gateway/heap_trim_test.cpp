// The heap trim runs once a wave of connections is over, and again as its aftermath is freed;
// never during it.
#include "gateway/heap_trim.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace switchyard::gateway {
namespace {

using namespace std::chrono_literals;

template <typename Done>
bool eventually(Done done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(HeapTrim, TrimsAfterTheWaveAndAsItSettlesButNotWhileItLasts) {
  std::atomic<int> calls{0};
  HeapTrim trim(100ms, nullptr, [&] {
    ++calls;
    return std::int64_t{4096};
  });
  // A wave: a connection every 10 ms for 300 ms. The trim waits for 100 ms of quiet.
  const auto end = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < end) {
    trim.note();
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(calls.load(), 0) << "no trim while connections keep coming";
  EXPECT_TRUE(eventually([&] { return calls.load() >= 1; }));
  // What the wave leaves behind is freed later: trims 2, 4, 8, 16 and 32 x quiet after it.
  EXPECT_TRUE(eventually([&] { return calls.load() == 1 + HeapTrim::kFollowUps; }));
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(calls.load(), 1 + HeapTrim::kFollowUps) << "nothing new, nothing to trim";
  trim.note();
  EXPECT_TRUE(eventually([&] { return calls.load() >= 2 + HeapTrim::kFollowUps; }));
}

TEST(HeapTrim, TrimsWhenTheHeapGrewAfterTheWave) {
  std::atomic<int> calls{0};
  std::atomic<std::int64_t> rss{std::int64_t{100} << 20};
  HeapTrim trim(
      50ms, nullptr,
      [&] {
        ++calls;
        rss = std::int64_t{101} << 20;  // what the trim gave back
        return std::int64_t{0};
      },
      [&] { return rss.load(); });
  std::this_thread::sleep_for(200ms);
  rss = std::int64_t{105} << 20;  // under a tenth: left alone
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(calls.load(), 0);
  rss = std::int64_t{120} << 20;  // a tenth more, and no connection event for a while
  EXPECT_TRUE(eventually([&] { return calls.load() == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(calls.load(), 1) << "measured again from what the trim left";
}

TEST(HeapTrim, ZeroQuietIsOff) {
  std::atomic<int> calls{0};
  {
    HeapTrim trim(0ms, nullptr, [&] {
      ++calls;
      return std::int64_t{0};
    });
    trim.note();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(HeapTrim, TheRealTrimReportsWhatItGaveBack) {
  // Whatever the heap holds, the figure is a byte count, never garbage.
  const std::int64_t returned = HeapTrim::default_trim();
  EXPECT_GT(returned, -(std::int64_t{1} << 30));
  EXPECT_LT(returned, std::int64_t{1} << 40);
}

}  // namespace
}  // namespace switchyard::gateway
