// A gateway pod: the OCPP front door, ownership of its chargers in the registry, command routing
// and the gRPC services. main() builds the adapters (Kafka, Redis, ...) and hands them in; the
// standalone binary hands in in-process ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/runtime/bus/event_publisher.h"
#include "common/runtime/core/error.h"
#include "common/runtime/registry/owner_registry.h"
#include "common/runtime/registry/pod_directory.h"
#include "gateway/config.h"
#include "gateway/ports.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}

namespace switchyard::gateway {

struct GatewayPorts {
  bus::EventPublisher& publisher;
  registry::OwnerRegistry& owners;
  DecisionService& decisions;
  CredentialStore& credentials;
  PeerGateway& peers;
  // Where the pods announce themselves, for self-fencing (fencing.h); null: one pod, never
  // fenced.
  registry::PodDirectory* pods = nullptr;
};

class Gateway {
 public:
  Gateway(const GatewayConfig& config, GatewayPorts ports, prometheus::Registry& metrics);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // ChargerControl and GatewayInternal, for the process's gRPC server.
  std::vector<grpc::Service*> grpc_services();

  // Starts the listeners, the claim refresher and the dependency watch (with a pod directory).
  Result<void> start();
  // SIGTERM: stop accepting, close connections spread over the drain window (each answers
  // what it has in flight first), wait for them, flush events. Blocks.
  void drain();
  void stop();

  bool draining() const;
  // Why the pod is fenced (fencing.h), for readiness; empty when it is not.
  std::string fenced_reason() const;
  std::size_t connections() const;
  int ws_port() const;
  int wss_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::gateway
