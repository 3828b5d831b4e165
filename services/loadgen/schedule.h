// The open-loop send schedule of the `rate` profile: `rate` CALLs per second in total, spread
// evenly over the chargers and over time, fixed in advance. Each send time is computed from its
// index (never by adding periods up), so a stalled sender does not drift the schedule, and
// latency is measured from the intended send time, not from when the send actually happened.
#pragma once

#include <chrono>
#include <cstdint>

namespace switchyard::loadgen {

class OpenLoopSchedule {
 public:
  using Duration = std::chrono::nanoseconds;

  // `rate`: CALLs per second over all `chargers` (> 0 both).
  OpenLoopSchedule(double rate, std::uint64_t chargers);

  // Time after the start of the schedule at which charger `charger` sends its `k`-th CALL
  // (k = 0, 1, ...). Charger i starts at i / rate; each then sends every chargers / rate.
  Duration send_offset(std::uint64_t charger, std::uint64_t k) const;

  // The smallest k whose send offset is >= `elapsed` (where a late starter joins the schedule).
  std::uint64_t first_index_at(std::uint64_t charger, Duration elapsed) const;

  // The interval between two CALLs of one charger.
  Duration period() const;

 private:
  double rate_;
  std::uint64_t chargers_;
};

}  // namespace switchyard::loadgen
