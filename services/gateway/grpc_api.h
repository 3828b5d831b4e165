// The gateway's gRPC surface: ChargerControl for other teams, GatewayInternal for other pods.
#pragma once

#include "gateway/command_router.h"
#include "gateway/fencing.h"
#include "gateway/gateway_metrics.h"
#include "switchyard/v1/charger_control.grpc.pb.h"
#include "switchyard/v1/gateway_internal.grpc.pb.h"

namespace switchyard::gateway {

class ChargerControlService final : public v1::ChargerControl::CallbackService {
 public:
  // Every RPC answered shows in `metrics` (control_call) with its route and status code.
  ChargerControlService(CommandRouter& router, SessionRegistry& sessions, GatewayMetrics& metrics)
      : router_(router), sessions_(sessions), metrics_(metrics) {}

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* RemoteStart(Context*, const v1::RemoteStartRequest*, v1::RemoteStartResponse*) override;
  Reactor* RemoteStop(Context*, const v1::RemoteStopRequest*, v1::RemoteStopResponse*) override;
  Reactor* Reset(Context*, const v1::ResetRequest*, v1::ResetResponse*) override;
  Reactor* ChangeConfiguration(Context*, const v1::ChangeConfigurationRequest*,
                               v1::ChangeConfigurationResponse*) override;
  Reactor* GetConfiguration(Context*, const v1::GetConfigurationRequest*,
                            v1::GetConfigurationResponse*) override;
  Reactor* GetVariables(Context*, const v1::GetVariablesRequest*,
                        v1::GetVariablesResponse*) override;
  Reactor* SetVariables(Context*, const v1::SetVariablesRequest*,
                        v1::SetVariablesResponse*) override;
  Reactor* GetBaseReport(Context*, const v1::GetBaseReportRequest*,
                         v1::GetBaseReportResponse*) override;
  Reactor* ChangeAvailability(Context*, const v1::ChangeAvailabilityRequest*,
                              v1::ChangeAvailabilityResponse*) override;
  Reactor* UnlockConnector(Context*, const v1::UnlockConnectorRequest*,
                           v1::UnlockConnectorResponse*) override;
  Reactor* TriggerMessage(Context*, const v1::TriggerMessageRequest*,
                          v1::TriggerMessageResponse*) override;
  Reactor* SetChargingProfile(Context*, const v1::SetChargingProfileRequest*,
                              v1::SetChargingProfileResponse*) override;
  Reactor* ClearChargingProfile(Context*, const v1::ClearChargingProfileRequest*,
                                v1::ClearChargingProfileResponse*) override;
  Reactor* GetCompositeSchedule(Context*, const v1::GetCompositeScheduleRequest*,
                                v1::GetCompositeScheduleResponse*) override;
  Reactor* SendLocalList(Context*, const v1::SendLocalListRequest*,
                         v1::SendLocalListResponse*) override;
  Reactor* GetLocalListVersion(Context*, const v1::GetLocalListVersionRequest*,
                               v1::GetLocalListVersionResponse*) override;
  Reactor* ReserveNow(Context*, const v1::ReserveNowRequest*, v1::ReserveNowResponse*) override;
  Reactor* CancelReservation(Context*, const v1::CancelReservationRequest*,
                             v1::CancelReservationResponse*) override;
  Reactor* UpdateFirmware(Context*, const v1::UpdateFirmwareRequest*,
                          v1::UpdateFirmwareResponse*) override;
  Reactor* GetLog(Context*, const v1::GetLogRequest*, v1::GetLogResponse*) override;
  Reactor* DataTransfer(Context*, const v1::DataTransferRequest*,
                        v1::DataTransferResponse*) override;
  Reactor* InstallCertificate(Context*, const v1::InstallCertificateRequest*,
                              v1::InstallCertificateResponse*) override;
  Reactor* GetInstalledCertificateIds(Context*, const v1::GetInstalledCertificateIdsRequest*,
                                      v1::GetInstalledCertificateIdsResponse*) override;
  Reactor* DeleteCertificate(Context*, const v1::DeleteCertificateRequest*,
                             v1::DeleteCertificateResponse*) override;
  Reactor* Call(Context*, const v1::CallRequest*, v1::CallResponse*) override;
  Reactor* GetConnection(Context*, const v1::GetConnectionRequest*,
                         v1::GetConnectionResponse*) override;

 private:
  class Answer;

  template <typename Request, typename Response, typename Fill>
  Reactor* command(const char* rpc, Context* context, const Request* request, Response* response,
                   Fill fill);

  CommandRouter& router_;
  SessionRegistry& sessions_;
  GatewayMetrics& metrics_;
};

class GatewayInternalService final : public v1::GatewayInternal::CallbackService {
 public:
  // `fencing`: this pod's reachability, for peers that ask.
  GatewayInternalService(CommandRouter& router, const Fencing& fencing, std::string pod_id)
      : router_(router), fencing_(fencing), pod_id_(std::move(pod_id)) {}
  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext*, const v1::DeliverRequest*,
                                    v1::DeliverResponse*) override;
  grpc::ServerUnaryReactor* Evict(grpc::CallbackServerContext*, const v1::EvictRequest*,
                                  v1::EvictResponse*) override;
  grpc::ServerUnaryReactor* Reachability(grpc::CallbackServerContext*,
                                         const v1::ReachabilityRequest*,
                                         v1::ReachabilityResponse*) override;

 private:
  CommandRouter& router_;
  const Fencing& fencing_;
  std::string pod_id_;
};

}  // namespace switchyard::gateway
