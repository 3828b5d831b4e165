// Sessions and CDRs of roaming drivers (see session_store.h).
#include "roaming/session_store.h"

#include "common/runtime/core/base64.h"
#include "common/runtime/sql/database.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/push_outbox.h"

namespace switchyard::roaming {
namespace {

using sql::Param;

Param opt(const std::optional<std::int64_t>& v) {
  return v ? Param(std::to_string(*v)) : std::nullopt;
}

template <typename Message>
Result<Message> decoded(const std::string& body) {
  Message m;
  auto bytes = base64_decode(body);
  if (!bytes || !m.ParseFromString(*bytes)) {
    return make_error(ErrorCode::kInternal, "stored roaming session or CDR is not readable");
  }
  return m;
}

template <typename Message>
std::string encoded(const Message& m) {
  std::string bytes;
  m.SerializeToString(&bytes);
  return base64_encode(bytes);
}

// Columns 1-4 of both tables' rows: partner_id, token, auth_method, authorization_reference.
SessionOwner owner_of(const sql::Rows& r, int i) {
  return {r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4)};
}

constexpr const char* kSessionColumns =
    "SELECT session_id, partner_id, token, auth_method, authorization_reference, body, "
    "last_updated_ms FROM roaming_sessions";
constexpr const char* kCdrColumns =
    "SELECT cdr_id, partner_id, token, auth_method, authorization_reference, body, "
    "last_updated_ms, session_id, delivered_ms FROM roaming_cdrs";

Result<StoredSession> session_row(const sql::Rows& r, int i) {
  auto t = decoded<v1::Transaction>(r.text(i, 5));
  if (!t) return std::unexpected(t.error());
  return StoredSession{r.text(i, 0), owner_of(r, i), std::move(*t), r.int64(i, 6)};
}

Result<StoredCdr> cdr_row(const sql::Rows& r, int i) {
  auto c = decoded<v1::Cdr>(r.text(i, 5));
  if (!c) return std::unexpected(c.error());
  return StoredCdr{r.text(i, 0),  r.text(i, 7),  owner_of(r, i),
                   std::move(*c), r.int64(i, 6), r.int64(i, 8)};
}

// The row `query` selects by its one parameter `key`, or nullopt.
template <typename T, typename RowFn>
Result<std::optional<T>> one_of(sql::Database& db, const std::string& query, const std::string& key,
                                RowFn row) {
  auto r = db.exec(query, {key});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  auto item = row(*r, 0);
  if (!item) return std::unexpected(item.error());
  return std::move(*item);
}

template <typename T, typename RowFn>
Result<OwnedPage<T>> page_of(sql::Database& db, const std::string& table,
                             const std::string& columns, const std::string& id_column,
                             const OwnedQuery& q, RowFn row) {
  OwnedPage<T> page;
  auto r = db.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::string where =
        " WHERE partner_id = $1 AND (last_updated_ms >= $2 OR $2 IS NULL) "
        "AND (last_updated_ms < $3 OR $3 IS NULL)";
    const Param params[] = {q.partner_id, opt(q.from_ms), opt(q.to_ms)};
    auto count = tx.exec("SELECT COUNT(*) FROM " + table + where, params);
    if (!count) return std::unexpected(count.error());
    page.total = count->int64(0, 0);
    auto rows = tx.exec(columns + where + " ORDER BY last_updated_ms, " + id_column + " LIMIT " +
                            std::to_string(q.limit) + " OFFSET " + std::to_string(q.offset),
                        params);
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) {
      auto item = row(*rows, i);
      if (!item) return std::unexpected(item.error());
      page.items.push_back(std::move(*item));
    }
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return page;
}

}  // namespace

std::string session_id_of(const std::string& charger_id, const std::string& transaction_id) {
  return sha256_hex(charger_id + '\n' + transaction_id).substr(0, 32);
}

std::int64_t SessionStore::now_ms() const { return unix_ms(clock_.now()); }

Result<bool> SessionStore::put_session(const std::string& id, const SessionOwner& owner,
                                       const v1::Transaction& transaction, bool push) {
  bool changed = false;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::int64_t updated = ms_of(transaction.updated_at());
    auto old = tx.exec(
        "SELECT tx_updated_ms, partner_id, body FROM roaming_sessions WHERE session_id = $1", {id});
    if (!old) return std::unexpected(old.error());
    if (!old->empty()) {
      if (old->int64(0, 0) > updated) return {};  // older than what we have
      if (old->int64(0, 0) == updated) {
        // Two updates in one millisecond: the later one wins unless it would undo an end; a
        // redelivery changes nothing.
        auto stored = decoded<v1::Transaction>(old->text(0, 2));
        if (!stored) return std::unexpected(stored.error());
        if (encoded(*stored) == encoded(transaction)) return {};
        if (stored->state() == v1::TRANSACTION_STATE_ENDED &&
            transaction.state() != v1::TRANSACTION_STATE_ENDED) {
          return {};
        }
      }
    }
    const std::int64_t now = now_ms();
    auto w = tx.exec(
        "INSERT INTO roaming_sessions (session_id, partner_id, charger_id, transaction_id, token, "
        "auth_method, authorization_reference, tx_updated_ms, last_updated_ms, body) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (session_id) DO UPDATE SET "
        "tx_updated_ms = excluded.tx_updated_ms, last_updated_ms = excluded.last_updated_ms, "
        "body = excluded.body",
        {id, owner.partner_id, transaction.charger_id(), transaction.transaction_id(),
         owner.token_json, owner.auth_method, owner.authorization_reference,
         std::to_string(updated), std::to_string(now), encoded(transaction)});
    if (!w) return std::unexpected(w.error());
    changed = true;
    if (!push) return {};
    const std::string to[] = {old->empty() ? owner.partner_id : old->text(0, 1)};
    return enqueue_push(tx, to, "sessions", id, "", now);
  });
  if (!r) return std::unexpected(r.error());
  return changed;
}

Result<std::optional<StoredSession>> SessionStore::session(const std::string& id) {
  return one_of<StoredSession>(db_, std::string(kSessionColumns) + " WHERE session_id = $1", id,
                               session_row);
}

Result<OwnedPage<StoredSession>> SessionStore::sessions(const OwnedQuery& query) {
  return page_of<StoredSession>(db_, "roaming_sessions", kSessionColumns, "session_id", query,
                                session_row);
}

Result<bool> SessionStore::put_cdr(const std::string& session_id, const SessionOwner& owner,
                                   const v1::Cdr& cdr, bool push) {
  bool added = false;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    const std::int64_t now = now_ms();
    auto w = tx.exec(
        "INSERT INTO roaming_cdrs (cdr_id, partner_id, session_id, token, auth_method, "
        "authorization_reference, last_updated_ms, delivered_ms, body) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) ON CONFLICT (cdr_id) DO NOTHING",
        {cdr.cdr_id(), owner.partner_id, session_id, owner.token_json, owner.auth_method,
         owner.authorization_reference, std::to_string(now), encoded(cdr)});
    if (!w) return std::unexpected(w.error());
    if (w->affected() == 0) return {};
    added = true;
    // The session now has its total cost: it changed too.
    auto session = tx.exec("UPDATE roaming_sessions SET last_updated_ms = $2 WHERE session_id = $1",
                           {session_id, std::to_string(now)});
    if (!session) return std::unexpected(session.error());
    if (!push) return {};
    const std::string to[] = {owner.partner_id};
    if (session->affected() > 0) {
      if (auto q = enqueue_push(tx, to, "sessions", session_id, "", now); !q) return q;
    }
    return enqueue_push(tx, to, "cdrs", cdr.cdr_id(), "", now);
  });
  if (!r) return std::unexpected(r.error());
  return added;
}

Result<std::optional<StoredCdr>> SessionStore::cdr(const std::string& id) {
  return one_of<StoredCdr>(db_, std::string(kCdrColumns) + " WHERE cdr_id = $1", id, cdr_row);
}

Result<std::optional<StoredCdr>> SessionStore::cdr_of_session(const std::string& session_id) {
  return one_of<StoredCdr>(db_, std::string(kCdrColumns) + " WHERE session_id = $1", session_id,
                           cdr_row);
}

Result<OwnedPage<StoredCdr>> SessionStore::cdrs(const OwnedQuery& query) {
  return page_of<StoredCdr>(db_, "roaming_cdrs", kCdrColumns, "cdr_id", query, cdr_row);
}

Result<void> SessionStore::cdr_delivered(const std::string& id, std::int64_t at_ms) {
  auto r =
      db_.exec("UPDATE roaming_cdrs SET delivered_ms = $2 WHERE cdr_id = $1 AND delivered_ms = 0",
               {id, std::to_string(at_ms)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> SessionStore::record_authorization(const std::string& uid,
                                                const std::string& partner_id,
                                                const TokenAuthorization& a) {
  auto r = db_.exec(
      "INSERT INTO roaming_authorizations (uid, partner_id, auth_method, "
      "authorization_reference, at_ms) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (uid, partner_id) DO UPDATE SET auth_method = excluded.auth_method, "
      "authorization_reference = excluded.authorization_reference, at_ms = excluded.at_ms",
      {uid, partner_id, a.auth_method, a.authorization_reference, std::to_string(a.at_ms)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<TokenAuthorization>> SessionStore::authorization(
    const std::string& uid, const std::string& partner_id) {
  auto r = db_.exec(
      "SELECT auth_method, authorization_reference, at_ms FROM roaming_authorizations "
      "WHERE uid = $1 AND partner_id = $2",
      {uid, partner_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return TokenAuthorization{r->text(0, 0), r->text(0, 1), r->int64(0, 2)};
}

}  // namespace switchyard::roaming
