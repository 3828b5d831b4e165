// OCPI tokens: codec, store, RECEIVER module and authorization (see tokens.h).
#include "roaming/tokens.h"

#include <array>
#include <boost/json.hpp>
#include <vector>

#include "common/runtime/core/log.h"
#include "common/runtime/sql/database.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 4> kTypes = {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"};
constexpr std::array<std::string_view, 4> kWhitelists = {"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE",
                                                         "NEVER"};

Error invalid(const std::string& field, const std::string& problem) {
  return Error{ErrorCode::kInvalidArgument, field + ": " + problem};
}

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& values, std::string_view v) {
  return std::ranges::find(values, v) != values.end();
}

// The token's fields from a JSON object, every required one checked.
Result<OcpiToken> from_object(const json::object& o) {
  OcpiToken t;
  struct Text {
    const char* name;
    std::string* out;
    std::size_t max;
    bool required;
  };
  const Text texts[] = {{"country_code", &t.country_code, 2, true},
                        {"party_id", &t.party_id, 3, true},
                        {"uid", &t.uid, 36, true},
                        {"type", &t.type, 16, true},
                        {"contract_id", &t.contract_id, 36, true},
                        {"issuer", &t.issuer, 64, true},
                        {"group_id", &t.group_id, 36, false},
                        {"whitelist", &t.whitelist, 16, true}};
  for (const auto& f : texts) {
    const json::value* v = o.if_contains(f.name);
    if (v == nullptr || v->is_null()) {
      if (f.required) return std::unexpected(invalid(f.name, "missing"));
      continue;
    }
    if (!v->is_string()) return std::unexpected(invalid(f.name, "not a string"));
    *f.out = std::string(v->get_string());
    if (f.required && f.out->empty()) return std::unexpected(invalid(f.name, "empty"));
    if (f.out->size() > f.max) {
      return std::unexpected(invalid(f.name, "longer than " + std::to_string(f.max)));
    }
  }
  if (!one_of(kTypes, t.type))
    return std::unexpected(invalid("type", "'" + t.type + "' is no TokenType"));
  if (!one_of(kWhitelists, t.whitelist)) {
    return std::unexpected(invalid("whitelist", "'" + t.whitelist + "' is no WhitelistType"));
  }
  const json::value* valid = o.if_contains("valid");
  if (valid == nullptr || !valid->is_bool()) {
    return std::unexpected(invalid("valid", valid == nullptr ? "missing" : "not a boolean"));
  }
  t.valid = valid->get_bool();
  const json::value* updated = o.if_contains("last_updated");
  if (updated == nullptr || !updated->is_string()) {
    return std::unexpected(
        invalid("last_updated", updated == nullptr ? "missing" : "not a string"));
  }
  std::string when(updated->get_string());
  if (!when.empty() && when.back() != 'Z' && when.find('+') == std::string::npos) when += 'Z';
  auto at = parse_rfc3339(when);
  if (!at) {
    return std::unexpected(invalid(
        "last_updated", "'" + std::string(updated->get_string()) + "' is no RFC 3339 time"));
  }
  t.last_updated_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count();
  t.json = json::serialize(o);
  return t;
}

Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "body: not a JSON object");
  }
  return std::move(v.as_object());
}

const char* kColumns =
    "country_code, party_id, uid, token_type, partner_id, contract_id, issuer, group_id, valid, "
    "whitelist, last_updated_ms, body";

Result<OcpiToken> row(const sql::Rows& r, int i) {
  OcpiToken t;
  t.country_code = r.text(i, 0);
  t.party_id = r.text(i, 1);
  t.uid = r.text(i, 2);
  t.type = r.text(i, 3);
  t.contract_id = r.text(i, 5);
  t.issuer = r.text(i, 6);
  t.group_id = r.text(i, 7);
  t.valid = r.int64(i, 8) != 0;
  t.whitelist = r.text(i, 9);
  t.last_updated_ms = r.int64(i, 10);
  t.json = r.text(i, 11);
  return t;
}

}  // namespace

Result<OcpiToken> token_from_json(std::string_view text) {
  auto o = parse_object(text);
  if (!o) return std::unexpected(o.error());
  return from_object(*o);
}

Result<OcpiToken> patched_token(const OcpiToken& token, std::string_view patch) {
  auto changes = parse_object(patch);
  if (!changes) return std::unexpected(changes.error());
  if (!changes->contains("last_updated"))
    return std::unexpected(invalid("last_updated", "missing"));
  const std::pair<const char*, const std::string*> fixed[] = {{"country_code", &token.country_code},
                                                              {"party_id", &token.party_id},
                                                              {"uid", &token.uid},
                                                              {"type", &token.type}};
  for (const auto& [name, value] : fixed) {
    if (const auto* v = changes->if_contains(name);
        v != nullptr && !(v->is_string() && v->get_string() == *value)) {
      return std::unexpected(invalid(name, "cannot change"));
    }
  }
  json::object merged = json::parse(token.json).as_object();
  for (const auto& [key, value] : *changes) merged[key] = value;
  return from_object(merged);
}

Result<void> TokenStore::put(const std::string& partner_id, const OcpiToken& t) {
  auto r = db_.exec(
      "INSERT INTO roaming_tokens (" + std::string(kColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT (country_code, party_id, uid, token_type) DO UPDATE SET "
          "partner_id = excluded.partner_id, contract_id = excluded.contract_id, "
          "issuer = excluded.issuer, group_id = excluded.group_id, valid = excluded.valid, "
          "whitelist = excluded.whitelist, last_updated_ms = excluded.last_updated_ms, "
          "body = excluded.body",
      {t.country_code, t.party_id, t.uid, t.type, partner_id, t.contract_id, t.issuer, t.group_id,
       t.valid ? "1" : "0", t.whitelist, std::to_string(t.last_updated_ms), t.json});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<OcpiToken>> TokenStore::get(const std::string& country_code,
                                                 const std::string& party_id,
                                                 const std::string& uid, const std::string& type) {
  auto r = db_.exec("SELECT " + std::string(kColumns) +
                        " FROM roaming_tokens WHERE country_code = $1 AND party_id = $2 AND "
                        "uid = $3 AND token_type = $4",
                    {country_code, party_id, uid, type});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<OcpiToken>{};
  auto t = row(*r, 0);
  if (!t) return std::unexpected(t.error());
  return std::optional<OcpiToken>(std::move(*t));
}

Result<std::optional<TokenStore::Owned>> TokenStore::find(const std::string& uid) {
  auto r = db_.exec("SELECT " + std::string(kColumns) +
                        " FROM roaming_tokens WHERE uid = $1 ORDER BY "
                        "CASE WHEN token_type = 'RFID' THEN 0 ELSE 1 END, last_updated_ms DESC "
                        "LIMIT 1",
                    {uid});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<Owned>{};
  auto t = row(*r, 0);
  if (!t) return std::unexpected(t.error());
  return std::optional<Owned>(Owned{std::move(*t), r->text(0, 4)});
}

http::Response TokensReceiver::handle(const Partner& partner, const http::Request& request,
                                      std::string_view rest) {
  const auto now = clock_.now();
  auto reply = [&](int http_status, OcpiStatus status, const std::string& message,
                   std::string_view data = {}) {
    return envelope_response(http_status, status, message, data, now);
  };
  const std::vector<std::string> parts = path_segments(rest);
  if (parts.size() != 3) {
    return reply(400, OcpiStatus::kInvalidParameters,
                 "tokens/{country_code}/{party_id}/{uid} expected");
  }
  const std::string& cc = parts[0];
  const std::string& pid = parts[1];
  const std::string& uid = parts[2];
  const std::string type = request.query_param("type").value_or("RFID");
  if (!one_of(kTypes, type)) {
    return reply(400, OcpiStatus::kInvalidParameters, "type: '" + type + "' is no TokenType");
  }
  // A partner writes its own parties' tokens; a hub those of the party it routes for
  // (OCPI-from-*).
  const Party from = routing_from(request);
  const Party path_party{cc, pid};
  const bool ours = std::ranges::any_of(partner.roles, [&](const PartnerRole& r) {
    return same_party(Party{r.country_code, r.party_id}, path_party) ||
           (r.role == "HUB" && same_party(from, path_party));
  });
  if (!ours) {
    return reply(403, OcpiStatus::kClientError,
                 "party " + cc + "/" + pid + " is not one of yours; you may only send your tokens");
  }
  auto current = store_.get(cc, pid, uid, type);
  if (!current) {
    log::error("token store failed", {{"error", current.error().message}});
    return reply(500, OcpiStatus::kServerError, "tokens unavailable");
  }
  if (request.method == "GET") {
    if (!*current) return reply(404, OcpiStatus::kUnknownToken, "unknown token " + uid);
    return reply(200, OcpiStatus::kSuccess, "", (*current)->json);
  }
  Result<OcpiToken> token = make_error(ErrorCode::kInvalidArgument, "");
  if (request.method == "PUT") {
    token = token_from_json(request.body);
    if (token) {
      const std::pair<const char*, bool> agree[] = {{"country_code", token->country_code == cc},
                                                    {"party_id", token->party_id == pid},
                                                    {"uid", token->uid == uid},
                                                    {"type", token->type == type}};
      for (const auto& [field, same] : agree) {
        if (!same) {
          token = std::unexpected(invalid(field, "does not match the URL"));
          break;
        }
      }
    }
  } else if (request.method == "PATCH") {
    if (!*current) return reply(404, OcpiStatus::kUnknownToken, "unknown token " + uid);
    token = patched_token(**current, request.body);
  } else {
    return reply(405, OcpiStatus::kClientError,
                 "method " + request.method + " not allowed on tokens (GET, PUT, PATCH)");
  }
  if (!token) return reply(400, OcpiStatus::kInvalidParameters, token.error().message);
  if (auto stored = store_.put(partner.id, *token); !stored) {
    log::error("token store failed", {{"error", stored.error().message}});
    return reply(500, OcpiStatus::kServerError, "tokens unavailable");
  }
  log::info("token received", {{"partner_id", partner.id},
                               {"party", cc + "/" + pid},
                               {"token", log::redact(uid)},
                               {"valid", token->valid},
                               {"whitelist", token->whitelist}});
  return reply(200, OcpiStatus::kSuccess, "");
}

Result<RoamingTokenDecision> TokenAuthorizer::authorize(const std::string& uid) {
  auto d = decide(uid);
  if (d && on_decision_) on_decision_(uid, *d);
  return d;
}

Result<RoamingTokenDecision> TokenAuthorizer::decide(const std::string& uid) {
  RoamingTokenDecision d;
  auto found = store_.find(uid);
  if (!found) return std::unexpected(found.error());
  if (!*found) {
    d.status = "Unknown";
    return d;
  }
  const OcpiToken& t = (*found)->token;
  // The owner must still be our partner: tokens of an unregistered eMSP decide nothing.
  auto partner = partners_.get((*found)->partner_id);
  if (!partner) return std::unexpected(partner.error());
  if (!*partner || (*partner)->state != PartnerState::kRegistered) {
    d.status = "Unknown";
    return d;
  }
  d.known = true;
  d.partner_id = (*found)->partner_id;
  d.contract_id = t.contract_id;
  d.group_id = t.group_id;
  if (!t.valid) {
    d.status = "Blocked";
    return d;
  }
  if (t.whitelist == "ALWAYS") {
    d.status = "Accepted";
    return d;
  }
  // Ask the owner at its tokens SENDER endpoint.
  std::string url;
  for (const auto& e : (*partner)->endpoints) {
    if (e.identifier == "tokens" && e.role == "SENDER") url = e.url;
  }
  const bool offline_ok = t.whitelist != "NEVER";
  if (url.empty()) {
    d.status = offline_ok ? "Accepted" : "Invalid";
    return d;
  }
  d.real_time = true;
  auto answer = client_.request("POST", "tokens",
                                url + "/" + url_segment(t.uid) + "/authorize?type=" + t.type,
                                (*partner)->their_token, "", Party{t.country_code, t.party_id});
  if (!answer) {
    // Only an owner that cannot be reached leaves the decision to the whitelist; one that
    // answered with an error (unknown token, refused) refused it.
    const bool unreachable = answer.error().code == ErrorCode::kUnavailable;
    log::warn(unreachable ? "real-time authorization unreachable; deciding by the whitelist"
                          : "real-time authorization refused by the owner",
              {{"partner_id", d.partner_id},
               {"whitelist", t.whitelist},
               {"error", answer.error().message}});
    d.status = unreachable && offline_ok ? "Accepted" : "Invalid";
    return d;
  }
  boost::system::error_code ec;
  json::value info = json::parse(*answer, ec);
  const json::value* allowed =
      !ec && info.is_object() ? info.as_object().if_contains("allowed") : nullptr;
  if (allowed == nullptr || !allowed->is_string()) {
    d.status = offline_ok ? "Accepted" : "Invalid";
    return d;
  }
  const std::string_view a = allowed->get_string();
  d.status = a == "ALLOWED"   ? "Accepted"
             : a == "BLOCKED" ? "Blocked"
             : a == "EXPIRED" ? "Expired"
                              : "Invalid";  // NO_CREDIT, NOT_ALLOWED
  if (const auto* ref = info.as_object().if_contains("authorization_reference");
      ref != nullptr && ref->is_string()) {
    d.authorization_reference = std::string(ref->get_string());
  }
  return d;
}

}  // namespace switchyard::roaming
