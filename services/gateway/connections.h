// The OCPP WebSocket front door of a pod: one io_context per thread, an SO_REUSEPORT acceptor per
// thread for ws and wss, the upgrade handshake (path, subprotocol, security profile), and a
// session per charger. Beast and OpenSSL stay in connections.cpp.
#pragma once

#include <memory>

#include "common/runtime/core/error.h"
#include "gateway/context.h"

namespace switchyard::gateway {

class Connections {
 public:
  explicit Connections(GatewayContext& context);
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Binds the listeners and starts the I/O threads; a taken port or a bad certificate is an
  // error naming it.
  Result<void> start();
  // Stops accepting new connections (existing ones go on).
  void stop_accepting();
  // Stops every I/O thread; sessions still open are dropped.
  void stop();

  int ws_port() const;
  int wss_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::gateway
