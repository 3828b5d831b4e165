// Which gateway pods are alive and where their gRPC listens: each pod announces itself every
// few seconds, and the others read the list. A pod cut off from the registry keeps the last list
// it read, to ask those peers whether the outage is its own (see gateway/fencing.h).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::registry {

struct Pod {
  std::string id;
  std::string address;  // "host:port" of its gRPC
};

// Callbacks run on a registry thread and must not block.
class PodDirectory {
 public:
  virtual ~PodDirectory() = default;
  // Records `self` as alive now and answers with every pod announced within `alive_for`
  // (`self` included), in one round trip. An error means the registry is unreachable.
  virtual void announce(const Pod& self, std::chrono::milliseconds alive_for,
                        std::move_only_function<void(Result<std::vector<Pod>>)> done) = 0;
};

}  // namespace switchyard::registry
