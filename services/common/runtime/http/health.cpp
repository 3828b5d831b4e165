// Readiness state and the /metrics, /healthz, /readyz routes.
#include "common/runtime/http/health.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/runtime/http/server.h"

namespace switchyard::http {

void Health::add_readiness_check(std::string name, Check check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(std::move(name), std::move(check));
}

void Health::set_draining(bool draining) {
  std::lock_guard lock(mutex_);
  draining_ = draining;
}

std::optional<std::string> Health::not_ready_reason() const {
  std::lock_guard lock(mutex_);
  if (draining_) return std::string("draining");
  std::string reasons;
  for (const auto& [name, check] : checks_) {
    if (auto why = check()) reasons += (reasons.empty() ? "" : "; ") + name + ": " + *why;
  }
  if (reasons.empty()) return std::nullopt;
  return reasons;
}

void add_observability_routes(Server& server, prometheus::Registry& registry, Health& health) {
  server.route("GET", "/metrics", [&registry](const Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = prometheus::TextSerializer().Serialize(registry.Collect());
    return r;
  });
  server.route("GET", "/healthz", [](const Request&) { return Response::text(200, "ok\n"); });
  server.route("GET", "/readyz", [&health](const Request&) {
    if (auto why = health.not_ready_reason())
      return Response::text(503, "not ready: " + *why + "\n");
    return Response::text(200, "ready\n");
  });
}

}  // namespace switchyard::http
