// ClientCredentials: the client certificates and keys of the simulated chargers (--cert / --key
// with {id} or {i}), each file read and parsed once per worker and kept. Reading a PEM key
// costs about a millisecond of CPU with OpenSSL 3; done at every connect, a storm of 15,000
// reconnects spent 13 s of the generator's core parsing before the first ClientHello went out,
// and the server cut the handshakes it was waiting on. One worker thread uses one cache.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::loadgen {

// A certificate chain (the leaf first) and its private key, as parsed OpenSSL objects.
class ClientCredential {
 public:
  ClientCredential(X509* leaf, std::vector<X509*> chain, EVP_PKEY* key);
  ~ClientCredential();
  ClientCredential(const ClientCredential&) = delete;
  ClientCredential& operator=(const ClientCredential&) = delete;

  // Sets them as `ssl`'s certificate, chain and key (each shared, not copied). False when
  // OpenSSL refuses one (the key does not match the certificate).
  bool use(SSL* ssl) const;

 private:
  X509* leaf_;
  std::vector<X509*> chain_;
  EVP_PKEY* key_;
};

class ClientCredentials {
 public:
  ClientCredentials();
  ~ClientCredentials();
  ClientCredentials(const ClientCredentials&) = delete;
  ClientCredentials& operator=(const ClientCredentials&) = delete;

  // The credential of these files, read at the first call. A key file shared by every charger
  // is parsed once. An error names the file and what is wrong with it.
  Result<std::shared_ptr<const ClientCredential>> get(const std::string& cert_path,
                                                      const std::string& key_path);

 private:
  std::map<std::string, EVP_PKEY*, std::less<>> keys_;
};

}  // namespace switchyard::loadgen
