// Failed-authentication throttling (see auth_throttle.h).
#include "gateway/auth_throttle.h"

#include <algorithm>

namespace switchyard::gateway {
namespace {

std::string key_of(ThrottleKey kind, std::string_view value) {
  return std::string(kind == ThrottleKey::kCharger ? "c:" : "a:") + std::string(value);
}

}  // namespace

std::string_view address_of(std::string_view remote) {
  if (remote.starts_with('[')) {
    const auto end = remote.find(']');
    return end == std::string_view::npos ? remote : remote.substr(1, end - 1);
  }
  const auto colon = remote.rfind(':');
  if (colon == std::string_view::npos || remote.find(':') != colon) return remote;  // bare IPv6
  return remote.substr(0, colon);
}

std::optional<Lockout> AuthThrottle::check(const std::string& key, ThrottleKey kind,
                                           std::chrono::steady_clock::time_point now) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
  return Lockout{kind, std::max(left, std::chrono::seconds(1)), it->second.failures};
}

std::optional<Lockout> AuthThrottle::locked(std::string_view charger_id, std::string_view address) {
  if (!settings_.enabled()) return std::nullopt;
  const auto now = clock_.steady_now();
  std::lock_guard lock(mutex_);
  if (auto l = check(key_of(ThrottleKey::kAddress, address), ThrottleKey::kAddress, now)) return l;
  if (auto good = good_addresses_.find(std::string(charger_id));
      good != good_addresses_.end() && good->second == address) {
    return std::nullopt;  // where the charger itself connects from
  }
  return check(key_of(ThrottleKey::kCharger, charger_id), ThrottleKey::kCharger, now);
}

std::optional<Lockout> AuthThrottle::count(const std::string& key, ThrottleKey kind, int limit,
                                           std::chrono::steady_clock::time_point now) {
  if (limit <= 0) return std::nullopt;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= settings_.max_keys) {
      // A flood wider than the table. At most once a second (scans are O(n)): forget what has
      // expired, then counts that locked nothing; otherwise one arbitrary key makes room.
      if (prune(now) && entries_.size() >= settings_.max_keys) {
        std::erase_if(entries_, [&](const auto& kv) { return kv.second.locked_until <= now; });
      }
      // All locked: the new key is not tracked (evicting a lock would lift it).
      if (entries_.size() >= settings_.max_keys) return std::nullopt;
    }
    it = entries_.emplace(key, Entry{now, 0, {}, 0}).first;
  }
  Entry& e = it->second;
  if (now - e.window_start >= settings_.window) {
    e.window_start = now;
    e.failures = 0;
    // A key that stayed clean for a whole window after its lock starts over.
    if (e.locked_until + settings_.window <= now) e.locks = 0;
  }
  ++e.failures;
  if (e.failures < limit || e.locked_until > now) return std::nullopt;
  const auto penalty = std::min<std::chrono::seconds>(
      settings_.max_lockout, settings_.lockout * (1LL << std::min(e.locks, 20)));
  e.locked_until = now + penalty;
  ++e.locks;
  const int failures = e.failures;
  e.failures = 0;
  e.window_start = now;
  return Lockout{kind, penalty, failures};
}

std::optional<Lockout> AuthThrottle::failed(std::string_view charger_id, std::string_view address) {
  if (!settings_.enabled()) return std::nullopt;
  const auto now = clock_.steady_now();
  std::lock_guard lock(mutex_);
  if (++ops_ % 1024 == 0) (void)prune(now);
  auto by_address = count(key_of(ThrottleKey::kAddress, address), ThrottleKey::kAddress,
                          settings_.address_failures, now);
  auto by_charger = count(key_of(ThrottleKey::kCharger, charger_id), ThrottleKey::kCharger,
                          settings_.charger_failures, now);
  return by_address ? by_address : by_charger;
}

void AuthThrottle::succeeded(std::string_view charger_id, std::string_view address) {
  if (!settings_.enabled()) return;
  std::lock_guard lock(mutex_);
  entries_.erase(key_of(ThrottleKey::kCharger, charger_id));
  if (good_addresses_.size() >= settings_.max_keys) good_addresses_.clear();
  good_addresses_[std::string(charger_id)] = std::string(address);
}

std::size_t AuthThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

bool AuthThrottle::prune(std::chrono::steady_clock::time_point now) {
  if (now < last_prune_ + std::chrono::seconds(1)) return false;
  last_prune_ = now;
  std::erase_if(entries_, [&](const auto& kv) {
    const Entry& e = kv.second;
    return e.locked_until + settings_.window <= now && now - e.window_start >= settings_.window;
  });
  return true;
}

}  // namespace switchyard::gateway
