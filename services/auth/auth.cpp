// Authorization, boot and admission decisions; token import; local list synchronization.
#include "auth/auth.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <charconv>
#include <sstream>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/log.h"
#include "common/runtime/core/password.h"
#include "common/runtime/core/text.h"

namespace switchyard::auth {
namespace {

bool valid_status(std::string_view s) {
  return s == "Accepted" || s == "Blocked" || s == "Expired" || s == "Invalid";
}

}  // namespace

AuthService::AuthService(AuthConfig config, AuthStore& store, const Clock& clock,
                         prometheus::Registry* metrics)
    : config_(std::move(config)), store_(store), clock_(clock) {
  if (metrics != nullptr) {
    decisions_ = &prometheus::BuildCounter()
                      .Name("switchyard_auth_decisions_total")
                      .Help("Authorization, boot and admission decisions by kind and result")
                      .Register(*metrics);
  }
}

Result<SignedCertificate> AuthService::sign_certificate(
    const std::string& charger_id, std::string_view csr, const std::string& certificate_type,
    const std::optional<CertificateHash>& root) {
  const auto count = [this](const char* result) {
    if (decisions_) decisions_->Add({{"kind", "sign_certificate"}, {"result", result}}).Increment();
  };
  const bool v2g = certificate_type == "V2GCertificate";
  if (!certificate_type.empty() && certificate_type != "ChargingStationCertificate" && !v2g) {
    count("refused");
    log::warn("certificate signing refused", {{"charger_id", charger_id},
                                              {"certificate_type", certificate_type},
                                              {"reason", "no CA for this type"}});
    return make_error(ErrorCode::kInvalidArgument,
                      "certificate type " + certificate_type +
                          " is not ChargingStationCertificate or V2GCertificate");
  }
  const CertificateAuthority* authority =
      v2g ? v2g_certificate_authority_.get() : certificate_authority_.get();
  if (authority == nullptr) {
    count("no_ca");
    const char* flags = v2g ? "--v2g-ca-certificate, --v2g-ca-key" : "--ca-certificate, --ca-key";
    log::warn(std::string("certificate signing refused: no CA is configured (") + flags + ")",
              {{"charger_id", charger_id},
               {"certificate_type", v2g ? "V2GCertificate" : "ChargingStationCertificate"}});
    return make_error(ErrorCode::kFailedPrecondition,
                      v2g ? "no certificate authority is configured to sign V2GCertificate "
                            "(ISO 15118 SECC) CSRs"
                          : "no certificate authority is configured to sign charger certificates");
  }
  // Only for chargers in the registry: the gateway that asks has admitted this one.
  auto registered = store_.charger(charger_id);
  if (!registered) return std::unexpected(registered.error());
  if (!*registered) {
    count("refused");
    log::warn("certificate signing refused",
              {{"charger_id", charger_id}, {"reason", "not a registered charger"}});
    return make_error(ErrorCode::kFailedPrecondition,
                      "charger " + charger_id + " is not registered");
  }
  if (root) {
    if (auto under = authority->check_root(*root); !under) {
      count("refused");
      log::warn("certificate signing refused",
                {{"charger_id", charger_id}, {"reason", under.error().message}});
      return std::unexpected(under.error());
    }
  }
  auto signed_certificate = authority->sign(charger_id, csr, clock_.now());
  if (!signed_certificate) {
    count(signed_certificate.error().code == ErrorCode::kInvalidArgument ? "refused" : "error");
    log::warn("certificate signing refused",
              {{"charger_id", charger_id}, {"reason", signed_certificate.error().message}});
    return signed_certificate;
  }
  count("signed");
  log::info("charger certificate signed",
            {{"charger_id", charger_id},
             {"certificate_type", v2g ? "V2GCertificate" : "ChargingStationCertificate"},
             {"serial", signed_certificate->serial},
             {"not_after", format_rfc3339(signed_certificate->not_after)}});
  return signed_certificate;
}

Result<TokenDecision> AuthService::authorize(const std::string& id_token,
                                             const std::string& charger_id) {
  auto token = store_.token(id_token);
  if (!token) return std::unexpected(token.error());
  TokenDecision d;
  bool roaming = false;
  if (!*token && roaming_) {
    auto theirs = roaming_(id_token, charger_id);
    if (!theirs) {
      log::warn("roaming authorization failed; the token stays unknown",
                {{"charger_id", charger_id},
                 {"token", log::redact(id_token)},
                 {"error", theirs.error().message}});
    } else if (*theirs) {
      d = std::move(**theirs);
      roaming = true;
    }
  }
  if (roaming) {
    // decided by the token's eMSP
  } else if (!*token) {
    d.status = "Unknown";
  } else {
    const TokenRecord& t = **token;
    d.status = t.status;
    d.group_id = t.group_id;
    d.expires_at = t.expires_at;
    if (t.status == "Accepted" && t.expires_at && *t.expires_at <= clock_.now())
      d.status = "Expired";
    d.refuse_concurrent = t.refuse_concurrent;
    if (!t.group_id.empty()) {
      auto group = store_.group(t.group_id);
      if (!group) return std::unexpected(group.error());
      if (*group && (*group)->refuse_concurrent) d.refuse_concurrent = true;
    }
  }
  if (decisions_) {
    decisions_->Add({{"kind", roaming ? "authorize_roaming" : "authorize"}, {"result", d.status}})
        .Increment();
  }
  log::info("authorize", {{"charger_id", charger_id},
                          {"token", log::redact(id_token)},
                          {"status", d.status},
                          {"roaming", roaming}});
  return d;
}

Result<BootDecision> AuthService::boot(const std::string& charger_id) {
  auto charger = store_.charger(charger_id);
  if (!charger) return std::unexpected(charger.error());
  BootDecision d{"Rejected", config_.default_heartbeat_interval_s};
  if (*charger) {
    const std::string policy =
        (*charger)->boot_policy.empty() ? config_.default_boot_policy : (*charger)->boot_policy;
    d.status = policy == "Accept" ? "Accepted" : policy == "Pending" ? "Pending" : "Rejected";
    if ((*charger)->heartbeat_interval_s > 0) d.interval_s = (*charger)->heartbeat_interval_s;
  } else if (config_.accept_unknown_chargers) {
    d.status = config_.default_boot_policy == "Accept"    ? "Accepted"
               : config_.default_boot_policy == "Pending" ? "Pending"
                                                          : "Rejected";
  }
  if (decisions_) decisions_->Add({{"kind", "boot"}, {"result", d.status}}).Increment();
  return d;
}

bool AuthService::password_matches(const std::string& charger_id, const std::string& hash,
                                   const std::string& password) {
  const std::string key = sha256(charger_id + '\0' + password);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    auto it = verdicts_.find(key);
    if (it != verdicts_.end() && it->second.expires > now && it->second.hash == hash)
      return it->second.ok;
  }
  const bool ok = verify_password(password, hash);
  std::lock_guard lock(cache_mutex_);
  if (verdicts_.size() > 200000) verdicts_.clear();  // bounded under a flood of wrong passwords
  verdicts_[key] = Cached{ok, hash, now + config_.verdict_cache_ttl};
  return ok;
}

Result<AdmissionResult> AuthService::admit(const std::string& charger_id, int offered_profile,
                                           const std::string& password) {
  auto charger = store_.charger(charger_id);
  if (!charger) return std::unexpected(charger.error());
  AdmissionResult result;
  if (!*charger) {
    if (!config_.accept_unknown_chargers) {
      result.verdict = Admission::kUnknownCharger;
    } else {
      // Accept and register: the profile and password of this first connection become the
      // charger's, so later connections must present the same.
      ChargerRecord fresh;
      fresh.charger_id = charger_id;
      fresh.security_profile = offered_profile;
      if (!password.empty())
        fresh.password_hash = hash_password(password, config_.password_iterations);
      fresh.auto_registered = true;
      fresh.registered_at = clock_.now();
      auto inserted = store_.insert_charger(fresh);
      if (!inserted) return std::unexpected(inserted.error());
      if (!*inserted) return admit(charger_id, offered_profile, password);  // registered meanwhile
      log::warn("unknown charger accepted and registered",
                {{"charger_id", charger_id}, {"security_profile", offered_profile}});
      result = {Admission::kAccepted, offered_profile};
    }
  } else {
    const ChargerRecord& c = **charger;
    result.required_profile = c.security_profile;
    if (offered_profile != c.security_profile) {
      result.verdict = Admission::kWrongSecurityProfile;
    } else if ((c.security_profile == 1 || c.security_profile == 2) &&
               (c.password_hash.empty() ||
                !password_matches(charger_id, c.password_hash, password))) {
      result.verdict = Admission::kWrongPassword;
    } else {
      result.verdict = Admission::kAccepted;
    }
  }
  static constexpr const char* kNames[] = {"accepted", "wrong_password", "unknown_charger",
                                           "wrong_security_profile"};
  if (decisions_)
    decisions_->Add({{"kind", "admit"}, {"result", kNames[static_cast<int>(result.verdict)]}})
        .Increment();
  if (result.verdict != Admission::kAccepted) {
    log::info("connection refused",
              {{"charger_id", charger_id}, {"verdict", kNames[static_cast<int>(result.verdict)]}});
  }
  return result;
}

Result<TokenRecord> AuthService::put_token(TokenRecord token) {
  if (token.id_token.empty() || token.id_token.size() > 255) {
    return make_error(ErrorCode::kInvalidArgument, "id_token must have 1 to 255 characters");
  }
  if (!valid_status(token.status)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "status must be Accepted, Blocked, Expired or Invalid");
  }
  if (token.type.empty()) token.type = "Central";
  token.updated_at = clock_.now();
  if (auto r = store_.put_token(token); !r) return std::unexpected(r.error());
  return token;
}

Result<TokenRecord> AuthService::block_token(const std::string& id_token) {
  auto token = store_.token(id_token);
  if (!token) return std::unexpected(token.error());
  if (!*token) return make_error(ErrorCode::kNotFound, "no token " + id_token);
  TokenRecord t = **token;
  t.status = "Blocked";
  return put_token(std::move(t));
}

ImportResult AuthService::import_tokens(std::string_view csv) {
  ImportResult result;
  int number = 0;
  for (std::string_view line : split(csv, '\n')) {
    ++number;
    line = trim(line);
    if (line.empty() || line.front() == '#' || (number == 1 && line.starts_with("id_token")))
      continue;
    const auto f = split(line, ',');
    const std::string where = "line " + std::to_string(number) + ": ";
    if (f.size() < 3 || f.size() > 6) {
      result.errors.push_back(
          where + "expected id_token,type,status[,expires_at,group_id,refuse_concurrent]");
      continue;
    }
    TokenRecord t;
    t.id_token = std::string(trim(f[0]));
    t.type = std::string(trim(f[1]));
    t.status = std::string(trim(f[2]));
    if (f.size() > 3 && !trim(f[3]).empty()) {
      t.expires_at = parse_rfc3339(trim(f[3]));
      if (!t.expires_at) {
        result.errors.push_back(
            where + "expires_at must be RFC 3339 with a zone, e.g. 2027-01-01T00:00:00Z");
        continue;
      }
    }
    if (f.size() > 4) t.group_id = std::string(trim(f[4]));
    if (f.size() > 5) t.refuse_concurrent = trim(f[5]) == "true" || trim(f[5]) == "1";
    auto r = put_token(std::move(t));
    if (!r) {
      result.errors.push_back(where + r.error().message);
      continue;
    }
    ++result.imported;
  }
  return result;
}

Result<ChargerRecord> AuthService::put_charger(ChargerRecord charger, const std::string& password) {
  if (charger.charger_id.empty() || charger.charger_id.size() > 48) {
    return make_error(ErrorCode::kInvalidArgument, "charger_id must have 1 to 48 characters");
  }
  if (charger.security_profile < 0 || charger.security_profile > 3) {
    return make_error(ErrorCode::kInvalidArgument, "security_profile must be 0, 1, 2 or 3");
  }
  auto existing = store_.charger(charger.charger_id);
  if (!existing) return std::unexpected(existing.error());
  if (!password.empty()) {
    if (password.size() < 16 || password.size() > 40) {
      return make_error(ErrorCode::kInvalidArgument,
                        "password must have 16 to 40 characters (OCPP security profiles)");
    }
    charger.password_hash = hash_password(password, config_.password_iterations);
  } else if (*existing) {
    charger.password_hash = (*existing)->password_hash;  // unchanged
  }
  if ((charger.security_profile == 1 || charger.security_profile == 2) &&
      charger.password_hash.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "security profiles 1 and 2 need a password");
  }
  charger.registered_at = *existing ? (*existing)->registered_at : clock_.now();
  if (auto r = store_.put_charger(charger); !r) return std::unexpected(r.error());
  return charger;
}

Result<int> AuthService::put_local_list(const std::string& charger_id,
                                        const std::vector<LocalListEntry>& entries) {
  for (const auto& e : entries) {
    if (e.id_token.empty())
      return make_error(ErrorCode::kInvalidArgument, "every entry needs an id_token");
    if (!valid_status(e.status)) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "entry " + e.id_token + ": status must be Accepted, Blocked, Expired or Invalid");
    }
  }
  return store_.put_local_list(charger_id, entries);
}

Result<AuthService::SyncResult> AuthService::sync_local_list(const std::string& charger_id,
                                                             bool full,
                                                             const LocalListSender& send) {
  auto list = store_.local_list(charger_id);
  if (!list) return std::unexpected(list.error());
  if (list->version == 0)
    return make_error(ErrorCode::kNotFound, "no local list for " + charger_id);
  LocalListUpdate update;
  update.charger_id = charger_id;
  update.version = list->version;
  update.full = full || list->charger_version == 0;
  if (update.full) {
    update.entries = list->entries;
  } else {
    // Differential: what changed since the version the charger confirmed.
    for (const auto& e : list->entries) {
      const auto it =
          std::find_if(list->charger_entries.begin(), list->charger_entries.end(),
                       [&](const LocalListEntry& c) { return c.id_token == e.id_token; });
      if (it == list->charger_entries.end() || !(*it == e)) update.entries.push_back(e);
    }
    for (const auto& c : list->charger_entries) {
      const bool kept =
          std::any_of(list->entries.begin(), list->entries.end(),
                      [&](const LocalListEntry& e) { return e.id_token == c.id_token; });
      if (!kept) update.removed.push_back(c.id_token);
    }
  }
  auto status = send(update);
  if (!status) return std::unexpected(status.error());
  if (*status == "Accepted") {
    if (auto r = store_.confirm_local_list(charger_id, list->version, list->entries); !r) {
      return std::unexpected(r.error());
    }
  }
  return SyncResult{*status, list->version, update.full,
                    static_cast<int>(update.entries.size() + update.removed.size())};
}

}  // namespace switchyard::auth
