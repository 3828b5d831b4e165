#include "auth/certificate_authority.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "common/runtime/core/settings.h"

namespace switchyard::auth {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using X509Ptr = Owned<X509, X509_free>;
using X509ReqPtr = Owned<X509_REQ, X509_REQ_free>;
using KeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using NamePtr = Owned<X509_NAME, X509_NAME_free>;
using BignumPtr = Owned<BIGNUM, BN_free>;
using ExtensionPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

BioPtr memory(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string pem_of(X509* certificate) {
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), certificate);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// The one value of `nid` in `name`; empty when absent; nullopt when it is there more than once.
std::optional<std::string> name_entry(X509_NAME* name, int nid) {
  const int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0) return std::string();
  if (X509_NAME_get_index_by_NID(name, nid, at) >= 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string value(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return value;
}

// The OpenSSL name of an EC key's curve ("prime256v1", "secp521r1").
Result<std::string> curve_of(EVP_PKEY* key) {
  char curve[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &length) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "the CSR's EC key names no curve");
  }
  return std::string(curve, length);
}

// RSA of at least 2048 bits or EC on P-256 / P-384 / P-521 (the OCPP security whitepaper's
// minimum strengths; what the TLS suites profile 3 uses can carry).
Result<void> check_key(EVP_PKEY* key) {
  switch (EVP_PKEY_base_id(key)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < 2048) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "the CSR's RSA key has " + std::to_string(bits) + " bits (at least 2048 are required)");
      }
      return {};
    }
    case EVP_PKEY_EC: {
      auto name = curve_of(key);
      if (!name) return std::unexpected(name.error());
      if (*name != "prime256v1" && *name != "secp384r1" && *name != "secp521r1") {
        return make_error(ErrorCode::kInvalidArgument, "the CSR's EC key is on curve " + *name +
                                                           " (P-256, P-384 or P-521 are accepted)");
      }
      return {};
    }
    default:
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("the CSR's key type ") + OBJ_nid2sn(EVP_PKEY_base_id(key)) +
                            " is not accepted (RSA of 2048 bits or more, or EC P-256/384/521)");
  }
}

// The flags of a CA for `use`, without the leading dashes: "ca-" or "v2g-ca-".
std::string flag_prefix(CertificateUse use) {
  return use == CertificateUse::kV2g ? "v2g-ca-" : "ca-";
}

// ISO 15118 keys: EC on P-256 (-2) or P-521 (-20). An RSA key cannot do the ECDH of the V2G
// TLS suites.
Result<void> check_v2g_key(EVP_PKEY* key) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("the V2G CSR's key type is ") +
                          OBJ_nid2sn(EVP_PKEY_base_id(key)) +
                          " (ISO 15118 SECC certificates are EC on P-256 or P-521)");
  }
  auto name = curve_of(key);
  if (!name) return std::unexpected(name.error());
  if (*name != "prime256v1" && *name != "secp521r1") {
    return make_error(ErrorCode::kInvalidArgument,
                      "the V2G CSR's EC key is on curve " + *name +
                          " (ISO 15118 uses P-256 for -2 and P-521 for -20)");
  }
  return {};
}

bool add_extension(X509* certificate, X509V3_CTX* ctx, int nid, const char* value) {
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  return extension && X509_add_ext(certificate, extension.get(), -1) == 1;
}

bool self_signed(X509* certificate) { return X509_self_signed(certificate, 0) == 1; }

// What the OCPP schemas allow: CertificateSigned.certificateChain holds at most 10,000
// characters (1.6, 2.0.1, 2.1); X.520 holds a CN or O to 64.
constexpr std::size_t kMaxChain = 10000;
constexpr std::size_t kMaxNameEntry = 64;

}  // namespace

void add_settings(Settings& s, CertificateAuthorityConfig& c) {
  const bool v2g = c.use == CertificateUse::kV2g;
  const std::string flag = flag_prefix(c.use);
  const std::string what = v2g ? "chargers' ISO 15118 SECC certificates (SignCertificate with "
                                 "certificateType V2GCertificate)"
                               : "chargers' certificate signing requests (OCPP SignCertificate)";
  s.add(flag + "certificate", c.certificate_file,
        "PEM file: the CA that signs " + what +
            ", then its intermediates; empty = such CSRs "
            "are rejected")
      .add(flag + "key", c.key_file, "PEM file: that CA's private key")
      .add(flag + "validity-days", c.validity_days,
           std::string("Validity of a signed ") + (v2g ? "SECC" : "charger") +
               " certificate (capped at the CA's own)")
      .add(flag + "organization", c.organization,
           std::string("Organization (O) a ") + (v2g ? "V2G " : "") +
               "CSR must name, e.g. the CPO's; empty = any");
}

struct CertificateAuthority::Impl {
  CertificateAuthorityConfig config;
  X509Ptr certificate;
  KeyPtr key;
  std::string chain_tail;  // the CA file's certificates that are not self-signed roots, PEM
  X509Ptr root;            // the CA file's self-signed certificate, if it holds one
  X509Ptr last;            // the CA file's last certificate (the root's child without a root)
};

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateAuthority::~CertificateAuthority() = default;

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::load(
    const CertificateAuthorityConfig& c) {
  if (c.certificate_file.empty() && c.key_file.empty()) return nullptr;
  const std::string flag = "--" + flag_prefix(c.use);
  if (c.certificate_file.empty() || c.key_file.empty()) {
    return make_error(ErrorCode::kInvalidArgument, flag + "certificate and " + flag +
                                                       "key go together (one of them is missing)");
  }
  auto certificate_text = read_file(c.certificate_file);
  if (!certificate_text) return std::unexpected(certificate_text.error());
  auto key_text = read_file(c.key_file);
  if (!key_text) return std::unexpected(key_text.error());
  auto impl = std::make_unique<Impl>();
  impl->config = c;
  auto bio = memory(*certificate_text);
  std::vector<X509Ptr> certificates;
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(next);
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (certificates.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      c.certificate_file + " holds no PEM certificate");
  }
  auto key_bio = memory(*key_text);
  impl->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!impl->key) {
    return make_error(ErrorCode::kInvalidArgument,
                      c.key_file + " holds no PEM private key: " + openssl_error());
  }
  if (X509_check_private_key(certificates.front().get(), impl->key.get()) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, c.key_file + " is not the key of the first " +
                                                       "certificate in " + c.certificate_file);
  }
  if (X509_check_ca(certificates.front().get()) == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the first certificate in " + c.certificate_file + " is not a CA");
  }
  if (c.validity_days <= 0 || c.validity_days > kMaxValidityDays) {
    return make_error(ErrorCode::kInvalidArgument,
                      flag + "validity-days must be from 1 to " + std::to_string(kMaxValidityDays));
  }
  for (auto& certificate : certificates) {
    if (!self_signed(certificate.get())) {
      impl->chain_tail += pem_of(certificate.get());
    } else if (!impl->root) {
      impl->root.reset(X509_dup(certificate.get()));
    }
  }
  impl->last.reset(X509_dup(certificates.back().get()));
  impl->certificate = std::move(certificates.front());
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(std::move(impl)));
}

namespace {

std::optional<std::string> hex_digest(const EVP_MD* md, const unsigned char* data,
                                      std::size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data, size, out, &length, md, nullptr) != 1) return std::nullopt;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += kHex[out[i] >> 4];
    text += kHex[out[i] & 0xf];
  }
  return text;
}

std::optional<std::string> name_digest(const EVP_MD* md, const X509_NAME* name) {
  unsigned char* der = nullptr;
  const int size = i2d_X509_NAME(name, &der);
  if (size <= 0) return std::nullopt;
  auto out = hex_digest(md, der, static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return out;
}

// "CN=Switchyard Test CA,O=..." (RFC 2253) of the certificate's subject.
std::string subject_text(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
    return "?";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string("?");
}

// Lower case, without leading zeros: how two spellings of one hex number compare.
std::string hex_key(std::string_view text) {
  std::string out;
  for (char ch : text) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const auto first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

}  // namespace

Result<void> CertificateAuthority::check_root(const CertificateHash& root) const {
  const EVP_MD* md = root.hash_algorithm == "SHA256"   ? EVP_sha256()
                     : root.hash_algorithm == "SHA384" ? EVP_sha384()
                     : root.hash_algorithm == "SHA512" ? EVP_sha512()
                                                       : nullptr;
  if (md == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "hashRootCertificate: hash algorithm '" +
                                                       root.hash_algorithm +
                                                       "' is not SHA256, SHA384 or SHA512");
  }
  bool matches = false;
  std::string what;
  if (impl_->root) {
    X509* r = impl_->root.get();
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(r);
    const auto name_hash = name_digest(md, X509_get_subject_name(r));
    const auto key_hash =
        key ? hex_digest(md, key->data, static_cast<std::size_t>(key->length)) : std::nullopt;
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(r), nullptr));
    char* serial_hex = serial ? BN_bn2hex(serial.get()) : nullptr;
    matches = name_hash && key_hash && serial_hex &&
              hex_key(*name_hash) == hex_key(root.issuer_name_hash) &&
              hex_key(*key_hash) == hex_key(root.issuer_key_hash) &&
              hex_key(serial_hex) == hex_key(root.serial_number);
    OPENSSL_free(serial_hex);
    what = "the root " + subject_text(r);
  } else {
    const auto name_hash = name_digest(md, X509_get_issuer_name(impl_->last.get()));
    matches = name_hash && hex_key(*name_hash) == hex_key(root.issuer_name_hash);
    what = "the root that issued " + subject_text(impl_->last.get());
  }
  if (matches) return {};
  return make_error(ErrorCode::kNotFound,
                    "hashRootCertificate names a root this CSMS does not sign under (it signs "
                    "under " +
                        what + ")");
}

Result<SignedCertificate> CertificateAuthority::sign(
    std::string_view charger_id, std::string_view csr_pem,
    std::chrono::system_clock::time_point now) const {
  ERR_clear_error();  // errors reported below are this call's, not a previous one's
  auto invalid = [](std::string why) {
    return make_error(ErrorCode::kInvalidArgument, std::move(why));
  };
  auto bio = memory(csr_pem);
  X509ReqPtr request(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!request) {
    ERR_clear_error();
    return invalid(
        "the CSR is not a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----)");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  if (key == nullptr) return invalid("the CSR carries no public key it can read");
  if (X509_REQ_verify(request.get(), key) != 1) {
    ERR_clear_error();
    return invalid("the CSR's signature does not verify with its own key");
  }
  const bool v2g = impl_->config.use == CertificateUse::kV2g;
  if (auto strong = v2g ? check_v2g_key(key) : check_key(key); !strong) {
    return std::unexpected(strong.error());
  }
  {
    Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free> check(EVP_PKEY_CTX_new(key, nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
      ERR_clear_error();
      return invalid("the CSR's public key fails its consistency check");
    }
  }
  X509_NAME* subject = X509_REQ_get_subject_name(request.get());
  const auto cn = name_entry(subject, NID_commonName);
  if (!cn)
    return invalid("the CSR's subject has more than one common name, or one that is no text");
  if (v2g) {
    // The SECC's id, as the charger names it: any, but one.
    if (cn->empty()) return invalid("the V2G CSR's subject has no common name (the SECC's id)");
  } else if (*cn != charger_id) {
    return invalid("the CSR's common name is \"" + *cn + "\", not the charger's id \"" +
                   std::string(charger_id) + "\"");
  }
  if (cn->size() > kMaxNameEntry) return invalid("the CSR's common name is over 64 characters");
  // The organization is certified only when it is the configured one: without
  // --ca-organization the CA vouches for no organization, so none goes into the certificate.
  const auto organization = name_entry(subject, NID_organizationName);
  if (!organization)
    return invalid("the CSR's subject has more than one organization, or one that is no text");
  const std::string& certified_organization = impl_->config.organization;
  if (!certified_organization.empty() && *organization != certified_organization) {
    return invalid("the CSR's organization is \"" + *organization + "\", not \"" +
                   certified_organization + "\"");
  }

  auto failed = [](const char* step) {
    return make_error(ErrorCode::kInternal, std::string(step) + ": " + openssl_error());
  };
  X509Ptr certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), 2) != 1) return failed("X509_new");
  // 127 random bits: unique without a counter shared by every auth replica.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return failed("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) {
    return failed("serial number");
  }
  char* serial_hex = BN_bn2hex(serial.get());
  std::string serial_text(serial_hex);
  OPENSSL_free(serial_hex);

  NamePtr name(X509_NAME_new());
  const auto add_entry = [&](int nid, const std::string& value) {
    return X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!certified_organization.empty() && !add_entry(NID_organizationName, certified_organization)) {
    return failed("subject O");
  }
  if (!add_entry(NID_commonName, *cn)) return failed("subject CN");
  if (v2g && !add_entry(NID_domainComponent, "CPO")) return failed("subject DC");
  if (X509_set_subject_name(certificate.get(), name.get()) != 1 ||
      X509_set_issuer_name(certificate.get(), X509_get_subject_name(impl_->certificate.get())) !=
          1 ||
      X509_set_pubkey(certificate.get(), key) != 1) {
    return failed("names");
  }
  // Valid from a little before now (chargers' clocks drift), never past the CA's own end.
  const auto seconds_since_epoch = [](std::chrono::system_clock::time_point t) {
    return static_cast<time_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  auto not_after = now + std::chrono::days(impl_->config.validity_days);
  const ASN1_TIME* ca_end = X509_get0_notAfter(impl_->certificate.get());
  int days = 0;
  int seconds = 0;
  Owned<ASN1_TIME, ASN1_TIME_free> end_as_asn1(
      ASN1_TIME_set(nullptr, seconds_since_epoch(not_after)));
  if (!end_as_asn1) return failed("notAfter");
  if (ASN1_TIME_diff(&days, &seconds, end_as_asn1.get(), ca_end) != 1) {
    return failed("comparing with the CA's notAfter");
  }
  if (days < 0 || seconds < 0) not_after += std::chrono::days(days) + std::chrono::seconds(seconds);
  if (not_after <= now) return make_error(ErrorCode::kFailedPrecondition, "the CA has expired");
  if (ASN1_TIME_set(X509_getm_notBefore(certificate.get()),
                    seconds_since_epoch(now - std::chrono::minutes(5))) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate.get()), seconds_since_epoch(not_after)) ==
          nullptr) {
    return failed("validity");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, impl_->certificate.get(), certificate.get(), nullptr, nullptr, 0);
  const bool rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
  if (!add_extension(certificate.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(certificate.get(), &ctx, NID_key_usage,
                     rsa ? "critical,digitalSignature,keyEncipherment"
                         : "critical,digitalSignature,keyAgreement") ||
      // A charger's certificate is the TLS client's of profile 3; an SECC leaf has no
      // extended key usage in the ISO 15118 profile.
      (!v2g && !add_extension(certificate.get(), &ctx, NID_ext_key_usage, "clientAuth")) ||
      !add_extension(certificate.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !add_extension(certificate.get(), &ctx, NID_authority_key_identifier, "keyid,issuer")) {
    return failed("extensions");
  }
  const int key_type = EVP_PKEY_base_id(impl_->key.get());
  const EVP_MD* digest =
      key_type == EVP_PKEY_ED25519 || key_type == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
  if (X509_sign(certificate.get(), impl_->key.get(), digest) <= 0) return failed("X509_sign");
  std::string chain = pem_of(certificate.get()) + impl_->chain_tail;
  if (chain.size() > kMaxChain) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the signed chain is " + std::to_string(chain.size()) +
                          " characters, over the 10000 OCPP's CertificateSigned carries (fewer "
                          "intermediates in --ca-certificate)");
  }
  return SignedCertificate{
      .chain_pem = std::move(chain), .serial = std::move(serial_text), .not_after = not_after};
}

}  // namespace switchyard::auth
