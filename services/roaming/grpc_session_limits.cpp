// SessionLimits over SmartCharging (see grpc_session_limits.h).
#include "roaming/grpc_session_limits.h"

#include <grpcpp/grpcpp.h>

#include "common/runtime/grpc/status.h"
#include "switchyard/v1/smart_charging.grpc.pb.h"

namespace switchyard::roaming {

struct GrpcSessionLimits::Stub {
  std::unique_ptr<v1::SmartCharging::Stub> stub;
};

namespace {

template <typename Request, typename Response, typename Method>
Result<SessionPlanInfo> call(const std::shared_ptr<GrpcSessionLimits::Stub>& stub,
                             std::chrono::milliseconds deadline, Method method,
                             const Request& request) {
  if (!stub) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no smart-charging service configured (--smart-charging-address)");
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  Response response;
  const grpc::Status s = ((*stub->stub).*method)(&context, request, &response);
  if (!s.ok()) return make_error(from_grpc_code(s.error_code()), s.error_message());
  const v1::SessionPlan& plan = response.plan();
  return SessionPlanInfo{.current_a = plan.current_a(),
                         .phases = plan.phases(),
                         .reason = plan.reason(),
                         .has_limit = plan.has_limit()};
}

}  // namespace

GrpcSessionLimits::GrpcSessionLimits(std::chrono::milliseconds deadline) : deadline_(deadline) {}

GrpcSessionLimits::~GrpcSessionLimits() = default;

void GrpcSessionLimits::set_channel(const std::shared_ptr<grpc::ChannelInterface>& channel) {
  auto stub = std::make_shared<Stub>(Stub{v1::SmartCharging::NewStub(channel)});
  std::lock_guard lock(mutex_);
  stub_ = std::move(stub);
}

std::shared_ptr<GrpcSessionLimits::Stub> GrpcSessionLimits::stub() const {
  std::lock_guard lock(mutex_);
  return stub_;
}

bool GrpcSessionLimits::configured() const { return stub() != nullptr; }

Result<SessionPlanInfo> GrpcSessionLimits::set(const std::string& charger_id,
                                               const std::string& transaction_id,
                                               const ProfileLimit& limit) {
  v1::SetSessionLimitRequest r;
  r.set_charger_id(charger_id);
  r.set_transaction_id(transaction_id);
  v1::SessionLimitSchedule* s = r.mutable_limit();
  s->set_unit(limit.watts ? v1::CHARGING_RATE_UNIT_WATTS : v1::CHARGING_RATE_UNIT_AMPERES);
  s->mutable_start()->set_seconds(limit.start_ms / 1000);
  s->mutable_start()->set_nanos(static_cast<int>(limit.start_ms % 1000) * 1'000'000);
  s->set_duration_s(static_cast<int>(limit.duration_s));
  for (const ProfileLimit::Period& p : limit.periods) {
    auto* period = s->add_periods();
    period->set_start_offset_s(static_cast<int>(p.start_s));
    period->set_limit(p.limit);
  }
  s->set_source(limit.source);
  s->set_min_rate(limit.min_rate);
  return call<v1::SetSessionLimitRequest, v1::SetSessionLimitResponse>(
      stub(), deadline_, &v1::SmartCharging::Stub::SetSessionLimit, r);
}

Result<SessionPlanInfo> GrpcSessionLimits::clear(const std::string& charger_id,
                                                 const std::string& transaction_id) {
  v1::ClearSessionLimitRequest r;
  r.set_charger_id(charger_id);
  r.set_transaction_id(transaction_id);
  return call<v1::ClearSessionLimitRequest, v1::ClearSessionLimitResponse>(
      stub(), deadline_, &v1::SmartCharging::Stub::ClearSessionLimit, r);
}

Result<SessionPlanInfo> GrpcSessionLimits::get(const std::string& charger_id,
                                               const std::string& transaction_id) {
  v1::GetSessionPlanRequest r;
  r.set_charger_id(charger_id);
  r.set_transaction_id(transaction_id);
  return call<v1::GetSessionPlanRequest, v1::GetSessionPlanResponse>(
      stub(), deadline_, &v1::SmartCharging::Stub::GetSessionPlan, r);
}

}  // namespace switchyard::roaming
