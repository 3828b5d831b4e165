// ProfileSender over gRPC: SetChargingProfile through ChargerControl (any gateway pod; it
// forwards to the owner), with the service's profile ids and stack level, so an operator's own
// profiles on other stack levels stay as they are.
#pragma once

#include <chrono>
#include <memory>

#include "smart_charging/ports.h"

namespace grpc {
class Channel;
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
  // 2.1: how long a charger keeps the profile without contact to the CSMS (0 = unset).
  int max_offline_duration_s = 0;
};

class ChargerControlSender final : public ProfileSender {
 public:
  ChargerControlSender(const std::shared_ptr<grpc::Channel>& channel, ProfileSettings settings);
  ~ChargerControlSender() override;
  void send(const ProfileRequest& request, std::function<void(ProfileAnswer)> done) override;
  // Waits until every sent profile was answered (or timed out); false at the timeout.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::smart_charging
