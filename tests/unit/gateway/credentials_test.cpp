// Charger credentials: salted slow hashes, the credential file, the verdict cache.
#include "gateway/credentials.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>

namespace switchyard::gateway {
namespace {

Admission admit(FileCredentialStore& store, const std::string& id, int offered,
                const std::string& pw) {
  std::promise<Admission> p;
  store.admit(id, offered, pw, [&p](Admission a) { p.set_value(a); });
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
  EXPECT_EQ(admit(store, "CP1", 1, "s3cret").verdict, CredentialVerdict::kAccepted);
  EXPECT_EQ(admit(store, "CP1", 1, "wrong").verdict, CredentialVerdict::kWrongPassword);
  // Cached verdicts give the same answers.
  EXPECT_EQ(admit(store, "CP1", 1, "s3cret").verdict, CredentialVerdict::kAccepted);
  EXPECT_EQ(admit(store, "CP1", 1, "wrong").verdict, CredentialVerdict::kWrongPassword);
  // The right password over another profile is still refused, naming the profile to use.
  const Admission over_tls = admit(store, "CP1", 2, "s3cret");
  EXPECT_EQ(over_tls.verdict, CredentialVerdict::kWrongSecurityProfile);
  EXPECT_EQ(over_tls.required_profile, 1);
  EXPECT_EQ(admit(store, "CP3", 3, "").verdict, CredentialVerdict::kAccepted);
  EXPECT_EQ(admit(store, "CP3", 2, "x").verdict, CredentialVerdict::kWrongSecurityProfile);
  EXPECT_EQ(admit(store, "CP9", 1, "x").verdict, CredentialVerdict::kUnknownCharger);
}

TEST(FileCredentialStore, UnknownChargersTakeTheConfiguredProfile) {
  FileCredentialStore store({}, 0, 1);
  EXPECT_EQ(store.required_profile("anyone"), 0);
  EXPECT_EQ(admit(store, "anyone", 0, "").verdict, CredentialVerdict::kAccepted);
  EXPECT_EQ(admit(store, "anyone", 1, "pw").verdict, CredentialVerdict::kWrongSecurityProfile);
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
