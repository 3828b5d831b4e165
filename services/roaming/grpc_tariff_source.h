// TariffSource (tariffs.h) over switchyard.v1.Transactions.ListTariffs. The channel may be set
// after construction (standalone: once its gRPC server runs); until then kFailedPrecondition.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "roaming/tariffs.h"

namespace grpc {
class ChannelInterface;
}  // namespace grpc

namespace switchyard::roaming {

class GrpcTariffSource final : public TariffSource {
 public:
  explicit GrpcTariffSource(std::chrono::milliseconds deadline);
  ~GrpcTariffSource() override;
  void set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel);
  Result<std::vector<v1::Tariff>> list() override;

  struct Stub;  // the generated stub (grpc_tariff_source.cpp)

 private:
  std::chrono::milliseconds deadline_;
  std::mutex mutex_;
  std::shared_ptr<Stub> stub_;
};

}  // namespace switchyard::roaming
