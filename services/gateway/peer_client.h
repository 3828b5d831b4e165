// PeerGateway over gRPC (GatewayInternal), one channel per peer address.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/ports.h"

namespace switchyard::gateway {

class GrpcPeerGateway final : public PeerGateway {
 public:
  GrpcPeerGateway();
  ~GrpcPeerGateway() override;
  void deliver(const std::string& address, const v1::DeliverRequest& request,
               std::chrono::milliseconds timeout,
               std::move_only_function<void(Result<v1::DeliverResponse>)> done) override;
  void evict(const std::string& address, const v1::EvictRequest& request) override;
  void reachability(const std::string& address, const std::string& asking_pod,
                    std::chrono::milliseconds timeout,
                    std::move_only_function<void(Result<PeerAnswer>)> done) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::gateway
