// DecisionService and CredentialStore over the auth and transactions services' gRPC APIs
// (remote pods in distributed mode, in-process channels in standalone). Calls are asynchronous
// (gRPC callback API) with a deadline; a failed call is an error the session turns into a CALLERROR
// (decisions) or an HTTP 503 (admission).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/ports.h"
#include "switchyard/v1/authorization.grpc.pb.h"
#include "switchyard/v1/transactions.grpc.pb.h"

namespace switchyard::gateway {

class GrpcDecisions final : public DecisionService {
 public:
  GrpcDecisions(std::shared_ptr<v1::Authorization::Stub> auth,
                std::shared_ptr<v1::Transactions::Stub> transactions,
                std::chrono::milliseconds deadline = std::chrono::seconds(5))
      : auth_(std::move(auth)), transactions_(std::move(transactions)), deadline_(deadline) {}

  void boot(const std::string& charger_id, const v1::BootNotification& boot,
            std::move_only_function<void(Result<BootDecision>)> done) override;
  // Authorization.Authorize; when the token may not run twice, Transactions.CountActive too.
  void authorize(const std::string& charger_id, const v1::IdToken& token,
                 std::move_only_function<void(Result<TokenDecision>)> done) override;
  void transaction(const std::string& charger_id, ocpp::Version version,
                   const v1::TransactionEvent& event,
                   std::move_only_function<void(Result<TransactionDecision>)> done) override;
  // Authorization.SignCertificate; INVALID_ARGUMENT and FAILED_PRECONDITION are refusals.
  void sign_certificate(const std::string& charger_id, const SigningRequest& request,
                        std::move_only_function<void(Result<CertificateDecision>)> done) override;

 private:
  std::shared_ptr<v1::Authorization::Stub> auth_;
  std::shared_ptr<v1::Transactions::Stub> transactions_;
  std::chrono::milliseconds deadline_;
};

// Authorization.AdmitCharger. Accepted verdicts are remembered (keyed by a hash of charger,
// profile and password) for `remember`: while the auth service is unreachable, a charger that
// was admitted with the same credentials still gets in; anything else gets kUnavailable.
class GrpcCredentialStore final : public CredentialStore {
 public:
  GrpcCredentialStore(std::shared_ptr<v1::Authorization::Stub> auth,
                      std::chrono::milliseconds deadline = std::chrono::seconds(5),
                      std::chrono::seconds remember = std::chrono::hours(24));

  void admit(const std::string& charger_id, int offered_profile, const std::string& password,
             std::move_only_function<void(Admission)> done) override;

 private:
  void remember(const std::string& key);
  bool remembered(const std::string& key);

  std::shared_ptr<v1::Authorization::Stub> auth_;
  std::chrono::milliseconds deadline_;
  std::chrono::seconds remember_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> accepted_;
};

}  // namespace switchyard::gateway
