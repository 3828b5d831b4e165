// The standalone's gateway asks its auth service directly, on the auth service's work pool,
// for what every connection needs: admission (the charger's credentials) and the boot
// decision. In-process gRPC for these two took a quarter of the process's CPU in a reconnect
// storm (serialization, completion queues, a thread hop each way) for no isolation one process
// could use. The other decisions (tokens, transactions, certificates) go on through gRPC, where
// the transactions service takes part too.
#pragma once

#include <memory>

#include "gateway/ports.h"

namespace switchyard {
class WorkPool;
namespace auth {
class AuthService;
}  // namespace auth
}  // namespace switchyard

namespace switchyard::standalone {

// kUnavailable when the pool's queue is full or the store fails (the charger retries). The
// auth service must outlive the pool; the adapters need not (queued tasks do not use them).
class DirectCredentials final : public gateway::CredentialStore {
 public:
  DirectCredentials(auth::AuthService& auth, WorkPool& pool) : auth_(auth), pool_(pool) {}
  void admit(const std::string& charger_id, int offered_profile, const std::string& password,
             std::move_only_function<void(gateway::Admission)> done) override;

 private:
  auth::AuthService& auth_;
  WorkPool& pool_;
};

// boot() from the auth service directly; the rest from `others`.
class DirectBootDecisions final : public gateway::DecisionService {
 public:
  DirectBootDecisions(auth::AuthService& auth, WorkPool& pool,
                      std::unique_ptr<gateway::DecisionService> others)
      : auth_(auth), pool_(pool), others_(std::move(others)) {}

  void boot(const std::string& charger_id, const v1::BootNotification& boot,
            std::move_only_function<void(Result<gateway::BootDecision>)> done) override;
  void authorize(const std::string& charger_id, const v1::IdToken& token,
                 std::move_only_function<void(Result<gateway::TokenDecision>)> done) override {
    others_->authorize(charger_id, token, std::move(done));
  }
  void transaction(
      const std::string& charger_id, ocpp::Version version, const v1::TransactionEvent& event,
      std::move_only_function<void(Result<gateway::TransactionDecision>)> done) override {
    others_->transaction(charger_id, version, event, std::move(done));
  }
  void sign_certificate(
      const std::string& charger_id, const gateway::SigningRequest& request,
      std::move_only_function<void(Result<gateway::CertificateDecision>)> done) override {
    others_->sign_certificate(charger_id, request, std::move(done));
  }

 private:
  auth::AuthService& auth_;
  WorkPool& pool_;
  std::unique_ptr<gateway::DecisionService> others_;
};

}  // namespace switchyard::standalone
