// The site model of smart charging: a tree of grid connection, circuits and chargers with
// per-phase limits, and the EVSEs under the chargers (wiring, current range, rate unit).
//
// Units: currents are amperes per phase, power limits are kW in the spec (converted to W at the
// site's nominal voltage inside), durations are chrono types. A Site is an immutable value built
// once from a SiteSpec; the planner owns the live state.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::smart_charging {

using Time = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

inline constexpr int kPhaseCount = 3;

// A grid phase (or, for an EVSE, a connector phase before its rotation is applied).
enum class Phase : std::uint8_t { kL1 = 0, kL2 = 1, kL3 = 2 };
std::string_view to_string(Phase phase);

// Amperes on L1, L2, L3.
using PhaseCurrents = std::array<double, kPhaseCount>;

// Bit p set = phase p. Connector masks and grid masks use the same type.
using PhaseMask = std::uint8_t;
inline constexpr PhaseMask kAllPhases = 0b111;
inline constexpr PhaseMask phase_bit(int phase) { return static_cast<PhaseMask>(1U << phase); }
inline constexpr int phase_count(PhaseMask mask) {
  return ((mask >> 0) & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
}

using NodeIndex = std::uint32_t;
using EvseIndex = std::uint32_t;
inline constexpr NodeIndex kNoNode = 0xFFFFFFFFU;

enum class NodeKind : std::uint8_t { kGridConnection, kCircuit, kCharger };
std::string_view to_string(NodeKind kind);

// The unit a charger accepts in charging profiles (ChargingScheduleAllowedChargingRateUnit).
enum class RateUnit : std::uint8_t { kAmperes, kWatts };

// A meter of the load behind a node that is not a charger (a building). Readings are pushed by
// the operator; the planner reserves max(average over `window`, latest) + `headroom_a` per phase,
// or `fallback_a` once no reading came for `silence_timeout`.
struct SiteMeterSpec {
  Duration window = std::chrono::seconds(60);
  double headroom_a = 2.0;
  Duration silence_timeout = std::chrono::seconds(120);
  PhaseCurrents fallback_a{};
};

struct NodeSpec {
  std::string id;
  std::string parent;  // empty only for the grid connection (the root)
  NodeKind kind = NodeKind::kCircuit;
  PhaseCurrents fuse_a{};                   // hard per-phase limit (A), never exceeded
  std::optional<double> power_limit_kw;     // at the site's nominal voltage
  std::optional<double> imbalance_limit_a;  // largest allowed difference between phase currents
  std::optional<SiteMeterSpec> meter;       // non-charger load behind this node
};

struct EvseSpec {
  std::string id;       // unique in the site, e.g. "CP-0001/1"
  std::string charger;  // id of the kCharger node it hangs off
  // Grid phase that connector phase L1, L2, L3 is wired to (a permutation).
  std::array<Phase, kPhaseCount> rotation = {Phase::kL1, Phase::kL2, Phase::kL3};
  int connector_phases = 3;  // 1: a single-phase EVSE, wired on connector L1 only
  double min_current_a = 6.0;
  double max_current_a = 32.0;
  bool can_switch_phases = false;  // can make a three-phase vehicle charge on connector L1 only
  bool supports_smart_charging = true;
  int priority = 0;  // 0..9; the share weight is 1 + priority
  RateUnit rate_unit = RateUnit::kAmperes;
  // What the charger applies after losing the CSMS (vendor fallback, or the fail-safe default the
  // service installed). Unset: counted at max_current_a while the charger is offline.
  std::optional<double> offline_current_a;
};

struct SiteSpec {
  std::string id;
  double nominal_voltage_v = 230.0;
  std::vector<NodeSpec> nodes;
  std::vector<EvseSpec> evses;
};

struct Node {
  NodeSpec spec;
  NodeIndex parent = kNoNode;
  std::uint32_t depth = 0;
  NodeIndex subtree_end = 0;  // nodes [index, subtree_end) are this node and its descendants
  EvseIndex evse_begin = 0;   // EVSEs [evse_begin, evse_end) hang below this node
  EvseIndex evse_end = 0;
  std::optional<double> power_limit_w;  // spec.power_limit_kw at nominal voltage
};

struct Evse {
  EvseSpec spec;
  NodeIndex charger = kNoNode;
  std::array<std::uint8_t, kPhaseCount> grid_phase{};  // rotation as indices
  PhaseMask connector_mask = kAllPhases;               // connector phases wired
  double weight = 1.0;

  // The grid phases that the given connector phases land on.
  PhaseMask grid_mask(PhaseMask connector) const {
    PhaseMask out = 0;
    for (int c = 0; c < kPhaseCount; ++c) {
      if (connector & phase_bit(c)) out |= phase_bit(grid_phase[c]);
    }
    return out;
  }
};

// A validated site: nodes in depth-first preorder (the root is index 0, a subtree is a
// contiguous range), EVSEs ordered by their charger's position, so every node covers a
// contiguous range of EVSEs.
class Site {
 public:
  static Result<Site> build(SiteSpec spec);

  const std::string& id() const { return id_; }
  double nominal_voltage_v() const { return voltage_; }
  std::span<const Node> nodes() const { return nodes_; }
  std::span<const Evse> evses() const { return evses_; }
  const Node& node(NodeIndex index) const { return nodes_[index]; }
  const Evse& evse(EvseIndex index) const { return evses_[index]; }
  std::optional<NodeIndex> find_node(std::string_view id) const;
  std::optional<EvseIndex> find_evse(std::string_view id) const;

 private:
  std::string id_;
  double voltage_ = 230.0;
  std::vector<Node> nodes_;
  std::vector<Evse> evses_;
  std::unordered_map<std::string, NodeIndex> node_by_id_;
  std::unordered_map<std::string, EvseIndex> evse_by_id_;
};

}  // namespace switchyard::smart_charging
