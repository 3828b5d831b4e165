// Roaming partners (OCPI parties we exchange data with) and where they are kept: the model, the
// PartnerStore port and its implementation on the system of record (PostgreSQL, or SQLite in
// standalone), in portable SQL.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"
#include "common/runtime/sql/database.h"

namespace switchyard::roaming {

using Time = std::chrono::system_clock::time_point;

enum class PartnerState : int {
  kInvited = 1,       // we handed out token A; they have not registered yet
  kRegistered = 2,    // handshake done: both tokens in use
  kUnregistered = 3,  // either side unregistered; both tokens forgotten
};
std::string_view to_string(PartnerState state);  // "invited", "registered", "unregistered"
std::optional<PartnerState> partner_state(std::string_view text);

// One of the partner's OCPI roles (CPO, EMSP, HUB, ...).
struct PartnerRole {
  std::string role;
  std::string country_code;  // ISO 3166-1 alpha-2
  std::string party_id;      // up to 3 characters
  std::string business_name;
};

// A module endpoint of the partner's version details.
struct PartnerEndpoint {
  std::string identifier;  // ModuleID: "credentials", "locations", ...
  std::string role;        // "SENDER" or "RECEIVER"
  std::string url;
};

struct Partner {
  std::string id;  // "ptr-" + 12 hex digits
  std::string name;
  PartnerState state = PartnerState::kInvited;
  bool initiated_by_us = false;
  // SHA-256 hex of the token they call us with (token A while invited, then C or B'); empty when
  // none. The token itself is never stored.
  std::string our_token_sha256;
  // The token we call them with (B, or C when we initiated), as is: we must send it.
  std::string their_token;
  std::string versions_url;  // theirs
  std::string version;       // "2.2.1" once registered
  std::vector<PartnerEndpoint> endpoints;
  std::vector<PartnerRole> roles;
  Time created_at{};
  Time updated_at{};
  std::string last_error;  // the last failed step, empty when none
};

// "ptr-" + 12 random hex digits.
std::string new_partner_id();

// The partner's credentials endpoint (identifier "credentials", RECEIVER preferred); empty when
// its version details had none.
std::string credentials_url(const Partner& partner);

// Where partners are kept. Implementations are thread-safe.
class PartnerStore {
 public:
  virtual ~PartnerStore() = default;
  // Every partner, oldest first.
  virtual Result<std::vector<Partner>> load_all() = 0;
  virtual Result<std::optional<Partner>> get(const std::string& id) = 0;
  // The partner whose our_token_sha256 is `token_sha256` (not empty).
  virtual Result<std::optional<Partner>> find_by_token(const std::string& token_sha256) = 0;
  // Inserts or replaces the partner with partner.id.
  virtual Result<void> put(const Partner& partner) = 0;
  // Forgets the partner; false when there was none.
  virtual Result<bool> remove(const std::string& id) = 0;
};

class SqlPartnerStore final : public PartnerStore {
 public:
  explicit SqlPartnerStore(sql::Database& db) : db_(db) {}
  Result<std::vector<Partner>> load_all() override;
  Result<std::optional<Partner>> get(const std::string& id) override;
  Result<std::optional<Partner>> find_by_token(const std::string& token_sha256) override;
  Result<void> put(const Partner& partner) override;
  Result<bool> remove(const std::string& id) override;

 private:
  sql::Database& db_;
};

}  // namespace switchyard::roaming
