// Keys and self-signed certificates written as PEM files for TLS tests. Header-only: the tests
// that use it link OpenSSL already.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace switchyard::testing {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;

// A self-signed certificate of `key` for common name `cn`, valid from an hour ago for `days`.
inline void write_certificate(EVP_PKEY* key, const std::string& cn,
                              const std::filesystem::path& path,
                              long days = 30) {  // NOLINT(google-runtime-int): OpenSSL's type
  std::unique_ptr<X509, OpenSslFree> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), days * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key);
  const bool digestless = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;
  ASSERT_GT(X509_sign(x.get(), key, digestless ? nullptr : EVP_sha256()), 0);
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, x.get());
  std::fclose(f);
}

inline void write_private_key(EVP_PKEY* key, const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace switchyard::testing
