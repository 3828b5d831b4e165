// The allocation core: admit vehicles at their minimum current in the order given, then share
// what is left by weighted max-min fairness (progressive filling) under every node's per-phase,
// power and phase-imbalance limits. Pure: no clock, no state between runs but scratch buffers.
#pragma once

#include <limits>
#include <span>
#include <vector>

#include "smart_charging/site.h"

namespace switchyard::smart_charging {

inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();

// What one node offers in a run. Loads are absolute amperes per grid phase.
struct NodeBudget {
  PhaseCurrents limit_a{};                // effective per-phase limit
  double power_limit_w = kUnlimited;      // effective power limit
  double imbalance_limit_a = kUnlimited;  // max |I_p - I_q|
  PhaseCurrents fixed_a{};  // not planned here: uncontrolled EVSEs at worst case, building reserve
                            // (already summed over the subtree)
};

// One vehicle to place. The run keeps the order of the span: earlier demands are admitted first.
struct Demand {
  EvseIndex evse = 0;
  PhaseMask mask = kAllPhases;   // grid phases it draws on
  PhaseMask one_phase_mask = 0;  // grid phase in one-phase mode; 0 if it cannot switch
  double min_a = 6.0;
  double max_a = 32.0;
  double weight = 1.0;
};

// What stopped a vehicle rising (or, if not admitted, what kept its minimum out).
enum class Bound : std::uint8_t {
  kNone,
  kMaximum,    // reached max_a
  kNodePhase,  // node / phase limit
  kNodePower,  // node power limit
  kImbalance,  // node imbalance between phase and other_phase
};

struct Grant {
  bool admitted = false;
  bool one_phase = false;  // admitted in one-phase mode
  double current_a = 0.0;
  Bound bound = Bound::kNone;
  NodeIndex node = kNoNode;
  std::uint8_t phase = 0;
  std::uint8_t other_phase = 0;
};

class WaterFill {
 public:
  explicit WaterFill(const Site& site);

  // One per node, indexed like site.nodes(); filled by the caller before run().
  std::span<NodeBudget> budgets() { return budgets_; }

  // grants.size() == demands.size(). Every demand's EVSE must appear at most once.
  void run(std::span<const Demand> demands, std::span<Grant> grants);

  // Node loads after the last run (fixed + granted), A per grid phase.
  const PhaseCurrents& load(NodeIndex node) const { return load_[node]; }

 private:
  static constexpr int kKinds = 10;  // 3 phases, power, 6 ordered phase pairs

  bool fits(const Demand& d, PhaseMask mask, Grant& why) const;
  void add_load(const Demand& d, PhaseMask mask, double amps);
  double coef(int kind, PhaseMask mask) const;
  bool enabled(NodeIndex node, int kind) const;
  void advance(std::size_t c, double lambda);
  double bind_level(std::size_t c) const;
  void freeze(std::size_t demand, double lambda, std::span<Grant> grants,
              std::span<const Demand> demands);
  void bind(std::size_t c, double lambda, std::span<const Demand> demands, std::span<Grant> grants);
  void touch(std::size_t c);

  const Site& site_;
  double voltage_;
  std::vector<NodeBudget> budgets_;
  std::vector<PhaseCurrents> load_;
  std::vector<std::int32_t> demand_of_evse_;

  // Progressive filling state, reused between runs.
  std::vector<double> slack_;
  std::vector<double> slope_;
  std::vector<double> level_;  // level at which slack_ was last brought up to date
  std::vector<std::uint8_t> dirty_;
  std::vector<std::size_t> dirty_list_;
  struct Event {
    double level;
    std::uint32_t demand;
    bool start;
  };
  std::vector<Event> events_;
  std::vector<std::pair<double, std::uint32_t>> heap_;
  std::vector<std::uint8_t> state_;  // 0 waiting to rise, 1 rising, 2 frozen
  std::vector<PhaseMask> mask_;      // mask each demand was admitted with
};

}  // namespace switchyard::smart_charging
