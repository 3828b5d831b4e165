// Gives the heap's free pages back to the system once a wave of connections has passed.
// A storm of upgrades and boots allocates much that is freed again (HTTP buffers, decoded
// frames, events), interleaved with what the connections keep; glibc holds those free pages,
// so a pod's RSS would stay at its peak long after. malloc_trim(0) returns every free page:
// * after `quiet` without a new connection or a close, when there was one since the last trim,
//   and again 2, 4, 8, 16 and 32 x `quiet` after it: the work a wave leaves behind (its events
//   through the bus and the projections, the answers) frees most of what it took only later,
//   and one trim right after the wave left 26 MB of 15,000 chargers' boots in the heap;
// * when RSS grew by a tenth (at least 8 MiB) since the last trim, also `quiet` after the last
//   connection event (the work a wave leaves behind, such as its events, comes after it).
// It runs on a thread of its own, never on an I/O thread. Counted in
// switchyard_gateway_heap_trims_total / _heap_returned_bytes_total.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace switchyard::gateway {

class GatewayMetrics;

class HeapTrim {
 public:
  // Trims and returns the bytes of RSS given back (the default: malloc_trim(0), RSS from
  // /proc/self/statm before and after).
  using Trim = std::function<std::int64_t()>;
  using Rss = std::function<std::int64_t()>;  // bytes resident now

  HeapTrim(std::chrono::milliseconds quiet, GatewayMetrics* metrics, Trim trim = default_trim,
           Rss rss = rss_bytes);
  ~HeapTrim();
  HeapTrim(const HeapTrim&) = delete;
  HeapTrim& operator=(const HeapTrim&) = delete;

  // A connection opened or closed (any thread; a relaxed store or two).
  void note();

  std::uint64_t trims() const { return trims_.load(); }

  static constexpr int kFollowUps = 5;  // trims after the first one of a wave

  static std::int64_t default_trim();
  static std::int64_t rss_bytes();

 private:
  void run(const std::stop_token& stop);

  const std::chrono::milliseconds quiet_;
  GatewayMetrics* metrics_;
  Trim trim_;
  Rss rss_;
  std::atomic<std::int64_t> last_note_ns_{0};  // steady clock
  std::atomic<bool> dirty_{false};
  std::atomic<std::uint64_t> trims_{0};
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;
};

}  // namespace switchyard::gateway
