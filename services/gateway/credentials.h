// Charger credentials from a file, until the auth service owns them: which security profile each
// charger uses and the salted slow hash of its Basic-auth password. Passwords are never kept or
// logged in clear; verdicts are cached by a hash of the presented password so a reconnect storm
// does not hash every password again.
//
// File format, one charger per line ('#' starts a comment):
//   charger_id,security_profile,password_hash
// password_hash is empty for profile 0 and 3, else "pbkdf2-sha256$<iterations>$<salt>$<hash>"
// (base64), as `switchyard-gateway --hash-password` prints it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/runtime/core/password.h"
#include "gateway/ports.h"

namespace switchyard::gateway {

struct ChargerCredential {
  int security_profile = 1;
  std::string password_hash;
};

class FileCredentialStore final : public CredentialStore {
 public:
  // `unknown_profile`: profile required of chargers not in the file, -1 = refuse them.
  FileCredentialStore(std::unordered_map<std::string, ChargerCredential> chargers,
                      int unknown_profile, int hash_threads = 2,
                      std::chrono::seconds cache_ttl = std::chrono::minutes(10));
  ~FileCredentialStore() override;

  static Result<std::unordered_map<std::string, ChargerCredential>> read(const std::string& path);

  void admit(const std::string& charger_id, int offered_profile, const std::string& password,
             std::move_only_function<void(Admission)> done) override;

  // The security profile the charger must use, or nullopt for a refused unknown charger.
  std::optional<int> required_profile(const std::string& charger_id) const;

 private:
  struct Job {
    std::string charger_id;
    std::string password;
    std::string cache_key;
    int required_profile;
    std::move_only_function<void(Admission)> done;
  };
  void work(const std::stop_token& stop);

  std::unordered_map<std::string, ChargerCredential> chargers_;
  int unknown_profile_;
  std::chrono::seconds cache_ttl_;

  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::deque<Job> jobs_;
  struct Cached {
    CredentialVerdict verdict;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, Cached> cache_;
  std::vector<std::jthread> threads_;
};

}  // namespace switchyard::gateway
