// PodDirectory on Redis: one sorted set "<prefix>pods" of "pod|address" scored by the time of the
// pod's last announcement (ms since the epoch, the server's clock). Announcing adds the pod,
// drops pods silent for ten times `alive_for` and reads the rest, in one Lua script.
#pragma once

#include <string>

#include "common/runtime/redis/client.h"
#include "common/runtime/registry/pod_directory.h"

namespace switchyard::registry {

class RedisPodDirectory final : public PodDirectory {
 public:
  // `client` must outlive the directory.
  RedisPodDirectory(redis::Client& client, std::string key_prefix);

  void announce(const Pod& self, std::chrono::milliseconds alive_for,
                std::move_only_function<void(Result<std::vector<Pod>>)> done) override;

  const std::string& key() const { return key_; }

 private:
  redis::Client& client_;
  std::string key_;
};

}  // namespace switchyard::registry
