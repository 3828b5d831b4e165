// The gateway inside the standalone binary calls auth and transactions over in-process gRPC
// channels, which exist only once the process's gRPC server runs, while the gateway (whose
// services that server hosts) must exist before it. These forwarders are handed to the gateway
// first and pointed at the real adapters after the server started (before any charger can
// connect: the gateway's listeners start last).
#pragma once

#include <atomic>
#include <memory>

#include "gateway/ports.h"
#include "smart_charging/charger_control_sender.h"

namespace switchyard::standalone {

class LateBoundDecisions final : public gateway::DecisionService {
 public:
  void bind(std::unique_ptr<gateway::DecisionService> target) {
    owned_ = std::move(target);
    target_.store(owned_.get());
  }
  void boot(const std::string& charger_id, const v1::BootNotification& boot,
            std::move_only_function<void(Result<gateway::BootDecision>)> done) override {
    if (auto* t = target_.load()) return t->boot(charger_id, boot, std::move(done));
    done(make_error(ErrorCode::kUnavailable, "starting"));
  }
  void authorize(const std::string& charger_id, const v1::IdToken& token,
                 std::move_only_function<void(Result<gateway::TokenDecision>)> done) override {
    if (auto* t = target_.load()) return t->authorize(charger_id, token, std::move(done));
    done(make_error(ErrorCode::kUnavailable, "starting"));
  }
  void transaction(
      const std::string& charger_id, ocpp::Version version, const v1::TransactionEvent& event,
      std::move_only_function<void(Result<gateway::TransactionDecision>)> done) override {
    if (auto* t = target_.load())
      return t->transaction(charger_id, version, event, std::move(done));
    done(make_error(ErrorCode::kUnavailable, "starting"));
  }
  void sign_certificate(
      const std::string& charger_id, const gateway::SigningRequest& request,
      std::move_only_function<void(Result<gateway::CertificateDecision>)> done) override {
    if (auto* t = target_.load()) return t->sign_certificate(charger_id, request, std::move(done));
    done(make_error(ErrorCode::kUnavailable, "starting"));
  }

 private:
  std::unique_ptr<gateway::DecisionService> owned_;
  std::atomic<gateway::DecisionService*> target_{nullptr};
};

class LateBoundCredentials final : public gateway::CredentialStore {
 public:
  void bind(std::unique_ptr<gateway::CredentialStore> target) {
    owned_ = std::move(target);
    target_.store(owned_.get());
  }
  void admit(const std::string& charger_id, int offered_profile, const std::string& password,
             std::move_only_function<void(gateway::Admission)> done) override {
    if (auto* t = target_.load())
      return t->admit(charger_id, offered_profile, password, std::move(done));
    done(gateway::Admission{gateway::CredentialVerdict::kUnavailable, -1});
  }

 private:
  std::unique_ptr<gateway::CredentialStore> owned_;
  std::atomic<gateway::CredentialStore*> target_{nullptr};
};

// Smart charging sends profiles and fail-safes through ChargerControl, which this process itself
// serves.
class LateBoundProfileSender final : public smart_charging::ProfileSender,
                                     public smart_charging::FallbackSender,
                                     public smart_charging::ScheduleReader {
 public:
  explicit LateBoundProfileSender(smart_charging::ProfileSettings settings)
      : settings_(std::move(settings)) {}
  void bind(std::unique_ptr<smart_charging::ChargerControlSender> target) {
    owned_ = std::move(target);
    target_.store(owned_.get());
  }
  const smart_charging::ProfileSettings& settings() const { return settings_; }
  void send(const smart_charging::ProfileRequest& request,
            std::function<void(smart_charging::ProfileAnswer)> done) override {
    if (auto* t = target_.load()) return t->send(request, std::move(done));
    done({smart_charging::ProfileOutcome::kLost, "starting"});
  }
  void release(const std::string& charger_id, const std::vector<int>& evse_ids,
               std::function<void(smart_charging::ProfileAnswer)> done) override {
    if (auto* t = target_.load()) return t->release(charger_id, evse_ids, std::move(done));
    done({smart_charging::ProfileOutcome::kLost, "starting"});
  }
  // Known before the target is bound: it depends on the settings only.
  bool can_install(smart_charging::ChargerProtocol protocol) const override {
    return smart_charging::ChargerControlSender::can_install(settings_, protocol);
  }
  void install(const smart_charging::FallbackRequest& request,
               std::function<void(smart_charging::ProfileAnswer)> done) override {
    if (auto* t = target_.load()) return t->install(request, std::move(done));
    done({smart_charging::ProfileOutcome::kLost, "starting"});
  }
  void composite_limit(const smart_charging::EvseAddress& evse, smart_charging::RateUnit unit,
                       std::function<void(Result<std::optional<double>>)> done) override {
    if (auto* t = target_.load()) return t->composite_limit(evse, unit, std::move(done));
    done(make_error(ErrorCode::kUnavailable, "starting"));
  }

 private:
  smart_charging::ProfileSettings settings_;
  std::unique_ptr<smart_charging::ChargerControlSender> owned_;
  std::atomic<smart_charging::ChargerControlSender*> target_{nullptr};
};

}  // namespace switchyard::standalone
