// OCPI 2.2.1 tokens, CPO side: the Token objects eMSPs push to us (tokens RECEIVER), stored per
// partner in portable SQL, and the authorization of a driver's token at one of our chargers from
// them: valid tokens with whitelist ALWAYS are accepted locally; ALLOWED, ALLOWED_OFFLINE and
// NEVER ask the owner in real time (POST tokens/{uid}/authorize at its tokens SENDER endpoint),
// and when the owner cannot be reached ALLOWED / ALLOWED_OFFLINE are accepted, NEVER is not.
// Boost.JSON stays in the .cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_module.h"
#include "roaming/partners.h"

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

struct OcpiToken {
  std::string country_code;
  std::string party_id;
  std::string uid;
  std::string type;  // AD_HOC_USER, APP_USER, OTHER, RFID
  std::string contract_id;
  std::string issuer;
  std::string group_id;
  bool valid = false;
  std::string whitelist;  // ALWAYS, ALLOWED, ALLOWED_OFFLINE, NEVER
  std::int64_t last_updated_ms = 0;
  std::string json;  // the object as stored (every field the eMSP sent, patches applied)
};

// A Token object with every required field checked; kInvalidArgument "<field>: <problem>".
Result<OcpiToken> token_from_json(std::string_view json);
// `patch` (a JSON object with last_updated) applied to `token`; kInvalidArgument as above.
Result<OcpiToken> patched_token(const OcpiToken& token, std::string_view patch);

class TokenStore {
 public:
  explicit TokenStore(sql::Database& db) : db_(db) {}
  // Inserts or replaces; `partner_id` is the eMSP that pushed it.
  Result<void> put(const std::string& partner_id, const OcpiToken& token);
  Result<std::optional<OcpiToken>> get(const std::string& country_code, const std::string& party_id,
                                       const std::string& uid, const std::string& type);
  // A token by uid over every eMSP (how a charger presents it: no party, often no type), with
  // the partner that owns it; the most recently updated when several match, RFID first.
  struct Owned {
    OcpiToken token;
    std::string partner_id;
  };
  Result<std::optional<Owned>> find(const std::string& uid);

 private:
  sql::Database& db_;
};

// The tokens module, RECEIVER: GET / PUT / PATCH <base>/2.2.1/tokens/{country_code}/{party_id}/
// {uid}[?type=RFID]. A partner may only write tokens of its own parties (403, 2000 otherwise).
class TokensReceiver final : public OcpiModule {
 public:
  TokensReceiver(TokenStore& store, const Clock& clock) : store_(store), clock_(clock) {}
  std::string_view identifier() const override { return "tokens"; }
  std::string_view role() const override { return "RECEIVER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;

 private:
  TokenStore& store_;
  const Clock& clock_;
};

// What roaming says about a token presented at a charger, in OCPP terms.
struct RoamingTokenDecision {
  bool known = false;
  std::string status;  // Accepted, Blocked, Expired, Invalid, Unknown
  std::string partner_id;
  std::string contract_id;
  std::string group_id;
  std::string authorization_reference;
  bool real_time = false;  // the owner was asked
};

class TokenAuthorizer {
 public:
  TokenAuthorizer(TokenStore& store, PartnerStore& partners, OcpiClient& client)
      : store_(store), partners_(partners), client_(client) {}
  Result<RoamingTokenDecision> authorize(const std::string& uid);
  // Told every decision (before start: not synchronised); sessions record how drivers got in.
  void on_decision(std::function<void(const std::string& uid, const RoamingTokenDecision&)> f) {
    on_decision_ = std::move(f);
  }

 private:
  Result<RoamingTokenDecision> decide(const std::string& uid);

  std::function<void(const std::string&, const RoamingTokenDecision&)> on_decision_;
  TokenStore& store_;
  PartnerStore& partners_;
  OcpiClient& client_;
};

}  // namespace switchyard::roaming
