// OCPI registration both ways (see credentials.h).
#include "roaming/credentials.h"

#include <algorithm>
#include <cctype>

#include "common/runtime/core/log.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_types.h"

namespace switchyard::roaming {

namespace {

constexpr std::string_view kUnknownToken = "unknown or missing token";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string party(const PartnerRole& role) {
  return upper(role.country_code) + "/" + upper(role.party_id);
}

std::string parties(const std::vector<PartnerRole>& roles) {
  std::string out;
  for (const auto& r : roles) {
    const std::string p = party(r);
    if (out.find(p) == std::string::npos) out += (out.empty() ? "" : ",") + p;
  }
  return out;
}

Result<void> check_name(const std::string& name, bool required) {
  if (required && name.empty()) return make_error(ErrorCode::kInvalidArgument, "name: required");
  if (name.size() > 100) {
    return make_error(ErrorCode::kInvalidArgument, "name: longer than 100 characters");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return make_error(ErrorCode::kInvalidArgument, "name: control characters");
    }
  }
  return {};
}

Error not_registered(const Partner& p) {
  return Error{ErrorCode::kFailedPrecondition,
               "partner " + p.id + " is " + std::string(to_string(p.state)) + ", not registered"};
}

}  // namespace

Registration::Registration(OcpiSettings settings, PartnerStore& store, OcpiClient& client,
                           const Clock& clock, RoamingMetrics* metrics)
    : settings_(std::move(settings)),
      store_(store),
      client_(client),
      clock_(clock),
      metrics_(metrics) {
  while (!settings_.base_url.empty() && settings_.base_url.back() == '/') {
    settings_.base_url.pop_back();
  }
  if (auto url = http::parse_url(settings_.base_url); url) {
    base_path_ = url->target;
    while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  }
}

std::string Registration::versions_url() const { return settings_.base_url + "/versions"; }

Credentials Registration::our_credentials(std::string token) const {
  return Credentials{
      std::move(token),
      versions_url(),
      {PartnerRole{"CPO", settings_.country_code, settings_.party_id, settings_.business_name}}};
}

// --- helpers ----------------------------------------------------------------------------------

http::Response Registration::reply(int http_status, OcpiStatus status, std::string_view message,
                                   std::string_view data_json) const {
  if (status == OcpiStatus::kSuccess && message.empty()) message = "Success";
  return envelope_response(http_status, status, message, data_json, clock_.now());
}

http::Response Registration::internal_error(const Error& error) const {
  log::error("ocpi request failed", {{"error", error.message}});
  return reply(500, OcpiStatus::kServerError, "internal error");
}

std::shared_ptr<std::mutex> Registration::partner_lock(const std::string& id) {
  std::lock_guard lock(locks_mutex_);
  auto& m = partner_locks_[id];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

Result<Partner> Registration::locked_partner(const std::string& id) {
  auto p = store_.get(id);
  if (!p) return std::unexpected(p.error());
  if (!*p) return make_error(ErrorCode::kNotFound, "partner " + id + " not found");
  return std::move(**p);
}

void Registration::record_failure(Partner partner, const std::string& message) {
  partner.last_error = message;
  partner.updated_at = clock_.now();
  std::lock_guard commit(commit_mutex_);
  if (auto r = store_.put(partner); !r) {
    log::error("roaming partner failure not recorded",
               {{"partner_id", partner.id}, {"error", r.error().message}});
  }
}

void Registration::publish_counts() {
  if (metrics_ == nullptr) return;
  auto all = store_.load_all();
  if (!all) {
    log::warn("roaming partner counts unknown", {{"error", all.error().message}});
    return;
  }
  int counts[3] = {0, 0, 0};
  for (const auto& p : *all) ++counts[static_cast<int>(p.state) - 1];
  metrics_->partners(counts[0], counts[1], counts[2]);
}

Result<std::optional<std::string>> Registration::party_conflict(
    const std::vector<PartnerRole>& roles, const std::string& self) {
  auto all = store_.load_all();
  if (!all) return std::unexpected(all.error());
  for (const auto& other : *all) {
    if (other.id == self || other.state != PartnerState::kRegistered) continue;
    for (const auto& mine : roles) {
      for (const auto& theirs : other.roles) {
        if (party(mine) == party(theirs)) {
          return std::optional<std::string>("party " + party(mine) +
                                            " is already registered as partner " + other.id);
        }
      }
    }
  }
  return std::optional<std::string>();
}

std::expected<Registration::Discovery, Registration::DiscoveryError> Registration::discover(
    const std::string& versions_url, const std::string& token) {
  auto unusable = [](Error e) {
    return std::unexpected(DiscoveryError{OcpiStatus::kClientApiUnusable, std::move(e)});
  };
  auto versions = client_.versions(versions_url, token);
  if (!versions) return unusable(versions.error());
  const VersionInfo* ours = nullptr;
  std::string offered;
  for (const auto& v : *versions) {
    offered += (offered.empty() ? "" : ", ") + v.version;
    if (v.version == kOcpiVersion) ours = &v;
  }
  if (ours == nullptr) {
    return std::unexpected(DiscoveryError{
        OcpiStatus::kUnsupportedVersion,
        Error{ErrorCode::kFailedPrecondition, "no common version: they offer " +
                                                  (offered.empty() ? "none" : offered) +
                                                  ", we speak " + std::string(kOcpiVersion)}});
  }
  auto details = client_.version_details(ours->url, token);
  if (!details) return unusable(details.error());
  Discovery out;
  out.endpoints = std::move(details->endpoints);
  Partner probe;
  probe.endpoints = out.endpoints;
  out.credentials_url = credentials_url(probe);
  if (out.credentials_url.empty()) {
    return std::unexpected(DiscoveryError{
        OcpiStatus::kMissingEndpoints,
        Error{ErrorCode::kFailedPrecondition, "no credentials endpoint in their " +
                                                  std::string(kOcpiVersion) + " version details (" +
                                                  ours->url + ")"}});
  }
  return out;
}

// --- partners call us -------------------------------------------------------------------------

std::string_view Registration::module_of(std::string_view path) const {
  if (path.starts_with(base_path_)) path.remove_prefix(base_path_.size());
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const std::string version_path = "/" + std::string(kOcpiVersion);
  if (path == "/versions" || path == version_path) return "versions";
  if (path == version_path + "/credentials") return "credentials";
  if (path.starts_with(version_path + "/")) {
    path.remove_prefix(version_path.size() + 1);
    path = path.substr(0, path.find('/'));
    for (const OcpiModule* m : modules_) {
      if (m->identifier() == path) return m->identifier();
    }
  }
  return "unknown";
}

void Registration::add_module(OcpiModule& module) { modules_.push_back(&module); }

std::string Registration::module_url(std::string_view identifier) const {
  return settings_.base_url + "/" + std::string(kOcpiVersion) + "/" + std::string(identifier);
}

Result<std::optional<Registration::Caller>> Registration::identify(const http::Request& request) {
  for (std::string& token : authorization_tokens(request.header("authorization"))) {
    const std::string hash = sha256_hex(token);
    std::optional<std::string> pending;
    {
      std::lock_guard lock(pending_mutex_);
      if (auto it = pending_tokens_.find(hash); it != pending_tokens_.end()) pending = it->second;
    }
    Result<std::optional<Partner>> found =
        pending ? store_.get(*pending) : store_.find_by_token(hash);
    if (!found) return std::unexpected(found.error());
    if (*found) {
      if (pending) (*found)->state = PartnerState::kRegistered;  // B' acts as their token
      return std::optional<Caller>(Caller{std::move(**found), std::move(token)});
    }
  }
  return std::optional<Caller>();
}

http::Response Registration::handle(const http::Request& request) {
  http::Response response = [&]() -> http::Response {
    std::string_view path = request.path;
    if (path.starts_with(base_path_)) path.remove_prefix(base_path_.size());
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    auto caller = identify(request);
    if (!caller) return internal_error(caller.error());
    if (!*caller) return reply(401, OcpiStatus::kClientError, kUnknownToken);
    const Caller& who = **caller;
    const bool invited = who.partner.state == PartnerState::kInvited;
    const std::string& method = request.method;
    const std::string version_path = "/" + std::string(kOcpiVersion);
    auto not_allowed = [&] {
      return reply(405, OcpiStatus::kClientError,
                   "method " + method + " not allowed on " + std::string(request.path));
    };
    if (path == "/versions") {
      if (method != "GET") return not_allowed();
      return reply(200, OcpiStatus::kSuccess, "",
                   versions_json({{std::string(kOcpiVersion), settings_.base_url + version_path}}));
    }
    if (path == version_path) {
      if (method != "GET") return not_allowed();
      const std::string url = module_url("credentials");
      VersionDetails details{std::string(kOcpiVersion),
                             {{"credentials", "SENDER", url}, {"credentials", "RECEIVER", url}}};
      for (const OcpiModule* m : modules_) {
        details.endpoints.push_back(
            {std::string(m->identifier()), std::string(m->role()), module_url(m->identifier())});
      }
      return reply(200, OcpiStatus::kSuccess, "", version_details_json(details));
    }
    if (path == version_path + "/credentials") {
      if (method == "GET") {
        if (invited) return reply(401, OcpiStatus::kClientError, kUnknownToken);
        return reply(200, OcpiStatus::kSuccess, "", credentials_json(our_credentials(who.token)));
      }
      if (method == "POST") {
        if (!invited) {
          return reply(405, OcpiStatus::kClientError, "already registered; use PUT");
        }
        if (who.partner.initiated_by_us) {
          return reply(405, OcpiStatus::kClientError,
                       "a registration we started with this party is in progress");
        }
        return register_partner(who, request);
      }
      if (method == "PUT" || method == "DELETE") {
        if (invited) return reply(405, OcpiStatus::kClientError, "not registered; use POST");
        return method == "PUT" ? update_from_partner(who, request) : unregister_by_partner(who);
      }
      return not_allowed();
    }
    // Token A opens nothing else.
    if (invited) return reply(401, OcpiStatus::kClientError, kUnknownToken);
    std::string_view module = path;
    if (module.starts_with(version_path + "/")) module.remove_prefix(version_path.size());
    if (module.starts_with('/')) module.remove_prefix(1);
    const auto slash = module.find('/');
    const std::string_view rest =
        slash == std::string_view::npos ? std::string_view() : module.substr(slash);
    module = module.substr(0, slash);
    if (path.starts_with(version_path + "/")) {
      for (OcpiModule* m : modules_) {
        if (m->identifier() != module) continue;
        // Routed through a hub to another platform's party: not ours to answer.
        const Party to = routing_to(request);
        if (!to.empty() && !same_party(to, Party{settings_.country_code, settings_.party_id})) {
          return reply(404, OcpiStatus::kClientError,
                       "OCPI-to " + to.country_code + "/" + to.party_id +
                           " is not this platform (" + settings_.country_code + "/" +
                           settings_.party_id + ")");
        }
        http::Response answer = m->handle(who.partner, request, rest);
        // The answer travels back the way the request came: the routing headers swapped.
        if (const Party from = routing_from(request); !from.empty()) {
          answer.headers.emplace_back("OCPI-from-country-code", settings_.country_code);
          answer.headers.emplace_back("OCPI-from-party-id", settings_.party_id);
          answer.headers.emplace_back("OCPI-to-country-code", from.country_code);
          answer.headers.emplace_back("OCPI-to-party-id", from.party_id);
        }
        return answer;
      }
    }
    if (module.empty()) module = path.empty() ? std::string_view("/") : path;
    return reply(404, OcpiStatus::kClientError, "unknown module " + std::string(module));
  }();
  set_request_ids(request, response);
  return response;
}

http::Response Registration::register_partner(const Caller& caller, const http::Request& request) {
  auto guard = partner_lock(caller.partner.id);
  std::lock_guard lock(*guard);
  // Another request may have used the invite while this one waited.
  auto current = locked_partner(caller.partner.id);
  if (!current) return internal_error(current.error());
  Partner partner = std::move(*current);
  if (partner.state != PartnerState::kInvited ||
      !constant_time_equal(partner.our_token_sha256, sha256_hex(caller.token))) {
    return reply(401, OcpiStatus::kClientError, kUnknownToken);
  }
  return adopt_credentials(std::move(partner), request, true);
}

http::Response Registration::update_from_partner(const Caller& caller,
                                                 const http::Request& request) {
  auto guard = partner_lock(caller.partner.id);
  std::lock_guard lock(*guard);
  auto current = locked_partner(caller.partner.id);
  if (!current) return internal_error(current.error());
  Partner partner = std::move(*current);
  if (partner.state != PartnerState::kRegistered) {
    return reply(405, OcpiStatus::kClientError, "not registered; use POST");
  }
  return adopt_credentials(std::move(partner), request, false);
}

http::Response Registration::adopt_credentials(Partner partner, const http::Request& request,
                                               bool first) {
  if (!is_json(request.body)) {
    return reply(400, OcpiStatus::kInvalidParameters, "body is not JSON");
  }
  auto theirs = credentials_from_json(request.body);
  if (!theirs) return reply(200, OcpiStatus::kInvalidParameters, theirs.error().message);
  {
    std::lock_guard commit(commit_mutex_);
    auto conflict = party_conflict(theirs->roles, partner.id);
    if (!conflict) return internal_error(conflict.error());
    if (*conflict) return reply(200, OcpiStatus::kClientError, **conflict);
  }
  auto found = discover(theirs->url, theirs->token);
  if (!found) {
    log::warn(first ? "ocpi registration failed" : "ocpi credentials update failed",
              {{"partner_id", partner.id},
               {"status_code", static_cast<int>(found.error().status)},
               {"error", found.error().error.message}});
    record_failure(partner, found.error().error.message);
    return reply(200, found.error().status, found.error().error.message);
  }
  const std::string token_c = generate_token();
  partner.state = PartnerState::kRegistered;
  partner.our_token_sha256 = sha256_hex(token_c);
  partner.their_token = theirs->token;
  partner.versions_url = theirs->url;
  partner.version = std::string(kOcpiVersion);
  partner.endpoints = std::move(found->endpoints);
  partner.roles = theirs->roles;
  partner.updated_at = clock_.now();
  partner.last_error.clear();
  {
    // Parties checked again: another partner may have registered them during discovery.
    std::lock_guard commit(commit_mutex_);
    auto conflict = party_conflict(partner.roles, partner.id);
    if (!conflict) return internal_error(conflict.error());
    if (*conflict) return reply(200, OcpiStatus::kClientError, **conflict);
    if (auto r = store_.put(partner); !r) return internal_error(r.error());
  }
  if (first) publish_counts();
  log::info(first ? "ocpi partner registered" : "ocpi partner updated",
            {{"partner_id", partner.id}, {"party", parties(partner.roles)}, {"by", "partner"}});
  if (first && on_registered_) on_registered_(partner);
  return reply(200, OcpiStatus::kSuccess, "", credentials_json(our_credentials(token_c)));
}

http::Response Registration::unregister_by_partner(const Caller& caller) {
  auto guard = partner_lock(caller.partner.id);
  std::lock_guard lock(*guard);
  auto current = locked_partner(caller.partner.id);
  if (!current) return internal_error(current.error());
  Partner partner = std::move(*current);
  if (partner.state != PartnerState::kRegistered) {
    return reply(405, OcpiStatus::kClientError, "not registered");
  }
  partner.state = PartnerState::kUnregistered;
  partner.our_token_sha256.clear();
  partner.their_token.clear();
  partner.updated_at = clock_.now();
  partner.last_error.clear();
  {
    std::lock_guard commit(commit_mutex_);
    if (auto r = store_.put(partner); !r) return internal_error(r.error());
  }
  publish_counts();
  log::info("ocpi partner unregistered", {{"partner_id", partner.id}, {"by", "partner"}});
  return reply(200, OcpiStatus::kSuccess, "");
}

// --- the operator -----------------------------------------------------------------------------

Result<Invite> Registration::create_invite(const std::string& name) {
  if (auto ok = check_name(name, true); !ok) return std::unexpected(ok.error());
  Invite invite;
  invite.token_a = generate_token();
  invite.versions_url = versions_url();
  Partner& p = invite.partner;
  p.id = new_partner_id();
  p.name = name;
  p.state = PartnerState::kInvited;
  p.our_token_sha256 = sha256_hex(invite.token_a);
  p.created_at = p.updated_at = clock_.now();
  {
    std::lock_guard commit(commit_mutex_);
    if (auto r = store_.put(p); !r) return std::unexpected(r.error());
  }
  publish_counts();
  log::info("ocpi partner invited", {{"partner_id", p.id}, {"name", p.name}});
  return invite;
}

Result<Partner> Registration::connect(const std::string& versions_url, const std::string& token_a,
                                      const std::string& name) {
  if (versions_url.empty())
    return make_error(ErrorCode::kInvalidArgument, "versions_url: required");
  if (auto url = http::parse_url(versions_url); !url || versions_url.size() > 255) {
    return make_error(ErrorCode::kInvalidArgument,
                      "versions_url: '" + versions_url + "' is not an http(s) URL");
  }
  if (token_a.empty()) return make_error(ErrorCode::kInvalidArgument, "token_a: required");
  if (!valid_token(token_a)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "token_a: must be 1 to 64 printable ASCII characters without spaces");
  }
  if (auto ok = check_name(name, false); !ok) return std::unexpected(ok.error());

  auto found = discover(versions_url, token_a);
  if (!found) {
    log::warn("ocpi connect failed",
              {{"versions_url", versions_url}, {"error", found.error().error.message}});
    return std::unexpected(found.error().error);
  }
  // Token B is live before we send it: they read our versions with it while we wait.
  const std::string token_b = generate_token();
  Partner partner;
  partner.id = new_partner_id();
  partner.name = name;
  partner.state = PartnerState::kInvited;
  partner.initiated_by_us = true;
  partner.our_token_sha256 = sha256_hex(token_b);
  partner.versions_url = versions_url;
  partner.endpoints = std::move(found->endpoints);
  partner.created_at = partner.updated_at = clock_.now();
  auto guard = partner_lock(partner.id);
  std::lock_guard lock(*guard);
  {
    std::lock_guard commit(commit_mutex_);
    if (auto r = store_.put(partner); !r) return std::unexpected(r.error());
  }
  auto forget = [&] {
    std::lock_guard commit(commit_mutex_);
    if (auto r = store_.remove(partner.id); !r) {
      log::error("roaming partner not forgotten",
                 {{"partner_id", partner.id}, {"error", r.error().message}});
    }
  };
  auto theirs = client_.post_credentials(found->credentials_url, token_a, our_credentials(token_b));
  if (!theirs) {
    forget();
    log::warn("ocpi connect failed",
              {{"versions_url", versions_url}, {"error", theirs.error().message}});
    return std::unexpected(theirs.error());
  }
  partner.state = PartnerState::kRegistered;
  partner.their_token = theirs->token;
  partner.versions_url = theirs->url;
  partner.version = std::string(kOcpiVersion);
  partner.roles = theirs->roles;
  if (partner.name.empty() && !theirs->roles.empty()) {
    partner.name = theirs->roles.front().business_name;
  }
  partner.updated_at = clock_.now();
  std::optional<std::string> conflict;
  {
    std::lock_guard commit(commit_mutex_);
    auto c = party_conflict(partner.roles, partner.id);
    if (!c) return std::unexpected(c.error());
    conflict = std::move(*c);
    if (!conflict) {
      if (auto r = store_.put(partner); !r) return std::unexpected(r.error());
    }
  }
  if (conflict) {
    // They registered us already: undo it on their side (best effort), then forget them here.
    if (auto r = client_.delete_credentials(found->credentials_url, theirs->token); !r) {
      log::warn("ocpi connect not undone at the partner", {{"error", r.error().message}});
    }
    forget();
    return make_error(ErrorCode::kAlreadyExists, *conflict);
  }
  publish_counts();
  log::info("ocpi partner registered",
            {{"partner_id", partner.id}, {"party", parties(partner.roles)}, {"by", "us"}});
  if (on_registered_) on_registered_(partner);
  return partner;
}

Result<Partner> Registration::update(const std::string& id) {
  auto guard = partner_lock(id);
  std::lock_guard lock(*guard);
  auto current = locked_partner(id);
  if (!current) return std::unexpected(current.error());
  Partner partner = std::move(*current);
  if (partner.state != PartnerState::kRegistered) return std::unexpected(not_registered(partner));
  auto found = discover(partner.versions_url, partner.their_token);
  if (!found) {
    record_failure(partner, found.error().error.message);
    return std::unexpected(found.error().error);
  }
  const std::string token_b = generate_token();
  const std::string hash = sha256_hex(token_b);
  {
    std::lock_guard pending(pending_mutex_);
    pending_tokens_[hash] = id;
  }
  auto theirs = client_.put_credentials(found->credentials_url, partner.their_token,
                                        our_credentials(token_b));
  {
    std::lock_guard pending(pending_mutex_);
    pending_tokens_.erase(hash);
  }
  if (!theirs) {
    record_failure(partner, theirs.error().message);
    return std::unexpected(theirs.error());
  }
  partner.our_token_sha256 = hash;
  partner.their_token = theirs->token;
  partner.versions_url = theirs->url;
  partner.version = std::string(kOcpiVersion);
  partner.endpoints = std::move(found->endpoints);
  partner.updated_at = clock_.now();
  std::lock_guard commit(commit_mutex_);
  auto conflict = party_conflict(theirs->roles, partner.id);
  if (!conflict) return std::unexpected(conflict.error());
  // The new tokens are in use on both sides now; a party clash keeps the roles we had.
  partner.last_error = conflict->value_or("");
  if (!*conflict) partner.roles = theirs->roles;
  if (auto r = store_.put(partner); !r) return std::unexpected(r.error());
  if (*conflict) return make_error(ErrorCode::kAlreadyExists, **conflict);
  log::info("ocpi partner updated",
            {{"partner_id", partner.id}, {"party", parties(partner.roles)}, {"by", "us"}});
  return partner;
}

Result<Partner> Registration::unregister(const std::string& id) {
  auto guard = partner_lock(id);
  std::lock_guard lock(*guard);
  auto current = locked_partner(id);
  if (!current) return std::unexpected(current.error());
  Partner partner = std::move(*current);
  if (partner.state != PartnerState::kRegistered) return std::unexpected(not_registered(partner));
  const std::string url = credentials_url(partner);
  partner.last_error.clear();
  if (url.empty()) {
    partner.last_error = "DELETE credentials: no credentials endpoint known";
  } else if (auto r = client_.delete_credentials(url, partner.their_token); !r) {
    partner.last_error = r.error().message;
  }
  partner.state = PartnerState::kUnregistered;
  partner.our_token_sha256.clear();
  partner.their_token.clear();
  partner.updated_at = clock_.now();
  {
    std::lock_guard commit(commit_mutex_);
    if (auto r = store_.put(partner); !r) return std::unexpected(r.error());
  }
  publish_counts();
  log::info("ocpi partner unregistered",
            {{"partner_id", partner.id}, {"by", "us"}, {"error", partner.last_error}});
  return partner;
}

Result<std::vector<Partner>> Registration::list() { return store_.load_all(); }

Result<Partner> Registration::get(const std::string& id) { return locked_partner(id); }

}  // namespace switchyard::roaming
