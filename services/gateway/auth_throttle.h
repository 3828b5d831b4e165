// Brute-force protection of charger authentication: failed attempts (wrong password, unknown
// charger, wrong security profile, a certificate or user name that is not the charger's) are
// counted per charger id and per source address in a sliding window; a key over its limit is
// locked for a penalty that doubles with each lock (up to a maximum), and while locked its
// upgrades are refused with 429 and Retry-After before any password is hashed. The address limit
// is much higher than the charger limit by default: many chargers share one carrier NAT address,
// and one misconfigured charger must not lock out its neighbours. A charger id's lock does not
// apply to the address the charger last authenticated from (a guesser cannot lock the real
// charger out), and the gateway never locks a verified client certificate (profile 3).
//
// Thread-safe (the listeners' I/O threads share one). Memory is bounded: at most `max_keys`
// keys are tracked; idle keys are forgotten once their window and lock have passed.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/runtime/core/clock.h"

namespace switchyard::gateway {

struct AuthThrottleSettings {
  int charger_failures = 5;    // failures per charger id within `window` before a lock
  int address_failures = 100;  // failures per source address within `window` before a lock
  std::chrono::seconds window{60};
  std::chrono::seconds lockout{60};  // the first lock; each further lock of a key doubles it
  std::chrono::seconds max_lockout{900};
  std::size_t max_keys = 100'000;
  bool enabled() const { return charger_failures > 0 || address_failures > 0; }
};

// Which key locked.
enum class ThrottleKey : std::uint8_t { kCharger, kAddress };

struct Lockout {
  ThrottleKey key = ThrottleKey::kCharger;
  std::chrono::seconds retry_after{0};
  int failures = 0;  // in the window that caused it (for the log)
};

class AuthThrottle {
 public:
  AuthThrottle(AuthThrottleSettings settings, const Clock& clock)
      : settings_(settings), clock_(clock) {}

  // Before the credentials are checked: the lock in force for this charger or address, if any.
  std::optional<Lockout> locked(std::string_view charger_id, std::string_view address);
  // A failed attempt; returns the lock it started, if it started one.
  std::optional<Lockout> failed(std::string_view charger_id, std::string_view address);
  // The charger authenticated from `address`: its own failures are forgotten (its address's are
  // not), and a later lock of its id does not apply to that address, so a guesser elsewhere
  // cannot lock the real charger out of its own connection.
  void succeeded(std::string_view charger_id, std::string_view address);
  std::size_t tracked() const;

 private:
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    int failures = 0;
    std::chrono::steady_clock::time_point locked_until;
    int locks = 0;  // consecutive locks: the penalty doubles
  };
  std::optional<Lockout> check(const std::string& key, ThrottleKey kind,
                               std::chrono::steady_clock::time_point now);
  std::optional<Lockout> count(const std::string& key, ThrottleKey kind, int limit,
                               std::chrono::steady_clock::time_point now);
  // Forgets keys whose window and lock have passed; at most once a second (false: skipped).
  bool prune(std::chrono::steady_clock::time_point now);

  AuthThrottleSettings settings_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  // Charger id -> the address it last authenticated from (at most max_keys; forgotten first
  // when full).
  std::unordered_map<std::string, std::string> good_addresses_;
  std::uint64_t ops_ = 0;
  std::chrono::steady_clock::time_point last_prune_ = std::chrono::steady_clock::time_point::min();
};

// "203.0.113.7" of "203.0.113.7:51234" / "[2001:db8::1]:443" (the address without the port).
std::string_view address_of(std::string_view remote);

}  // namespace switchyard::gateway
