// An I/O thread's rounds (io_rounds.h): what one wake-up serves with and without a coalescing
// window, and that a busy or stopped loop never waits it out.
#include "gateway/io_rounds.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <optional>
#include <thread>
#include <vector>

namespace switchyard::gateway {
namespace {

namespace net = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(IoRounds, WithoutAWindowARoundServesWhatIsReadyAndNeverWaits) {
  net::io_context ioc;
  int ran = 0;
  for (int i = 0; i < 3; ++i) net::post(ioc, [&] { ++ran; });
  std::vector<IoRound> rounds;
  run_in_rounds(ioc, Coalescing{}, [&](const IoRound& r) { rounds.push_back(r); });
  EXPECT_EQ(ran, 3);
  ASSERT_EQ(rounds.size(), 1u);  // out of work after it: the loop returns
  EXPECT_EQ(rounds[0].handlers, 3u);
  EXPECT_FALSE(rounds[0].waited);
}

TEST(IoRounds, ALightRoundWaitsOutTheWindowAndServesWhatCameMeanwhile) {
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work(ioc.get_executor());
  std::thread later;
  std::vector<std::string> order;
  net::post(ioc, [&] {
    order.push_back("first");
    // Arrives 5 ms into a 2-s window, from another thread (a frame, an acknowledgement); the
    // window is long so that a slow machine still starts the thread within it.
    later = std::thread([&] {
      std::this_thread::sleep_for(milliseconds(5));
      net::post(ioc, [&] { order.push_back("meanwhile"); });
    });
  });
  std::vector<IoRound> rounds;
  run_in_rounds(ioc, Coalescing(std::chrono::seconds(2)), [&](const IoRound& r) {
    rounds.push_back(r);
    work.reset();  // one round, then out of work
  });
  later.join();
  EXPECT_EQ(order, (std::vector<std::string>{"first", "meanwhile"}));
  ASSERT_EQ(rounds.size(), 1u);  // one wake-up served both
  EXPECT_EQ(rounds[0].handlers, 2u);
  EXPECT_TRUE(rounds[0].waited);
}

TEST(IoRounds, ABusyRoundDoesNotWait) {
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work(ioc.get_executor());
  for (int i = 0; i < 5; ++i) net::post(ioc, [] {});
  std::vector<IoRound> rounds;
  const auto start = Clock::now();
  // A window of a minute: had the round waited, the test would run that long.
  run_in_rounds(
      ioc, Coalescing(std::chrono::minutes(1)),
      [&](const IoRound& r) {
        rounds.push_back(r);
        work.reset();
      },
      /*busy_handlers=*/4);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].handlers, 5u);
  EXPECT_FALSE(rounds[0].waited);
}

TEST(IoRounds, AStopInTheRoundEndsItWithoutWaiting) {
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work(ioc.get_executor());
  net::post(ioc, [&] { ioc.stop(); });
  net::post(ioc, [] {});  // left for after a restart
  std::vector<IoRound> rounds;
  const auto start = Clock::now();
  run_in_rounds(ioc, Coalescing(std::chrono::minutes(1)),
                [&](const IoRound& r) { rounds.push_back(r); });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].handlers, 1u);
  EXPECT_FALSE(rounds[0].waited);
}

// --io-coalesce-from-connections: the window applies from that many connections on, counted
// once a round (a thread that gains chargers starts waiting, one that loses them stops).
TEST(IoRounds, ALightRoundWaitsOnlyWhileTheThreadServesEnoughConnections) {
  std::size_t connections = 4;
  int asked = 0;
  const Coalescing from5(std::chrono::minutes(1), 5, [&] {
    ++asked;
    return connections;
  });
  EXPECT_FALSE(from5.waits());
  connections = 5;
  EXPECT_TRUE(from5.waits());
  EXPECT_EQ(asked, 2);
  EXPECT_TRUE(Coalescing(std::chrono::minutes(1), 0, [] { return std::size_t{0}; }).waits());
  EXPECT_FALSE(Coalescing(Clock::duration::zero(), 0, [] { return std::size_t{9}; }).waits());
  EXPECT_FALSE(Coalescing{}.waits());

  // Below the count the loop runs plain: a minute's window, had it applied, would show.
  connections = 4;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work(ioc.get_executor());
  net::post(ioc, [] {});
  std::vector<IoRound> rounds;
  const auto start = Clock::now();
  run_in_rounds(ioc, from5, [&](const IoRound& r) {
    rounds.push_back(r);
    work.reset();
  });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_FALSE(rounds[0].waited);
}

TEST(IoRounds, ATallySumsRoundsByKindAndTheirHandlers) {
  IoTally tally;
  tally.add({.handlers = 3, .waited = false});
  tally.add({.handlers = 5, .waited = true});
  tally.add({.handlers = 1, .waited = true});
  EXPECT_EQ(tally.rounds_plain, 1u);
  EXPECT_EQ(tally.rounds_waited, 2u);
  EXPECT_EQ(tally.handlers, 9u);
}

}  // namespace
}  // namespace switchyard::gateway
