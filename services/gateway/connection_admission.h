// ConnectionAdmission control of new connections. A pod takes at most `rate` new connections per
// second (a token bucket of `burst`), so a reconnect storm larger than it can serve at once (TLS
// handshakes, password hashes, owner claims, boots) is spread out instead of starving the
// chargers already connected. Over the rate a connection is refused with a Retry-After drawn
// from [1, spread] s, the spread growing with how many were refused in the last second (their
// count over the rate, capped at `retry_after_max`), so the refused come back in a trickle the
// pod can take. Thread-safe (the listeners' I/O threads share one).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "common/runtime/core/clock.h"

namespace switchyard::gateway {

struct ConnectionAdmissionSettings {
  double rate = 0;   // new connections per second; 0: no limit
  double burst = 0;  // taken at once after a quiet time; 0: one second's worth
  std::chrono::seconds retry_after_max{30};
  bool enabled() const { return rate > 0; }
};

class ConnectionAdmission {
 public:
  ConnectionAdmission(ConnectionAdmissionSettings settings, const Clock& clock,
                      std::uint64_t seed = 0x5eed);

  // nullopt: admitted (one token taken); otherwise refused, with the Retry-After to answer.
  std::optional<std::chrono::seconds> admit();

  bool enabled() const { return settings_.enabled(); }

 private:
  ConnectionAdmissionSettings settings_;
  double burst_;
  const Clock& clock_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::chrono::steady_clock::time_point second_start_;
  std::uint64_t refused_this_second_ = 0;
  std::uint64_t refused_last_second_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace switchyard::gateway
