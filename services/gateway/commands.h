// ChargerControl's typed commands in the charger's own OCPP version: each request becomes an
// action and a JSON payload, each answer fills the typed response. The session validates every
// payload against the schema before sending, so a bad request is INVALID_ARGUMENT naming the
// field; a command the version lacks is UNIMPLEMENTED.
#pragma once

#include <string>

#include "common/ocpp/types.h"
#include "common/runtime/core/error.h"
#include "switchyard/v1/charger_control.pb.h"

namespace switchyard::gateway {

struct OcppCall {
  std::string action;
  std::string payload_json;
};

Result<OcppCall> translate(const v1::RemoteStartRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::RemoteStopRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::ResetRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::ChangeConfigurationRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetConfigurationRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetVariablesRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::SetVariablesRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetBaseReportRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::ChangeAvailabilityRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::UnlockConnectorRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::TriggerMessageRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::SetChargingProfileRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::ClearChargingProfileRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetCompositeScheduleRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::SendLocalListRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetLocalListVersionRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::ReserveNowRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::CancelReservationRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::UpdateFirmwareRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetLogRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::DataTransferRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::InstallCertificateRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::GetInstalledCertificateIdsRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::DeleteCertificateRequest& r, ocpp::Version v);
Result<OcppCall> translate(const v1::CallRequest& r, ocpp::Version v);

// Fills `outcome` and the response's own fields from the charger's CALLRESULT payload.
void fill_outcome(const std::string& action, ocpp::Version v, const std::string& payload_json,
                  v1::CommandOutcome& outcome);
void fill(v1::RemoteStartResponse& out, const std::string& payload_json);
void fill(v1::GetConfigurationResponse& out, const std::string& payload_json);
void fill(v1::GetVariablesResponse& out, const std::string& payload_json);
void fill(v1::SetVariablesResponse& out, const std::string& payload_json);
void fill(v1::GetCompositeScheduleResponse& out, ocpp::Version v, const std::string& payload_json);
void fill(v1::GetLocalListVersionResponse& out, const std::string& payload_json);
void fill(v1::GetLogResponse& out, const std::string& payload_json);
void fill(v1::DataTransferResponse& out, const std::string& payload_json);
// 1.6 answers list no types: `asked` (the one type a 1.6 request names) is put on each.
void fill(v1::GetInstalledCertificateIdsResponse& out, ocpp::Version v,
          const std::string& payload_json, v1::CertificateType asked);

}  // namespace switchyard::gateway
