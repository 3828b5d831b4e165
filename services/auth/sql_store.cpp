// The auth tables and their statements (portable SQL: PostgreSQL and SQLite).
#include "auth/sql_store.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

namespace switchyard::auth {
namespace {

namespace json = boost::json;
using sql::Param;

const sql::Migration kMigrations[] = {
    {1, "auth tables",
     R"sql(
CREATE TABLE auth_tokens (
  token_key TEXT PRIMARY KEY,
  id_token TEXT NOT NULL,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  expires_at BIGINT,
  group_id TEXT NOT NULL DEFAULT '',
  refuse_concurrent INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
CREATE INDEX auth_tokens_group ON auth_tokens (group_id, token_key);
CREATE TABLE auth_groups (
  group_id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  refuse_concurrent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE auth_chargers (
  charger_id TEXT PRIMARY KEY,
  security_profile INTEGER NOT NULL,
  password_hash TEXT NOT NULL DEFAULT '',
  boot_policy TEXT NOT NULL DEFAULT '',
  heartbeat_interval_s INTEGER NOT NULL DEFAULT 0,
  auto_registered INTEGER NOT NULL DEFAULT 0,
  registered_at BIGINT NOT NULL
);
CREATE TABLE auth_local_lists (
  charger_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  entries TEXT NOT NULL,
  charger_version INTEGER NOT NULL DEFAULT 0,
  charger_entries TEXT NOT NULL DEFAULT '[]'
);
)sql",
     ""},
};

std::int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
TimePoint from_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }
Param ms_param(const std::optional<TimePoint>& t) {
  return t ? Param(std::to_string(to_ms(*t))) : std::nullopt;
}
std::optional<TimePoint> optional_time(const sql::Rows& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return from_ms(r.int64(row, col));
}
std::string flag(bool b) { return b ? "1" : "0"; }

// Tokens are CiStrings: the key is the upper-case form.
std::string token_key(std::string_view id) {
  std::string key(id);
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return key;
}

constexpr std::string_view kTokenColumns =
    "id_token, type, status, expires_at, group_id, refuse_concurrent, updated_at";

TokenRecord token_row(const sql::Rows& r, int i) {
  TokenRecord t;
  t.id_token = r.text(i, 0);
  t.type = r.text(i, 1);
  t.status = r.text(i, 2);
  t.expires_at = optional_time(r, i, 3);
  t.group_id = r.text(i, 4);
  t.refuse_concurrent = r.boolean(i, 5);
  t.updated_at = from_ms(r.int64(i, 6));
  return t;
}

constexpr std::string_view kChargerColumns =
    "charger_id, security_profile, password_hash, boot_policy, heartbeat_interval_s, "
    "auto_registered, registered_at";

ChargerRecord charger_row(const sql::Rows& r, int i) {
  ChargerRecord c;
  c.charger_id = r.text(i, 0);
  c.security_profile = static_cast<int>(r.int64(i, 1));
  c.password_hash = r.text(i, 2);
  c.boot_policy = r.text(i, 3);
  c.heartbeat_interval_s = static_cast<int>(r.int64(i, 4));
  c.auto_registered = r.boolean(i, 5);
  c.registered_at = from_ms(r.int64(i, 6));
  return c;
}

std::vector<Param> charger_params(const ChargerRecord& c) {
  return {c.charger_id,
          std::to_string(c.security_profile),
          c.password_hash,
          c.boot_policy,
          std::to_string(c.heartbeat_interval_s),
          flag(c.auto_registered),
          std::to_string(to_ms(c.registered_at))};
}

std::string entries_json(const std::vector<LocalListEntry>& entries) {
  json::array out;
  for (const auto& e : entries) {
    json::object o{{"id", e.id_token}, {"type", e.type}, {"status", e.status}};
    if (e.expires_at) o["expires"] = to_ms(*e.expires_at);
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::vector<LocalListEntry> parse_entries(const std::string& text) {
  std::vector<LocalListEntry> out;
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    LocalListEntry e;
    if (auto* id = o.if_contains("id"); id && id->is_string())
      e.id_token = std::string(id->as_string());
    if (auto* type = o.if_contains("type"); type && type->is_string())
      e.type = std::string(type->as_string());
    if (auto* s = o.if_contains("status"); s && s->is_string())
      e.status = std::string(s->as_string());
    if (auto* x = o.if_contains("expires"); x && x->is_int64())
      e.expires_at = from_ms(x->as_int64());
    out.push_back(std::move(e));
  }
  return out;
}

int page_size(const Page& p) { return std::clamp(p.size <= 0 ? 100 : p.size, 1, 1000); }

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

Result<std::optional<TokenRecord>> SqlAuthStore::token(const std::string& id_token) {
  auto r =
      db_.exec("SELECT " + std::string(kTokenColumns) + " FROM auth_tokens WHERE token_key = $1",
               {token_key(id_token)});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<TokenRecord>{};
  return token_row(*r, 0);
}

Result<void> SqlAuthStore::put_token(const TokenRecord& t) {
  auto r = db_.exec(
      "INSERT INTO auth_tokens (token_key, " + std::string(kTokenColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (token_key) DO UPDATE SET "
          "id_token = excluded.id_token, type = excluded.type, status = excluded.status, "
          "expires_at = excluded.expires_at, group_id = excluded.group_id, "
          "refuse_concurrent = excluded.refuse_concurrent, updated_at = excluded.updated_at",
      {token_key(t.id_token), t.id_token, t.type, t.status, ms_param(t.expires_at), t.group_id,
       flag(t.refuse_concurrent), std::to_string(to_ms(t.updated_at))});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> SqlAuthStore::delete_token(const std::string& id_token) {
  auto r = db_.exec("DELETE FROM auth_tokens WHERE token_key = $1", {token_key(id_token)});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<std::vector<TokenRecord>> SqlAuthStore::tokens(const std::string& group_id,
                                                      const Page& page) {
  auto r = db_.exec("SELECT " + std::string(kTokenColumns) +
                        " FROM auth_tokens WHERE token_key > $1 AND ($2 = '' OR group_id = $2) "
                        "ORDER BY token_key LIMIT " +
                        std::to_string(page_size(page)),
                    {token_key(page.after), group_id});
  if (!r) return std::unexpected(r.error());
  std::vector<TokenRecord> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(token_row(*r, i));
  return out;
}

Result<std::optional<GroupRecord>> SqlAuthStore::group(const std::string& group_id) {
  auto r = db_.exec("SELECT group_id, name, refuse_concurrent FROM auth_groups WHERE group_id = $1",
                    {group_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<GroupRecord>{};
  return GroupRecord{r->text(0, 0), r->text(0, 1), r->boolean(0, 2)};
}

Result<void> SqlAuthStore::put_group(const GroupRecord& g) {
  auto r = db_.exec(
      "INSERT INTO auth_groups (group_id, name, refuse_concurrent) VALUES ($1, $2, $3) "
      "ON CONFLICT (group_id) DO UPDATE SET name = excluded.name, "
      "refuse_concurrent = excluded.refuse_concurrent",
      {g.group_id, g.name, flag(g.refuse_concurrent)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<GroupRecord>> SqlAuthStore::groups() {
  auto r = db_.exec("SELECT group_id, name, refuse_concurrent FROM auth_groups ORDER BY group_id");
  if (!r) return std::unexpected(r.error());
  std::vector<GroupRecord> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i)
    out.push_back({r->text(i, 0), r->text(i, 1), r->boolean(i, 2)});
  return out;
}

Result<std::optional<ChargerRecord>> SqlAuthStore::charger(const std::string& charger_id) {
  auto r = db_.exec(
      "SELECT " + std::string(kChargerColumns) + " FROM auth_chargers WHERE charger_id = $1",
      {charger_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::optional<ChargerRecord>{};
  return charger_row(*r, 0);
}

Result<void> SqlAuthStore::put_charger(const ChargerRecord& c) {
  const auto params = charger_params(c);
  auto r = db_.exec(
      "INSERT INTO auth_chargers (" + std::string(kChargerColumns) +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (charger_id) DO UPDATE SET "
          "security_profile = excluded.security_profile, password_hash = excluded.password_hash, "
          "boot_policy = excluded.boot_policy, heartbeat_interval_s = "
          "excluded.heartbeat_interval_s, "
          "auto_registered = excluded.auto_registered",
      params);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> SqlAuthStore::insert_charger(const ChargerRecord& c) {
  const auto params = charger_params(c);
  auto r = db_.exec("INSERT INTO auth_chargers (" + std::string(kChargerColumns) +
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (charger_id) DO NOTHING",
                    params);
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<bool> SqlAuthStore::delete_charger(const std::string& charger_id) {
  auto r = db_.exec("DELETE FROM auth_chargers WHERE charger_id = $1", {charger_id});
  if (!r) return std::unexpected(r.error());
  return r->affected() > 0;
}

Result<std::vector<ChargerRecord>> SqlAuthStore::chargers(const Page& page) {
  auto r = db_.exec("SELECT " + std::string(kChargerColumns) +
                        " FROM auth_chargers WHERE charger_id > $1 ORDER BY charger_id LIMIT " +
                        std::to_string(page_size(page)),
                    {page.after});
  if (!r) return std::unexpected(r.error());
  std::vector<ChargerRecord> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(charger_row(*r, i));
  return out;
}

Result<LocalList> SqlAuthStore::local_list(const std::string& charger_id) {
  auto r = db_.exec(
      "SELECT version, entries, charger_version, charger_entries FROM auth_local_lists "
      "WHERE charger_id = $1",
      {charger_id});
  if (!r) return std::unexpected(r.error());
  LocalList list;
  if (r->empty()) return list;
  list.version = static_cast<int>(r->int64(0, 0));
  list.entries = parse_entries(r->text(0, 1));
  list.charger_version = static_cast<int>(r->int64(0, 2));
  list.charger_entries = parse_entries(r->text(0, 3));
  return list;
}

Result<int> SqlAuthStore::put_local_list(const std::string& charger_id,
                                         const std::vector<LocalListEntry>& entries) {
  auto r = db_.exec(
      "INSERT INTO auth_local_lists (charger_id, version, entries) VALUES ($1, 1, $2) "
      "ON CONFLICT (charger_id) DO UPDATE SET version = auth_local_lists.version + 1, "
      "entries = excluded.entries RETURNING version",
      {charger_id, entries_json(entries)});
  if (!r) return std::unexpected(r.error());
  return static_cast<int>(r->int64(0, 0));
}

Result<void> SqlAuthStore::confirm_local_list(const std::string& charger_id, int version,
                                              const std::vector<LocalListEntry>& entries) {
  auto r = db_.exec(
      "UPDATE auth_local_lists SET charger_version = $2, charger_entries = $3 WHERE charger_id = "
      "$1",
      {charger_id, std::to_string(version), entries_json(entries)});
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace switchyard::auth
