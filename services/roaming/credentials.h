// OCPI 2.2.1 registration, both ways: partners call our versions, version details and
// credentials modules (register with token A, update, unregister), and the operator invites,
// connects to (we initiate with their token A), updates and unregisters partners.
//
// Tokens: the token a partner calls us with is stored only as its SHA-256 (token A while
// invited, then C, or B when we initiated); the token we call them with is stored as is.
// Token A opens only versions, version details and POST credentials; after a successful POST it
// is dead. An update rotates both tokens; an unregister forgets both.
//
// Order of effects: nothing is stored until every call to the partner a step needs has
// succeeded, so a failure leaves the partner as it was (an invite stays valid and the eMSP may
// retry; a registered partner keeps its tokens) with the failure in last_error. While we
// connect, the token B we send them is live (they read our versions with it) under a partner in
// state INVITED (initiated_by_us); a failed connect forgets that partner. While we update, the
// new token B' is accepted next to the old one until their answer decides which stays.
//
// Thread-safe: operations on one partner are serialised (the HTTP server's and gRPC pool's
// threads call in); calls to different partners run in parallel. One party (country code +
// party id) belongs to one registered partner at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "common/runtime/http/server.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_module.h"
#include "roaming/partners.h"
#include "roaming/settings.h"

namespace switchyard::roaming {

class RoamingMetrics;

struct Invite {
  Partner partner;
  std::string token_a;       // hand over out of band; never stored in clear
  std::string versions_url;  // ours
};

class Registration {
 public:
  // `settings` as checked_ocpi_settings() returns them. The store, client, clock and metrics
  // (optional) outlive this.
  Registration(OcpiSettings settings, PartnerStore& store, OcpiClient& client, const Clock& clock,
               RoamingMetrics* metrics);

  // --- partners call us -------------------------------------------------------------------

  // A request whose path is under our base URL's path: GET <base>/versions, GET <base>/2.2.1,
  // GET/POST/PUT/DELETE <base>/2.2.1/credentials, and the added modules' paths. Always the OCPI
  // envelope, with X-Request-ID and X-Correlation-ID.
  http::Response handle(const http::Request& request);
  // The OCPI module a path under the base path names, for metrics: "versions", "credentials",
  // an added module's identifier or "unknown".
  std::string_view module_of(std::string_view path) const;
  // Our base URL's path ("/ocpi"; "" for a root URL).
  const std::string& base_path() const { return base_path_; }
  // Our versions endpoint: <base>/versions.
  std::string versions_url() const;
  // Serves `module` to registered partners under <base>/2.2.1/<identifier> and lists it in our
  // version details. Before requests arrive; the module outlives this.
  void add_module(OcpiModule& module);
  // The public URL of one of our 2.2.1 modules: <base>/2.2.1/<identifier>.
  std::string module_url(std::string_view identifier) const;

  // --- the operator -------------------------------------------------------------------------

  // A new partner in state INVITED with a fresh token A. kInvalidArgument: name empty or over
  // 100 characters.
  Result<Invite> create_invite(const std::string& name);
  // We register with a partner that gave us its versions URL and token A. kInvalidArgument (bad
  // URL or token), kUnavailable (their API unreachable), kFailedPrecondition (no 2.2.1, no
  // credentials endpoint, their OCPI error), kAlreadyExists (their party is another registered
  // partner's). `name` empty: their first role's business name.
  Result<Partner> connect(const std::string& versions_url, const std::string& token_a,
                          const std::string& name);
  // Re-reads their versions and endpoints and rotates both tokens (PUT credentials).
  // kNotFound, kFailedPrecondition (not registered, their error), kUnavailable.
  Result<Partner> update(const std::string& id);
  // DELETE at their credentials endpoint (best effort: a failure lands in last_error), then
  // both tokens are forgotten: UNREGISTERED. kNotFound; kFailedPrecondition when not registered.
  Result<Partner> unregister(const std::string& id);
  Result<std::vector<Partner>> list();
  Result<Partner> get(const std::string& id);

  // Sets switchyard_roaming_partners from the store (after start-up; changes update it too).
  void publish_counts();
  // Told each partner that has just become REGISTERED (either direction), after it is stored.
  // Before requests arrive.
  void on_registered(std::function<void(const Partner&)> callback) {
    on_registered_ = std::move(callback);
  }

 private:
  struct Caller {
    Partner partner;
    std::string token;  // as they sent it
  };
  // What discovering a partner's 2.2.1 endpoints gave: the endpoints, or the OCPI status and
  // error that says why not.
  struct Discovery {
    std::vector<PartnerEndpoint> endpoints;
    std::string credentials_url;
  };
  struct DiscoveryError {
    OcpiStatus status;
    Error error;
  };

  Result<std::optional<Caller>> identify(const http::Request& request);
  http::Response register_partner(const Caller& caller, const http::Request& request);
  http::Response update_from_partner(const Caller& caller, const http::Request& request);
  http::Response unregister_by_partner(const Caller& caller);
  // The common part of a partner's POST (`first`) and PUT: their credentials checked (400,
  // 2001), no party collision (2000), their endpoints discovered with their token (3001-3003),
  // a new token issued and the partner stored as registered; answered with our credentials.
  http::Response adopt_credentials(Partner partner, const http::Request& request, bool first);
  http::Response reply(int http_status, OcpiStatus status, std::string_view message,
                       std::string_view data_json = {}) const;
  http::Response internal_error(const Error& error) const;

  std::expected<Discovery, DiscoveryError> discover(const std::string& versions_url,
                                                    const std::string& token);
  Credentials our_credentials(std::string token) const;
  // Message naming the other registered partner holding one of `roles`' parties; nullopt when
  // none does. Call with commit_mutex_ held.
  Result<std::optional<std::string>> party_conflict(const std::vector<PartnerRole>& roles,
                                                    const std::string& self);
  // Stores `partner` with `message` as its last error (the step that failed).
  void record_failure(Partner partner, const std::string& message);
  std::shared_ptr<std::mutex> partner_lock(const std::string& id);
  Result<Partner> locked_partner(const std::string& id);

  OcpiSettings settings_;
  std::function<void(const Partner&)> on_registered_;
  std::string base_path_;
  PartnerStore& store_;
  OcpiClient& client_;
  const Clock& clock_;
  RoamingMetrics* metrics_;
  std::vector<OcpiModule*> modules_;

  std::mutex commit_mutex_;  // party check + write, so two partners cannot take one party
  std::mutex locks_mutex_;
  std::map<std::string, std::shared_ptr<std::mutex>> partner_locks_;
  std::mutex pending_mutex_;
  std::map<std::string, std::string> pending_tokens_;  // SHA-256 of a token B' → partner id
};

}  // namespace switchyard::roaming
