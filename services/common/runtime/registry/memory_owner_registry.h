// OwnerRegistry in process memory, for standalone mode (one pod) and unit tests.
#pragma once

#include <mutex>
#include <unordered_map>

#include "common/runtime/registry/owner_registry.h"

namespace switchyard::registry {

class MemoryOwnerRegistry final : public OwnerRegistry {
 public:
  void claim(const std::string& charger_id, const Owner& self,
             std::move_only_function<void(Result<Claim>)> done) override {
    Claim c;
    {
      std::lock_guard lock(mutex_);
      c.epoch = ++epoch_;
      auto it = owners_.find(charger_id);
      if (it != owners_.end()) c.previous = it->second;
      Owner owner = self;
      owner.epoch = c.epoch;
      owners_[charger_id] = std::move(owner);
    }
    done(std::move(c));
  }

  void refresh(std::vector<ClaimRef> claims,
               std::move_only_function<void(Result<std::vector<bool>>)> done) override {
    std::vector<bool> ours;
    {
      std::lock_guard lock(mutex_);
      for (const ClaimRef& c : claims) {
        auto [it, inserted] = owners_.try_emplace(c.charger_id, c.owner);
        ours.push_back(inserted || it->second.epoch == c.owner.epoch);
      }
    }
    done(std::move(ours));
  }

  void release(const std::string& charger_id, std::int64_t epoch,
               std::move_only_function<void(Result<bool>)> done) override {
    bool deleted = false;
    {
      std::lock_guard lock(mutex_);
      auto it = owners_.find(charger_id);
      if (it != owners_.end() && it->second.epoch == epoch) {
        owners_.erase(it);
        deleted = true;
      }
    }
    done(deleted);
  }

  void lookup(const std::string& charger_id,
              std::move_only_function<void(Result<std::optional<Owner>>)> done) override {
    std::optional<Owner> owner;
    {
      std::lock_guard lock(mutex_);
      auto it = owners_.find(charger_id);
      if (it != owners_.end()) owner = it->second;
    }
    done(std::move(owner));
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, Owner> owners_;
  std::int64_t epoch_ = 0;
};

}  // namespace switchyard::registry
