// Validation and indexing of a site tree (see site.h).
#include "smart_charging/site.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace switchyard::smart_charging {
namespace {

bool valid_current(double a) { return std::isfinite(a) && a >= 0.0; }

Result<void> check_node(const NodeSpec& n) {
  if (n.id.empty()) return make_error(ErrorCode::kInvalidArgument, "a node has no id");
  for (double a : n.fuse_a) {
    if (!valid_current(a)) {
      return make_error(ErrorCode::kInvalidArgument, "node " + n.id + ": invalid phase limit");
    }
  }
  if (n.power_limit_kw && !(std::isfinite(*n.power_limit_kw) && *n.power_limit_kw >= 0.0)) {
    return make_error(ErrorCode::kInvalidArgument, "node " + n.id + ": invalid power limit");
  }
  if (n.imbalance_limit_a && !valid_current(*n.imbalance_limit_a)) {
    return make_error(ErrorCode::kInvalidArgument, "node " + n.id + ": invalid imbalance limit");
  }
  if (n.meter) {
    for (double a : n.meter->fallback_a) {
      if (!valid_current(a)) {
        return make_error(ErrorCode::kInvalidArgument, "node " + n.id + ": invalid meter fallback");
      }
    }
    if (!valid_current(n.meter->headroom_a) || n.meter->window.count() <= 0 ||
        n.meter->silence_timeout.count() <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "node " + n.id + ": invalid meter settings");
    }
  }
  return {};
}

Result<void> check_evse(const EvseSpec& e) {
  if (e.id.empty()) return make_error(ErrorCode::kInvalidArgument, "an EVSE has no id");
  std::array<bool, kPhaseCount> seen{};
  for (Phase p : e.rotation) {
    const auto i = static_cast<std::size_t>(p);
    if (i >= seen.size() || seen[i]) {
      return make_error(ErrorCode::kInvalidArgument,
                        "EVSE " + e.id + ": phase rotation is not a permutation of L1, L2, L3");
    }
    seen[i] = true;
  }
  if (e.connector_phases != 1 && e.connector_phases != 3) {
    return make_error(ErrorCode::kInvalidArgument, "EVSE " + e.id + ": connector phases not 1/3");
  }
  if (!valid_current(e.min_current_a) || !valid_current(e.max_current_a) ||
      e.min_current_a > e.max_current_a || e.max_current_a <= 0.0) {
    return make_error(ErrorCode::kInvalidArgument, "EVSE " + e.id + ": invalid current range");
  }
  if (e.priority < 0 || e.priority > 9) {
    return make_error(ErrorCode::kInvalidArgument, "EVSE " + e.id + ": priority outside 0..9");
  }
  if (e.offline_current_a && !valid_current(*e.offline_current_a)) {
    return make_error(ErrorCode::kInvalidArgument, "EVSE " + e.id + ": invalid offline current");
  }
  return {};
}

}  // namespace

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::kL1:
      return "L1";
    case Phase::kL2:
      return "L2";
    case Phase::kL3:
      return "L3";
  }
  return "?";
}

std::string_view to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::kGridConnection:
      return "grid connection";
    case NodeKind::kCircuit:
      return "circuit";
    case NodeKind::kCharger:
      return "charger";
  }
  return "?";
}

Result<Site> Site::build(SiteSpec spec) {
  if (!(std::isfinite(spec.nominal_voltage_v) && spec.nominal_voltage_v > 0.0)) {
    return make_error(ErrorCode::kInvalidArgument, "invalid nominal voltage");
  }
  if (spec.nodes.empty()) return make_error(ErrorCode::kInvalidArgument, "a site has no nodes");

  // Index the spec's nodes and find the root.
  std::unordered_map<std::string, std::size_t> spec_index;
  std::size_t root = spec.nodes.size();
  for (std::size_t i = 0; i < spec.nodes.size(); ++i) {
    const NodeSpec& n = spec.nodes[i];
    if (auto ok = check_node(n); !ok) return std::unexpected(ok.error());
    if (!spec_index.emplace(n.id, i).second) {
      return make_error(ErrorCode::kInvalidArgument, "duplicate node id " + n.id);
    }
    if (n.parent.empty()) {
      if (root != spec.nodes.size()) {
        return make_error(ErrorCode::kInvalidArgument, "more than one node without a parent");
      }
      root = i;
    }
  }
  if (root == spec.nodes.size()) {
    return make_error(ErrorCode::kInvalidArgument, "no root node (grid connection)");
  }
  std::vector<std::vector<std::size_t>> children(spec.nodes.size());
  for (std::size_t i = 0; i < spec.nodes.size(); ++i) {
    if (i == root) continue;
    auto it = spec_index.find(spec.nodes[i].parent);
    if (it == spec_index.end()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "node " + spec.nodes[i].id + ": unknown parent " + spec.nodes[i].parent);
    }
    if (spec.nodes[it->second].kind == NodeKind::kCharger) {
      return make_error(ErrorCode::kInvalidArgument,
                        "node " + spec.nodes[i].id + ": a charger cannot have child nodes");
    }
    children[it->second].push_back(i);
  }

  // EVSEs grouped by charger, in spec order.
  std::vector<std::vector<std::size_t>> evses_of(spec.nodes.size());
  std::unordered_map<std::string, std::size_t> evse_ids;
  for (std::size_t i = 0; i < spec.evses.size(); ++i) {
    const EvseSpec& e = spec.evses[i];
    if (auto ok = check_evse(e); !ok) return std::unexpected(ok.error());
    if (!evse_ids.emplace(e.id, i).second) {
      return make_error(ErrorCode::kInvalidArgument, "duplicate EVSE id " + e.id);
    }
    auto it = spec_index.find(e.charger);
    if (it == spec_index.end() || spec.nodes[it->second].kind != NodeKind::kCharger) {
      return make_error(ErrorCode::kInvalidArgument,
                        "EVSE " + e.id + ": " + e.charger + " is not a charger node");
    }
    evses_of[it->second].push_back(i);
  }

  Site site;
  site.id_ = std::move(spec.id);
  site.voltage_ = spec.nominal_voltage_v;
  site.nodes_.reserve(spec.nodes.size());
  site.evses_.reserve(spec.evses.size());

  // Iterative depth-first preorder; a node's subtree end and EVSE end are known on exit.
  struct Frame {
    std::size_t spec;
    NodeIndex index;
    std::size_t next_child;
  };
  std::vector<Frame> stack;
  auto enter = [&](std::size_t s, NodeIndex parent) {
    Node node;
    node.spec = std::move(spec.nodes[s]);
    node.parent = parent;
    node.depth = parent == kNoNode ? 0 : site.nodes_[parent].depth + 1;
    node.evse_begin = static_cast<EvseIndex>(site.evses_.size());
    if (node.spec.power_limit_kw) node.power_limit_w = *node.spec.power_limit_kw * 1000.0;
    for (std::size_t ei : evses_of[s]) {
      Evse evse;
      evse.spec = std::move(spec.evses[ei]);
      evse.charger = static_cast<NodeIndex>(site.nodes_.size());
      for (int c = 0; c < kPhaseCount; ++c) {
        evse.grid_phase[c] = static_cast<std::uint8_t>(evse.spec.rotation[c]);
      }
      evse.connector_mask = evse.spec.connector_phases == 1 ? phase_bit(0) : kAllPhases;
      evse.weight = 1.0 + evse.spec.priority;
      site.evses_.push_back(std::move(evse));
    }
    const auto index = static_cast<NodeIndex>(site.nodes_.size());
    site.nodes_.push_back(std::move(node));
    stack.push_back({s, index, 0});
  };
  enter(root, kNoNode);
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next_child < children[top.spec].size()) {
      const std::size_t child = children[top.spec][top.next_child++];
      enter(child, top.index);
      continue;
    }
    Node& done = site.nodes_[top.index];
    done.subtree_end = static_cast<NodeIndex>(site.nodes_.size());
    done.evse_end = static_cast<EvseIndex>(site.evses_.size());
    stack.pop_back();
  }
  if (site.nodes_.size() != spec.nodes.size()) {
    return make_error(ErrorCode::kInvalidArgument, "the node tree has a cycle");
  }
  for (NodeIndex i = 0; i < site.nodes_.size(); ++i)
    site.node_by_id_.emplace(site.nodes_[i].spec.id, i);
  for (EvseIndex i = 0; i < site.evses_.size(); ++i)
    site.evse_by_id_.emplace(site.evses_[i].spec.id, i);
  return site;
}

std::optional<NodeIndex> Site::find_node(std::string_view id) const {
  auto it = node_by_id_.find(std::string(id));
  if (it == node_by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<EvseIndex> Site::find_evse(std::string_view id) const {
  auto it = evse_by_id_.find(std::string(id));
  if (it == evse_by_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace switchyard::smart_charging
