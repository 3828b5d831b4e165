// gRPC client of the pod-to-pod service (callback API).
#include "gateway/peer_client.h"

#include <grpcpp/grpcpp.h>

#include "common/runtime/core/log.h"
#include "common/runtime/grpc/channel.h"
#include "common/runtime/grpc/status.h"
#include "switchyard/v1/gateway_internal.grpc.pb.h"

namespace switchyard::gateway {

struct GrpcPeerGateway::Impl {
  std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<v1::GatewayInternal::Stub>> stubs;

  v1::GatewayInternal::Stub& stub(const std::string& address) {
    std::lock_guard lock(mutex);
    auto& s = stubs[address];
    if (!s) {
      s = v1::GatewayInternal::NewStub(service_channel(address));
    }
    return *s;
  }
};

GrpcPeerGateway::GrpcPeerGateway() : impl_(std::make_unique<Impl>()) {}
GrpcPeerGateway::~GrpcPeerGateway() = default;

void GrpcPeerGateway::deliver(const std::string& address, const v1::DeliverRequest& request,
                              std::chrono::milliseconds timeout,
                              std::move_only_function<void(Result<v1::DeliverResponse>)> done) {
  struct Call {
    grpc::ClientContext context;
    v1::DeliverRequest request;
    v1::DeliverResponse response;
    std::move_only_function<void(Result<v1::DeliverResponse>)> done;
  };
  auto* call = new Call{};  // deleted by the completion below
  call->request = request;
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  impl_->stub(address).async()->Deliver(
      &call->context, &call->request, &call->response, [call, address](const grpc::Status& status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          owned->done(
              make_error(from_grpc_code(status.error_code()),
                         status.error_code() == grpc::StatusCode::UNAVAILABLE
                             ? "owner pod " + address + " unreachable: " + status.error_message()
                             : status.error_message()));
          return;
        }
        owned->done(std::move(owned->response));
      });
}

void GrpcPeerGateway::evict(const std::string& address, const v1::EvictRequest& request) {
  struct Call {
    grpc::ClientContext context;
    v1::EvictRequest request;
    v1::EvictResponse response;
  };
  auto* call = new Call{};
  call->request = request;
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  impl_->stub(address).async()->Evict(
      &call->context, &call->request, &call->response, [call, address](const grpc::Status& status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          log::info("evict request failed (the old pod closes at its next refresh)",
                    {{"pod_address", address},
                     {"charger_id", owned->request.charger_id()},
                     {"error", status.error_message()}});
        }
      });
}

void GrpcPeerGateway::reachability(const std::string& address, const std::string& asking_pod,
                                   std::chrono::milliseconds timeout,
                                   std::move_only_function<void(Result<PeerAnswer>)> done) {
  struct Call {
    grpc::ClientContext context;
    v1::ReachabilityRequest request;
    v1::ReachabilityResponse response;
    std::move_only_function<void(Result<PeerAnswer>)> done;
  };
  auto* call = new Call{};  // deleted by the completion below
  call->request.set_asking_pod(asking_pod);
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  impl_->stub(address).async()->Reachability(
      &call->context, &call->request, &call->response, [call](const grpc::Status& status) {
        std::unique_ptr<Call> owned(call);
        if (!status.ok()) {
          owned->done(make_error(from_grpc_code(status.error_code()), status.error_message()));
          return;
        }
        const v1::ReachabilityResponse& r = owned->response;
        owned->done(PeerAnswer{.pod = r.pod(),
                               .reachability = {.bus = r.bus(), .registry = r.registry()},
                               .fenced = r.fenced(),
                               .reachable_for = std::chrono::milliseconds(r.reachable_for_ms())});
      });
}

}  // namespace switchyard::gateway
