// Delivers a command to a charger wherever it is connected: the owner registry says which pod
// and with which epoch; this pod delivers to its own connection only if that connection holds
// the epoch, else forwards to the owner stamped with the epoch it routed by.
#pragma once

#include <chrono>
#include <string>

#include "common/runtime/registry/owner_registry.h"
#include "gateway/outside_calls.h"
#include "gateway/ports.h"
#include "gateway/session.h"
#include "gateway/session_registry.h"

namespace switchyard::gateway {

class CommandRouter {
 public:
  // `calls` counts the owner lookups in flight: their answers may deliver to a local session
  // (see OutsideCalls).
  CommandRouter(std::string pod_id, SessionRegistry& sessions, registry::OwnerRegistry& owners,
                PeerGateway& peers, std::chrono::milliseconds call_timeout, OutsideCalls& calls);

  // Where the charger is: UNAVAILABLE when offline or the registry is unreachable.
  void locate(const std::string& charger_id,
              std::move_only_function<void(Result<registry::Owner>)> done);

  // Sends action/payload to the charger through `owner` (from locate()).
  void send(const std::string& charger_id, const registry::Owner& owner, std::string action,
            std::string payload_json, CommandCallback done);

  // A command routed here with `epoch`: refused with FAILED_PRECONDITION when this pod's
  // connection has another epoch (the routing was stale), UNAVAILABLE without a connection or
  // a claim. A connection whose claim is in flight is asked once the claim is answered.
  void deliver_local(const std::string& charger_id, std::int64_t epoch, std::string action,
                     std::string payload_json, CommandCallback done);

  // Another pod took the charger over with `epoch`: close an older local connection.
  bool evict(const std::string& charger_id, std::int64_t epoch);

  const std::string& pod_id() const { return pod_id_; }
  // Whether `owner` is this pod: send() delivers locally, else forwards to it.
  bool holds(const registry::Owner& owner) const { return owner.pod == pod_id_; }

 private:
  std::string pod_id_;
  SessionRegistry& sessions_;
  registry::OwnerRegistry& owners_;
  PeerGateway& peers_;
  std::chrono::milliseconds call_timeout_;
  OutsideCalls& calls_;
};

}  // namespace switchyard::gateway
