// The file credential store: charger profiles and password hashes from a CSV file.
#include "gateway/credentials.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/runtime/core/password.h"
#include "common/runtime/core/text.h"

namespace switchyard::gateway {

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

void FileCredentialStore::admit(const std::string& charger_id, int offered_profile,
                                const std::string& password,
                                std::move_only_function<void(Admission)> done) {
  const auto required = required_profile(charger_id);
  if (!required) return done(Admission{CredentialVerdict::kUnknownCharger, -1});
  if (offered_profile != *required)
    return done(Admission{CredentialVerdict::kWrongSecurityProfile, *required});
  auto it = chargers_.find(charger_id);
  // No password to check: profile 0 and 3, or an unknown charger admitted by policy.
  if ((*required != 1 && *required != 2) || it == chargers_.end()) {
    return done(Admission{CredentialVerdict::kAccepted, *required});
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
  if (cached) return done(Admission{*cached, *required});
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{charger_id, password, std::move(key), *required, std::move(done)});
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
    job.done(Admission{verdict, job.required_profile});
  }
}

}  // namespace switchyard::gateway
