// The auth service: decides authorizations, boots and connection admissions, and manages tokens,
// chargers and local lists on an AuthStore. The gRPC surface (grpc_api.cpp) translates to and
// from these domain types.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/certificate_authority.h"
#include "auth/store.h"
#include "common/runtime/core/clock.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::auth {

struct AuthConfig {
  bool accept_unknown_chargers = false;  // accept and register them on first connection
  int default_heartbeat_interval_s = 300;
  std::string default_boot_policy = "Accept";  // Accept, Pending, Reject
  int password_iterations = 20000;
  std::chrono::seconds verdict_cache_ttl{600};
};

struct TokenDecision {
  std::string status;  // Accepted, Blocked, Expired, Invalid, Unknown
  std::optional<TimePoint> expires_at;
  std::string group_id;
  bool refuse_concurrent = false;
};

struct BootDecision {
  std::string status;  // Accepted, Pending, Rejected
  int interval_s = 300;
};

enum class Admission { kAccepted, kWrongPassword, kUnknownCharger, kWrongSecurityProfile };
struct AdmissionResult {
  Admission verdict = Admission::kUnknownCharger;
  int required_profile = -1;
};

// Sends a local list to a charger (SendLocalList through ChargerControl); returns the
// charger's status (Accepted, Failed, VersionMismatch, NotSupported).
struct LocalListUpdate {
  std::string charger_id;
  int version = 0;
  bool full = true;
  std::vector<LocalListEntry> entries;  // differential: an entry without status removes it
  std::vector<std::string> removed;     // differential: tokens to remove
};
using LocalListSender = std::function<Result<std::string>(const LocalListUpdate&)>;

struct ImportResult {
  int imported = 0;
  std::vector<std::string> errors;
};

// Tokens of roaming partners (eMSPs) that this CPO's own registry does not know: the roaming
// service's decision, or nullopt when no partner knows the token either.
using RoamingTokens = std::function<Result<std::optional<TokenDecision>>(
    const std::string& id_token, const std::string& charger_id)>;

class AuthService {
 public:
  AuthService(AuthConfig config, AuthStore& store, const Clock& clock,
              prometheus::Registry* metrics);

  // Asked for tokens the registry does not know (before requests arrive). When it fails, the
  // token stays Unknown (and the failure is logged).
  void set_roaming(RoamingTokens roaming) { roaming_ = std::move(roaming); }
  // The CA that signs chargers' CSRs (before requests arrive); without one every
  // SignCertificate is refused with kFailedPrecondition.
  void set_certificate_authority(std::unique_ptr<CertificateAuthority> ca) {
    certificate_authority_ = std::move(ca);
  }
  // The CA that signs chargers' V2GCertificate CSRs (ISO 15118 SECC certificates); without one
  // they are refused with kFailedPrecondition.
  void set_v2g_certificate_authority(std::unique_ptr<CertificateAuthority> ca) {
    v2g_certificate_authority_ = std::move(ca);
  }

  Result<TokenDecision> authorize(const std::string& id_token, const std::string& charger_id);
  Result<BootDecision> boot(const std::string& charger_id);
  Result<AdmissionResult> admit(const std::string& charger_id, int offered_profile,
                                const std::string& password);
  // A charger's CSR (OCPP SignCertificate) signed as its ChargingStationCertificate (type empty
  // or "ChargingStationCertificate") or its V2GCertificate:
  // kInvalidArgument for a CSR the CA refuses, kFailedPrecondition without a CA for the type,
  // kNotFound when `root` (2.1 hashRootCertificate) is not the root the CA chains to.
  Result<SignedCertificate> sign_certificate(
      const std::string& charger_id, std::string_view csr, const std::string& certificate_type,
      const std::optional<CertificateHash>& root = std::nullopt);

  Result<TokenRecord> put_token(TokenRecord token);
  Result<TokenRecord> block_token(const std::string& id_token);
  // CSV lines: id_token,type,status,expires_at,group_id,refuse_concurrent (header optional).
  ImportResult import_tokens(std::string_view csv);

  // Stores the charger; a non-empty `password` is hashed (never stored in clear).
  Result<ChargerRecord> put_charger(ChargerRecord charger, const std::string& password);

  Result<int> put_local_list(const std::string& charger_id,
                             const std::vector<LocalListEntry>& entries);
  struct SyncResult {
    std::string status;
    int version = 0;
    bool sent_full = false;
    int entries_sent = 0;
  };
  Result<SyncResult> sync_local_list(const std::string& charger_id, bool full,
                                     const LocalListSender& send);

  AuthStore& store() { return store_; }

 private:
  bool password_matches(const std::string& charger_id, const std::string& hash,
                        const std::string& password);

  AuthConfig config_;
  RoamingTokens roaming_;
  std::unique_ptr<CertificateAuthority> certificate_authority_;
  std::unique_ptr<CertificateAuthority> v2g_certificate_authority_;
  AuthStore& store_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* decisions_ = nullptr;
  std::mutex cache_mutex_;
  struct Cached {
    bool ok;
    std::string hash;  // the stored hash the verdict was made against
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, Cached> verdicts_;  // key: sha256(charger id, password)
};

}  // namespace switchyard::auth
