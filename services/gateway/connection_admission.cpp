// ConnectionAdmission control of new connections (see connection_admission.h).
#include "gateway/connection_admission.h"

#include <algorithm>
#include <cmath>

namespace switchyard::gateway {

ConnectionAdmission::ConnectionAdmission(ConnectionAdmissionSettings settings, const Clock& clock,
                                         std::uint64_t seed)
    : settings_(settings),
      burst_(std::max(1.0, settings.burst > 0 ? settings.burst : settings.rate)),
      clock_(clock),
      tokens_(burst_),
      refilled_(clock.steady_now()),
      second_start_(refilled_),
      rng_(seed) {
  returning_.assign(
      static_cast<std::size_t>(std::max<std::int64_t>(1, settings_.retry_after_max.count())) + 2,
      0);
  if (settings_.address_share > 0) {
    const double share = std::min(1.0, settings_.address_share);
    address_rate_ = settings_.rate * share;
    address_burst_ = std::max(1.0, burst_ * share);
  }
}

std::optional<AdmissionRefusal> ConnectionAdmission::admit(std::string_view address) {
  if (!settings_.enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto now = std::max(clock_.steady_now(), refilled_);  // read under the lock: monotonic
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * settings_.rate);
  // Those whose second to come back has passed leave the crowd (whether they came or not).
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - second_start_);
  for (std::int64_t s = 0; s < std::min<std::int64_t>(seconds.count(), returning_.size()); ++s) {
    ++second_;
    std::uint64_t& due = returning_[second_ % returning_.size()];
    waiting_ -= due;
    due = 0;
  }
  second_start_ += seconds;
  AddressBucket* bucket = address_bucket(address, now);
  if (bucket != nullptr && bucket->tokens < 1) {
    const bool report = !bucket->reported || now - *bucket->reported >= std::chrono::minutes(1);
    if (report) bucket->reported = now;
    return AdmissionRefusal{.retry_after = retry_after(), .address = true, .report = report};
  }
  if (tokens_ >= 1) {
    tokens_ -= 1;
    if (bucket != nullptr) bucket->tokens -= 1;
    return std::nullopt;
  }
  return AdmissionRefusal{.retry_after = retry_after(), .address = false, .report = false};
}

std::chrono::seconds ConnectionAdmission::retry_after() {
  // The crowd waiting (this one included), spread over the seconds the rate needs for it.
  const double crowd = static_cast<double>(waiting_ + 1);
  const auto spread = static_cast<std::int64_t>(std::clamp(
      std::ceil(crowd / settings_.rate), 1.0,
      static_cast<double>(std::max<std::int64_t>(1, settings_.retry_after_max.count()))));
  std::uniform_int_distribution<std::int64_t> pick(1, spread);
  const std::int64_t wait = pick(rng_);
  ++returning_[(second_ + static_cast<std::uint64_t>(wait)) % returning_.size()];
  ++waiting_;
  return std::chrono::seconds(wait);
}

ConnectionAdmission::AddressBucket* ConnectionAdmission::address_bucket(
    std::string_view address, std::chrono::steady_clock::time_point now) {
  if (address_rate_ <= 0 || address.empty()) return nullptr;
  const auto refill = [&](AddressBucket& b) {
    const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(address_burst_, b.tokens + std::max(0.0, elapsed) * address_rate_);
    b.refilled = now;
  };
  const std::string key(address);
  if (auto found = addresses_.find(key); found != addresses_.end()) {
    refill(found->second);
    return &found->second;
  }
  if (addresses_.size() >= kMaxAddresses) {
    // Full of busy addresses (many sources at once, IPv6): the pod's rate still holds. A sweep
    // walks them all, so at most one a second, not one per new address.
    if (now - last_sweep_ < std::chrono::seconds(1)) return nullptr;
    last_sweep_ = now;
    // A full bucket is the same as none: forget the addresses that have been quiet long enough.
    for (auto it = addresses_.begin(); it != addresses_.end();) {
      refill(it->second);
      it = it->second.tokens >= address_burst_ ? addresses_.erase(it) : std::next(it);
    }
    if (addresses_.size() >= kMaxAddresses) return nullptr;
  }
  return &addresses_
              .emplace(key,
                       AddressBucket{.tokens = address_burst_, .refilled = now, .reported = {}})
              .first->second;
}

std::size_t ConnectionAdmission::tracked_addresses() {
  std::lock_guard lock(mutex_);
  return addresses_.size();
}

}  // namespace switchyard::gateway
