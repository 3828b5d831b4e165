// ChargerCommands (commands.h) over switchyard.v1.ChargerControl of a gateway pod (any pod: it
// forwards to the charger's owner). The channel may be set after construction (standalone: once
// its gRPC server runs); until then every command fails with kFailedPrecondition.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "roaming/commands.h"

namespace grpc {
class ChannelInterface;
}  // namespace grpc

namespace switchyard::roaming {

class GrpcChargerCommands final : public ChargerCommands {
 public:
  explicit GrpcChargerCommands(std::chrono::milliseconds deadline);
  ~GrpcChargerCommands() override;
  void set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);

  Result<std::string> remote_start(const std::string& charger_id, int evse_id,
                                   const std::string& id_token,
                                   const std::string& token_type) override;
  Result<std::string> remote_stop(const std::string& charger_id,
                                  const std::string& transaction_id) override;
  Result<std::string> unlock(const std::string& charger_id, int evse_id, int connector_id) override;
  Result<std::string> reserve(const std::string& charger_id, int evse_id, int reservation_id,
                              const std::string& id_token, std::int64_t expires_ms) override;
  Result<std::string> cancel_reservation(const std::string& charger_id,
                                         int reservation_id) override;

  struct Stub;  // the generated stub (grpc_charger_commands.cpp)

 private:
  std::shared_ptr<Stub> stub() const;

  std::chrono::milliseconds deadline_;
  mutable std::mutex mutex_;
  std::shared_ptr<Stub> stub_;
};

}  // namespace switchyard::roaming
