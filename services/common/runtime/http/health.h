// Liveness and readiness for Kubernetes probes, and the observability routes of every process.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace switchyard::http {

class Server;

class Health {
 public:
  // A check returns nullopt when fine, or the reason the process is not ready.
  using Check = std::function<std::optional<std::string>()>;

  void add_readiness_check(std::string name, Check check);
  // Draining (SIGTERM) makes readiness false at once, whatever the checks say.
  void set_draining(bool draining);
  // Returns nullopt when ready, else "name: reason; ...".
  std::optional<std::string> not_ready_reason() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Check>> checks_;
  bool draining_ = false;
};

// GET /metrics (Prometheus text format 0.0.4), /healthz (200 while the process runs) and
// /readyz (200 or 503 with the reason).
void add_observability_routes(Server& server, prometheus::Registry& registry, Health& health);

}  // namespace switchyard::http
