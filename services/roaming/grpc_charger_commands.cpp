// ChargerCommands over ChargerControl (see grpc_charger_commands.h).
#include "roaming/grpc_charger_commands.h"

#include <grpcpp/grpcpp.h>

#include "common/runtime/grpc/status.h"
#include "switchyard/v1/charger_control.grpc.pb.h"

namespace switchyard::roaming {

struct GrpcChargerCommands::Stub {
  std::unique_ptr<v1::ChargerControl::Stub> stub;
};

namespace {

// One unary call with the deadline; the answer's outcome status.
template <typename Request, typename Response, typename Method>
Result<std::string> call(const std::shared_ptr<GrpcChargerCommands::Stub>& stub,
                         std::chrono::milliseconds deadline, Method method,
                         const Request& request) {
  if (!stub) {
    return make_error(ErrorCode::kFailedPrecondition, "no gateway configured (--gateway-address)");
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  Response response;
  const grpc::Status s = ((*stub->stub).*method)(&context, request, &response);
  if (!s.ok()) return make_error(from_grpc_code(s.error_code()), s.error_message());
  return response.outcome().status();
}

void set_ms(std::int64_t ms, google::protobuf::Timestamp* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

}  // namespace

GrpcChargerCommands::GrpcChargerCommands(std::chrono::milliseconds deadline)
    : deadline_(deadline) {}

GrpcChargerCommands::~GrpcChargerCommands() = default;

void GrpcChargerCommands::set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel) {
  auto stub = std::make_shared<Stub>(Stub{v1::ChargerControl::NewStub(channel)});
  std::lock_guard lock(mutex_);
  stub_ = std::move(stub);
}

std::shared_ptr<GrpcChargerCommands::Stub> GrpcChargerCommands::stub() const {
  std::lock_guard lock(mutex_);
  return stub_;
}

Result<std::string> GrpcChargerCommands::remote_start(const std::string& charger_id, int evse_id,
                                                      const std::string& id_token,
                                                      const std::string& token_type) {
  v1::RemoteStartRequest r;
  r.set_charger_id(charger_id);
  r.set_evse_id(evse_id);
  r.mutable_id_token()->set_id(id_token);
  r.mutable_id_token()->set_type(token_type);
  return call<v1::RemoteStartRequest, v1::RemoteStartResponse>(
      stub(), deadline_, &v1::ChargerControl::Stub::RemoteStart, r);
}

Result<std::string> GrpcChargerCommands::remote_stop(const std::string& charger_id,
                                                     const std::string& transaction_id) {
  v1::RemoteStopRequest r;
  r.set_charger_id(charger_id);
  r.set_transaction_id(transaction_id);
  return call<v1::RemoteStopRequest, v1::RemoteStopResponse>(
      stub(), deadline_, &v1::ChargerControl::Stub::RemoteStop, r);
}

Result<std::string> GrpcChargerCommands::unlock(const std::string& charger_id, int evse_id,
                                                int connector_id) {
  v1::UnlockConnectorRequest r;
  r.set_charger_id(charger_id);
  r.set_evse_id(evse_id);
  r.set_connector_id(connector_id);
  return call<v1::UnlockConnectorRequest, v1::UnlockConnectorResponse>(
      stub(), deadline_, &v1::ChargerControl::Stub::UnlockConnector, r);
}

Result<std::string> GrpcChargerCommands::reserve(const std::string& charger_id, int evse_id,
                                                 int reservation_id, const std::string& id_token,
                                                 std::int64_t expires_ms) {
  v1::ReserveNowRequest r;
  r.set_charger_id(charger_id);
  r.set_evse_id(evse_id);
  r.set_reservation_id(reservation_id);
  r.mutable_id_token()->set_id(id_token);
  set_ms(expires_ms, r.mutable_expires_at());
  return call<v1::ReserveNowRequest, v1::ReserveNowResponse>(
      stub(), deadline_, &v1::ChargerControl::Stub::ReserveNow, r);
}

Result<std::string> GrpcChargerCommands::cancel_reservation(const std::string& charger_id,
                                                            int reservation_id) {
  v1::CancelReservationRequest r;
  r.set_charger_id(charger_id);
  r.set_reservation_id(reservation_id);
  return call<v1::CancelReservationRequest, v1::CancelReservationResponse>(
      stub(), deadline_, &v1::ChargerControl::Stub::CancelReservation, r);
}

}  // namespace switchyard::roaming
