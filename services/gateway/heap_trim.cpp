// Heap trimming after a wave of connections.
#include "gateway/heap_trim.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/runtime/core/log.h"
#include "common/runtime/core/small_objects.h"
#include "gateway/gateway_metrics.h"

namespace switchyard::gateway {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t HeapTrim::rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE) : 0;
}

std::int64_t HeapTrim::default_trim() {
  const std::int64_t before = rss_bytes();
  if (small_objects::used_for_openssl()) small_objects::heap().trim();
  malloc_trim(0);
  return before - rss_bytes();
}

HeapTrim::HeapTrim(std::chrono::milliseconds quiet, GatewayMetrics* metrics, Trim trim, Rss rss)
    : quiet_(quiet), metrics_(metrics), trim_(std::move(trim)), rss_(std::move(rss)) {
  if (quiet_.count() > 0) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
  }
}

HeapTrim::~HeapTrim() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void HeapTrim::note() {
  last_note_ns_.store(now_ns(), std::memory_order_relaxed);
  dirty_.store(true, std::memory_order_relaxed);
}

void HeapTrim::run(const std::stop_token& stop) {
  const auto step = std::max(quiet_ / 4, std::chrono::milliseconds(10));
  constexpr std::int64_t kMinGrowth = std::int64_t{8} << 20;
  std::int64_t baseline = rss_();                          // RSS after the last trim
  int follow_ups = 0;                                      // left after the last wave
  auto next_follow_up = std::chrono::nanoseconds::zero();  // since the wave's last note
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    wake_.wait_for(lock, stop, step, [] { return false; });
    if (stop.stop_requested()) return;
    const auto since = std::chrono::nanoseconds(now_ns() - last_note_ns_.load());
    if (since < quiet_) continue;
    const bool wave = dirty_.exchange(false, std::memory_order_relaxed);
    if (wave) {
      follow_ups = kFollowUps;
      next_follow_up = 2 * quiet_;
    }
    const bool follow_up = !wave && follow_ups > 0 && since >= next_follow_up;
    if (follow_up) {
      --follow_ups;
      next_follow_up *= 2;
    }
    const bool grown = rss_() > baseline + std::max(kMinGrowth, baseline / 10);
    if (!wave && !follow_up && !grown) continue;
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t returned = trim_();
    baseline = rss_();
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    trims_.fetch_add(1);
    if (metrics_ != nullptr) metrics_->heap_trimmed(returned > 0 ? returned : 0);
    log::debug("heap trimmed after a wave of connections",
               {{"returned_bytes", returned}, {"seconds", took.count()}, {"follow_up", follow_up}});
  }
}

}  // namespace switchyard::gateway
