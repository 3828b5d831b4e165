// Fencing decisions (see fencing.h).
#include "gateway/fencing.h"

namespace switchyard::gateway {

Fencing::Fencing(std::chrono::milliseconds fence_after, Clock::time_point now)
    : fence_after_(fence_after), bus_reached_(now), registry_reached_(now), both_since_(now) {}

void Fencing::probed(Reachability reachability, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (reachability.both() && !last_.both()) both_since_ = now;
  last_ = reachability;
  if (reachability.bus) bus_reached_ = now;
  if (reachability.registry) registry_reached_ = now;
}

Reachability Fencing::last() const {
  std::lock_guard lock(mutex_);
  return last_;
}

std::chrono::milliseconds Fencing::reachable_for(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (!last_.both()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - both_since_);
}

std::string Fencing::cut_off_locked(Clock::time_point now) const {
  if (fence_after_.count() <= 0) return {};
  const bool bus = now - bus_reached_ >= fence_after_;
  const bool registry = now - registry_reached_ >= fence_after_;
  if (bus && registry) return "kafka and redis";
  if (bus) return "kafka";
  if (registry) return "redis";
  return {};
}

std::string Fencing::cut_off(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  return cut_off_locked(now);
}

Fencing::Step Fencing::next(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (fenced_) return last_.both() ? Step::kLift : Step::kNone;
  return cut_off_locked(now).empty() ? Step::kNone : Step::kAskPeers;
}

bool Fencing::fence_if_a_peer_reaches(const std::vector<PeerAnswer>& peers, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (fenced_) return false;
  const std::string lost = cut_off_locked(now);
  if (lost.empty()) return false;
  for (const PeerAnswer& peer : peers) {
    if (peer.fenced || !peer.reachability.both() || peer.reachable_for < fence_after_) continue;
    fenced_ = true;
    reason_ = "cut off from " + lost + " for " + std::to_string(fence_after_.count() / 1000) +
              " s while pod " + peer.pod + " reached them";
    return true;
  }
  return false;
}

void Fencing::lift() {
  std::lock_guard lock(mutex_);
  fenced_ = false;
  reason_.clear();
}

bool Fencing::fenced() const {
  std::lock_guard lock(mutex_);
  return fenced_;
}

std::string Fencing::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

}  // namespace switchyard::gateway
