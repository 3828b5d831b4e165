// gRPC adapters of the gateway's ports (see service_clients.h).
#include "gateway/service_clients.h"

#include "common/runtime/core/log.h"
#include "common/runtime/core/password.h"
#include "common/runtime/grpc/status.h"

namespace switchyard::gateway {
namespace {

// One asynchronous unary call: owns its context, messages and continuation until gRPC called
// back (gRPC wants a copyable callback, so the move-only continuation lives here).
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
  std::move_only_function<void(Result<Response>)> then;
};

// Waits: a peer that is restarting (a rolling update) is waited for up to the deadline, so the
// charger gets a slower answer, not a CALLERROR; without, a peer that cannot be reached fails
// the call at once.
enum class Waits : bool { kNo, kForReady };

template <typename Request, typename Response, typename Start, typename Then>
void call(std::chrono::milliseconds deadline, Request request, Start start, Then then,
          Waits waits = Waits::kForReady) {
  auto* c = new Call<Request, Response>;
  c->request = std::move(request);
  c->then = std::move(then);
  c->context.set_deadline(std::chrono::system_clock::now() + deadline);
  c->context.set_wait_for_ready(waits == Waits::kForReady);
  start(&c->context, &c->request, &c->response, [c](const grpc::Status& status) {
    std::unique_ptr<Call<Request, Response>> owned(c);
    if (!status.ok()) {
      owned->then(Result<Response>(
          make_error(from_grpc_code(status.error_code()), status.error_message())));
      return;
    }
    owned->then(Result<Response>(std::move(owned->response)));
  });
}

v1::OcppVersion version_enum(ocpp::Version v) {
  switch (v) {
    case ocpp::Version::k16:
      return v1::OCPP_VERSION_1_6;
    case ocpp::Version::k201:
      return v1::OCPP_VERSION_2_0_1;
    case ocpp::Version::k21:
      return v1::OCPP_VERSION_2_1;
  }
  return v1::OCPP_VERSION_UNSPECIFIED;
}

TokenDecision token_decision(const v1::AuthorizationDecision& d) {
  TokenDecision t;
  t.status = d.status().empty() ? "Invalid" : d.status();
  if (d.has_expires_at()) {
    t.expires_at =
        std::chrono::system_clock::time_point(std::chrono::seconds(d.expires_at().seconds()) +
                                              std::chrono::nanoseconds(d.expires_at().nanos()));
  }
  t.group_id = d.group_id();
  return t;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

}  // namespace

void GrpcDecisions::boot(const std::string& charger_id, const v1::BootNotification& boot,
                         std::move_only_function<void(Result<BootDecision>)> done) {
  v1::BootRequest request;
  request.set_charger_id(charger_id);
  *request.mutable_boot() = boot;
  call<v1::BootRequest, v1::BootResponse>(
      deadline_, std::move(request),
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        auth_->async()->Boot(ctx, req, resp, std::move(cb));
      },
      [done = std::move(done)](Result<v1::BootResponse> r) mutable {
        if (!r) return done(std::unexpected(r.error()));
        done(BootDecision{r->status(), r->interval_s()});
      });
}

void GrpcDecisions::sign_certificate(
    const std::string& charger_id, const SigningRequest& signing,
    std::move_only_function<void(Result<CertificateDecision>)> done) {
  v1::SignCertificateRequest request;
  request.set_charger_id(charger_id);
  request.set_csr(signing.csr);
  request.set_certificate_type(signing.certificate_type);
  if (const auto& root = signing.root) {
    auto* h = request.mutable_root_certificate();
    h->set_hash_algorithm(root->hash_algorithm);
    h->set_issuer_name_hash(root->issuer_name_hash);
    h->set_issuer_key_hash(root->issuer_key_hash);
    h->set_serial_number(root->serial_number);
  }
  call<v1::SignCertificateRequest, v1::SignCertificateResponse>(
      deadline_, std::move(request),
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        auth_->async()->SignCertificate(ctx, req, resp, std::move(cb));
      },
      [done = std::move(done)](Result<v1::SignCertificateResponse> r) mutable {
        if (r) {
          return done(CertificateDecision{.accepted = true,
                                          .reason_code = {},
                                          .reason = {},
                                          .certificate_chain = r->certificate_chain()});
        }
        const ErrorCode code = r.error().code;
        if (code == ErrorCode::kInvalidArgument || code == ErrorCode::kFailedPrecondition ||
            code == ErrorCode::kNotFound) {
          return done(
              CertificateDecision{.accepted = false,
                                  .reason_code = code == ErrorCode::kInvalidArgument ? "InvalidCSR"
                                                 : code == ErrorCode::kNotFound      ? "NotFound"
                                                                                : "NotConfigured",
                                  .reason = r.error().message,
                                  .certificate_chain = {}});
        }
        done(std::unexpected(r.error()));
      });
}

void GrpcDecisions::authorize(const std::string& charger_id, const v1::IdToken& token,
                              std::move_only_function<void(Result<TokenDecision>)> done) {
  v1::AuthorizeRequest request;
  *request.mutable_id_token() = token;
  request.set_charger_id(charger_id);
  call<v1::AuthorizeRequest, v1::AuthorizeResponse>(
      deadline_, std::move(request),
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        auth_->async()->Authorize(ctx, req, resp, std::move(cb));
      },
      [this, token_id = token.id(),
       done = std::move(done)](Result<v1::AuthorizeResponse> r) mutable {
        if (!r) return done(std::unexpected(r.error()));
        TokenDecision decision = token_decision(r->decision());
        if (decision.status != "Accepted" || !r->refuse_concurrent())
          return done(std::move(decision));
        v1::CountActiveRequest count;
        count.set_id_token(token_id);
        count.set_group_id(decision.group_id);
        call<v1::CountActiveRequest, v1::CountActiveResponse>(
            deadline_, std::move(count),
            [this](auto* ctx, auto* req, auto* resp, auto cb) {
              transactions_->async()->CountActive(ctx, req, resp, std::move(cb));
            },
            [decision = std::move(decision),
             done = std::move(done)](Result<v1::CountActiveResponse> n) mutable {
              if (!n) return done(std::unexpected(n.error()));
              if (n->active() > 0) decision.status = "ConcurrentTx";
              done(std::move(decision));
            });
      });
}

void GrpcDecisions::transaction(const std::string& charger_id, ocpp::Version version,
                                const v1::TransactionEvent& event,
                                std::move_only_function<void(Result<TransactionDecision>)> done) {
  // Only a 1.6 start (its id is allocated there) and a message with an id token need the
  // transactions service; the rest (2.0.1 Updated meter streams, stops without a token) are
  // answered here, so they keep flowing while that service is down.
  const bool allocates =
      version == ocpp::Version::k16 && event.kind() == v1::TransactionEvent::KIND_STARTED;
  if (!allocates && event.id_token().id().empty()) return done(TransactionDecision{});
  v1::DecideRequest request;
  request.set_charger_id(charger_id);
  request.set_ocpp_version(version_enum(version));
  *request.mutable_event() = event;
  call<v1::DecideRequest, v1::DecideResponse>(
      deadline_, std::move(request),
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        transactions_->async()->Decide(ctx, req, resp, std::move(cb));
      },
      [done = std::move(done)](Result<v1::DecideResponse> r) mutable {
        if (!r) return done(std::unexpected(r.error()));
        TransactionDecision d;
        d.transaction_id = r->transaction_id();
        if (r->has_decision()) d.token = token_decision(r->decision());
        done(std::move(d));
      });
}

GrpcCredentialStore::GrpcCredentialStore(std::shared_ptr<v1::Authorization::Stub> auth,
                                         std::chrono::milliseconds deadline,
                                         std::chrono::seconds remember)
    : auth_(std::move(auth)), deadline_(deadline), remember_(remember) {}

void GrpcCredentialStore::remember(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (accepted_.size() > 1'000'000)
    accepted_.clear();  // bounded: a full reset beats unbounded growth
  accepted_[key] = std::chrono::steady_clock::now() + remember_;
}

bool GrpcCredentialStore::remembered(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = accepted_.find(key);
  return it != accepted_.end() && it->second > std::chrono::steady_clock::now();
}

void GrpcCredentialStore::admit(const std::string& charger_id, int offered_profile,
                                const std::string& password,
                                std::move_only_function<void(Admission)> done) {
  v1::AdmitChargerRequest request;
  request.set_charger_id(charger_id);
  request.set_offered_profile(offered_profile);
  request.set_password(password);
  std::string key =
      hex(sha256(charger_id + '\n' + std::to_string(offered_profile) + '\n' + password));
  call<v1::AdmitChargerRequest, v1::AdmitChargerResponse>(
      deadline_, std::move(request),
      [this](auto* ctx, auto* req, auto* resp, auto cb) {
        auth_->async()->AdmitCharger(ctx, req, resp, std::move(cb));
      },
      [this, charger_id, key = std::move(key),
       done = std::move(done)](Result<v1::AdmitChargerResponse> r) mutable {
        if (!r) {
          if (remembered(key)) {
            log::warn("auth service unreachable; admitting with remembered credentials",
                      {{"charger_id", charger_id}, {"error", r.error().message}});
            return done(Admission{CredentialVerdict::kAccepted, -1});
          }
          log::warn("auth service unreachable; connection refused with 503",
                    {{"charger_id", charger_id}, {"error", r.error().message}});
          return done(Admission{CredentialVerdict::kUnavailable, -1});
        }
        switch (r->verdict()) {
          case v1::AdmitChargerResponse::VERDICT_ACCEPTED:
            remember(key);
            return done(Admission{CredentialVerdict::kAccepted, r->required_profile()});
          case v1::AdmitChargerResponse::VERDICT_WRONG_PASSWORD:
            return done(Admission{CredentialVerdict::kWrongPassword, r->required_profile()});
          case v1::AdmitChargerResponse::VERDICT_WRONG_SECURITY_PROFILE:
            return done(Admission{CredentialVerdict::kWrongSecurityProfile, r->required_profile()});
          case v1::AdmitChargerResponse::VERDICT_UNKNOWN_CHARGER:
            return done(Admission{CredentialVerdict::kUnknownCharger, -1});
          default:
            return done(Admission{CredentialVerdict::kUnavailable, -1});
        }
      },
      Waits::kNo);  // an upgrade falls back on remembered credentials at once
}

}  // namespace switchyard::gateway
