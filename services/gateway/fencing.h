// Self-fencing of a gateway pod cut off from the event bus (Kafka) or the owner registry (Redis)
// while its peers are not: such a pod can neither acknowledge what its chargers send nor prove it
// still owns them (its claims expire), so it hands them over. It fences only when a peer answers
// that it has reached both for at least fence_after, i.e. all the while this pod has not: an
// outage every pod shares keeps the connections where they are, since closing them would only add
// a reconnect storm to the outage, and a pod that recovers from it a little later than the others
// is not fenced for that.
//
// The decisions only; the gateway probes, asks the peers and closes the connections.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/ports.h"

namespace switchyard::gateway {

class Fencing {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Step {
    kNone,
    kAskPeers,  // cut off for fence_after: ask the peers, then fence_if_a_peer_reaches()
    kLift,      // fenced, and both reachable again
  };

  // `fence_after` 0: never fence.
  Fencing(std::chrono::milliseconds fence_after, Clock::time_point now);

  // The result of one probe of each dependency.
  void probed(Reachability reachability, Clock::time_point now);
  Reachability last() const;
  Step next(Clock::time_point now) const;
  // How long both have answered every probe; 0 when the last probe of one failed.
  std::chrono::milliseconds reachable_for(Clock::time_point now) const;
  // Fences when one of `peers` is not fenced itself and has reached both for fence_after; true
  // when it did.
  bool fence_if_a_peer_reaches(const std::vector<PeerAnswer>& peers, Clock::time_point now);
  void lift();
  bool fenced() const;
  // What the pod has not reached for fence_after, e.g. "kafka and redis"; empty when nothing.
  std::string cut_off(Clock::time_point now) const;
  // Why the pod is fenced (for readiness and logs); empty when it is not.
  std::string reason() const;

 private:
  std::string cut_off_locked(Clock::time_point now) const;

  const std::chrono::milliseconds fence_after_;
  mutable std::mutex mutex_;
  Reachability last_;
  Clock::time_point bus_reached_;
  Clock::time_point registry_reached_;
  Clock::time_point both_since_;
  bool fenced_ = false;
  std::string reason_;
};

}  // namespace switchyard::gateway
