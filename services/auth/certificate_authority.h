// The CA that signs chargers' certificate signing requests (OCPP SignCertificate: 1.6 security
// extension, 2.0.1 / 2.1 A02-A03). It signs a CSR only when it is well formed, its signature
// proves the key, its common name is the charger's id (and its organization the configured one),
// and its key is strong enough; the certificate it issues is a TLS client certificate (security
// profile 3) whose subject holds only that CN and the configured O. The key stays in this service:
// gateways ask it over gRPC. Thread-safe (signing only reads the CA).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"

namespace switchyard {
class Settings;
}

namespace switchyard::auth {

constexpr int kMaxValidityDays = 3650;

// What a CA's certificates are for:
// * kChargingStation: a charger's TLS client certificate (security profile 3). Its CN must be
//   the charger's id.
// * kV2g: a charger's ISO 15118 SECC certificate (CSRs with certificateType V2GCertificate).
//   The CN is the SECC's id as the charger names it (its EVSE id, say). The key must be EC
//   (P-256 for ISO 15118-2, P-521 for -20). The subject gets DC=CPO, as the ISO 15118 PKI asks,
//   and the certificate no extended key usage.
enum class CertificateUse { kChargingStation, kV2g };

struct CertificateAuthorityConfig {
  CertificateUse use = CertificateUse::kChargingStation;
  std::string certificate_file;  // PEM: the signing CA's certificate, then any intermediates
  std::string key_file;          // PEM: the signing CA's private key
  int validity_days = 365;
  // Non-empty: the CSR's O must be this (the CPO's name), and the certificate names it; empty:
  // the certificate names no organization (the CA vouches only for the charger id).
  std::string organization;
};

// OCPP's CertificateHashData (RFC 6960 CertID): hex digests of a certificate's issuer name (DER)
// and issuer public key, and its serial number in hex.
struct CertificateHash {
  std::string hash_algorithm;  // SHA256, SHA384 or SHA512
  std::string issuer_name_hash;
  std::string issuer_key_hash;
  std::string serial_number;
};

struct SignedCertificate {
  std::string chain_pem;  // the new certificate, then the CA file's non-root certificates
  std::string serial;     // upper-case hex
  std::chrono::system_clock::time_point not_after;
};

// --ca-certificate, --ca-key, --ca-validity-days, --ca-organization (auth and standalone); with
// config.use kV2g the same under --v2g-ca-*.
void add_settings(Settings& settings, CertificateAuthorityConfig& config);

class CertificateAuthority {
 public:
  // Reads and checks the CA: the key matches the certificate, which is a CA. nullptr when
  // neither file is configured (no CA).
  static Result<std::unique_ptr<CertificateAuthority>> load(const CertificateAuthorityConfig& c);
  ~CertificateAuthority();
  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  // kInvalidArgument (with why) for a CSR it will not sign; kInternal if OpenSSL fails.
  Result<SignedCertificate> sign(std::string_view charger_id, std::string_view csr_pem,
                                 std::chrono::system_clock::time_point now) const;

  // Whether `root` (2.1 hashRootCertificate) names the root this CA chains to: with that root in
  // the CA file, all of it is compared; without it, the issuer name of the file's last
  // certificate (the root's key and serial are not known here). kNotFound naming ours when it
  // does not; kInvalidArgument for a hash algorithm other than SHA256/384/512.
  Result<void> check_root(const CertificateHash& root) const;

 private:
  struct Impl;
  explicit CertificateAuthority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::auth
