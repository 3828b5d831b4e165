#include "loadgen/client_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/runtime/core/openssl_error.h"

namespace switchyard::loadgen {
namespace {

Error unreadable(const char* flag, const std::string& path) {
  return Error{ErrorCode::kInvalidArgument,
               std::string(flag) + " " + path + ": " + openssl_error()};
}

}  // namespace

ClientCredential::ClientCredential(X509* leaf, std::vector<X509*> chain, EVP_PKEY* key)
    : leaf_(leaf), chain_(std::move(chain)), key_(key) {}

ClientCredential::~ClientCredential() {
  X509_free(leaf_);
  for (X509* c : chain_) X509_free(c);
  EVP_PKEY_free(key_);
}

bool ClientCredential::use(SSL* ssl) const {
  if (SSL_use_certificate(ssl, leaf_) != 1) return false;
  for (X509* c : chain_) {
    if (SSL_add1_chain_cert(ssl, c) != 1) return false;
  }
  return SSL_use_PrivateKey(ssl, key_) == 1;
}

ClientCredentials::ClientCredentials() = default;

ClientCredentials::~ClientCredentials() {
  for (auto& [path, key] : keys_) EVP_PKEY_free(key);
}

Result<std::shared_ptr<const ClientCredential>> ClientCredentials::get(
    const std::string& cert_path, const std::string& key_path) {
  auto key = keys_.find(key_path);
  if (key == keys_.end()) {
    BIO* file = BIO_new_file(key_path.c_str(), "r");
    if (file == nullptr) return std::unexpected(unreadable("--key", key_path));
    EVP_PKEY* parsed = PEM_read_bio_PrivateKey(file, nullptr, nullptr, nullptr);
    BIO_free(file);
    if (parsed == nullptr) return std::unexpected(unreadable("--key", key_path));
    key = keys_.emplace(key_path, parsed).first;
  }

  BIO* file = BIO_new_file(cert_path.c_str(), "r");
  if (file == nullptr) return std::unexpected(unreadable("--cert", cert_path));
  X509* leaf = PEM_read_bio_X509_AUX(file, nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    BIO_free(file);
    return std::unexpected(unreadable("--cert", cert_path));
  }
  std::vector<X509*> chain;
  while (X509* c = PEM_read_bio_X509(file, nullptr, nullptr, nullptr)) chain.push_back(c);
  ERR_clear_error();  // the end of the file ends the loop with "no start line"
  BIO_free(file);
  EVP_PKEY_up_ref(key->second);
  return std::make_shared<const ClientCredential>(leaf, std::move(chain), key->second);
}

}  // namespace switchyard::loadgen
