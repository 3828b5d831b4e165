// Charger credentials: salted slow hashes, the credential file, the verdict cache.
#include "gateway/credentials.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>

namespace switchyard::gateway {
namespace {

CredentialVerdict check(FileCredentialStore& store, const std::string& id, const std::string& pw) {
  std::promise<CredentialVerdict> p;
  store.check_password(id, pw, [&p](CredentialVerdict v) { p.set_value(v); });
  return p.get_future().get();
}

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  const std::string hash = hash_password("correct horse", 1000);
  EXPECT_TRUE(hash.starts_with("pbkdf2-sha256$1000$"));
  EXPECT_TRUE(verify_password("correct horse", hash));
  EXPECT_FALSE(verify_password("correct horsf", hash));
  EXPECT_FALSE(verify_password("", hash));
}

TEST(PasswordHash, IsSaltedSoEqualPasswordsHashDifferently) {
  EXPECT_NE(hash_password("same", 1000), hash_password("same", 1000));
}

TEST(PasswordHash, MalformedHashesNeverVerify) {
  for (std::string_view bad :
       {"", "plain", "pbkdf2-sha256$x$AAAA$AAAA", "md5$1$a$b", "pbkdf2-sha256$1000$%%%$AAAA"}) {
    EXPECT_FALSE(verify_password("x", bad)) << bad;
  }
}

TEST(FileCredentialStore, ReadsProfilesAndChecksPasswords) {
  const std::string path = ::testing::TempDir() + "/credentials.csv";
  std::ofstream(path) << "# charger,profile,hash\nCP1,1," << hash_password("s3cret", 1000)
                      << "\nCP3,3,\n";
  auto chargers = FileCredentialStore::read(path);
  ASSERT_TRUE(chargers) << chargers.error().message;
  FileCredentialStore store(std::move(*chargers), -1, 1);
  EXPECT_EQ(store.required_profile("CP1"), 1);
  EXPECT_EQ(store.required_profile("CP3"), 3);
  EXPECT_FALSE(store.required_profile("CP9"));
  EXPECT_EQ(check(store, "CP1", "s3cret"), CredentialVerdict::kAccepted);
  EXPECT_EQ(check(store, "CP1", "wrong"), CredentialVerdict::kWrongPassword);
  // Cached verdicts give the same answers.
  EXPECT_EQ(check(store, "CP1", "s3cret"), CredentialVerdict::kAccepted);
  EXPECT_EQ(check(store, "CP1", "wrong"), CredentialVerdict::kWrongPassword);
  EXPECT_EQ(check(store, "CP3", "x"), CredentialVerdict::kWrongSecurityProfile);
  EXPECT_EQ(check(store, "CP9", "x"), CredentialVerdict::kUnknownCharger);
}

TEST(FileCredentialStore, UnknownChargersTakeTheConfiguredProfile) {
  FileCredentialStore store({}, 0, 1);
  EXPECT_EQ(store.required_profile("anyone"), 0);
}

TEST(FileCredentialStore, RejectsMalformedLinesNamingTheLine) {
  const std::string path = ::testing::TempDir() + "/bad.csv";
  std::ofstream(path) << "CP1,1,pbkdf2-sha256$1$a$b\nCP2,7,\n";
  auto r = FileCredentialStore::read(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(":2:"), std::string::npos) << r.error().message;
  std::ofstream(path) << "CP1,1,plaintext\n";
  EXPECT_FALSE(FileCredentialStore::read(path));
}

}  // namespace
}  // namespace switchyard::gateway
