// What the smart-charging service needs from outside: a way to put a charging profile on an EVSE
// (ChargerControl in production, a fake in tests) and a place to keep sites and limits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/runtime/core/error.h"
#include "smart_charging/limits.h"
#include "smart_charging/planner.h"

namespace switchyard::smart_charging {

// One EVSE as its charger knows it.
struct EvseAddress {
  std::string charger_id;
  int evse_id = 0;  // 2.x evseId / 1.6 connectorId
  bool operator==(const EvseAddress&) const = default;
};

// A profile to put on an EVSE: the planner's command plus what OCPP needs around it.
struct ProfileRequest {
  EvseAddress evse;
  ProfileCommand command;
  // The running transaction (TxProfile); empty: the profile goes out as TxDefaultProfile.
  std::string transaction_id;
};

// The charger's answer: accepted, rejected (with its status), or lost (no answer in time, the
// charger is not connected, the gateway unreachable: `detail` says which).
struct ProfileAnswer {
  ProfileOutcome outcome = ProfileOutcome::kLost;
  std::string detail;
};

class ProfileSender {
 public:
  virtual ~ProfileSender() = default;
  // Asynchronous; `done` runs exactly once, on any thread, possibly before send() returns (the
  // service calls send() holding no lock).
  virtual void send(const ProfileRequest& request, std::function<void(ProfileAnswer)> done) = 0;
  // Takes off the charger every profile this service put there (planned and fail-safe) on the
  // given EVSEs, once it is in no site: it charges by its own defaults again. Accepted when
  // every clear was (or the charger had no such profile).
  virtual void release(const std::string& charger_id, const std::vector<int>& evse_ids,
                       std::function<void(ProfileAnswer)> done) = 0;
};

// The OCPP version a charger speaks: what it can take as an offline fallback depends on it.
enum class ChargerProtocol : std::uint8_t { kUnknown, k16, k201, k21 };
std::string_view to_string(ChargerProtocol protocol);

// A charger's fail-safe: the current (A) each of its EVSEs may draw once it has lost the CSMS.
struct FallbackRequest {
  std::string charger_id;
  ChargerProtocol protocol = ChargerProtocol::kUnknown;
  std::vector<std::pair<int, double>> evse_amps;  // EVSE id (1.6 connector id) -> A
};

// Installs fail-safes: on 2.1 a TxDefaultProfile below the service's own stack level, which
// the planned profiles' maxOfflineDuration lease falls back to; on 1.6 and 2.0.1 a vendor's
// offline-current configuration key or variable.
class FallbackSender {
 public:
  virtual ~FallbackSender() = default;
  // False: this charger cannot be given a fail-safe (no key configured for its version); it
  // counts at its worst case while offline.
  virtual bool can_install(ChargerProtocol protocol) const = 0;
  // One answer for the whole charger: accepted only if every part was; `done` as for
  // ProfileSender::send.
  virtual void install(const FallbackRequest& request, std::function<void(ProfileAnswer)> done) = 0;
};

// What a charger says it applies on an EVSE (GetCompositeSchedule), to check it against the plan.
class ScheduleReader {
 public:
  virtual ~ScheduleReader() = default;
  // The limit of the composite schedule's first period, in `unit`; nullopt when the charger gave
  // no schedule in that unit (nothing to compare); an error when it could not be asked or
  // refused. `done` as for ProfileSender::send.
  virtual void composite_limit(const EvseAddress& evse, RateUnit unit,
                               std::function<void(Result<std::optional<double>>)> done) = 0;
};

// A site as stored: its definition (the protobuf Site, as JSON, so the store needs no
// generated code) and the operator's limits per node.
struct StoredSite {
  std::string id;
  std::string definition_json;
  struct Limits {
    std::string node_id;
    std::vector<LimitSlot> schedule;
    std::optional<LimitSlot> override_slot;
    std::vector<LimitSlot> forecast = {};  // the grid operator's (OSCP), kept across restarts
  };
  std::vector<Limits> limits;
};

// A limit another party put on a running session (SetSessionLimit), kept so that a restart of
// the service does not drop it.
struct StoredSessionLimit {
  std::string charger_id;
  std::string transaction_id;
  SessionLimit limit;
};

class SiteStore {
 public:
  virtual ~SiteStore() = default;
  virtual Result<std::vector<StoredSite>> load_all() = 0;
  // Creates or replaces the site's definition; keeps no limits of nodes it no longer has.
  // True when it was created.
  virtual Result<bool> put(const std::string& id, const std::string& definition_json,
                           const std::vector<std::string>& node_ids) = 0;
  virtual Result<bool> remove(const std::string& id) = 0;
  virtual Result<void> put_limits(const std::string& site_id, const StoredSite::Limits& limits) = 0;
  // Session limits: every one kept, one put (replacing that session's), one taken off.
  virtual Result<std::vector<StoredSessionLimit>> load_session_limits() = 0;
  virtual Result<void> put_session_limit(const StoredSessionLimit& limit) = 0;
  virtual Result<void> remove_session_limit(const std::string& charger_id,
                                            const std::string& transaction_id) = 0;
};

}  // namespace switchyard::smart_charging
