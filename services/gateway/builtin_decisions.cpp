// The built-in decision policy and transaction id counters.
#include "gateway/builtin_decisions.h"

#include <fstream>

#include "common/runtime/redis/client.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

class RedisTransactionIds final : public TransactionIds {
 public:
  RedisTransactionIds(redis::Client& client, std::string key)
      : client_(client), key_(std::move(key)) {}
  void next(std::move_only_function<void(Result<std::int64_t>)> done) override {
    client_.execute({"INCR", key_}, [done = std::move(done)](Result<redis::Reply> r) mutable {
      if (!r) return done(std::unexpected(r.error()));
      done(r->integer);
    });
  }

 private:
  redis::Client& client_;
  std::string key_;
};

class LocalTransactionIds final : public TransactionIds {
 public:
  void next(std::move_only_function<void(Result<std::int64_t>)> done) override { done(++next_); }

 private:
  std::atomic<std::int64_t> next_{0};
};

}  // namespace

std::unique_ptr<TransactionIds> redis_transaction_ids(redis::Client& client, std::string key) {
  return std::make_unique<RedisTransactionIds>(client, std::move(key));
}

std::unique_ptr<TransactionIds> local_transaction_ids() {
  return std::make_unique<LocalTransactionIds>();
}

BuiltinDecisions::BuiltinDecisions(int heartbeat_interval_s,
                                   std::unordered_set<std::string> accepted_tokens,
                                   std::unique_ptr<TransactionIds> ids)
    : interval_s_(heartbeat_interval_s),
      accepted_(std::move(accepted_tokens)),
      ids_(std::move(ids)) {}

Result<std::unordered_set<std::string>> BuiltinDecisions::read_tokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kInvalidArgument, "cannot read tokens file " + path);
  std::unordered_set<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    tokens.insert(line);
  }
  return tokens;
}

TokenDecision BuiltinDecisions::decide(const std::string& token) const {
  TokenDecision d;
  if (!accepted_.empty() && !accepted_.contains(token)) d.status = "Invalid";
  return d;
}

void BuiltinDecisions::boot(const std::string&, const v1::BootNotification&,
                            std::move_only_function<void(Result<BootDecision>)> done) {
  done(BootDecision{"Accepted", interval_s_});
}

void BuiltinDecisions::authorize(const std::string&, const v1::IdToken& token,
                                 std::move_only_function<void(Result<TokenDecision>)> done) {
  done(decide(token.id()));
}

void BuiltinDecisions::transaction(
    const std::string&, ocpp::Version version, const v1::TransactionEvent& event,
    std::move_only_function<void(Result<TransactionDecision>)> done) {
  TransactionDecision d;
  if (event.has_id_token() && !event.id_token().id().empty())
    d.token = decide(event.id_token().id());
  if (version == ocpp::Version::k16 && event.kind() == v1::TransactionEvent::KIND_STARTED) {
    ids_->next([d = std::move(d), done = std::move(done)](Result<std::int64_t> id) mutable {
      if (!id) return done(std::unexpected(id.error()));
      d.transaction_id = std::to_string(*id);
      done(std::move(d));
    });
    return;
  }
  done(std::move(d));
}

void BuiltinDecisions::sign_certificate(
    const std::string&, const SigningRequest&,
    std::move_only_function<void(Result<CertificateDecision>)> done) {
  done(CertificateDecision{
      .accepted = false,
      .reason_code = "NotConfigured",
      .reason = "no certificate authority: this gateway decides on its own (no --auth-address)",
      .certificate_chain = {}});
}

}  // namespace switchyard::gateway
