// TariffSource over Transactions (see grpc_tariff_source.h).
#include "roaming/grpc_tariff_source.h"

#include <grpcpp/grpcpp.h>

#include "common/runtime/grpc/status.h"
#include "switchyard/v1/transactions.grpc.pb.h"

namespace switchyard::roaming {

struct GrpcTariffSource::Stub {
  std::unique_ptr<v1::Transactions::Stub> stub;
};

GrpcTariffSource::GrpcTariffSource(std::chrono::milliseconds deadline) : deadline_(deadline) {}

GrpcTariffSource::~GrpcTariffSource() = default;

void GrpcTariffSource::set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel) {
  auto stub = std::make_shared<Stub>(Stub{v1::Transactions::NewStub(channel)});
  std::lock_guard lock(mutex_);
  stub_ = std::move(stub);
}

Result<std::vector<v1::Tariff>> GrpcTariffSource::list() {
  std::shared_ptr<Stub> stub;
  {
    std::lock_guard lock(mutex_);
    stub = stub_;
  }
  if (!stub) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no transactions service configured (--transactions-address)");
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline_);
  v1::ListTariffsResponse response;
  const grpc::Status s = stub->stub->ListTariffs(&context, v1::ListTariffsRequest(), &response);
  if (!s.ok()) {
    return make_error(from_grpc_code(s.error_code()), "ListTariffs: " + s.error_message());
  }
  return std::vector<v1::Tariff>(response.tariffs().begin(), response.tariffs().end());
}

}  // namespace switchyard::roaming
