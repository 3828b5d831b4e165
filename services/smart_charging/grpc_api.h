// The SmartCharging gRPC service: sites, limits, site meter readings, plan and explain, in
// protobuf terms, translated to and from the service's domain types here and nowhere else.
#pragma once

#include "common/runtime/grpc/work_pool.h"
#include "smart_charging/smart_charging.h"
#include "switchyard/v1/smart_charging.grpc.pb.h"

namespace switchyard::smart_charging {

// A protobuf Site as a planner spec (defaults filled in, every field checked) with the JSON the
// store keeps. kInvalidArgument names the node or EVSE that is wrong.
Result<SiteDefinition> site_definition(const v1::Site& site);
Result<SiteDefinition> site_definition_from_json(const std::string& json);

class SmartChargingApi final : public v1::SmartCharging::CallbackService {
 public:
  SmartChargingApi(SmartChargingService& service, WorkPool& pool)
      : service_(service), pool_(pool) {}

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* PutSite(Context*, const v1::PutSiteRequest*, v1::PutSiteResponse*) override;
  Reactor* GetSite(Context*, const v1::GetSiteRequest*, v1::GetSiteResponse*) override;
  Reactor* ListSites(Context*, const v1::ListSitesRequest*, v1::ListSitesResponse*) override;
  Reactor* DeleteSite(Context*, const v1::DeleteSiteRequest*, v1::DeleteSiteResponse*) override;
  Reactor* SetNodeLimits(Context*, const v1::SetNodeLimitsRequest*,
                         v1::SetNodeLimitsResponse*) override;
  grpc::ServerReadReactor<v1::MeterReading>* PushMeterReadings(
      Context*, v1::PushMeterReadingsResponse*) override;
  Reactor* GetPlan(Context*, const v1::GetPlanRequest*, v1::GetPlanResponse*) override;
  Reactor* Explain(Context*, const v1::ExplainRequest*, v1::ExplainResponse*) override;
  Reactor* SetSessionLimit(Context*, const v1::SetSessionLimitRequest*,
                           v1::SetSessionLimitResponse*) override;
  Reactor* ClearSessionLimit(Context*, const v1::ClearSessionLimitRequest*,
                             v1::ClearSessionLimitResponse*) override;
  Reactor* GetSessionPlan(Context*, const v1::GetSessionPlanRequest*,
                          v1::GetSessionPlanResponse*) override;

 private:
  SmartChargingService& service_;
  WorkPool& pool_;
};

}  // namespace switchyard::smart_charging
