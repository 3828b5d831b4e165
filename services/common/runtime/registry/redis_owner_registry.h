// OwnerRegistry on Redis: one key per charger ("<prefix>owner:{id}" = "epoch|pod|address|protocol",
// with a TTL the owner refreshes) and an epoch counter per charger, in the same hash slot for Redis
// Cluster. Claims, refreshes and releases are Lua scripts, so each is atomic.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/runtime/redis/client.h"
#include "common/runtime/registry/owner_registry.h"

namespace switchyard::registry {

class RedisOwnerRegistry final : public OwnerRegistry {
 public:
  // `client` must outlive the registry. `ttl`: how long a claim lives without refresh.
  RedisOwnerRegistry(redis::Client& client, std::string key_prefix, std::chrono::milliseconds ttl);

  void claim(const std::string& charger_id, const Owner& self,
             std::move_only_function<void(Result<Claim>)> done) override;
  void refresh(std::vector<ClaimRef> claims,
               std::move_only_function<void(Result<std::vector<bool>>)> done) override;
  void release(const std::string& charger_id, std::int64_t epoch,
               std::move_only_function<void(Result<bool>)> done) override;
  void lookup(const std::string& charger_id,
              std::move_only_function<void(Result<std::optional<Owner>>)> done) override;

  std::string owner_key(const std::string& charger_id) const;
  std::string epoch_key(const std::string& charger_id) const;

 private:
  redis::Client& client_;
  std::string prefix_;
  std::string ttl_ms_;
};

// "epoch|pod|address|protocol" <-> Owner; nullopt when malformed.
std::optional<Owner> parse_owner(std::string_view value);
std::string format_owner(const Owner& owner);

}  // namespace switchyard::registry
