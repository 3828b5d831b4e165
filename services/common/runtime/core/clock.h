// Time source interface: production code asks a Clock, tests hand in a fake they advance.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

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

// Milliseconds since 1970 (what stores and protocols keep).
inline std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Reads RFC 3339 with a zone ("Z" or "+HH:MM"), fractional seconds to the millisecond:
// "2030-01-01T00:00:00Z", "2030-01-01T01:00:00.5+01:00". nullopt for anything else, and for a
// time the clock cannot hold (its nanoseconds span 1677-09-21 to 2262-04-11).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace switchyard
