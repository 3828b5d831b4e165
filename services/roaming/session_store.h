// The sessions and CDRs of other networks' drivers at our chargers (OCPI sessions / cdrs, CPO
// side), in portable SQL (roaming migrations): per session the transaction's latest state as the
// transactions service published it, per CDR the CDR, each with the eMSP that owns the driver's
// token and how the driver was authorized, and the latest real-time authorization per token. A
// change goes into the owner's push outbox (push_outbox.h) in its own transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

// Who pays and how the driver got in: the eMSP (partner) owning the token, the OCPI CdrToken of
// it, the auth_method (AUTH_REQUEST, COMMAND, WHITELIST) and the eMSP's authorization_reference.
struct SessionOwner {
  std::string partner_id;
  std::string token_json;  // {"country_code","party_id","uid","type","contract_id"}
  std::string auth_method;
  std::string authorization_reference;
};

struct StoredSession {
  std::string id;  // OCPI session id (32 hex digits of the charger and transaction)
  SessionOwner owner;
  v1::Transaction transaction;
  std::int64_t last_updated_ms = 0;
};

struct StoredCdr {
  std::string id;  // the CDR's id (the transactions service's cdr_id)
  std::string session_id;
  SessionOwner owner;
  v1::Cdr cdr;
  std::int64_t last_updated_ms = 0;
  std::int64_t delivered_ms = 0;  // 0 until the owner accepted it
};

// The latest real-time authorization of a token by its owner.
struct TokenAuthorization {
  std::string auth_method;  // AUTH_REQUEST or WHITELIST
  std::string authorization_reference;
  std::int64_t at_ms = 0;
};

// A page of a partner's sessions or CDRs: last_updated in [from_ms, to_ms), by (last_updated, id).
struct OwnedQuery {
  std::string partner_id;
  std::optional<std::int64_t> from_ms;
  std::optional<std::int64_t> to_ms;
  int offset = 0;
  int limit = 50;
};
template <typename T>
struct OwnedPage {
  std::vector<T> items;
  std::int64_t total = 0;
};

// Milliseconds since 1970 of a protobuf time.
inline std::int64_t ms_of(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

// The OCPI session id of a transaction: 32 hex digits of SHA-256(charger id, transaction id).
std::string session_id_of(const std::string& charger_id, const std::string& transaction_id);

class SessionStore {
 public:
  SessionStore(sql::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

  // The transaction's new state: stored unless older than the stored one (by updated_at; of
  // two in the same millisecond the later wins, unless it would undo the end), the owner kept
  // from the first; then, when `push` is set, into the owner's outbox. False when it changed
  // nothing (older, or a redelivery).
  Result<bool> put_session(const std::string& id, const SessionOwner& owner,
                           const v1::Transaction& transaction, bool push);
  Result<std::optional<StoredSession>> session(const std::string& id);
  Result<OwnedPage<StoredSession>> sessions(const OwnedQuery& query);

  // A CDR, once: false when it is known already (a redelivery changes nothing). Its session
  // (when known) changes with it (its total cost), so both go into the owner's outbox.
  Result<bool> put_cdr(const std::string& session_id, const SessionOwner& owner, const v1::Cdr& cdr,
                       bool push);
  Result<std::optional<StoredCdr>> cdr(const std::string& id);
  Result<std::optional<StoredCdr>> cdr_of_session(const std::string& session_id);
  Result<OwnedPage<StoredCdr>> cdrs(const OwnedQuery& query);
  Result<void> cdr_delivered(const std::string& id, std::int64_t at_ms);

  Result<void> record_authorization(const std::string& uid, const std::string& partner_id,
                                    const TokenAuthorization& authorization);
  Result<std::optional<TokenAuthorization>> authorization(const std::string& uid,
                                                          const std::string& partner_id);

 private:
  std::int64_t now_ms() const;

  sql::Database& db_;
  const Clock& clock_;
};

}  // namespace switchyard::roaming
