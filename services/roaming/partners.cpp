// Partners in portable SQL (see partners.h): roles and endpoints as JSON text.
#include "roaming/partners.h"

#include <openssl/rand.h>

#include <array>
#include <boost/json.hpp>
#include <stdexcept>

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

constexpr std::string_view kColumns =
    "partner_id, name, state, initiated_by_us, our_token_sha256, their_token, versions_url, "
    "version, endpoints_json, roles_json, created_at_ms, updated_at_ms, last_error";

std::int64_t ms(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Time from_ms(std::int64_t v) { return Time(std::chrono::milliseconds(v)); }

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string endpoints_json(const std::vector<PartnerEndpoint>& endpoints) {
  json::array a;
  for (const auto& e : endpoints) {
    a.push_back(json::object{{"identifier", e.identifier}, {"role", e.role}, {"url", e.url}});
  }
  return json::serialize(a);
}

std::string roles_json(const std::vector<PartnerRole>& roles) {
  json::array a;
  for (const auto& r : roles) {
    a.push_back(json::object{{"role", r.role},
                             {"country_code", r.country_code},
                             {"party_id", r.party_id},
                             {"business_name", r.business_name}});
  }
  return json::serialize(a);
}

Result<json::array> parse_array(const std::string& text, std::string_view what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) {
    return make_error(ErrorCode::kInternal, "stored partner " + std::string(what) + " unreadable");
  }
  return std::move(v.as_array());
}

Result<Partner> partner_from(const sql::Rows& rows, int r) {
  Partner p;
  p.id = rows.text(r, 0);
  p.name = rows.text(r, 1);
  auto state = partner_state(rows.text(r, 2));
  if (!state) return make_error(ErrorCode::kInternal, "partner " + p.id + ": unknown state");
  p.state = *state;
  p.initiated_by_us = rows.int64(r, 3) != 0;
  p.our_token_sha256 = rows.text(r, 4);
  p.their_token = rows.text(r, 5);
  p.versions_url = rows.text(r, 6);
  p.version = rows.text(r, 7);
  auto endpoints = parse_array(rows.text(r, 8), "endpoints");
  if (!endpoints) return std::unexpected(endpoints.error());
  for (const auto& e : *endpoints) {
    if (!e.is_object()) continue;
    const auto& o = e.get_object();
    p.endpoints.push_back({str(o, "identifier"), str(o, "role"), str(o, "url")});
  }
  auto roles = parse_array(rows.text(r, 9), "roles");
  if (!roles) return std::unexpected(roles.error());
  for (const auto& e : *roles) {
    if (!e.is_object()) continue;
    const auto& o = e.get_object();
    p.roles.push_back(
        {str(o, "role"), str(o, "country_code"), str(o, "party_id"), str(o, "business_name")});
  }
  p.created_at = from_ms(rows.int64(r, 10));
  p.updated_at = from_ms(rows.int64(r, 11));
  p.last_error = rows.text(r, 12);
  return p;
}

Result<std::vector<Partner>> partners_from(const sql::Rows& rows) {
  std::vector<Partner> out;
  out.reserve(static_cast<std::size_t>(rows.size()));
  for (int r = 0; r < rows.size(); ++r) {
    auto p = partner_from(rows, r);
    if (!p) return std::unexpected(p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::optional<Partner>> first(Result<sql::Rows> rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Partner>();
  auto p = partner_from(*rows, 0);
  if (!p) return std::unexpected(p.error());
  return std::optional<Partner>(std::move(*p));
}

}  // namespace

std::string_view to_string(PartnerState state) {
  switch (state) {
    case PartnerState::kInvited:
      return "invited";
    case PartnerState::kRegistered:
      return "registered";
    case PartnerState::kUnregistered:
      return "unregistered";
  }
  return "?";
}

std::optional<PartnerState> partner_state(std::string_view text) {
  for (PartnerState s :
       {PartnerState::kInvited, PartnerState::kRegistered, PartnerState::kUnregistered}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string new_partner_id() {
  std::array<unsigned char, 6> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "ptr-";
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 0x0F];
  }
  return id;
}

std::string credentials_url(const Partner& partner) {
  std::string any;
  for (const auto& e : partner.endpoints) {
    if (e.identifier != "credentials") continue;
    if (e.role == "RECEIVER") return e.url;
    if (any.empty()) any = e.url;
  }
  return any;
}

Result<std::vector<Partner>> SqlPartnerStore::load_all() {
  auto rows = db_.exec("SELECT " + std::string(kColumns) +
                       " FROM roaming_partners ORDER BY created_at_ms, partner_id");
  if (!rows) return std::unexpected(rows.error());
  return partners_from(*rows);
}

Result<std::optional<Partner>> SqlPartnerStore::get(const std::string& id) {
  return first(db_.exec(
      "SELECT " + std::string(kColumns) + " FROM roaming_partners WHERE partner_id = $1", {id}));
}

Result<std::optional<Partner>> SqlPartnerStore::find_by_token(const std::string& token_sha256) {
  if (token_sha256.empty()) return std::optional<Partner>();
  return first(db_.exec(
      "SELECT " + std::string(kColumns) + " FROM roaming_partners WHERE our_token_sha256 = $1",
      {token_sha256}));
}

Result<void> SqlPartnerStore::put(const Partner& p) {
  auto r = db_.exec(
      "INSERT INTO roaming_partners (" + std::string(kColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
          "ON CONFLICT (partner_id) DO UPDATE SET name = excluded.name, state = excluded.state, "
          "initiated_by_us = excluded.initiated_by_us, "
          "our_token_sha256 = excluded.our_token_sha256, their_token = excluded.their_token, "
          "versions_url = excluded.versions_url, version = excluded.version, "
          "endpoints_json = excluded.endpoints_json, roles_json = excluded.roles_json, "
          "created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, "
          "last_error = excluded.last_error",
      {p.id, p.name, std::string(to_string(p.state)), p.initiated_by_us ? "1" : "0",
       p.our_token_sha256, p.their_token, p.versions_url, p.version, endpoints_json(p.endpoints),
       roles_json(p.roles), std::to_string(ms(p.created_at)), std::to_string(ms(p.updated_at)),
       p.last_error});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> SqlPartnerStore::remove(const std::string& id) {
  auto r = db_.exec("DELETE FROM roaming_partners WHERE partner_id = $1", {id});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

}  // namespace switchyard::roaming
