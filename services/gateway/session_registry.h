// The connections this pod holds, by charger id. Touched on connect, close and command routing,
// never per message; sharded so I/O threads rarely contend.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/session.h"

namespace switchyard::gateway {

class SessionRegistry {
 public:
  // Registers a session; returns the one it replaces (same charger reconnected here), if any.
  std::shared_ptr<Session> add(const std::shared_ptr<Session>& session) {
    Shard& s = shard(session->charger_id());
    std::lock_guard lock(s.mutex);
    auto& slot = s.sessions[session->charger_id()];
    std::shared_ptr<Session> previous = std::move(slot);
    slot = session;
    return previous;
  }

  // Removes the charger's entry if it is still `session`.
  void remove(const std::string& charger_id, const Session* session) {
    Shard& s = shard(charger_id);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(charger_id);
    if (it != s.sessions.end() && it->second.get() == session) s.sessions.erase(it);
  }

  std::shared_ptr<Session> find(const std::string& charger_id) {
    Shard& s = shard(charger_id);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(charger_id);
    return it == s.sessions.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<Session>> all() {
    std::vector<std::shared_ptr<Session>> out;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      for (auto& [id, session] : s.sessions) out.push_back(session);
    }
    return out;
  }

  // Empties the registry and returns what it held (to be destroyed outside its locks).
  std::vector<std::shared_ptr<Session>> take_all() {
    std::vector<std::shared_ptr<Session>> out;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      for (auto& [id, session] : s.sessions) out.push_back(std::move(session));
      s.sessions.clear();
    }
    return out;
  }

  std::size_t size() {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      n += s.sessions.size();
    }
    return n;
  }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Session>> sessions;
  };
  Shard& shard(const std::string& id) {
    return shards_[std::hash<std::string>{}(id) % shards_.size()];
  }
  std::array<Shard, 16> shards_;
};

}  // namespace switchyard::gateway
