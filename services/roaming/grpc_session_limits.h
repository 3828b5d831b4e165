// SessionLimits (charging_profiles.h) over switchyard.v1.SmartCharging of the smart-charging
// service. The channel may be set after construction (standalone: once its gRPC server runs);
// until then configured() is false and every call fails with kFailedPrecondition.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "roaming/charging_profiles.h"

namespace grpc {
class ChannelInterface;
}  // namespace grpc

namespace switchyard::roaming {

class GrpcSessionLimits final : public SessionLimits {
 public:
  explicit GrpcSessionLimits(std::chrono::milliseconds deadline);
  ~GrpcSessionLimits() override;
  void set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);

  bool configured() const override;
  Result<SessionPlanInfo> set(const std::string& charger_id, const std::string& transaction_id,
                              const ProfileLimit& limit) override;
  Result<SessionPlanInfo> clear(const std::string& charger_id,
                                const std::string& transaction_id) override;
  Result<SessionPlanInfo> get(const std::string& charger_id,
                              const std::string& transaction_id) override;

  struct Stub;  // the generated stub (grpc_session_limits.cpp)

 private:
  std::shared_ptr<Stub> stub() const;

  std::chrono::milliseconds deadline_;
  mutable std::mutex mutex_;
  std::shared_ptr<Stub> stub_;
};

}  // namespace switchyard::roaming
