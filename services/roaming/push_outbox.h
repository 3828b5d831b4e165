// The push outbox: per partner and object, only *that* the object changed (never its state),
// written in the transaction of the change, for every module that pushes to partners' receivers
// ("locations": a whole location, or one EVSE's status; "sessions"; "cdrs"). The pusher sends the
// object as it is at send time, so a partner that was down gets one request per changed object
// when it is back, never the history. In portable SQL (PostgreSQL or SQLite, roaming migrations).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::sql {
class Database;
class Transaction;
}  // namespace switchyard::sql

namespace switchyard::roaming {

// Outboxes of partners that are not OCPI partners (Hubject: "@hubject") have ids with this prefix,
// which OCPI partner ids cannot have; the OCPI pusher leaves them to their own pusher.
inline constexpr std::string_view kBuiltInPrefix = "@";

// An object a partner has still to be told about. `part` narrows it ("" the whole object; for
// locations an EVSE uid: its status only). `version` grows with each change while it waits.
struct PendingPush {
  std::string partner_id;
  std::string module;
  std::string object_id;
  std::string part;
  std::int64_t version = 0;
  std::int64_t enqueued_ms = 0;  // the oldest change not yet delivered
  std::int64_t attempts = 0;
};

// A partner's outbox of one module (or of all of them: partner_total).
struct PushStats {
  std::string partner_id;
  std::string module;
  std::int64_t pending = 0;
  std::int64_t oldest_ms = 0;  // enqueued_ms of the oldest entry
  std::string last_error;      // of a failed entry, empty when none failed
};

// The partner's whole outbox from per-module stats (module empty; pending 0 when it has none).
PushStats partner_total(std::span<const PushStats> stats, const std::string& partner_id);

// The wait before the next try after `failures` failed ones: 1 s, doubling, at most `max`.
inline std::int64_t retry_delay_ms(std::int64_t failures, std::chrono::milliseconds max) {
  return std::min<std::int64_t>(max.count(), 1000LL << std::clamp<std::int64_t>(failures, 0, 20));
}

// `object_id` / `part` of `module` changed at `now_ms`: into the outbox of each of `partners`,
// or, when already there, its version moves on (the oldest change's time stays).
Result<void> enqueue_push(sql::Transaction& tx, std::span<const std::string> partners,
                          const std::string& module, const std::string& object_id,
                          const std::string& part, std::int64_t now_ms);

class PushOutbox {
 public:
  explicit PushOutbox(sql::Database& db) : db_(db) {}

  // Entries of partners (not the built-in ones) whose next attempt is due, oldest change first.
  Result<std::vector<PendingPush>> due(std::int64_t now_ms, int limit);
  // The same for one partner (a built-in one such as OICP's kHubjectPartner).
  Result<std::vector<PendingPush>> due_of(const std::string& partner_id, std::int64_t now_ms,
                                          int limit);
  // Every entry of a partner, due or not.
  Result<std::vector<PendingPush>> all_of(const std::string& partner_id);
  // Delivered: the entry goes unless the object changed again meanwhile (then it stays, due).
  Result<void> done(const PendingPush& push);
  // Not delivered: tried again at `next_ms`.
  Result<void> failed(const PendingPush& push, const std::string& error, std::int64_t next_ms);
  // The entry becomes one for `part` of the same object (e.g. an EVSE status the partner refused
  // becomes the whole location), due at `now_ms`.
  Result<void> replace(const PendingPush& push, const std::string& part, std::int64_t now_ms);
  // The partner is unreachable: none of its entries is tried before `next_ms`.
  Result<void> defer(const std::string& partner_id, std::int64_t next_ms);
  // The operator's resend: every entry of the partner waiting for a later attempt is due at
  // `now_ms`. How many were waiting.
  Result<std::int64_t> retry_now(const std::string& partner_id, std::int64_t now_ms);
  // The partner no longer receives `module`: its entries of that module go.
  Result<std::int64_t> drop(const std::string& partner_id, const std::string& module);
  // Per partner and module, by partner then module.
  Result<std::vector<PushStats>> stats();

 private:
  Result<std::vector<PendingPush>> select_due(const std::string& where,
                                              std::vector<std::string> params, int limit);

  sql::Database& db_;
};

}  // namespace switchyard::roaming
