// What every Switchyard binary does around its services: blocks SIGTERM/SIGINT (so main can wait
// for them), serves /metrics /healthz /readyz on the HTTP side port, runs one gRPC server with
// health checking and reflection. main() creates this first, before any thread starts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"
#include "common/runtime/http/health.h"
#include "common/runtime/http/server.h"

namespace grpc {
class Server;
class ServerBuilder;
class Service;
}  // namespace grpc
namespace prometheus {
class Registry;
}

namespace switchyard {

// gRPC health per service (grpc.health.v1 Check with `service` set, as Kubernetes gRPC probes
// may ask): attach() to a builder before BuildAndStart() collects the names of the services
// registered on it; serving() then marks each SERVING (gRPC itself only marks the server, "").
// Shutdown() of the server marks them NOT_SERVING.
class ServiceHealth {
 public:
  void attach(grpc::ServerBuilder& builder);
  void serving(grpc::Server& server) const;

 private:
  std::shared_ptr<std::vector<std::string>> names_ = std::make_shared<std::vector<std::string>>();
};

class Process {
 public:
  Process();
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  prometheus::Registry& metrics();
  http::Health& health();
  // Register routes before start_http().
  http::Server& http(const std::string& address, int port);

  Result<void> start_http();
  // Listens on address:port (port 0: any); returns the bound port.
  Result<int> start_grpc(const std::string& address, int port,
                         const std::vector<grpc::Service*>& services);
  grpc::Server* grpc_server();

  // Blocks until SIGTERM or SIGINT; returns the signal.
  int wait_for_signal();
  // Readiness 503 ("draining"), then gRPC shutdown with a grace period.
  void shutdown_grpc(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void stop_http();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "host:port" -> {host, port}; `default_port` when there is no port.
std::pair<std::string, int> split_host_port(const std::string& address, int default_port);

}  // namespace switchyard
