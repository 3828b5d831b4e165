// PBKDF2-SHA256 password hashes and the file credential store.
#include "gateway/credentials.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/runtime/core/base64.h"

namespace switchyard::gateway {
namespace {

std::string pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::string sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return {reinterpret_cast<char*>(digest), sizeof digest};
}

}  // namespace

std::string hash_password(std::string_view password, int iterations) {
  std::string salt(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size()));
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
         base64_encode(pbkdf2(password, salt, iterations));
}

bool verify_password(std::string_view password, std::string_view encoded) {
  const auto parts = split(encoded, '$');
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256") return false;
  int iterations = 0;
  const auto [end, ec] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || iterations < 1 || iterations > 10'000'000) return false;
  const auto salt = base64_decode(parts[2]);
  const auto expected = base64_decode(parts[3]);
  if (!salt || !expected || expected->size() != 32) return false;
  const std::string actual = pbkdf2(password, *salt, iterations);
  return CRYPTO_memcmp(actual.data(), expected->data(), actual.size()) == 0;
}

FileCredentialStore::FileCredentialStore(
    std::unordered_map<std::string, ChargerCredential> chargers, int unknown_profile,
    int hash_threads, std::chrono::seconds cache_ttl)
    : chargers_(std::move(chargers)), unknown_profile_(unknown_profile), cache_ttl_(cache_ttl) {
  for (int i = 0; i < std::max(1, hash_threads); ++i) {
    threads_.emplace_back([this](const std::stop_token& stop) { work(stop); });
  }
}

FileCredentialStore::~FileCredentialStore() {
  for (auto& t : threads_) t.request_stop();
  cv_.notify_all();
  threads_.clear();
}

Result<std::unordered_map<std::string, ChargerCredential>> FileCredentialStore::read(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kInvalidArgument, "cannot read credentials file " + path);
  std::unordered_map<std::string, ChargerCredential> chargers;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const auto fields = split(line, ',');
    int profile = -1;
    if (fields.size() == 3) {
      std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), profile);
    }
    if (fields.size() != 3 || fields[0].empty() || profile < 0 || profile > 3 ||
        ((profile == 1 || profile == 2) && !fields[2].starts_with("pbkdf2-sha256$"))) {
      return make_error(ErrorCode::kInvalidArgument,
                        path + ":" + std::to_string(number) +
                            ": expected 'charger_id,security_profile(0-3),password_hash' "
                            "(profiles 1 and 2 need a pbkdf2-sha256 hash)");
    }
    chargers[std::string(fields[0])] = ChargerCredential{profile, std::string(fields[2])};
  }
  return chargers;
}

std::optional<int> FileCredentialStore::required_profile(const std::string& charger_id) const {
  auto it = chargers_.find(charger_id);
  if (it != chargers_.end()) return it->second.security_profile;
  if (unknown_profile_ >= 0) return unknown_profile_;
  return std::nullopt;
}

void FileCredentialStore::check_password(const std::string& charger_id, const std::string& password,
                                         std::move_only_function<void(CredentialVerdict)> done) {
  auto it = chargers_.find(charger_id);
  if (it == chargers_.end()) {
    // An unknown charger admitted by policy has no password to check.
    return done(unknown_profile_ >= 0 ? CredentialVerdict::kAccepted
                                      : CredentialVerdict::kUnknownCharger);
  }
  if (it->second.security_profile != 1 && it->second.security_profile != 2) {
    return done(CredentialVerdict::kWrongSecurityProfile);
  }
  std::string key = sha256(charger_id + '\0' + password);
  std::optional<CredentialVerdict> cached;
  {
    std::lock_guard lock(mutex_);
    auto hit = cache_.find(key);
    if (hit != cache_.end() && hit->second.expires > std::chrono::steady_clock::now()) {
      cached = hit->second.verdict;
    }
  }
  if (cached) return done(*cached);
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{charger_id, password, std::move(key), std::move(done)});
  }
  cv_.notify_one();
}

void FileCredentialStore::work(const std::stop_token& stop) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      if (!cv_.wait(lock, stop, [this] { return !jobs_.empty(); })) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const bool ok = verify_password(job.password, chargers_.at(job.charger_id).password_hash);
    const CredentialVerdict verdict =
        ok ? CredentialVerdict::kAccepted : CredentialVerdict::kWrongPassword;
    {
      std::lock_guard lock(mutex_);
      if (cache_.size() > 200000) cache_.clear();  // bounded: a flood of wrong passwords
      cache_[job.cache_key] = Cached{verdict, std::chrono::steady_clock::now() + cache_ttl_};
    }
    job.done(verdict);
  }
}

}  // namespace switchyard::gateway
