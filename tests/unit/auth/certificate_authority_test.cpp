// The CA that signs chargers' CSRs: what it signs, what it refuses and why, what it issues.
// CA and CSRs are made here with OpenSSL, in memory, then written to a temporary directory.
#include "auth/certificate_authority.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace switchyard::auth {
namespace {

using std::chrono::system_clock;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using Req = std::unique_ptr<X509_REQ, ReqFree>;

Key ec_key(const char* curve = "P-256") { return Key(EVP_EC_gen(curve)); }
Key rsa_key(unsigned bits) { return Key(EVP_RSA_gen(bits)); }

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.data()),
                             static_cast<int>(value.size()), -1, 0);
}

// PEM text of an OpenSSL object, written by `write` (PEM_write_bio_X509 and friends).
template <typename Write>
std::string pem_text(Write write) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}
std::string pem(X509* c) {
  return pem_text([c](BIO* bio) { PEM_write_bio_X509(bio, c); });
}
std::string pem(X509_REQ* r) {
  return pem_text([r](BIO* bio) { PEM_write_bio_X509_REQ(bio, r); });
}
std::string pem(EVP_PKEY* k) {
  return pem_text(
      [k](BIO* bio) { PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr); });
}

// A CA certificate for `key`, signed by `issuer_key` (itself when null), valid `days`.
Cert ca_certificate(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                    long days) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), days * 86400);
  add_name(X509_get_subject_name(c.get()), "CN", cn);
  X509_set_issuer_name(c.get(),
                       issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c.get()));
  X509_set_pubkey(c.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(c.get(), bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return c;
}

Req csr(EVP_PKEY* key, const std::string& cn, const std::string& organization = "") {
  Req r(X509_REQ_new());
  X509_REQ_set_version(r.get(), 0);
  if (!organization.empty()) add_name(X509_REQ_get_subject_name(r.get()), "O", organization);
  if (!cn.empty()) add_name(X509_REQ_get_subject_name(r.get()), "CN", cn);
  X509_REQ_set_pubkey(r.get(), key);
  X509_REQ_sign(r.get(), key, EVP_sha256());
  return r;
}

Cert read_first(const std::string& text, std::size_t index = 0) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  X509* c = nullptr;
  for (std::size_t i = 0; i <= index; ++i) {
    X509_free(c);
    c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  }
  BIO_free(bio);
  return Cert(c);
}

std::size_t certificates_in(const std::string& text) {
  std::size_t n = 0;
  for (auto at = text.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = text.find("BEGIN CERTIFICATE", at + 1)) {
    ++n;
  }
  return n;
}

CertificateAuthorityConfig files(std::string certificate, std::string key) {
  CertificateAuthorityConfig c;
  c.certificate_file = std::move(certificate);
  c.key_file = std::move(key);
  return c;
}

std::string subject_entry(X509* c, int nid) {
  char text[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(c), nid, text, sizeof text);
  return text;
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("switchyard-ca-test-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
    root_key_ = ec_key();
    root_ = ca_certificate(root_key_.get(), "Switchyard Test Root", nullptr, nullptr, 3650);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = directory_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::unique_ptr<CertificateAuthority> load(CertificateAuthorityConfig c) {
    if (c.certificate_file.empty()) c.certificate_file = write("ca.pem", pem(root_.get()));
    if (c.key_file.empty()) c.key_file = write("ca.key", pem(root_key_.get()));
    auto ca = CertificateAuthority::load(c);
    EXPECT_TRUE(ca) << (ca ? "" : ca.error().message);
    return ca ? std::move(*ca) : nullptr;
  }

  std::filesystem::path directory_;
  Key root_key_;
  Cert root_;
};

TEST_F(CertificateAuthorityTest, SignsAChargersCsrAsAClientCertificateThatVerifiesAgainstTheCa) {
  auto ca = load(
      {.certificate_file = {}, .key_file = {}, .validity_days = 365, .organization = "Acme CPO"});
  ASSERT_TRUE(ca);
  Key key = ec_key();
  const auto now = system_clock::now();
  auto signed_certificate =
      ca->sign("CP-0001", pem(csr(key.get(), "CP-0001", "Acme CPO").get()), now);
  ASSERT_TRUE(signed_certificate) << signed_certificate.error().message;
  // A self-signed root is not sent along: the chain is the new certificate alone.
  EXPECT_EQ(certificates_in(signed_certificate->chain_pem), 1u);
  Cert leaf = read_first(signed_certificate->chain_pem);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_verify(leaf.get(), root_key_.get()), 1);
  EXPECT_EQ(subject_entry(leaf.get(), NID_commonName), "CP-0001");
  EXPECT_EQ(subject_entry(leaf.get(), NID_organizationName), "Acme CPO");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf.get()), X509_get_subject_name(root_.get())), 0);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key.get()), 1);
  // A TLS client certificate, not a CA.
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_CLIENT);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root_.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(X509_verify_cert(ctx), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  // Valid for the configured days, from a little before now.
  int days = 0;
  int seconds = 0;
  ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf.get()));
  EXPECT_NEAR(days, 365, 1);
  EXPECT_EQ(signed_certificate->serial.size(), 32u) << signed_certificate->serial;
  auto again = ca->sign("CP-0001", pem(csr(key.get(), "CP-0001", "Acme CPO").get()), now);
  ASSERT_TRUE(again);
  EXPECT_NE(again->serial, signed_certificate->serial);
}

TEST_F(CertificateAuthorityTest, AV2gCaSignsAnSeccCsrWhateverItsCnButOnlyForAnIso15118Key) {
  auto ca = load({.use = CertificateUse::kV2g,
                  .certificate_file = {},
                  .key_file = {},
                  .validity_days = 365,
                  .organization = "Acme CPO"});
  ASSERT_TRUE(ca);
  const auto now = system_clock::now();
  Key key = ec_key();
  // The CN is the SECC's id (an EVSE id here), not the charger's.
  auto r = ca->sign("CP-0001", pem(csr(key.get(), "DE*ACM*E1234*1", "Acme CPO").get()), now);
  ASSERT_TRUE(r) << r.error().message;
  Cert leaf = read_first(r->chain_pem);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_verify(leaf.get(), root_key_.get()), 1);
  EXPECT_EQ(subject_entry(leaf.get(), NID_commonName), "DE*ACM*E1234*1");
  EXPECT_EQ(subject_entry(leaf.get(), NID_organizationName), "Acme CPO");
  EXPECT_EQ(subject_entry(leaf.get(), NID_domainComponent), "CPO");
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_extension_flags(leaf.get()) & EXFLAG_XKUSAGE, 0u)
      << "an SECC leaf has no extended key usage";
  EXPECT_TRUE(X509_get_key_usage(leaf.get()) & KU_KEY_AGREEMENT);
  // P-521 (ISO 15118-20) too.
  EXPECT_TRUE(
      ca->sign("CP-0001", pem(csr(ec_key("P-521").get(), "SECC-1", "Acme CPO").get()), now));

  const auto refused = [&](const std::string& csr_pem, const std::string& why) {
    auto bad = ca->sign("CP-0001", csr_pem, now);
    ASSERT_FALSE(bad) << why;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.error().message.find(why), std::string::npos) << bad.error().message;
  };
  refused(pem(csr(rsa_key(2048).get(), "SECC-1", "Acme CPO").get()), "ISO 15118 SECC");
  refused(pem(csr(ec_key("P-384").get(), "SECC-1", "Acme CPO").get()), "secp384r1");
  refused(pem(csr(key.get(), "", "Acme CPO").get()), "no common name");
  refused(pem(csr(key.get(), "SECC-1", "Other").get()), "organization is \"Other\"");
}

TEST_F(CertificateAuthorityTest, AV2gCaNamesItsOwnFlags) {
  CertificateAuthorityConfig c;
  c.use = CertificateUse::kV2g;
  c.certificate_file = write("v2g.pem", pem(root_.get()));
  auto ca = CertificateAuthority::load(c);
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().message.find("--v2g-ca-certificate and --v2g-ca-key go together"),
            std::string::npos)
      << ca.error().message;
}

TEST_F(CertificateAuthorityTest, AcceptsRsaOf2048BitsAndTheAllowedCurves) {
  auto ca = load({});
  ASSERT_TRUE(ca);
  Key keys[] = {rsa_key(2048), ec_key("P-384")};
  for (const Key& key : keys) {
    // Without --ca-organization the CA vouches for no organization: the CSR's O is dropped.
    auto r = ca->sign("cp", pem(csr(key.get(), "cp", "Anyone Ltd").get()), system_clock::now());
    ASSERT_TRUE(r) << r.error().message;
    Cert leaf = read_first(r->chain_pem);
    EXPECT_EQ(subject_entry(leaf.get(), NID_commonName), "cp");
    EXPECT_EQ(subject_entry(leaf.get(), NID_organizationName), "");
  }
}

TEST_F(CertificateAuthorityTest, RefusesWhatItWillNotSignWithTheReason) {
  auto ca = load(
      {.certificate_file = {}, .key_file = {}, .validity_days = 30, .organization = "Acme CPO"});
  ASSERT_TRUE(ca);
  const auto now = system_clock::now();
  Key key = ec_key();
  const auto refused = [&](const std::string& csr_pem, const std::string& why) {
    auto r = ca->sign("CP-0001", csr_pem, now);
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  };
  refused("not a csr", "not a PEM certificate request");
  refused(pem(csr(key.get(), "CP-0002", "Acme CPO").get()),
          "common name is \"CP-0002\", not the charger's id \"CP-0001\"");
  refused(pem(csr(key.get(), "", "Acme CPO").get()), "common name is \"\"");
  refused(pem(csr(key.get(), "CP-0001", "Other").get()), "organization is \"Other\"");
  refused(pem(csr(key.get(), "CP-0001").get()), "organization is \"\"");
  refused(pem(csr(rsa_key(1024).get(), "CP-0001", "Acme CPO").get()), "1024 bits");
  refused(pem(csr(ec_key("secp224r1").get(), "CP-0001", "Acme CPO").get()), "secp224r1");
  // The signature no longer matches the content: someone changed the CN after signing.
  Req tampered = csr(key.get(), "CP-0009", "Acme CPO");
  X509_NAME* name = X509_REQ_get_subject_name(tampered.get());
  X509_NAME_ENTRY_free(
      X509_NAME_delete_entry(name, X509_NAME_get_index_by_NID(name, NID_commonName, -1)));
  add_name(name, "CN", "CP-0001");
  refused(pem(tampered.get()), "signature does not verify");
}

TEST_F(CertificateAuthorityTest, AnIntermediateTravelsInTheChainAndValidityStopsAtTheCas) {
  Key intermediate_key = ec_key();
  Cert intermediate = ca_certificate(intermediate_key.get(), "Switchyard Chargers CA", root_.get(),
                                     root_key_.get(), 10);
  auto ca =
      load({.certificate_file = write("chain.pem", pem(intermediate.get()) + pem(root_.get())),
            .key_file = write("intermediate.key", pem(intermediate_key.get())),
            .validity_days = 365,
            .organization = {}});
  ASSERT_TRUE(ca);
  Key key = ec_key();
  auto r = ca->sign("cp", pem(csr(key.get(), "cp").get()), system_clock::now());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(certificates_in(r->chain_pem), 2u);  // the leaf and the intermediate, not the root
  Cert leaf = read_first(r->chain_pem);
  Cert second = read_first(r->chain_pem, 1);
  EXPECT_EQ(X509_cmp(second.get(), intermediate.get()), 0);
  EXPECT_EQ(X509_verify(leaf.get(), intermediate_key.get()), 1);
  EXPECT_LE(
      ASN1_TIME_compare(X509_get0_notAfter(leaf.get()), X509_get0_notAfter(intermediate.get())), 0);
  EXPECT_LT(r->not_after, system_clock::now() + std::chrono::days(11));
}

std::string hex_of(const EVP_MD* md, const unsigned char* data, std::size_t size) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, out, &length, md, nullptr);
  std::string text;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02X", out[i]);
    text += byte;
  }
  return text;
}

// OCPP's CertificateHashData of a self-signed certificate (its issuer is itself).
CertificateHash hash_of_root(X509* root, const EVP_MD* md, const char* algorithm) {
  unsigned char* der = nullptr;
  const int size = i2d_X509_NAME(X509_get_subject_name(root), &der);
  CertificateHash h;
  h.hash_algorithm = algorithm;
  h.issuer_name_hash = hex_of(md, der, static_cast<std::size_t>(size));
  OPENSSL_free(der);
  const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(root);
  h.issuer_key_hash = hex_of(md, key->data, static_cast<std::size_t>(key->length));
  h.serial_number = "01";  // ca_certificate() gives serial 1
  return h;
}

// 2.1 hashRootCertificate: the CA signs only under the root it names.
TEST_F(CertificateAuthorityTest, ChecksTheRootAChargerAsksFor) {
  auto ca = load({});
  ASSERT_TRUE(ca);
  EXPECT_TRUE(ca->check_root(hash_of_root(root_.get(), EVP_sha256(), "SHA256")));
  EXPECT_TRUE(ca->check_root(hash_of_root(root_.get(), EVP_sha384(), "SHA384")));
  CertificateHash lower = hash_of_root(root_.get(), EVP_sha256(), "SHA256");
  for (char& ch : lower.issuer_key_hash) ch = static_cast<char>(std::tolower(ch));
  lower.serial_number = "1";
  EXPECT_TRUE(ca->check_root(lower)) << "hex case and leading zeros do not matter";

  Key other_key = ec_key();
  Cert other = ca_certificate(other_key.get(), "Someone Else's Root", nullptr, nullptr, 10);
  auto refused = ca->check_root(hash_of_root(other.get(), EVP_sha256(), "SHA256"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_NE(refused.error().message.find("CN=Switchyard Test Root"), std::string::npos)
      << refused.error().message;
  CertificateHash same_name = hash_of_root(root_.get(), EVP_sha256(), "SHA256");
  same_name.serial_number = "02";
  EXPECT_FALSE(ca->check_root(same_name)) << "another certificate of the same name";
  CertificateHash md5 = hash_of_root(root_.get(), EVP_sha256(), "MD5");
  EXPECT_EQ(ca->check_root(md5).error().code, ErrorCode::kInvalidArgument);

  // Without the root in the CA file, only its name can be checked.
  Key intermediate_key = ec_key();
  Cert intermediate = ca_certificate(intermediate_key.get(), "Switchyard Chargers CA", root_.get(),
                                     root_key_.get(), 10);
  auto under = load({.certificate_file = write("only.pem", pem(intermediate.get())),
                     .key_file = write("only.key", pem(intermediate_key.get())),
                     .validity_days = 365,
                     .organization = {}});
  ASSERT_TRUE(under);
  CertificateHash by_name = hash_of_root(root_.get(), EVP_sha256(), "SHA256");
  by_name.issuer_key_hash = "00";
  EXPECT_TRUE(under->check_root(by_name));
  EXPECT_FALSE(under->check_root(hash_of_root(other.get(), EVP_sha256(), "SHA256")));
}

TEST_F(CertificateAuthorityTest, LoadRefusesAMismatchedKeyANonCaAndHalfAConfiguration) {
  const std::string ca_pem = write("ca.pem", pem(root_.get()));
  const std::string other_key = write("other.key", pem(ec_key().get()));
  auto mismatched = CertificateAuthority::load(files(ca_pem, other_key));
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("is not the key"), std::string::npos);

  Key leaf_key = ec_key();
  auto ca = load({});
  ASSERT_TRUE(ca);
  auto leaf = ca->sign("cp", pem(csr(leaf_key.get(), "cp").get()), system_clock::now());
  ASSERT_TRUE(leaf);
  auto not_a_ca = CertificateAuthority::load(
      files(write("leaf.pem", leaf->chain_pem), write("leaf.key", pem(leaf_key.get()))));
  ASSERT_FALSE(not_a_ca);
  EXPECT_NE(not_a_ca.error().message.find("is not a CA"), std::string::npos);

  auto forever = files(ca_pem, write("ca.key", pem(root_key_.get())));
  forever.validity_days = kMaxValidityDays + 1;
  auto too_long = CertificateAuthority::load(forever);
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("--ca-validity-days"), std::string::npos);

  auto half = CertificateAuthority::load(files(ca_pem, ""));
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().message.find("go together"), std::string::npos);
  auto missing = CertificateAuthority::load(files((directory_ / "absent.pem").string(), other_key));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);

  auto none = CertificateAuthority::load({});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, nullptr);
}

}  // namespace
}  // namespace switchyard::auth
