// Effective node limits over a time window (see limits.h).
#include "smart_charging/limits.h"

#include <algorithm>

namespace switchyard::smart_charging {
namespace {

// The window is [from, until]: a plan made at from - lookahead already honours a slot starting
// exactly at from.
bool overlaps(const LimitSlot& slot, Time from, Time until) {
  return slot.from <= until && from < slot.until;
}

void cap(EffectiveLimit& out, const LimitSlot& slot, LimitSource source) {
  if (slot.current_a) {
    for (int p = 0; p < kPhaseCount; ++p) {
      if ((*slot.current_a)[p] < out.current_a[p]) {
        out.current_a[p] = std::max(0.0, (*slot.current_a)[p]);
        out.current_source[p] = source;
      }
    }
  }
  if (slot.power_kw) {
    const double w = std::max(0.0, *slot.power_kw * 1000.0);
    if (!out.power_w || w < *out.power_w) {
      out.power_w = w;
      out.power_source = source;
    }
  }
}

}  // namespace

std::string_view to_string(LimitSource source) {
  switch (source) {
    case LimitSource::kFuse:
      return "fuse";
    case LimitSource::kSchedule:
      return "schedule";
    case LimitSource::kOperatorOverride:
      return "operator override";
    case LimitSource::kGridForecast:
      return "grid forecast";
  }
  return "?";
}

EffectiveLimit effective_limit(const Node& node, const NodeLimits& limits, Time from, Time until) {
  EffectiveLimit out;
  out.current_a = node.spec.fuse_a;
  out.current_source.fill(LimitSource::kFuse);
  out.power_w = node.power_limit_w;
  if (limits.empty()) return out;

  // The override replaces the schedule only if it covers the whole window; otherwise both count.
  const bool override_covers = limits.override_slot && limits.override_slot->from <= from &&
                               until < limits.override_slot->until;
  if (limits.override_slot && overlaps(*limits.override_slot, from, until)) {
    // An override may lift a scheduled limit but never the fuse: cap() only lowers.
    cap(out, *limits.override_slot, LimitSource::kOperatorOverride);
  }
  if (!override_covers) {
    for (const LimitSlot& slot : limits.schedule) {
      if (overlaps(slot, from, until)) cap(out, slot, LimitSource::kSchedule);
    }
  }
  for (const LimitSlot& slot : limits.forecast) {
    if (overlaps(slot, from, until)) cap(out, slot, LimitSource::kGridForecast);
  }
  return out;
}

std::optional<Time> next_limit_change(const NodeLimits& limits, Time now, Duration lookahead) {
  std::optional<Time> next;
  auto consider = [&](Time t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  auto slot_edges = [&](const LimitSlot& slot) {
    // The window [t, t + lookahead) starts to overlap the slot at from - lookahead and stops
    // at until.
    consider(slot.from - lookahead);
    consider(slot.until);
    // The override's "covers the whole window" changes at from and at until - lookahead.
    consider(slot.from);
    consider(slot.until - lookahead);
  };
  for (const LimitSlot& slot : limits.schedule) slot_edges(slot);
  if (limits.override_slot) slot_edges(*limits.override_slot);
  for (const LimitSlot& slot : limits.forecast) slot_edges(slot);
  return next;
}

}  // namespace switchyard::smart_charging
