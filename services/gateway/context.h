// What every connection of a pod shares: configuration, ports, registries and metrics. Owned by
// the Gateway; connections hold a reference.
#pragma once

#include <atomic>
#include <string>
#include <unordered_set>

#include "common/runtime/bus/event_publisher.h"
#include "common/runtime/registry/owner_registry.h"
#include "gateway/auth_throttle.h"
#include "gateway/config.h"
#include "gateway/connection_admission.h"
#include "gateway/gateway_metrics.h"
#include "gateway/heap_trim.h"
#include "gateway/outside_calls.h"
#include "gateway/ports.h"
#include "gateway/session_registry.h"

namespace switchyard::gateway {

struct GatewayContext {
  const GatewayConfig& config;
  bus::EventPublisher& publisher;
  registry::OwnerRegistry& owners;
  DecisionService& decisions;
  CredentialStore& credentials;
  PeerGateway& peers;
  SessionRegistry& sessions;
  GatewayMetrics& metrics;
  std::unordered_set<std::string> lenient_chargers;
  std::unordered_set<std::string> lenient_vendors;
  std::atomic<bool> draining{false};
  std::atomic<bool> fenced{false};        // cut off from Kafka or Redis while a peer is not
  AuthThrottle* auth_throttle = nullptr;  // failed-authentication lockouts; null: none
  ConnectionAdmission* connection_admission =
      nullptr;                    // the rate of new connections; null: no limit
  HeapTrim* heap_trim = nullptr;  // told of every connection opened and closed; null: none
  OutsideCalls outside_calls{};   // callbacks of Redis and gRPC calls that reach sessions
};

}  // namespace switchyard::gateway
