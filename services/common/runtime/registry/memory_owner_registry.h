// OwnerRegistry in process memory, for standalone mode (one pod) and unit tests.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

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
      if (it != owners_.end()) c.previous = owner_of(it->second);
      owners_[charger_id] = Entry{c.epoch, place_of(self)};
    }
    done(std::move(c));
  }

  void refresh(std::vector<ClaimRef> claims,
               std::move_only_function<void(Result<std::vector<bool>>)> done) override {
    std::vector<bool> ours;
    {
      std::lock_guard lock(mutex_);
      for (const ClaimRef& c : claims) {
        auto [it, inserted] =
            owners_.try_emplace(c.charger_id, Entry{c.owner.epoch, place_of(c.owner)});
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
      if (it != owners_.end()) owner = owner_of(it->second);
    }
    done(std::move(owner));
  }

 private:
  // A charger's entry names its owner's place (pod, address, protocol), kept once: a process
  // holds a handful of them for all its chargers, 64 bytes per charger instead of 152.
  struct Entry {
    std::int64_t epoch = 0;
    std::uint32_t place = 0;
  };

  std::uint32_t place_of(const Owner& o) {
    for (std::uint32_t i = 0; i < places_.size(); ++i) {
      const Owner& p = places_[i];
      if (p.pod == o.pod && p.address == o.address && p.protocol == o.protocol) return i;
    }
    places_.push_back(Owner{o.pod, 0, o.address, o.protocol});
    return static_cast<std::uint32_t>(places_.size() - 1);
  }
  Owner owner_of(const Entry& e) const {
    Owner o = places_[e.place];
    o.epoch = e.epoch;
    return o;
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Entry> owners_;
  std::vector<Owner> places_;  // epoch 0
  std::int64_t epoch_ = 0;
};

}  // namespace switchyard::registry
