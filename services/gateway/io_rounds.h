// The loop of a gateway I/O thread, in rounds. A round starts when the thread wakes for work
// and serves everything ready. With a coalescing window (`--io-coalesce`) a light round then
// waits out the window since the wake-up and serves what came meanwhile before the thread
// blocks again: at fleet rates (a few hundred messages a second a pod) one wake-up then serves
// several frames and the Kafka acknowledgements of the events before them, where without it
// every message wakes the thread twice (its frame, its acknowledgement) and librdkafka's broker
// thread twice. The price: each hop of a CALL (its frame read, its event's acknowledgement) may
// wait up to the window, so it is answered 1-2 windows later. A round that served
// `busy_handlers` or more does not wait: under load the rounds batch on their own, and a wait
// would only slow them down. A stop() during the wait takes effect when it ends (at most
// kMaxIoCoalesce later). The window applies only while the thread serves enough connections
// (`--io-coalesce-from-connections`): a thread with a few chargers answers each at once, and at
// the rates of a few chargers there is little to save.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace switchyard::gateway {

// A round that served at least this many handlers is busy: no wait after it.
inline constexpr std::size_t kBusyRound = 64;
// The largest --io-coalesce: each hop of a CALL may wait this long.
inline constexpr std::chrono::milliseconds kMaxIoCoalesce{100};
// The largest --io-coalesce-from-connections (far above what one thread can hold).
inline constexpr std::int64_t kMaxIoCoalesceFrom = 10'000'000;

struct IoRound {
  std::size_t handlers = 0;  // run in the round
  bool waited = false;       // the round waited out the coalescing window
};

// Rounds summed on the thread that runs them: plain integers, so a round touches no cache line
// another thread writes; published to the metrics now and then (the gateway: at every sweep).
struct IoTally {
  std::uint64_t rounds_plain = 0;
  std::uint64_t rounds_waited = 0;
  std::uint64_t handlers = 0;

  void add(const IoRound& round) {
    ++(round.waited ? rounds_waited : rounds_plain);
    handlers += round.handlers;
  }
};

// When a light round waits: `window` after its wake-up, while `connections()` (asked on the
// loop's thread, once a round) is at least `from_connections`.
struct Coalescing {
  std::chrono::steady_clock::duration window{};  // zero: never waits (the plain loop)
  std::size_t from_connections = 0;              // zero: at any count
  std::function<std::size_t()> connections;      // the thread's; empty: not counted (any count)

  Coalescing() = default;
  // A window at any count of connections.
  explicit Coalescing(std::chrono::steady_clock::duration w) : window(w) {}
  Coalescing(std::chrono::steady_clock::duration w, std::size_t from,
             std::function<std::size_t()> count)
      : window(w), from_connections(from), connections(std::move(count)) {}

  // Whether a light round waits now.
  [[nodiscard]] bool waits() const {
    if (window.count() <= 0) return false;
    return from_connections == 0 || !connections || connections() >= from_connections;
  }
};

// Runs `ioc` until it is stopped or out of work, calling `on_round` after every round (on this
// thread).
void run_in_rounds(boost::asio::io_context& ioc, const Coalescing& coalescing,
                   const std::function<void(const IoRound&)>& on_round,
                   std::size_t busy_handlers = kBusyRound);

}  // namespace switchyard::gateway
