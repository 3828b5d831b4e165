// ChargerControl and GatewayInternal on gRPC's callback API: locate the owner, translate for the
// charger's version, send, translate the answer.
#include "gateway/grpc_api.h"

#include <chrono>

#include "common/runtime/grpc/status.h"
#include "gateway/commands.h"

namespace switchyard::gateway {
namespace {

// The charger refused with a CALLERROR.
grpc::Status refused(const CommandReply& reply) {
  const bool unsupported =
      reply.error_code == "NotImplemented" || reply.error_code == "NotSupported";
  return {unsupported ? grpc::StatusCode::UNIMPLEMENTED : grpc::StatusCode::FAILED_PRECONDITION,
          "charger answered " + reply.action + " with CALLERROR " + reply.error_code +
              (reply.error_description.empty() ? "" : ": " + reply.error_description)};
}

struct NoFields {
  template <typename Response>
  void operator()(Response&, ocpp::Version, const std::string&) const {}
};

struct FillFields {
  template <typename Response>
  void operator()(Response& r, ocpp::Version, const std::string& payload) const {
    fill(r, payload);
  }
};

}  // namespace

// Finishes one RPC and counts it: unrouted until the owner is known, then local or forwarded.
class ChargerControlService::Answer {
 public:
  Answer(const char* rpc, grpc::ServerUnaryReactor* reactor, GatewayMetrics& metrics)
      : rpc_(rpc), reactor_(reactor), metrics_(metrics) {}

  void routed(bool local) { route_ = local ? "local" : "forwarded"; }

  void operator()(const grpc::Status& status) const {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
    metrics_.control_call(rpc_, route_, grpc_code_name(status.error_code()), took.count());
    reactor_->Finish(status);
  }

 private:
  const char* rpc_;
  grpc::ServerUnaryReactor* reactor_;
  GatewayMetrics& metrics_;
  const char* route_ = "unrouted";
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

template <typename Request, typename Response, typename Fill>
grpc::ServerUnaryReactor* ChargerControlService::command(const char* rpc, Context* context,
                                                         const Request* request, Response* response,
                                                         Fill fill_fields) {
  auto* reactor = context->DefaultReactor();
  Answer answer(rpc, reactor, metrics_);
  if (request->charger_id().empty()) {
    answer({grpc::StatusCode::INVALID_ARGUMENT, "charger_id is required"});
    return reactor;
  }
  router_.locate(request->charger_id(), [this, answer, request, response,
                                         fill_fields](Result<registry::Owner> owner) mutable {
    if (!owner) return answer(to_grpc_status(owner.error()));
    const auto version = ocpp::version_from_subprotocol(owner->protocol);
    if (!version) {
      return answer({grpc::StatusCode::UNAVAILABLE,
                     "charger is connected with an unknown protocol '" + owner->protocol + "'"});
    }
    auto call = translate(*request, *version);
    if (!call) return answer(to_grpc_status(call.error()));
    answer.routed(router_.holds(*owner));
    router_.send(
        request->charger_id(), *owner, std::move(call->action), std::move(call->payload_json),
        [answer, response, fill_fields, version = *version](Result<CommandReply> reply) mutable {
          if (!reply) return answer(to_grpc_status(reply.error()));
          if (!reply->error_code.empty()) return answer(refused(*reply));
          fill_outcome(reply->action, version, reply->payload_json, *response->mutable_outcome());
          fill_fields(*response, version, reply->payload_json);
          answer(grpc::Status::OK);
        });
  });
  return reactor;
}

// Rpc is pasted into names, never evaluated, so it takes no parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SWITCHYARD_COMMAND(Rpc, FillType)                                                     \
  grpc::ServerUnaryReactor* ChargerControlService::Rpc(Context* c, const v1::Rpc##Request* r, \
                                                       v1::Rpc##Response* out) {              \
    return command(#Rpc, c, r, out, FillType{});                                              \
  }

SWITCHYARD_COMMAND(RemoteStart, FillFields)
SWITCHYARD_COMMAND(RemoteStop, NoFields)
SWITCHYARD_COMMAND(Reset, NoFields)
SWITCHYARD_COMMAND(ChangeConfiguration, NoFields)
SWITCHYARD_COMMAND(GetConfiguration, FillFields)
SWITCHYARD_COMMAND(GetVariables, FillFields)
SWITCHYARD_COMMAND(SetVariables, FillFields)
SWITCHYARD_COMMAND(GetBaseReport, NoFields)
SWITCHYARD_COMMAND(ChangeAvailability, NoFields)
SWITCHYARD_COMMAND(UnlockConnector, NoFields)
SWITCHYARD_COMMAND(TriggerMessage, NoFields)
SWITCHYARD_COMMAND(SetChargingProfile, NoFields)
SWITCHYARD_COMMAND(ClearChargingProfile, NoFields)
SWITCHYARD_COMMAND(SendLocalList, NoFields)
SWITCHYARD_COMMAND(GetLocalListVersion, FillFields)
SWITCHYARD_COMMAND(ReserveNow, NoFields)
SWITCHYARD_COMMAND(CancelReservation, NoFields)
SWITCHYARD_COMMAND(UpdateFirmware, NoFields)
SWITCHYARD_COMMAND(GetLog, FillFields)
SWITCHYARD_COMMAND(DataTransfer, FillFields)
SWITCHYARD_COMMAND(InstallCertificate, NoFields)
SWITCHYARD_COMMAND(DeleteCertificate, NoFields)
SWITCHYARD_COMMAND(Call, NoFields)

#undef SWITCHYARD_COMMAND
// NOLINTEND(bugprone-macro-parentheses)

grpc::ServerUnaryReactor* ChargerControlService::GetCompositeSchedule(
    Context* c, const v1::GetCompositeScheduleRequest* r, v1::GetCompositeScheduleResponse* out) {
  return command("GetCompositeSchedule", c, r, out,
                 [](v1::GetCompositeScheduleResponse& response, ocpp::Version v,
                    const std::string& payload) { fill(response, v, payload); });
}

grpc::ServerUnaryReactor* ChargerControlService::GetInstalledCertificateIds(
    Context* c, const v1::GetInstalledCertificateIdsRequest* r,
    v1::GetInstalledCertificateIdsResponse* out) {
  const v1::CertificateType asked =
      r->certificate_types_size() == 1 ? r->certificate_types(0) : v1::CERTIFICATE_TYPE_UNSPECIFIED;
  return command("GetInstalledCertificateIds", c, r, out,
                 [asked](v1::GetInstalledCertificateIdsResponse& response, ocpp::Version v,
                         const std::string& payload) { fill(response, v, payload, asked); });
}

grpc::ServerUnaryReactor* ChargerControlService::GetConnection(Context* c,
                                                               const v1::GetConnectionRequest* r,
                                                               v1::GetConnectionResponse* out) {
  auto* reactor = c->DefaultReactor();
  // Answered from the owner registry: never routed to a charger.
  Answer answer("GetConnection", reactor, metrics_);
  if (r->charger_id().empty()) {
    answer({grpc::StatusCode::INVALID_ARGUMENT, "charger_id is required"});
    return reactor;
  }
  router_.locate(r->charger_id(), [this, answer, r, out](Result<registry::Owner> owner) {
    if (!owner) {
      // Offline is an answer here, not an error.
      if (owner.error().code == ErrorCode::kUnavailable &&
          owner.error().message.find("offline") != std::string::npos) {
        out->set_online(false);
        return answer(grpc::Status::OK);
      }
      return answer(to_grpc_status(owner.error()));
    }
    out->set_online(true);
    out->set_pod_id(owner->pod);
    out->set_owner_epoch(owner->epoch);
    const auto version = ocpp::version_from_subprotocol(owner->protocol);
    if (version) {
      out->set_ocpp_version(*version == ocpp::Version::k16    ? v1::OCPP_VERSION_1_6
                            : *version == ocpp::Version::k201 ? v1::OCPP_VERSION_2_0_1
                                                              : v1::OCPP_VERSION_2_1);
    }
    if (auto session = sessions_.find(r->charger_id())) {
      out->set_security_profile(session->security_profile());
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          session->connected_at().time_since_epoch())
                          .count();
      out->mutable_connected_at()->set_seconds(ns / 1'000'000'000);
      out->mutable_connected_at()->set_nanos(static_cast<int>(ns % 1'000'000'000));
    }
    answer(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayInternalService::Deliver(grpc::CallbackServerContext* c,
                                                          const v1::DeliverRequest* r,
                                                          v1::DeliverResponse* out) {
  auto* reactor = c->DefaultReactor();
  router_.deliver_local(r->charger_id(), r->epoch(), r->action(), r->payload_json(),
                        [reactor, out](Result<CommandReply> reply) {
                          if (!reply) return reactor->Finish(to_grpc_status(reply.error()));
                          out->set_payload_json(reply->payload_json);
                          out->set_error_code(reply->error_code);
                          out->set_error_description(reply->error_description);
                          out->set_ocpp_version(static_cast<int>(reply->version));
                          reactor->Finish(grpc::Status::OK);
                        });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayInternalService::Evict(grpc::CallbackServerContext* c,
                                                        const v1::EvictRequest* r,
                                                        v1::EvictResponse* out) {
  out->set_closed(router_.evict(r->charger_id(), r->epoch()));
  auto* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* GatewayInternalService::Reachability(grpc::CallbackServerContext* c,
                                                               const v1::ReachabilityRequest*,
                                                               v1::ReachabilityResponse* out) {
  const gateway::Reachability last = fencing_.last();
  out->set_pod(pod_id_);
  out->set_bus(last.bus);
  out->set_registry(last.registry);
  out->set_fenced(fencing_.fenced());
  out->set_reachable_for_ms(fencing_.reachable_for(std::chrono::steady_clock::now()).count());
  auto* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace switchyard::gateway
