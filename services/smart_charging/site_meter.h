// The non-charger load behind a node, from a site meter's per-phase readings: what the planner
// must leave for the building.
#pragma once

#include <deque>
#include <optional>

#include "smart_charging/site.h"

namespace switchyard::smart_charging {

class SiteMeter {
 public:
  explicit SiteMeter(SiteMeterSpec spec) : spec_(spec) {}

  // A reading of the non-charger load (A per grid phase) taken at `at`.
  void add(Time at, const PhaseCurrents& load_a);

  struct Reserve {
    PhaseCurrents load_a{};  // amperes per phase to keep free for the building
    bool silent = true;      // no reading within the silence timeout: the fallback applies
  };
  // max(average of the readings in the window, latest reading) + headroom, per phase; the
  // fallback once the meter is silent. The maximum keeps a rising load from being averaged away.
  Reserve reserve(Time now) const;

  // When the meter turns (or turned) silent if no further reading comes; nullopt: never heard.
  std::optional<Time> silent_at() const;

  const SiteMeterSpec& spec() const { return spec_; }

 private:
  struct Reading {
    Time at;
    PhaseCurrents load_a;
  };
  SiteMeterSpec spec_;
  std::deque<Reading> readings_;
};

}  // namespace switchyard::smart_charging
