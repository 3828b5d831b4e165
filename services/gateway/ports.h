// What the gateway needs from the rest of Switchyard, as interfaces a test can fake:
// decisions (auth / transactions services, or the built-in policy), charger credentials, other
// gateway pods. Events go out through bus::EventPublisher, ownership through
// registry::OwnerRegistry. Callbacks may run on any thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/ocpp/types.h"
#include "common/runtime/core/error.h"

namespace switchyard::v1 {
class BootNotification;
class IdToken;
class TransactionEvent;
class DeliverRequest;
class DeliverResponse;
class EvictRequest;
}  // namespace switchyard::v1

namespace switchyard::gateway {

struct BootDecision {
  std::string status = "Accepted";  // Accepted, Pending, Rejected
  int interval_s = 300;
};

struct TokenDecision {
  std::string status = "Accepted";  // Accepted, Blocked, Expired, Invalid, ConcurrentTx, ...
  std::optional<std::chrono::system_clock::time_point> expires_at;
  std::string group_id;
};

struct TransactionDecision {
  // 1.6 start: the transaction id the CSMS allocated (decimal text of an integer).
  std::string transaction_id;
  // Present when the message carried an id token.
  std::optional<TokenDecision> token;
};

// The answer to a charger's SignCertificate: signed (the chain goes to the charger in a
// CertificateSigned), or refused with why.
struct CertificateDecision {
  bool accepted = false;
  std::string reason_code;        // why not, in short: InvalidCSR, NotConfigured
  std::string reason;             // why not, in words, for statusInfo and the log
  std::string certificate_chain;  // PEM, when accepted
};

// OCPP's CertificateHashData: hex digests of a certificate's issuer name and key, its serial.
struct CertificateHash {
  std::string hash_algorithm;  // SHA256, SHA384 or SHA512
  std::string issuer_name_hash;
  std::string issuer_key_hash;
  std::string serial_number;
};

// What a SignCertificate asks for (1.6 security extension, 2.0.1, 2.1).
struct SigningRequest {
  std::string csr;
  std::string certificate_type;            // empty in 1.6 (and when the charger left it out)
  std::optional<std::int64_t> request_id;  // 2.1: echoed in CertificateSigned
  std::optional<CertificateHash> root;     // 2.1 hashRootCertificate: the root to sign under
};

class DecisionService {
 public:
  virtual ~DecisionService() = default;
  virtual void boot(const std::string& charger_id, const v1::BootNotification& boot,
                    std::move_only_function<void(Result<BootDecision>)> done) = 0;
  virtual void authorize(const std::string& charger_id, const v1::IdToken& token,
                         std::move_only_function<void(Result<TokenDecision>)> done) = 0;
  // A transaction start, update or end. A 1.6 start allocates the transaction id.
  virtual void transaction(const std::string& charger_id, ocpp::Version version,
                           const v1::TransactionEvent& event,
                           std::move_only_function<void(Result<TransactionDecision>)> done) = 0;
  // A charger's CSR to sign (OCPP SignCertificate). A refusal is a decision; an error means no
  // one could decide (the charger gets InternalError and asks again). Without a certificate
  // authority every CSR is refused (reason_code NotConfigured); a root it does not chain to is
  // refused with reason_code NotFound.
  virtual void sign_certificate(
      const std::string& charger_id, const SigningRequest& request,
      std::move_only_function<void(Result<CertificateDecision>)> done) = 0;
};

enum class CredentialVerdict {
  kAccepted,
  kWrongPassword,
  kUnknownCharger,
  kWrongSecurityProfile,
  kUnavailable,  // the credential store cannot answer now: the charger should retry
};

struct Admission {
  CredentialVerdict verdict = CredentialVerdict::kUnknownCharger;
  int required_profile = -1;  // the profile the charger must use; -1 when unknown
};

// Who may connect, with which security profile and password.
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // `offered_profile` is what the connection offers: 0 nothing, 1 Basic over ws, 2 Basic over
  // TLS, 3 a client certificate whose CN the pod matched to the charger id. `password` is the
  // Basic-auth password (profiles 1-2). May be slow (salted slow hash, a remote call): the
  // callback may run on another thread.
  virtual void admit(const std::string& charger_id, int offered_profile,
                     const std::string& password,
                     std::move_only_function<void(Admission)> done) = 0;
};

// Whether a pod reaches the event bus and the owner registry (see fencing.h).
struct Reachability {
  bool bus = true;       // Kafka answered the last probe
  bool registry = true;  // Redis answered the last probe
  bool both() const { return bus && registry; }
};

// A peer pod's answer about its own reachability.
struct PeerAnswer {
  std::string pod;
  Reachability reachability;
  bool fenced = false;
  // How long it has reached both without a failed probe (0: it does not reach both now).
  std::chrono::milliseconds reachable_for{0};
};

// The other gateway pods.
class PeerGateway {
 public:
  virtual ~PeerGateway() = default;
  virtual void deliver(const std::string& address, const v1::DeliverRequest& request,
                       std::chrono::milliseconds timeout,
                       std::move_only_function<void(Result<v1::DeliverResponse>)> done) = 0;
  virtual void evict(const std::string& address, const v1::EvictRequest& request) = 0;
  // Asks the pod at `address` whether it reaches Kafka and Redis.
  virtual void reachability(const std::string& address, const std::string& asking_pod,
                            std::chrono::milliseconds timeout,
                            std::move_only_function<void(Result<PeerAnswer>)> done) = 0;
};

}  // namespace switchyard::gateway
