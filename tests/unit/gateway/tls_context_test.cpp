// The wss listener's TLS context: an ECDSA and an RSA certificate together offer every suite
// OCPP asks for; a wrong pair of files is refused with the flag and the file named.
#include "gateway/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "gateway/config.h"
#include "support/openssl_files.h"

namespace switchyard::gateway {
namespace {

namespace fs = std::filesystem;

using Freer = testing::OpenSslFree;
using Key = testing::KeyPtr;

// A self-signed certificate for `key` (valid `days` from now) and the key, as PEM files.
void write_pair(EVP_PKEY* key, const fs::path& certificate, const fs::path& private_key,
                long days) {  // NOLINT(google-runtime-int): OpenSSL's type
  testing::write_certificate(key, "localhost", certificate, days);
  testing::write_private_key(key, private_key);
}

class ServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory() =
        fs::temp_directory_path() / ("switchyard-tls-context-" + std::to_string(::getpid()));
    fs::create_directories(directory());
    Key ec(EVP_EC_gen("P-256"));
    Key rsa(EVP_RSA_gen(2048));
    Key rsa2(EVP_RSA_gen(2048));
    Key ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    write_pair(ec.get(), path("ec.pem"), path("ec.key"), 30);
    write_pair(rsa.get(), path("rsa.pem"), path("rsa.key"), 90);
    write_pair(rsa2.get(), path("rsa2.pem"), path("rsa2.key"), 90);
    write_pair(ed.get(), path("ed.pem"), path("ed.key"), 90);
  }
  static void TearDownTestSuite() { fs::remove_all(directory()); }
  static fs::path& directory() {
    static fs::path where;
    return where;
  }
  static std::string path(const char* name) { return (directory() / name).string(); }

  static GatewayConfig config(const char* first, const char* second = nullptr) {
    GatewayConfig c;
    c.tls_certificate = path((std::string(first) + ".pem").c_str());
    c.tls_private_key = path((std::string(first) + ".key").c_str());
    if (second != nullptr) {
      c.tls_second_certificate = path((std::string(second) + ".pem").c_str());
      c.tls_second_private_key = path((std::string(second) + ".key").c_str());
    }
    return c;
  }

  // A TLS 1.2 handshake over memory with a client that offers only `suite`: true when it
  // completes.
  static bool handshake_with(const ServerTls& tls, const char* suite) {
    std::unique_ptr<SSL_CTX, Freer> client_ctx(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(client_ctx.get(), suite);
    std::unique_ptr<SSL, Freer> client(SSL_new(client_ctx.get()));
    std::unique_ptr<SSL, Freer> server(SSL_new(tls.context->native_handle()));
    BIO* client_end = nullptr;
    BIO* server_end = nullptr;
    BIO_new_bio_pair(&client_end, 0, &server_end, 0);
    SSL_set_bio(client.get(), client_end, client_end);
    SSL_set_bio(server.get(), server_end, server_end);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    for (int round = 0; round < 20; ++round) {
      const int c = SSL_do_handshake(client.get());
      const int s = SSL_do_handshake(server.get());
      if (c == 1 && s == 1) return true;
      const int ce = SSL_get_error(client.get(), c);
      const int se = SSL_get_error(server.get(), s);
      const auto blocked = [](int e) {
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
      };
      if ((c != 1 && !blocked(ce)) || (s != 1 && !blocked(se))) return false;
    }
    return false;
  }
};

TEST_F(ServerTlsTest, AnEcdsaAndAnRsaCertificateTogetherOfferEveryOcppSuite) {
  auto tls = make_server_tls(config("ec", "rsa"));
  ASSERT_TRUE(tls) << tls.error().message;
  ASSERT_EQ(tls->certificates.size(), 2u);
  EXPECT_EQ(tls->certificates[0].key_type, "ECDSA");
  EXPECT_EQ(tls->certificates[1].key_type, "RSA");
  EXPECT_EQ(tls->certificates[0].subject, "/CN=localhost");
  EXPECT_EQ(tls->missing_key_type(), "");
  for (const char* suite :
       {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256", "AES256-GCM-SHA384"}) {
    EXPECT_TRUE(handshake_with(*tls, suite)) << suite;
  }
  // Neither certificate makes a suite OCPP does not ask for available.
  EXPECT_FALSE(handshake_with(*tls, "ECDHE-RSA-AES128-SHA"));
}

TEST_F(ServerTlsTest, OneCertificateOffersOnlyTheSuitesOfItsKindAndSaysWhichIsMissing) {
  auto rsa = make_server_tls(config("rsa"));
  ASSERT_TRUE(rsa) << rsa.error().message;
  EXPECT_EQ(rsa->missing_key_type(), "ECDSA");
  EXPECT_TRUE(handshake_with(*rsa, "AES128-GCM-SHA256"));
  EXPECT_FALSE(handshake_with(*rsa, "ECDHE-ECDSA-AES128-GCM-SHA256"));

  auto ec = make_server_tls(config("ec"));
  ASSERT_TRUE(ec) << ec.error().message;
  EXPECT_EQ(ec->missing_key_type(), "RSA");
  EXPECT_TRUE(handshake_with(*ec, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_FALSE(handshake_with(*ec, "AES128-GCM-SHA256"));
}

TEST_F(ServerTlsTest, TheExpiryAnAlertWatchesIsTheEarliest) {
  auto tls = make_server_tls(config("rsa", "ec"));
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_EQ(tls->earliest_expiry(), tls->certificates[1].not_after);  // ec: 30 days, rsa: 90
  EXPECT_LT(tls->certificates[1].not_after, tls->certificates[0].not_after);
}

TEST_F(ServerTlsTest, SessionsAreKeptInThePodUnlessTheCacheIsOff) {
  auto cached = make_server_tls(config("ec"));
  ASSERT_TRUE(cached) << cached.error().message;
  SSL_CTX* native = cached->context->native_handle();
  EXPECT_NE(SSL_CTX_get_options(native) & SSL_OP_NO_TICKET, 0u);  // stateful TLS 1.3 tickets
  EXPECT_NE(SSL_CTX_get_options(native) & SSL_OP_IGNORE_UNEXPECTED_EOF, 0u);
  EXPECT_EQ(SSL_CTX_sess_get_cache_size(native), 65536);
  EXPECT_EQ(SSL_CTX_get_timeout(native), 7200);
  EXPECT_EQ(SSL_CTX_get_num_tickets(native), 1u);

  GatewayConfig off = config("ec");
  off.tls_session_cache = 0;
  auto tickets = make_server_tls(off);
  ASSERT_TRUE(tickets) << tickets.error().message;
  EXPECT_EQ(SSL_CTX_get_options(tickets->context->native_handle()) & SSL_OP_NO_TICKET, 0u);

  GatewayConfig negative = config("ec");
  negative.tls_session_cache = -1;
  auto refused = make_server_tls(negative);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "--tls-session-cache -1: a number of sessions, or 0 for stateless tickets");
  GatewayConfig instant = config("ec");
  instant.tls_session_timeout = std::chrono::milliseconds(10);
  refused = make_server_tls(instant);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "--tls-session-timeout must be at least 1 s (1000) with a session cache");
}

TEST_F(ServerTlsTest, TwoCertificatesOfOneKeyTypeAreRefused) {
  auto tls = make_server_tls(config("rsa", "rsa2"));
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(tls.error().message,
            "--tls-certificate and --tls-second-certificate both hold an RSA key; the second "
            "must be of the other type (ECDSA or RSA) so that both kinds of OCPP suite are "
            "offered");
}

TEST_F(ServerTlsTest, AKeyThatIsNotItsCertificatesIsRefusedNamingTheFlagAndFile) {
  GatewayConfig other_type = config("rsa");
  other_type.tls_private_key = path("ec.key");
  auto tls = make_server_tls(other_type);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "--tls-private-key " + path("ec.key") +
                                     ": not the key of --tls-certificate " + path("rsa.pem") +
                                     " (ECDSA key, RSA certificate)");

  GatewayConfig same_type = config("ec", "rsa");
  same_type.tls_second_private_key = path("rsa2.key");
  tls = make_server_tls(same_type);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "--tls-second-private-key " + path("rsa2.key") +
                                     ": not the key of --tls-second-certificate " +
                                     path("rsa.pem") + " (RSA key, RSA certificate)");
}

TEST_F(ServerTlsTest, TheFirstKeyGivenAgainForTheSecondCertificateIsRefused) {
  // OpenSSL would file the key beside the first certificate (its own type) and check that one:
  // the second certificate would be served without a key, its suites silently gone.
  GatewayConfig c = config("ec", "rsa");
  c.tls_second_private_key = path("ec.key");
  auto tls = make_server_tls(c);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "--tls-second-private-key " + path("ec.key") +
                                     ": not the key of --tls-second-certificate " +
                                     path("rsa.pem") + " (ECDSA key, RSA certificate)");
}

TEST_F(ServerTlsTest, AMissingOrBrokenFileOrAHalfGivenPairIsRefusedSayingWhy) {
  GatewayConfig missing = config("ec");
  missing.tls_certificate = path("absent.pem");
  auto tls = make_server_tls(missing);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "--tls-certificate " + path("absent.pem") + ": No such file or directory");

  GatewayConfig missing_key = config("ec");
  missing_key.tls_private_key = path("absent.key");
  tls = make_server_tls(missing_key);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "--tls-private-key " + path("absent.key") + ": No such file or directory");

  {
    std::FILE* f = std::fopen(path("garbled.pem").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not a certificate\n", f);
    std::fclose(f);
  }
  GatewayConfig garbled = config("ec");
  garbled.tls_certificate = path("garbled.pem");
  tls = make_server_tls(garbled);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "--tls-certificate " + path("garbled.pem") + ": no start line");

  GatewayConfig half = config("ec");
  half.tls_second_certificate = path("rsa.pem");
  tls = make_server_tls(half);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "--tls-second-certificate and --tls-second-private-key go together");

  GatewayConfig second_only;
  second_only.tls_second_certificate = path("rsa.pem");
  second_only.tls_second_private_key = path("rsa.key");
  tls = make_server_tls(second_only);
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message,
            "--tls-second-certificate needs --tls-certificate and --tls-private-key");
}

TEST_F(ServerTlsTest, AKeyTypeTheOcppSuitesCannotUseIsRefused) {
  auto tls = make_server_tls(config("ed"));
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "--tls-certificate " + path("ed.pem") +
                                     ": its key is ED25519; the OCPP suites need an ECDSA or an "
                                     "RSA certificate");
}

TEST(ServerTlsFiles, TheReloadWatchSeesEveryFileGiven) {
  GatewayConfig c;
  c.tls_certificate = "a.pem";
  c.tls_private_key = "a.key";
  EXPECT_EQ(server_tls_files(c), (std::vector<std::string>{"a.pem", "a.key"}));
  c.tls_second_certificate = "b.pem";
  c.tls_second_private_key = "b.key";
  c.tls_client_ca = "ca.pem";
  EXPECT_EQ(server_tls_files(c),
            (std::vector<std::string>{"a.pem", "a.key", "b.pem", "b.key", "ca.pem"}));
}

}  // namespace
}  // namespace switchyard::gateway
