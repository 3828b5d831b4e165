// OCPI configuration objects and the envelope as JSON (see ocpi_types.h).
#include "roaming/ocpi_types.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

#include "common/runtime/http/client.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {

namespace json = boost::json;

namespace {

std::unexpected<Error> invalid(const std::string& field, const std::string& problem) {
  return make_error(ErrorCode::kInvalidArgument, field + ": " + problem);
}

Result<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return make_error(ErrorCode::kInvalidArgument, "not JSON: " + ec.message());
  return v;
}

std::string at(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

Result<std::string> string_field(const json::object& o, std::string_view key,
                                 const std::string& where) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return invalid(at(where, key), "missing");
  if (const auto* s = v->if_string()) return std::string(*s);
  return invalid(at(where, key), "not a string");
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

Result<void> check_url(const std::string& url, const std::string& field) {
  if (url.size() > 255) return invalid(field, "longer than 255 characters");
  if (auto parsed = http::parse_url(url); !parsed) return invalid(field, "not an http(s) URL");
  return {};
}

constexpr std::array<std::string_view, 7> kRoles = {"CPO", "EMSP",  "HUB", "NAP",
                                                    "NSP", "OTHER", "SCSP"};

Result<PartnerRole> role_from(const json::value& v, const std::string& where) {
  const auto* o = v.if_object();
  if (o == nullptr) return invalid(where, "not an object");
  PartnerRole role;
  auto name = string_field(*o, "role", where);
  if (!name) return std::unexpected(name.error());
  if (std::find(kRoles.begin(), kRoles.end(), *name) == kRoles.end()) {
    return invalid(at(where, "role"),
                   "'" + *name + "' is not one of CPO, EMSP, HUB, NAP, NSP, OTHER, SCSP");
  }
  role.role = std::move(*name);
  const auto* details = o->if_contains("business_details");
  if (details == nullptr || details->is_null()) {
    return invalid(at(where, "business_details"), "missing");
  }
  if (!details->is_object()) return invalid(at(where, "business_details"), "not an object");
  auto business = string_field(details->get_object(), "name", at(where, "business_details"));
  if (!business) return std::unexpected(business.error());
  if (business->empty() || business->size() > 100) {
    return invalid(at(where, "business_details.name"), "must be 1 to 100 characters");
  }
  role.business_name = std::move(*business);
  auto party = string_field(*o, "party_id", where);
  if (!party) return std::unexpected(party.error());
  if (party->empty() || party->size() > 3 || !printable_ascii(*party)) {
    return invalid(at(where, "party_id"), "must be 1 to 3 printable ASCII characters");
  }
  role.party_id = std::move(*party);
  auto country = string_field(*o, "country_code", where);
  if (!country) return std::unexpected(country.error());
  if (country->size() != 2 || !std::all_of(country->begin(), country->end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) != 0;
      })) {
    return invalid(at(where, "country_code"), "must be 2 letters (ISO 3166-1 alpha-2)");
  }
  role.country_code = std::move(*country);
  return role;
}

}  // namespace

bool is_json(std::string_view text) { return parse(text).has_value(); }

Result<Credentials> credentials_from_json(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::unexpected(v.error());
  const auto* o = v->if_object();
  if (o == nullptr) return make_error(ErrorCode::kInvalidArgument, "credentials: not an object");
  Credentials c;
  auto token = string_field(*o, "token", "");
  if (!token) return std::unexpected(token.error());
  if (!valid_token(*token)) {
    return invalid("token", "must be 1 to 64 printable ASCII characters without spaces");
  }
  c.token = std::move(*token);
  auto url = string_field(*o, "url", "");
  if (!url) return std::unexpected(url.error());
  if (auto ok = check_url(*url, "url"); !ok) return std::unexpected(ok.error());
  c.url = std::move(*url);
  const auto* roles = o->if_contains("roles");
  if (roles == nullptr || roles->is_null()) return invalid("roles", "missing");
  if (!roles->is_array()) return invalid("roles", "not an array");
  if (roles->get_array().empty()) return invalid("roles", "must not be empty");
  std::size_t i = 0;
  for (const json::value& r : roles->get_array()) {
    auto role = role_from(r, "roles[" + std::to_string(i++) + "]");
    if (!role) return std::unexpected(role.error());
    c.roles.push_back(std::move(*role));
  }
  return c;
}

std::string credentials_json(const Credentials& c) {
  json::array roles;
  for (const auto& r : c.roles) {
    roles.push_back(json::object{{"role", r.role},
                                 {"business_details", json::object{{"name", r.business_name}}},
                                 {"party_id", r.party_id},
                                 {"country_code", r.country_code}});
  }
  return json::serialize(
      json::object{{"token", c.token}, {"url", c.url}, {"roles", std::move(roles)}});
}

Result<std::vector<VersionInfo>> versions_from_json(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::unexpected(v.error());
  const auto* a = v->if_array();
  if (a == nullptr) return make_error(ErrorCode::kInvalidArgument, "versions: not an array");
  std::vector<VersionInfo> out;
  std::size_t i = 0;
  for (const json::value& e : *a) {
    const std::string where = "versions[" + std::to_string(i++) + "]";
    const auto* o = e.if_object();
    if (o == nullptr) return invalid(where, "not an object");
    auto version = string_field(*o, "version", where);
    if (!version) return std::unexpected(version.error());
    auto url = string_field(*o, "url", where);
    if (!url) return std::unexpected(url.error());
    out.push_back({std::move(*version), std::move(*url)});
  }
  return out;
}

Result<VersionDetails> version_details_from_json(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::unexpected(v.error());
  const auto* o = v->if_object();
  if (o == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "version details: not an object");
  }
  VersionDetails out;
  auto version = string_field(*o, "version", "");
  if (!version) return std::unexpected(version.error());
  out.version = std::move(*version);
  const auto* endpoints = o->if_contains("endpoints");
  if (endpoints == nullptr || !endpoints->is_array()) {
    return invalid("endpoints", "missing or not an array");
  }
  std::size_t i = 0;
  for (const json::value& e : endpoints->get_array()) {
    const std::string where = "endpoints[" + std::to_string(i++) + "]";
    const auto* eo = e.if_object();
    if (eo == nullptr) return invalid(where, "not an object");
    PartnerEndpoint endpoint;
    auto identifier = string_field(*eo, "identifier", where);
    if (!identifier) return std::unexpected(identifier.error());
    auto url = string_field(*eo, "url", where);
    if (!url) return std::unexpected(url.error());
    endpoint.identifier = std::move(*identifier);
    endpoint.url = std::move(*url);
    // `role` is required in 2.2.1; older parties omit it.
    if (const auto* role = eo->if_contains("role"); role != nullptr && role->is_string()) {
      endpoint.role = std::string(role->get_string());
    }
    out.endpoints.push_back(std::move(endpoint));
  }
  return out;
}

std::string versions_json(const std::vector<VersionInfo>& versions) {
  json::array a;
  for (const auto& v : versions) a.push_back(json::object{{"version", v.version}, {"url", v.url}});
  return json::serialize(a);
}

std::string version_details_json(const VersionDetails& details) {
  json::array endpoints;
  for (const auto& e : details.endpoints) {
    endpoints.push_back(
        json::object{{"identifier", e.identifier}, {"role", e.role}, {"url", e.url}});
  }
  return json::serialize(
      json::object{{"version", details.version}, {"endpoints", std::move(endpoints)}});
}

Result<ReceivedEnvelope> envelope_from_json(std::string_view body) {
  auto v = parse(body);
  if (!v) return std::unexpected(v.error());
  const auto* o = v->if_object();
  if (o == nullptr) return make_error(ErrorCode::kInvalidArgument, "envelope: not an object");
  const auto* code = o->if_contains("status_code");
  ReceivedEnvelope out;
  if (code != nullptr && code->is_int64()) {
    out.status_code = static_cast<int>(code->get_int64());
  } else if (code != nullptr && code->is_uint64()) {
    out.status_code = static_cast<int>(std::min<std::uint64_t>(code->get_uint64(), 99999));
  } else if (code != nullptr && code->is_string()) {  // lenient: "1000"
    try {
      out.status_code = std::stoi(std::string(code->get_string()));
    } catch (const std::exception&) {
      return invalid("status_code", "not a number");
    }
  } else {
    return invalid("status_code", "missing or not a number");
  }
  if (const auto* m = o->if_contains("status_message"); m != nullptr && m->is_string()) {
    out.status_message = std::string(m->get_string());
  }
  if (const auto* d = o->if_contains("data"); d != nullptr && !d->is_null()) {
    out.data_json = json::serialize(*d);
  }
  return out;
}

}  // namespace switchyard::roaming
