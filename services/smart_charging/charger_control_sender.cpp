// SetChargingProfile through ChargerControl (see charger_control_sender.h).
#include "smart_charging/charger_control_sender.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>

#include "switchyard/v1/charger_control.grpc.pb.h"

namespace switchyard::smart_charging {

// Calls not yet answered; shared with their callbacks.
struct InFlight {
  std::mutex mutex;
  std::condition_variable idle;
  int calls = 0;
};

struct ChargerControlSender::Impl {
  std::unique_ptr<v1::ChargerControl::Stub> stub;
  ProfileSettings settings;
  std::shared_ptr<InFlight> in_flight = std::make_shared<InFlight>();
};

namespace {

struct Call {
  grpc::ClientContext context;
  v1::SetChargingProfileRequest request;
  v1::SetChargingProfileResponse response;
  std::function<void(ProfileAnswer)> done;
};

ProfileAnswer answer_of(const grpc::Status& status, const v1::SetChargingProfileResponse& r) {
  if (status.ok()) {
    const std::string& answer = r.outcome().status();
    if (answer == "Accepted") return {ProfileOutcome::kAccepted, answer};
    return {ProfileOutcome::kRejected, answer.empty() ? "no status in the answer" : answer};
  }
  // The charger said no to what it was sent (CALLERROR or a request its version cannot take):
  // counted as rejected. Anything else means no answer came.
  const bool refused = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                       status.error_code() == grpc::StatusCode::ABORTED;
  return {refused ? ProfileOutcome::kRejected : ProfileOutcome::kLost,
          "gRPC " + std::to_string(status.error_code()) + ": " + status.error_message()};
}

}  // namespace

ChargerControlSender::ChargerControlSender(const std::shared_ptr<grpc::Channel>& channel,
                                           ProfileSettings settings)
    : impl_(std::make_unique<Impl>(Impl{v1::ChargerControl::NewStub(channel), settings})) {}

ChargerControlSender::~ChargerControlSender() = default;

void ChargerControlSender::send(const ProfileRequest& request,
                                std::function<void(ProfileAnswer)> done) {
  const ProfileSettings& s = impl_->settings;
  auto call = std::make_shared<Call>();
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() + s.timeout);
  call->request.set_charger_id(request.evse.charger_id);
  call->request.set_evse_id(request.evse.evse_id);
  const bool tx = !request.transaction_id.empty();
  auto* profile = call->request.mutable_profile();
  profile->set_id(s.profile_id_base + 2 * request.evse.evse_id + (tx ? 1 : 0));
  profile->set_stack_level(s.stack_level);
  profile->set_purpose(tx ? v1::CHARGING_PROFILE_PURPOSE_TX
                          : v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
  // Relative with one period from 0: the limit holds from now on whatever the charger's clock.
  profile->set_kind(v1::CHARGING_PROFILE_KIND_RELATIVE);
  if (tx) profile->set_transaction_id(request.transaction_id);
  if (s.max_offline_duration_s > 0) profile->set_max_offline_duration_s(s.max_offline_duration_s);
  auto* schedule = profile->add_schedules();
  schedule->set_id(profile->id());
  const ProfileCommand& c = request.command;
  const bool watts = c.unit == RateUnit::kWatts;
  schedule->set_rate_unit(watts ? v1::CHARGING_RATE_UNIT_WATTS : v1::CHARGING_RATE_UNIT_AMPERES);
  auto* period = schedule->add_periods();
  period->set_start_period_s(0);
  period->set_limit(watts ? c.power_w : c.setpoint.current_a);
  period->set_number_phases(c.setpoint.phases);
  {
    std::lock_guard lock(impl_->in_flight->mutex);
    ++impl_->in_flight->calls;
  }
  impl_->stub->async()->SetChargingProfile(
      &call->context, &call->request, &call->response,
      [call, in_flight = impl_->in_flight](const grpc::Status& status) {
        call->done(answer_of(status, call->response));
        std::lock_guard lock(in_flight->mutex);
        if (--in_flight->calls == 0) in_flight->idle.notify_all();
      });
}

bool ChargerControlSender::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->in_flight->mutex);
  return impl_->in_flight->idle.wait_for(lock, timeout,
                                         [&] { return impl_->in_flight->calls == 0; });
}

}  // namespace switchyard::smart_charging
