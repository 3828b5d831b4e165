// The decisions a gateway makes on its own until the auth and transactions services answer
// them: boots accepted with an interval, id tokens accepted (all, or those listed in a file),
// 1.6 transaction ids from a counter shared by every pod (Redis) or local (standalone).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_set>

#include "gateway/ports.h"

namespace switchyard::redis {
class Client;
}

namespace switchyard::gateway {

// Allocates 1.6 transaction ids, unique across every pod.
class TransactionIds {
 public:
  virtual ~TransactionIds() = default;
  virtual void next(std::move_only_function<void(Result<std::int64_t>)> done) = 0;
};

// INCR on one Redis key.
std::unique_ptr<TransactionIds> redis_transaction_ids(redis::Client& client, std::string key);
// A process-local counter.
std::unique_ptr<TransactionIds> local_transaction_ids();

class BuiltinDecisions final : public DecisionService {
 public:
  // `accepted_tokens` empty: every token is accepted.
  BuiltinDecisions(int heartbeat_interval_s, std::unordered_set<std::string> accepted_tokens,
                   std::unique_ptr<TransactionIds> ids);

  void boot(const std::string& charger_id, const v1::BootNotification& boot,
            std::move_only_function<void(Result<BootDecision>)> done) override;
  void authorize(const std::string& charger_id, const v1::IdToken& token,
                 std::move_only_function<void(Result<TokenDecision>)> done) override;
  void transaction(const std::string& charger_id, ocpp::Version version,
                   const v1::TransactionEvent& event,
                   std::move_only_function<void(Result<TransactionDecision>)> done) override;
  // Refused: the built-in policy has no certificate authority (the auth service has one).
  void sign_certificate(const std::string& charger_id, const SigningRequest& request,
                        std::move_only_function<void(Result<CertificateDecision>)> done) override;

  // Reads a token list: one token per line, '#' comments; error when the file cannot be read.
  static Result<std::unordered_set<std::string>> read_tokens(const std::string& path);

 private:
  TokenDecision decide(const std::string& token) const;

  int interval_s_;
  std::unordered_set<std::string> accepted_;
  std::unique_ptr<TransactionIds> ids_;
};

}  // namespace switchyard::gateway
