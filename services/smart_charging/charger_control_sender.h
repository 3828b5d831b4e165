// ProfileSender, FallbackSender and ScheduleReader over gRPC: SetChargingProfile (for fail-safes
// also ChangeConfiguration / SetVariables, for checks GetCompositeSchedule) through ChargerControl
// (any gateway pod; it forwards to the owner), with the service's profile ids and stack level, so
// an operator's own profiles on other stack levels stay as they are.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "smart_charging/ports.h"

namespace grpc {
class Channel;
}

namespace switchyard {
class Settings;
}

namespace switchyard::smart_charging {

struct ProfileSettings {
  // The stack level of every profile the service sends (TxDefault and Tx alike): above the
  // charger's own defaults, below what an operator reserves for manual limits.
  int stack_level = 5;
  // Profile ids are profile_id_base + 2 x evse id (+1 for a TxProfile): one per EVSE and
  // purpose, so each new limit replaces the previous one.
  int profile_id_base = 900000;
  std::chrono::milliseconds timeout{30000};
  // 2.1: how long a charger keeps the profile without contact to the CSMS (0 = unset): the
  // lease after which it falls back to its fail-safe.
  int max_offline_duration_s = 120;

  // Fail-safes (FallbackSender). 1.6: the ChangeConfiguration key whose value is a connector's
  // current (A) without the CSMS (a vendor's, e.g. DlmDisconnectedLimit); empty: none.
  std::string fallback_key_16;
  // 2.0.1: the device-model variable "Component/Variable" that holds it; empty: none.
  std::string fallback_variable_201;
  // 2.1: the stack level of the fail-safe TxDefaultProfile, below `stack_level` (the planned
  // profiles' lease falls back to it); 0: none. Its ids are fallback_profile_id_base + EVSE id.
  int fallback_stack_level = 4;
  int fallback_profile_id_base = 950000;
};

// The flags of the above (switchyard-smart-charging and the standalone binary alike).
void add_profile_settings(Settings& settings, ProfileSettings& profiles);
// kInvalidArgument naming the setting that does not fit.
Result<void> check_profile_settings(const ProfileSettings& profiles);

class ChargerControlSender final : public ProfileSender,
                                   public FallbackSender,
                                   public ScheduleReader {
 public:
  ChargerControlSender(const std::shared_ptr<grpc::Channel>& channel, ProfileSettings settings);
  ~ChargerControlSender() override;
  ChargerControlSender(const ChargerControlSender&) = delete;
  ChargerControlSender& operator=(const ChargerControlSender&) = delete;
  void send(const ProfileRequest& request, std::function<void(ProfileAnswer)> done) override;
  void release(const std::string& charger_id, const std::vector<int>& evse_ids,
               std::function<void(ProfileAnswer)> done) override;
  bool can_install(ChargerProtocol protocol) const override;
  static bool can_install(const ProfileSettings& settings, ChargerProtocol protocol);
  void install(const FallbackRequest& request, std::function<void(ProfileAnswer)> done) override;
  void composite_limit(const EvseAddress& evse, RateUnit unit,
                       std::function<void(Result<std::optional<double>>)> done) override;
  // Waits until every sent profile was answered (or timed out); false at the timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::smart_charging
