// Limits of a node that vary in time: the operator's schedule, an operator override, and the grid
// operator's capacity forecast, each capping the node's fuse limit for time slots.
#pragma once

#include <optional>
#include <vector>

#include "smart_charging/site.h"

namespace switchyard::smart_charging {

enum class LimitSource : std::uint8_t { kFuse, kSchedule, kOperatorOverride, kGridForecast };
std::string_view to_string(LimitSource source);

// A cap on a node for [from, until). Either part may be absent.
struct LimitSlot {
  Time from{};
  Time until{};
  std::optional<PhaseCurrents> current_a = std::nullopt;  // per-phase cap (A)
  std::optional<double> power_kw = std::nullopt;  // cap on the node's power (kW at nominal voltage)
};

// All the time-varying limits of one node. The override, while it overlaps the window asked
// about, replaces the schedule (an operator may raise a scheduled limit, never above the fuse);
// the forecast always caps.
struct NodeLimits {
  std::vector<LimitSlot> schedule;
  std::optional<LimitSlot> override_slot;
  std::vector<LimitSlot> forecast;

  bool empty() const { return schedule.empty() && !override_slot && forecast.empty(); }
};

// The binding limit of a node over a window, and where each part comes from.
struct EffectiveLimit {
  PhaseCurrents current_a{};
  std::array<LimitSource, kPhaseCount> current_source{};
  std::optional<double> power_w;
  LimitSource power_source = LimitSource::kFuse;
};

// The lowest limit that applies at any instant of [from, until]: a plan made at `from` with a
// lookahead holds until `until` even if a lower slot starts meanwhile.
EffectiveLimit effective_limit(const Node& node, const NodeLimits& limits, Time from, Time until);

// The first time after `now` at which effective_limit(now', now' + lookahead) can change: a slot
// entering the lookahead window or leaving it.
std::optional<Time> next_limit_change(const NodeLimits& limits, Time now, Duration lookahead);

}  // namespace switchyard::smart_charging
