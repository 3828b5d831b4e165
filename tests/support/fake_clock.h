// A Clock that tests move by hand instead of sleeping.
#pragma once

#include <atomic>

#include "common/runtime/core/clock.h"

namespace switchyard::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)))
      : offset_(0), wall_start_(start) {}

  std::chrono::system_clock::time_point now() const override {
    return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::nanoseconds(offset_.load()));
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(offset_.load()));
  }
  void advance(std::chrono::nanoseconds d) { offset_ += d.count(); }

 private:
  std::atomic<std::int64_t> offset_;
  std::chrono::system_clock::time_point wall_start_;
};

}  // namespace switchyard::testing
