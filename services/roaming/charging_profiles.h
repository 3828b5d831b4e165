// OCPI 2.2.1 chargingprofiles, CPO side (RECEIVER): an eMSP (or the smart-charging provider it
// works with) limits one of its running sessions. PUT {session_id} with a SetChargingProfile,
// GET {session_id}?duration=&response_url= for the profile in force, DELETE
// {session_id}?response_url= to take it off. Each request is checked and answered at once with a
// ChargingProfileResponse: ACCEPTED with the seconds we take; UNKNOWN_SESSION for a session that
// is not theirs; REJECTED for one that has ended or when too many requests are in flight;
// NOT_SUPPORTED without a smart-charging service. A body or parameter that is not valid: 2001
// naming the field. Then, on a worker thread, the smart-charging service is asked
// (SessionLimits: its planner caps the session, never above what the site allows) and the
// ChargingProfileResult, ActiveChargingProfileResult or ClearProfileResult POSTed to the
// eMSP's response_url (retried while the eMSP cannot be reached, 3 attempts). Boost.JSON and the
// generated gRPC code stay in the .cpp files.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_module.h"
#include "roaming/session_store.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard {
class WorkPool;
}  // namespace switchyard

namespace switchyard::roaming {

// An OCPI ChargingProfile as the smart-charging service takes it.
struct ProfileLimit {
  bool watts = false;           // charging_rate_unit W (total), else A (per phase)
  std::int64_t start_ms = 0;    // start_date_time, or when it was received
  std::int64_t duration_s = 0;  // 0: until the session ends
  struct Period {
    std::int64_t start_s = 0;
    double limit = 0.0;
  };
  std::vector<Period> periods;
  std::string source;     // "eMSP <country>*<party>" for the operator's explain
  double min_rate = 0.0;  // min_charging_rate (same unit): at least this or nothing; 0: none
};

// How the smart-charging service plans a session now.
struct SessionPlanInfo {
  double current_a = 0.0;  // per phase
  int phases = 3;
  std::string reason;      // "session_limit", "phase_limit", ...
  bool has_limit = false;  // a limit (ours or another party's) is on the session
};

// The smart-charging service's per-session limits (SmartCharging.SetSessionLimit,
// ClearSessionLimit, GetSessionPlan). Errors: kNotFound (no planned site has the session
// running), kInvalidArgument (a profile it refuses), kUnavailable / kDeadlineExceeded (not
// reachable), kFailedPrecondition (no smart-charging service configured).
class SessionLimits {
 public:
  virtual ~SessionLimits() = default;
  virtual bool configured() const = 0;
  virtual Result<SessionPlanInfo> set(const std::string& charger_id,
                                      const std::string& transaction_id,
                                      const ProfileLimit& limit) = 0;
  virtual Result<SessionPlanInfo> clear(const std::string& charger_id,
                                        const std::string& transaction_id) = 0;
  virtual Result<SessionPlanInfo> get(const std::string& charger_id,
                                      const std::string& transaction_id) = 0;
};

// The OCPI ChargingProfile in `json` (an object) as a ProfileLimit; `now_ms` when it gives no
// start_date_time. kInvalidArgument names the field ("charging_profile_period[1].limit: ...").
Result<ProfileLimit> profile_limit_from_json(std::string_view json, std::int64_t now_ms);

class ChargingProfilesReceiver final : public OcpiModule {
 public:
  // `timeout`: what the ChargingProfileResponse promises.
  ChargingProfilesReceiver(SessionStore& sessions, OcpiClient& client, SessionLimits& limits,
                           const Clock& clock, prometheus::Registry* metrics,
                           std::chrono::seconds timeout);
  ~ChargingProfilesReceiver() override;
  ChargingProfilesReceiver(const ChargingProfilesReceiver&) = delete;
  ChargingProfilesReceiver& operator=(const ChargingProfilesReceiver&) = delete;

  std::string_view identifier() const override { return "chargingprofiles"; }
  std::string_view role() const override { return "RECEIVER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;
  // Waits for the requests in flight (their results are posted) and takes no more.
  void stop();

  struct Job;  // one accepted request (charging_profiles.cpp)

 private:
  void run(const std::shared_ptr<Job>& job);
  void count(std::string_view operation, std::string_view result);

  SessionStore& sessions_;
  OcpiClient& client_;
  SessionLimits& limits_;
  const Clock& clock_;
  std::chrono::seconds timeout_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  std::unique_ptr<WorkPool> workers_;
};

}  // namespace switchyard::roaming
