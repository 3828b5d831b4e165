// Salted slow password hashes for charger credentials (HTTP Basic, security profiles 1-2).
// Charger passwords are long random machine secrets, so PBKDF2-SHA256 at 20,000 iterations keeps
// them safe at rest while a reconnect storm stays affordable (verdicts are cached by callers).
#pragma once

#include <string>
#include <string_view>

namespace switchyard {

inline constexpr int kDefaultPasswordIterations = 20000;

// "pbkdf2-sha256$<iterations>$<salt>$<hash>" (base64), with a random 16-byte salt.
std::string hash_password(std::string_view password, int iterations = kDefaultPasswordIterations);
// Constant-time check against an encoded hash; false for a malformed hash.
bool verify_password(std::string_view password, std::string_view encoded);
// SHA-256 of `data` as raw bytes (cache keys of verdicts, never stored).
std::string sha256(std::string_view data);

}  // namespace switchyard
