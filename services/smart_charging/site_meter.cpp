// Windowed site meter readings (see site_meter.h).
#include "smart_charging/site_meter.h"

#include <algorithm>

namespace switchyard::smart_charging {

void SiteMeter::add(Time at, const PhaseCurrents& load_a) {
  // Readings may arrive late; keep them in time order.
  auto pos = readings_.end();
  while (pos != readings_.begin() && std::prev(pos)->at > at) --pos;
  readings_.insert(pos, Reading{at, load_a});
  const Time newest = readings_.back().at;
  while (readings_.size() > 1 && readings_.front().at < newest - spec_.window) {
    readings_.pop_front();
  }
}

SiteMeter::Reserve SiteMeter::reserve(Time now) const {
  Reserve out;
  if (readings_.empty() || now - readings_.back().at >= spec_.silence_timeout) {
    out.load_a = spec_.fallback_a;
    out.silent = true;
    return out;
  }
  PhaseCurrents sum{};
  int count = 0;
  for (const Reading& r : readings_) {
    if (r.at < now - spec_.window) continue;
    for (int p = 0; p < kPhaseCount; ++p) sum[p] += r.load_a[p];
    ++count;
  }
  const PhaseCurrents& latest = readings_.back().load_a;
  for (int p = 0; p < kPhaseCount; ++p) {
    const double average = count > 0 ? sum[p] / count : latest[p];
    out.load_a[p] = std::max(0.0, std::max(average, latest[p])) + spec_.headroom_a;
  }
  out.silent = false;
  return out;
}

std::optional<Time> SiteMeter::silent_at() const {
  if (readings_.empty()) return std::nullopt;
  return readings_.back().at + spec_.silence_timeout;
}

}  // namespace switchyard::smart_charging
