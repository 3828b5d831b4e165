// Which gateway pod owns each charger's connection: Redis in production, an in-process map in
// standalone mode. Every claim gets a new epoch, strictly greater than any earlier one for that
// charger; a command carries the epoch it was routed by, so a pod that lost the charger cannot
// deliver it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::registry {

struct Owner {
  std::string pod;
  std::int64_t epoch = 0;
  std::string address;   // where the pod's gRPC listens, "host:port"
  std::string protocol;  // the connection's OCPP subprotocol, e.g. "ocpp2.0.1"
};

struct Claim {
  std::int64_t epoch = 0;
  std::optional<Owner> previous;  // the owner this claim replaced, if any
};

struct ClaimRef {
  std::string charger_id;
  Owner owner;  // as claimed, with its epoch
};

// Callbacks run on a registry thread and must not block.
class OwnerRegistry {
 public:
  virtual ~OwnerRegistry() = default;
  // Claims the charger for `self` (pod, address, protocol; its epoch is ignored) with a new epoch.
  virtual void claim(const std::string& charger_id, const Owner& self,
                     std::move_only_function<void(Result<Claim>)> done) = 0;
  // Re-asserts claims in one round trip. result[i] is false when claims[i] is no longer this
  // pod's (another pod claimed the charger since). A claim that expired while nobody else took
  // the charger (e.g. after a registry restart) is taken back.
  virtual void refresh(std::vector<ClaimRef> claims,
                       std::move_only_function<void(Result<std::vector<bool>>)> done) = 0;
  // Deletes the claim if it still carries `epoch` (compare-and-delete); true when deleted.
  virtual void release(const std::string& charger_id, std::int64_t epoch,
                       std::move_only_function<void(Result<bool>)> done) = 0;
  virtual void lookup(const std::string& charger_id,
                      std::move_only_function<void(Result<std::optional<Owner>>)> done) = 0;
};

}  // namespace switchyard::registry
