// The TLS context of the wss listener, made from the pod's TLS files: TLS 1.2 or newer, the
// suites the OCPP security profiles ask for, the charger CA of profile 3, and one or two server
// certificates. OCPP asks a CSMS to offer both TLS_ECDHE_ECDSA_* and TLS_RSA_* suites, and a
// suite can only be negotiated with a certificate of its kind: an ECDSA and an RSA certificate
// together (--tls-certificate and --tls-second-certificate) offer all of them, and each charger
// gets the one it prefers. Included by connections.cpp and its tests only (Asio's SSL headers).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::gateway {

struct GatewayConfig;

// One server certificate the context serves.
struct ServerCertificate {
  std::string file;
  std::string key_type;  // "ECDSA" or "RSA"
  std::string subject;   // one line, as OpenSSL prints it
  double not_after = 0;  // Unix seconds
};

struct ServerTls {
  std::shared_ptr<boost::asio::ssl::context> context;
  std::vector<ServerCertificate> certificates;  // one per key type, in the order given

  // When the first of them expires (Unix seconds): what an alert watches.
  double earliest_expiry() const;
  // The key type with no certificate ("ECDSA" or "RSA"), or "" when both have one.
  std::string missing_key_type() const;
};

// Loads the files the config names (--tls-certificate and --tls-private-key, optionally
// --tls-second-certificate and --tls-second-private-key of the other key type, and
// --tls-client-ca). An error names the flag and the file: a missing or broken file, a key that
// is not its certificate's, two certificates of one key type, a key type the OCPP suites
// cannot use.
Result<ServerTls> make_server_tls(const GatewayConfig& config);

// After a server handshake completed: a resumed session (--tls-session-cache) leaves the cache,
// its connection's new ticket (a copy, cached) takes its place. OpenSSL keeps both otherwise
// (stateful TLS 1.3 tickets are single-use only with early data), so every reconnect would
// leave one more session behind until the timeout or the cache's size evicts it. Nothing to do
// for a full handshake or without a cache.
void retire_resumed_session(SSL* ssl);

// A connection refused (or given up) after its TLS handshake: its session leaves the cache.
// Without this, chargers refused again and again (wrong credentials, unknown, wrong profile)
// that come back with a full handshake each time leave a session each: 15,000 such mTLS
// chargers filled the 65,536 entries (654 MB, ~10 KB each with a client chain). A refused
// charger's next try is a full handshake. Returns the sessions left in the cache (-1: none
// removed).
long forget_session(SSL* ssl);  // NOLINT(google-runtime-int)

// The files make_server_tls reads (for the reload watch).
std::vector<std::string> server_tls_files(const GatewayConfig& config);

}  // namespace switchyard::gateway
