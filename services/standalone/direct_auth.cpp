#include "standalone/direct_auth.h"

#include <memory>

#include "auth/auth.h"
#include "common/runtime/core/log.h"
#include "common/runtime/grpc/work_pool.h"

namespace switchyard::standalone {
namespace {

// A callback the pool may drop unrun (queue full): shared, so the refusal can still answer.
template <typename Done>
std::shared_ptr<Done> shared(Done done) {
  return std::make_shared<Done>(std::move(done));
}

gateway::CredentialVerdict verdict_of(auth::Admission a) {
  switch (a) {
    case auth::Admission::kAccepted:
      return gateway::CredentialVerdict::kAccepted;
    case auth::Admission::kWrongPassword:
      return gateway::CredentialVerdict::kWrongPassword;
    case auth::Admission::kWrongSecurityProfile:
      return gateway::CredentialVerdict::kWrongSecurityProfile;
    case auth::Admission::kUnknownCharger:
      break;
  }
  return gateway::CredentialVerdict::kUnknownCharger;
}

}  // namespace

void DirectCredentials::admit(const std::string& charger_id, int offered_profile,
                              const std::string& password,
                              std::move_only_function<void(gateway::Admission)> done) {
  auto answer = shared(std::move(done));
  // The task holds the auth service (which outlives the pool), not this adapter.
  const bool queued = pool_.post([&auth = auth_, charger_id, offered_profile, password, answer] {
    auto a = auth.admit(charger_id, offered_profile, password);
    if (!a) {
      log::warn("charger admission failed; connection refused with 503",
                {{"charger_id", charger_id}, {"error", a.error().message}});
      return (*answer)(gateway::Admission{gateway::CredentialVerdict::kUnavailable, -1});
    }
    (*answer)(gateway::Admission{
        verdict_of(a->verdict),
        a->verdict == auth::Admission::kUnknownCharger ? -1 : a->required_profile});
  });
  if (!queued) (*answer)(gateway::Admission{gateway::CredentialVerdict::kUnavailable, -1});
}

void DirectBootDecisions::boot(const std::string& charger_id, const v1::BootNotification&,
                               std::move_only_function<void(Result<gateway::BootDecision>)> done) {
  auto answer = shared(std::move(done));
  const bool queued = pool_.post([&auth = auth_, charger_id, answer] {
    auto d = auth.boot(charger_id);
    if (!d) return (*answer)(std::unexpected(d.error()));
    (*answer)(gateway::BootDecision{d->status, d->interval_s});
  });
  if (!queued) {
    (*answer)(make_error(ErrorCode::kResourceExhausted, "server busy: too many calls queued"));
  }
}

}  // namespace switchyard::standalone
