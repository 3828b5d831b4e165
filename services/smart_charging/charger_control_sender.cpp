// SetChargingProfile through ChargerControl (see charger_control_sender.h).
#include "smart_charging/charger_control_sender.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <mutex>

#include "common/runtime/core/settings.h"
#include "common/runtime/grpc/status.h"
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

template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
  std::function<void(ProfileAnswer)> done;
};

// "Accepted" or not: RebootRequired counts as not (the value is not in effect until then).
ProfileAnswer status_answer(const std::string& answer) {
  if (answer == "Accepted") return {ProfileOutcome::kAccepted, answer};
  return {ProfileOutcome::kRejected, answer.empty() ? "no status in the answer" : answer};
}

ProfileAnswer answer_of(const grpc::Status& status, const std::string& charger_status) {
  if (status.ok()) return status_answer(charger_status);
  // The charger said no to what it was sent (CALLERROR or a request its version cannot take):
  // counted as rejected. Anything else means no answer came.
  const bool refused = status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
                       status.error_code() == grpc::StatusCode::ABORTED;
  return {refused ? ProfileOutcome::kRejected : ProfileOutcome::kLost,
          "gRPC " + std::to_string(status.error_code()) + ": " + status.error_message()};
}

void started(InFlight& in_flight) {
  std::lock_guard lock(in_flight.mutex);
  ++in_flight.calls;
}

void finished(InFlight& in_flight) {
  std::lock_guard lock(in_flight.mutex);
  if (--in_flight.calls == 0) in_flight.idle.notify_all();
}

// Several calls answered as one: accepted only if every one was; the first other answer wins.
struct Joined {
  std::mutex mutex;
  std::size_t left = 0;
  ProfileAnswer answer{ProfileOutcome::kAccepted, "Accepted"};
  std::function<void(ProfileAnswer)> done;

  void part(const ProfileAnswer& a) {
    std::function<void(ProfileAnswer)> finish;
    {
      std::lock_guard lock(mutex);
      if (a.outcome != ProfileOutcome::kAccepted && answer.outcome == ProfileOutcome::kAccepted) {
        answer = a;
      }
      if (--left == 0) finish = std::move(done);
    }
    if (finish) finish(answer);
  }
};

// A current as a configuration value: tenths, rounded down (never above what was planned).
std::string amps_text(double amps) {
  const double tenths = std::floor(std::max(amps, 0.0) * 10.0 + 1e-6);
  if (std::fmod(tenths, 10.0) == 0.0) return std::to_string(static_cast<long>(tenths / 10.0));
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", tenths / 10.0);
  return text;
}

double lowest(const FallbackRequest& request) {
  double out = std::numeric_limits<double>::infinity();
  for (const auto& [evse, amps] : request.evse_amps) out = std::min(out, amps);
  return std::isfinite(out) ? out : 0.0;
}

}  // namespace

void add_profile_settings(Settings& settings, ProfileSettings& profiles) {
  settings
      .add("profile-stack-level", profiles.stack_level,
           "Stack level of the profiles this service sends (keep operators' levels apart)")
      .add("profile-id-base", profiles.profile_id_base,
           "Profile ids are base + 2 x EVSE id (+1 for TxProfile)")
      .add("profile-timeout", profiles.timeout, "A profile unanswered this long counts as lost")
      .add("max-offline-duration", profiles.max_offline_duration_s,
           "OCPP 2.1: seconds a charger keeps a planned profile without the CSMS, then falls back "
           "to its fail-safe (0 = unset: it keeps it)")
      .add("fail-safe-key-16", profiles.fallback_key_16,
           "OCPP 1.6: configuration key that holds a connector's current (A) without the CSMS, "
           "e.g. a vendor's DlmDisconnectedLimit (empty: 1.6 chargers get no fail-safe)")
      .add("fail-safe-variable-201", profiles.fallback_variable_201,
           "OCPP 2.0.1: Component/Variable that holds it (empty: none)")
      .add("fail-safe-stack-level", profiles.fallback_stack_level,
           "OCPP 2.1: stack level of the fail-safe TxDefaultProfile, below profile-stack-level "
           "(0: none)")
      .add("fail-safe-profile-id-base", profiles.fallback_profile_id_base,
           "Fail-safe profile ids are base + EVSE id");
}

Result<void> check_profile_settings(const ProfileSettings& profiles) {
  if (profiles.fallback_stack_level < 0 || profiles.fallback_stack_level >= profiles.stack_level) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--fail-safe-stack-level " + std::to_string(profiles.fallback_stack_level) +
                          " must be 0 or below --profile-stack-level " +
                          std::to_string(profiles.stack_level));
  }
  if (profiles.max_offline_duration_s < 0)
    return make_error(ErrorCode::kInvalidArgument, "--max-offline-duration must be >= 0");
  const int fallback_last = profiles.fallback_profile_id_base + 1000;
  const int planned_last = profiles.profile_id_base + 2 * 1000 + 1;
  if (profiles.fallback_profile_id_base <= planned_last &&
      fallback_last >= profiles.profile_id_base) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--fail-safe-profile-id-base overlaps the ids of --profile-id-base "
                      "(keep them 2,002 apart)");
  }
  if (!profiles.fallback_variable_201.empty() &&
      profiles.fallback_variable_201.find('/') == std::string::npos) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--fail-safe-variable-201 is Component/Variable, got " + profiles.fallback_variable_201);
  }
  return {};
}

ChargerControlSender::ChargerControlSender(const std::shared_ptr<grpc::Channel>& channel,
                                           ProfileSettings settings)
    : impl_(
          std::make_unique<Impl>(Impl{v1::ChargerControl::NewStub(channel), std::move(settings)})) {
}

ChargerControlSender::~ChargerControlSender() = default;

void ChargerControlSender::send(const ProfileRequest& request,
                                std::function<void(ProfileAnswer)> done) {
  const ProfileSettings& s = impl_->settings;
  auto call =
      std::make_shared<Call<v1::SetChargingProfileRequest, v1::SetChargingProfileResponse>>();
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
  started(*impl_->in_flight);
  impl_->stub->async()->SetChargingProfile(
      &call->context, &call->request, &call->response,
      [call, in_flight = impl_->in_flight](const grpc::Status& status) {
        call->done(answer_of(status, call->response.outcome().status()));
        finished(*in_flight);
      });
}

void ChargerControlSender::release(const std::string& charger_id, const std::vector<int>& evse_ids,
                                   std::function<void(ProfileAnswer)> done) {
  const ProfileSettings& s = impl_->settings;
  std::vector<int> ids;
  for (int evse : evse_ids) {
    ids.push_back(s.profile_id_base + 2 * evse);      // TxDefaultProfile
    ids.push_back(s.profile_id_base + 2 * evse + 1);  // TxProfile
    if (s.fallback_stack_level > 0) ids.push_back(s.fallback_profile_id_base + evse);
  }
  if (ids.empty()) {
    done({ProfileOutcome::kAccepted, "nothing to clear"});
    return;
  }
  auto joined = std::make_shared<Joined>();
  joined->left = ids.size();
  joined->done = std::move(done);
  const auto deadline = std::chrono::system_clock::now() + s.timeout;
  for (int id : ids) {
    auto call =
        std::make_shared<Call<v1::ClearChargingProfileRequest, v1::ClearChargingProfileResponse>>();
    call->context.set_deadline(deadline);
    call->request.set_charger_id(charger_id);
    call->request.set_profile_id(id);
    call->done = [joined](const ProfileAnswer& a) { joined->part(a); };
    started(*impl_->in_flight);
    impl_->stub->async()->ClearChargingProfile(
        &call->context, &call->request, &call->response,
        [call, in_flight = impl_->in_flight](const grpc::Status& status) {
          // "Unknown": the charger had no such profile, which is what we want.
          const std::string& answer = call->response.outcome().status();
          call->done(answer_of(status, answer == "Unknown" ? std::string("Accepted") : answer));
          finished(*in_flight);
        });
  }
}

bool ChargerControlSender::can_install(ChargerProtocol protocol) const {
  return can_install(impl_->settings, protocol);
}

bool ChargerControlSender::can_install(const ProfileSettings& s, ChargerProtocol protocol) {
  switch (protocol) {
    case ChargerProtocol::k16:
      return !s.fallback_key_16.empty();
    case ChargerProtocol::k201:
      return !s.fallback_variable_201.empty();
    case ChargerProtocol::k21:
      return s.fallback_stack_level > 0;
    case ChargerProtocol::kUnknown:
      break;
  }
  return false;
}

void ChargerControlSender::install(const FallbackRequest& request,
                                   std::function<void(ProfileAnswer)> done) {
  const ProfileSettings& s = impl_->settings;
  const auto deadline = std::chrono::system_clock::now() + s.timeout;
  if (!can_install(request.protocol) || request.evse_amps.empty()) {
    done({ProfileOutcome::kRejected,
          "no fail-safe configured for OCPP " + std::string(to_string(request.protocol))});
    return;
  }
  if (request.protocol == ChargerProtocol::k16) {
    // One key for the charger: every connector at the lowest fail-safe of its EVSEs.
    auto call =
        std::make_shared<Call<v1::ChangeConfigurationRequest, v1::ChangeConfigurationResponse>>();
    call->done = std::move(done);
    call->context.set_deadline(deadline);
    call->request.set_charger_id(request.charger_id);
    call->request.set_key(s.fallback_key_16);
    call->request.set_value(amps_text(lowest(request)));
    started(*impl_->in_flight);
    impl_->stub->async()->ChangeConfiguration(
        &call->context, &call->request, &call->response,
        [call, in_flight = impl_->in_flight](const grpc::Status& status) {
          call->done(answer_of(status, call->response.outcome().status()));
          finished(*in_flight);
        });
    return;
  }
  if (request.protocol == ChargerProtocol::k201) {
    auto call = std::make_shared<Call<v1::SetVariablesRequest, v1::SetVariablesResponse>>();
    call->done = std::move(done);
    call->context.set_deadline(deadline);
    call->request.set_charger_id(request.charger_id);
    const auto slash = s.fallback_variable_201.find('/');
    auto* entry = call->request.add_entries();
    entry->mutable_variable()->set_component(s.fallback_variable_201.substr(0, slash));
    entry->mutable_variable()->set_variable(
        slash == std::string::npos ? std::string() : s.fallback_variable_201.substr(slash + 1));
    entry->set_value(amps_text(lowest(request)));
    started(*impl_->in_flight);
    impl_->stub->async()->SetVariables(
        &call->context, &call->request, &call->response,
        [call, in_flight = impl_->in_flight](const grpc::Status& status) {
          const auto& results = call->response.results();
          call->done(answer_of(status, results.empty() ? std::string() : results[0].status()));
          finished(*in_flight);
        });
    return;
  }
  // 2.1: a TxDefaultProfile per EVSE below the planned ones, with no lease of its own.
  auto joined = std::make_shared<Joined>();
  joined->left = request.evse_amps.size();
  joined->done = std::move(done);
  for (const auto& [evse, amps] : request.evse_amps) {
    auto call =
        std::make_shared<Call<v1::SetChargingProfileRequest, v1::SetChargingProfileResponse>>();
    call->context.set_deadline(deadline);
    call->request.set_charger_id(request.charger_id);
    call->request.set_evse_id(evse);
    auto* profile = call->request.mutable_profile();
    profile->set_id(s.fallback_profile_id_base + evse);
    profile->set_stack_level(s.fallback_stack_level);
    profile->set_purpose(v1::CHARGING_PROFILE_PURPOSE_TX_DEFAULT);
    profile->set_kind(v1::CHARGING_PROFILE_KIND_RELATIVE);
    auto* schedule = profile->add_schedules();
    schedule->set_id(profile->id());
    schedule->set_rate_unit(v1::CHARGING_RATE_UNIT_AMPERES);
    auto* period = schedule->add_periods();
    period->set_start_period_s(0);
    period->set_limit(std::floor(std::max(amps, 0.0) * 10.0 + 1e-6) / 10.0);
    call->done = [joined](const ProfileAnswer& a) { joined->part(a); };
    started(*impl_->in_flight);
    impl_->stub->async()->SetChargingProfile(
        &call->context, &call->request, &call->response,
        [call, in_flight = impl_->in_flight](const grpc::Status& status) {
          call->done(answer_of(status, call->response.outcome().status()));
          finished(*in_flight);
        });
  }
}

void ChargerControlSender::composite_limit(
    const EvseAddress& evse, RateUnit unit,
    std::function<void(Result<std::optional<double>>)> done) {
  struct Read {
    grpc::ClientContext context;
    v1::GetCompositeScheduleRequest request;
    v1::GetCompositeScheduleResponse response;
    std::function<void(Result<std::optional<double>>)> done;
  };
  auto call = std::make_shared<Read>();
  call->done = std::move(done);
  call->context.set_deadline(std::chrono::system_clock::now() + impl_->settings.timeout);
  call->request.set_charger_id(evse.charger_id);
  call->request.set_evse_id(evse.evse_id);
  call->request.set_duration_s(60);
  const auto wanted =
      unit == RateUnit::kWatts ? v1::CHARGING_RATE_UNIT_WATTS : v1::CHARGING_RATE_UNIT_AMPERES;
  call->request.set_rate_unit(wanted);
  started(*impl_->in_flight);
  impl_->stub->async()->GetCompositeSchedule(
      &call->context, &call->request, &call->response,
      [call, wanted, in_flight = impl_->in_flight](const grpc::Status& status) {
        const v1::GetCompositeScheduleResponse& r = call->response;
        if (!status.ok()) {
          call->done(make_error(from_grpc_code(status.error_code()),
                                "GetCompositeSchedule: " + status.error_message()));
        } else if (r.outcome().status() != "Accepted") {
          call->done(make_error(ErrorCode::kFailedPrecondition,
                                "GetCompositeSchedule answered " + r.outcome().status()));
        } else if (!r.has_schedule() || r.schedule().periods().empty() ||
                   r.schedule().rate_unit() != wanted) {
          call->done(std::optional<double>());
        } else {
          // The period in force now: the last one that started at or before 0 s.
          const auto& periods = r.schedule().periods();
          double limit = periods[0].limit();
          for (const auto& p : periods) {
            if (p.start_period_s() <= 0) limit = p.limit();
          }
          call->done(std::optional<double>(limit));
        }
        finished(*in_flight);
      });
}

bool ChargerControlSender::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->in_flight->mutex);
  return impl_->in_flight->idle.wait_for(lock, timeout,
                                         [&] { return impl_->in_flight->calls == 0; });
}

}  // namespace switchyard::smart_charging
