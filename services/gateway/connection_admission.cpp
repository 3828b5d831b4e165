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
      rng_(seed) {}

std::optional<std::chrono::seconds> ConnectionAdmission::admit() {
  if (!settings_.enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto now = std::max(clock_.steady_now(), refilled_);  // read under the lock: monotonic
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * settings_.rate);
  if (now - second_start_ >= std::chrono::seconds(1)) {
    // A second with no refusal in between resets the estimate.
    refused_last_second_ =
        now - second_start_ >= std::chrono::seconds(2) ? 0 : refused_this_second_;
    refused_this_second_ = 0;
    second_start_ = now;
  }
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return std::nullopt;
  }
  ++refused_this_second_;
  // The refused of a second come back over `spread` seconds: about `rate` a second.
  const double demand = static_cast<double>(std::max(refused_this_second_, refused_last_second_));
  const auto spread = static_cast<std::int64_t>(std::clamp(
      std::ceil(demand / settings_.rate), 1.0,
      static_cast<double>(std::max<std::int64_t>(1, settings_.retry_after_max.count()))));
  std::uniform_int_distribution<std::int64_t> pick(1, spread);
  return std::chrono::seconds(pick(rng_));
}

}  // namespace switchyard::gateway
