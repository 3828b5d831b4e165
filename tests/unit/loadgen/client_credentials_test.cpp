// The simulated chargers' client certificates: each file read once per worker, a key shared by
// every charger parsed once, and a file that cannot be used named in the error.
#include "loadgen/client_credentials.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "support/openssl_files.h"

namespace switchyard::loadgen {
namespace {

namespace fs = std::filesystem;

using Freer = testing::OpenSslFree;
using testing::write_certificate;

std::unique_ptr<EVP_PKEY, Freer> ec_key() {
  return std::unique_ptr<EVP_PKEY, Freer>(EVP_EC_gen("P-256"));
}

void write_key(EVP_PKEY* key, const fs::path& path) { testing::write_private_key(key, path); }

std::string common_name(SSL* ssl) {
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get_certificate(ssl)), NID_commonName, cn,
                            sizeof cn);
  return cn;
}

class ClientCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loadgen_credentials_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::unique_ptr<SSL_CTX, Freer> ctx_{SSL_CTX_new(TLS_client_method())};
};

TEST_F(ClientCredentialsTest, EachChargerGetsItsCertificateWithTheSharedKeyReadOnce) {
  auto key = ec_key();
  write_key(key.get(), dir_ / "client.key");
  write_certificate(key.get(), "CP-1", dir_ / "CP-1.pem");
  write_certificate(key.get(), "CP-2", dir_ / "CP-2.pem");

  ClientCredentials credentials;
  auto first = credentials.get((dir_ / "CP-1.pem").string(), (dir_ / "client.key").string());
  ASSERT_TRUE(first) << first.error().message;
  // The key file is gone: the second charger still gets the key, read at the first call.
  fs::remove(dir_ / "client.key");
  auto second = credentials.get((dir_ / "CP-2.pem").string(), (dir_ / "client.key").string());
  ASSERT_TRUE(second) << second.error().message;

  for (const auto& [credential, cn] : {std::pair{*first, "CP-1"}, std::pair{*second, "CP-2"}}) {
    std::unique_ptr<SSL, Freer> ssl(SSL_new(ctx_.get()));
    ASSERT_TRUE(credential->use(ssl.get()));
    EXPECT_EQ(common_name(ssl.get()), cn);
    EXPECT_EQ(SSL_check_private_key(ssl.get()), 1);
  }
}

TEST_F(ClientCredentialsTest, AFileThatCannotBeUsedIsNamed) {
  auto key = ec_key();
  write_key(key.get(), dir_ / "client.key");
  ClientCredentials credentials;

  auto missing = credentials.get((dir_ / "nope.pem").string(), (dir_ / "client.key").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--cert " + (dir_ / "nope.pem").string()),
            std::string::npos)
      << missing.error().message;

  std::FILE* f = std::fopen((dir_ / "garbage.key").c_str(), "w");
  std::fputs("not a key\n", f);
  std::fclose(f);
  write_certificate(key.get(), "CP-1", dir_ / "CP-1.pem");
  auto bad_key = credentials.get((dir_ / "CP-1.pem").string(), (dir_ / "garbage.key").string());
  ASSERT_FALSE(bad_key);
  EXPECT_NE(bad_key.error().message.find("--key "), std::string::npos) << bad_key.error().message;
}

TEST_F(ClientCredentialsTest, ACertificateOfAnotherKeyIsRefusedAtUse) {
  auto key = ec_key();
  auto other = ec_key();
  write_key(key.get(), dir_ / "client.key");
  write_certificate(other.get(), "CP-1", dir_ / "CP-1.pem");
  ClientCredentials credentials;
  auto credential = credentials.get((dir_ / "CP-1.pem").string(), (dir_ / "client.key").string());
  ASSERT_TRUE(credential) << credential.error().message;
  std::unique_ptr<SSL, Freer> ssl(SSL_new(ctx_.get()));
  EXPECT_FALSE((*credential)->use(ssl.get()));
}

}  // namespace
}  // namespace switchyard::loadgen
