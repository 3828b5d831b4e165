// The wss listener's TLS context: suites, versions, server certificates, charger CA.
#include "gateway/tls_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>

#include "common/runtime/core/openssl_error.h"
#include "gateway/config.h"

namespace switchyard::gateway {
namespace {

namespace ssl = boost::asio::ssl;

void free_kept_session(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                       long /*argl*/, void* /*argp*/) {  // NOLINT(google-runtime-int)
  SSL_SESSION_free(static_cast<SSL_SESSION*>(ptr));
}

// The slot where a connection keeps the session it resumed until its handshake is done.
int resumed_session_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_kept_session);
  return index;
}

// The first SSL_CB_HANDSHAKE_DONE of a resumption comes before its NewSessionTicket, while the
// connection's session is still the one from the cache (the ticket replaces it with a copy).
void keep_resumed_session(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_DONE) == 0 || SSL_is_server(ssl) != 1 ||
      SSL_session_reused(ssl) != 1) {
    return;
  }
  SSL* s = const_cast<SSL*>(ssl);  // NOLINT(cppcoreguidelines-pro-type-const-cast): OpenSSL's
  if (SSL_get_ex_data(s, resumed_session_index()) != nullptr) return;  // a later message's
  SSL_set_ex_data(s, resumed_session_index(), SSL_get1_session(s));
}

// "ECDSA" or "RSA" for the key types the OCPP suites use, else the type's short name.
std::string key_type_of(const EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) return "ECDSA";
  if (id == EVP_PKEY_RSA) return "RSA";
  const char* name = id > 0 ? OBJ_nid2sn(id) : nullptr;
  return name != nullptr ? name : "of an unknown type";
}

double not_after(const X509* certificate) {
  std::tm end{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &end) != 1) return 0;
  return static_cast<double>(timegm(&end));
}

struct Pair {
  const char* certificate_flag;
  const std::string& certificate;
  const char* key_flag;
  const std::string& key;
};

// Loads one certificate chain and its key into the context's slot for the key's type. The
// key is read and matched here, before OpenSSL files it: it puts a key in the slot of the key's
// own type, so a key of the other certificate's type would pass its own check and leave this
// certificate without one.
Result<ServerCertificate> load_pair(SSL_CTX* context, const Pair& pair) {
  const auto fail = [](const char* flag, const std::string& file, const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, std::string(flag) + " " + file + ": " + why);
  };
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(context, pair.certificate.c_str()) != 1) {
    return fail(pair.certificate_flag, pair.certificate, openssl_error());
  }
  X509* certificate = SSL_CTX_get0_certificate(context);  // the one just loaded
  ServerCertificate loaded;
  loaded.file = pair.certificate;
  loaded.key_type = key_type_of(X509_get0_pubkey(certificate));
  if (loaded.key_type != "ECDSA" && loaded.key_type != "RSA") {
    return fail(
        pair.certificate_flag, pair.certificate,
        "its key is " + loaded.key_type + "; the OCPP suites need an ECDSA or an RSA certificate");
  }
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(certificate), subject, sizeof subject);
  loaded.subject = subject;
  loaded.not_after = not_after(certificate);

  std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(pair.key.c_str(), "r"), &BIO_free);
  if (!file) return fail(pair.key_flag, pair.key, openssl_error());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(file.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) return fail(pair.key_flag, pair.key, openssl_error());
  if (key_type_of(key.get()) != loaded.key_type ||
      X509_check_private_key(certificate, key.get()) != 1) {
    ERR_clear_error();
    return fail(pair.key_flag, pair.key,
                "not the key of " + std::string(pair.certificate_flag) + " " + pair.certificate +
                    " (" + key_type_of(key.get()) + " key, " + loaded.key_type + " certificate)");
  }
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1) {
    return fail(pair.key_flag, pair.key, openssl_error());
  }
  return loaded;
}

}  // namespace

double ServerTls::earliest_expiry() const {
  double earliest = 0;
  for (const auto& c : certificates) {
    if (c.not_after > 0 && (earliest == 0 || c.not_after < earliest)) earliest = c.not_after;
  }
  return earliest;
}

std::string ServerTls::missing_key_type() const {
  for (const char* type : {"ECDSA", "RSA"}) {
    if (std::none_of(certificates.begin(), certificates.end(),
                     [&](const ServerCertificate& c) { return c.key_type == type; })) {
      return type;
    }
  }
  return {};
}

void retire_resumed_session(SSL* ssl) {
  auto* resumed = static_cast<SSL_SESSION*>(SSL_get_ex_data(ssl, resumed_session_index()));
  if (resumed == nullptr) return;
  SSL_set_ex_data(ssl, resumed_session_index(), nullptr);
  // TLS 1.2 resumes a session id without a new session: that one stays.
  if (resumed != SSL_get0_session(ssl)) SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), resumed);
  SSL_SESSION_free(resumed);
}

long forget_session(SSL* ssl) {  // NOLINT(google-runtime-int)
  SSL_SESSION* session = SSL_get0_session(ssl);
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  if (session == nullptr || ctx == nullptr || SSL_CTX_remove_session(ctx, session) != 1) {
    return -1;
  }
  return SSL_CTX_sess_number(ctx);
}

std::vector<std::string> server_tls_files(const GatewayConfig& c) {
  std::vector<std::string> files;
  for (const std::string* f : {&c.tls_certificate, &c.tls_private_key, &c.tls_second_certificate,
                               &c.tls_second_private_key, &c.tls_client_ca}) {
    if (!f->empty()) files.push_back(*f);
  }
  return files;
}

Result<ServerTls> make_server_tls(const GatewayConfig& c) {
  if (c.tls_certificate.empty() || c.tls_private_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      c.tls_certificate.empty() && !c.tls_second_certificate.empty()
                          ? "--tls-second-certificate needs --tls-certificate and "
                            "--tls-private-key"
                          : "--tls-certificate and --tls-private-key go together");
  }
  if (c.tls_second_certificate.empty() != c.tls_second_private_key.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--tls-second-certificate and --tls-second-private-key go together");
  }
  if (c.tls_session_cache < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--tls-session-cache " + std::to_string(c.tls_session_cache) +
                          ": a number of sessions, or 0 for stateless tickets");
  }
  if (c.tls_session_cache > 0 && c.tls_session_timeout < std::chrono::seconds(1)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--tls-session-timeout must be at least 1 s (1000) with a session cache");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use | ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // TLS 1.2 suites the OCPP security profiles require (TLS 1.3 keeps its defaults); each is
  // offered when a certificate of its kind is loaded.
  SSL_CTX_set_cipher_list(native,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
                          "AES128-GCM-SHA256:AES256-GCM-SHA384");
  // Idle connections give their record buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // A charger that loses its network ends without close_notify: an end like any other, not a
  // fatal error that would also drop its session from the cache. (WebSocket frames its
  // messages, so a truncation cannot pass for a whole one.)
  SSL_CTX_set_options(native, SSL_OP_IGNORE_UNEXPECTED_EOF);
  static constexpr unsigned char kSessionContext[] = "switchyard";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  if (c.tls_session_cache > 0) {
    // Sessions resumed from the pod's own cache (TLS 1.3 stateful tickets, TLS 1.2 session
    // ids) instead of from tickets the charger carries: a ticket holds the session encoded,
    // client certificate included, and decoding it (d2i_SSL_SESSION) took a third of the CPU
    // of a storm of resuming mTLS chargers. A connected charger's cache entry is the session
    // its connection holds (its last ticket's; retire_resumed_session drops the one it
    // resumed); a charger gone for less than the timeout keeps about 1 KB of its own.
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    // Each TLS 1.3 ticket is a cached session of its own: one per handshake, not OpenSSL's two.
    SSL_CTX_set_num_tickets(native, 1);
    SSL_CTX_set_info_callback(native, &keep_resumed_session);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(native, c.tls_session_cache);
    const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(c.tls_session_timeout);
    SSL_CTX_set_timeout(native, timeout.count());
  }

  ServerTls tls;
  auto first = load_pair(
      native, {"--tls-certificate", c.tls_certificate, "--tls-private-key", c.tls_private_key});
  if (!first) return std::unexpected(first.error());
  tls.certificates.push_back(std::move(*first));
  if (!c.tls_second_certificate.empty()) {
    auto second = load_pair(native, {"--tls-second-certificate", c.tls_second_certificate,
                                     "--tls-second-private-key", c.tls_second_private_key});
    if (!second) return std::unexpected(second.error());
    if (second->key_type == tls.certificates.front().key_type) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--tls-certificate and --tls-second-certificate both hold an " +
                            second->key_type +
                            " key; the second must be of the other type (ECDSA or RSA) so "
                            "that both kinds of OCPP suite are offered");
    }
    tls.certificates.push_back(std::move(*second));
  }

  if (!c.tls_client_ca.empty()) {
    boost::system::error_code ec;
    context->load_verify_file(c.tls_client_ca, ec);
    if (ec) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--tls-client-ca " + c.tls_client_ca + ": " + ec.message());
    }
    // Ask for a certificate (profile 3) without requiring one (profile 2 chargers have none);
    // a certificate that does not verify fails the handshake.
    context->set_verify_mode(ssl::verify_peer);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(c.tls_client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  tls.context = std::move(context);
  return tls;
}

}  // namespace switchyard::gateway
