// Open-loop schedule arithmetic.
#include "loadgen/schedule.h"

#include <cmath>
#include <stdexcept>

namespace switchyard::loadgen {

OpenLoopSchedule::OpenLoopSchedule(double rate, std::uint64_t chargers)
    : rate_(rate), chargers_(chargers) {
  if (!(rate > 0) || chargers == 0) throw std::invalid_argument("rate and chargers must be > 0");
}

OpenLoopSchedule::Duration OpenLoopSchedule::send_offset(std::uint64_t charger,
                                                         std::uint64_t k) const {
  // The n-th send of the whole fleet (n = k * chargers + charger) happens at n / rate.
  const long double n = static_cast<long double>(k) * static_cast<long double>(chargers_) +
                        static_cast<long double>(charger);
  return Duration(static_cast<std::int64_t>(std::llround(n * 1e9L / rate_)));
}

std::uint64_t OpenLoopSchedule::first_index_at(std::uint64_t charger, Duration elapsed) const {
  const long double first = static_cast<long double>(charger) * 1e9L / rate_;
  const long double t = static_cast<long double>(elapsed.count());
  if (t <= first) return 0;
  const long double per = static_cast<long double>(chargers_) * 1e9L / rate_;
  auto k = static_cast<std::uint64_t>(std::ceil((t - first) / per));
  // Rounding of the offsets can put the k found here a nanosecond either side; settle exactly.
  while (k > 0 && send_offset(charger, k - 1) >= elapsed) --k;
  while (send_offset(charger, k) < elapsed) ++k;
  return k;
}

OpenLoopSchedule::Duration OpenLoopSchedule::period() const {
  return Duration(
      static_cast<std::int64_t>(std::llround(static_cast<long double>(chargers_) * 1e9L / rate_)));
}

}  // namespace switchyard::loadgen
