// Time source interface: production code asks a Clock, tests hand in a fake they advance.
#pragma once

#include <chrono>
#include <string>

namespace switchyard {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that leave the process (events, logs, OCPP currentTime).
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time, for timeouts, rates and durations.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// The process-wide real clock (stateless, so sharing it is not shared mutable state).
const Clock& system_clock();

// RFC 3339 / ISO 8601 UTC with millisecond precision: "2026-12-01T10:00:00.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);

}  // namespace switchyard
