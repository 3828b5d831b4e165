// The push outbox (see push_outbox.h).
#include "roaming/push_outbox.h"

#include "common/runtime/sql/database.h"

namespace switchyard::roaming {

Result<void> enqueue_push(sql::Transaction& tx, std::span<const std::string> partners,
                          const std::string& module, const std::string& object_id,
                          const std::string& part, std::int64_t now_ms) {
  for (const auto& partner : partners) {
    auto r = tx.exec(
        "INSERT INTO roaming_outbox (partner_id, module, object_id, part, version, enqueued_ms, "
        "attempts, next_attempt_ms, last_error) VALUES ($1, $2, $3, $4, 1, $5, 0, $5, '') "
        "ON CONFLICT (partner_id, module, object_id, part) DO UPDATE SET "
        "version = roaming_outbox.version + 1",
        {partner, module, object_id, part, std::to_string(now_ms)});
    if (!r) return std::unexpected(r.error());
  }
  return {};
}

Result<std::vector<PendingPush>> PushOutbox::due(std::int64_t now_ms, int limit) {
  return select_due(
      "next_attempt_ms <= $1 AND partner_id NOT LIKE '" + std::string(kBuiltInPrefix) + "%'",
      {std::to_string(now_ms)}, limit);
}

Result<std::vector<PendingPush>> PushOutbox::due_of(const std::string& partner_id,
                                                    std::int64_t now_ms, int limit) {
  return select_due("next_attempt_ms <= $1 AND partner_id = $2",
                    {std::to_string(now_ms), partner_id}, limit);
}

Result<std::vector<PendingPush>> PushOutbox::all_of(const std::string& partner_id) {
  return select_due("partner_id = $1", {partner_id}, 1 << 30);
}

Result<std::vector<PendingPush>> PushOutbox::select_due(const std::string& where,
                                                        std::vector<std::string> params,
                                                        int limit) {
  std::vector<sql::Param> bound(params.begin(), params.end());
  auto r = db_.exec(
      "SELECT partner_id, module, object_id, part, version, enqueued_ms, attempts "
      "FROM roaming_outbox WHERE " +
          where + " ORDER BY enqueued_ms, partner_id, module, object_id, part LIMIT " +
          std::to_string(limit),
      bound);
  if (!r) return std::unexpected(r.error());
  std::vector<PendingPush> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->int64(i, 4),
                   r->int64(i, 5), r->int64(i, 6)});
  }
  return out;
}

Result<void> PushOutbox::done(const PendingPush& p) {
  auto r = db_.exec(
      "DELETE FROM roaming_outbox WHERE partner_id = $1 AND module = $2 AND object_id = $3 AND "
      "part = $4 AND version = $5",
      {p.partner_id, p.module, p.object_id, p.part, std::to_string(p.version)});
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) {
    // Changed while it was sent: due again at once, the failure count starts over.
    auto u = db_.exec(
        "UPDATE roaming_outbox SET attempts = 0, last_error = '' WHERE partner_id = $1 AND "
        "module = $2 AND object_id = $3 AND part = $4",
        {p.partner_id, p.module, p.object_id, p.part});
    if (!u) return std::unexpected(u.error());
  }
  return {};
}

Result<void> PushOutbox::replace(const PendingPush& p, const std::string& part,
                                 std::int64_t now_ms) {
  return db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto d = tx.exec(
        "DELETE FROM roaming_outbox WHERE partner_id = $1 AND module = $2 AND object_id = $3 AND "
        "part = $4",
        {p.partner_id, p.module, p.object_id, p.part});
    if (!d) return std::unexpected(d.error());
    const std::string partner[] = {p.partner_id};
    return enqueue_push(tx, partner, p.module, p.object_id, part, now_ms);
  });
}

Result<void> PushOutbox::failed(const PendingPush& p, const std::string& error,
                                std::int64_t next_ms) {
  auto r = db_.exec(
      "UPDATE roaming_outbox SET attempts = attempts + 1, next_attempt_ms = $5, last_error = $6 "
      "WHERE partner_id = $1 AND module = $2 AND object_id = $3 AND part = $4",
      {p.partner_id, p.module, p.object_id, p.part, std::to_string(next_ms), error.substr(0, 500)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> PushOutbox::defer(const std::string& partner_id, std::int64_t next_ms) {
  auto r = db_.exec(
      "UPDATE roaming_outbox SET next_attempt_ms = $2 WHERE partner_id = $1 AND "
      "next_attempt_ms < $2",
      {partner_id, std::to_string(next_ms)});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::int64_t> PushOutbox::retry_now(const std::string& partner_id, std::int64_t now_ms) {
  auto r = db_.exec(
      "UPDATE roaming_outbox SET next_attempt_ms = $2 WHERE partner_id = $1 AND "
      "next_attempt_ms > $2",
      {partner_id, std::to_string(now_ms)});
  if (!r) return std::unexpected(r.error());
  return r->affected();
}

Result<std::int64_t> PushOutbox::drop(const std::string& partner_id, const std::string& module) {
  auto r = db_.exec("DELETE FROM roaming_outbox WHERE partner_id = $1 AND module = $2",
                    {partner_id, module});
  if (!r) return std::unexpected(r.error());
  return r->affected();
}

Result<std::vector<PushStats>> PushOutbox::stats() {
  auto r = db_.exec(
      "SELECT partner_id, module, COUNT(*), MIN(enqueued_ms), MAX(last_error) FROM roaming_outbox "
      "GROUP BY partner_id, module ORDER BY partner_id, module");
  if (!r) return std::unexpected(r.error());
  std::vector<PushStats> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({r->text(i, 0), r->text(i, 1), r->int64(i, 2), r->int64(i, 3), r->text(i, 4)});
  }
  return out;
}

PushStats partner_total(std::span<const PushStats> stats, const std::string& partner_id) {
  PushStats total{partner_id, "", 0, 0, ""};
  for (const auto& s : stats) {
    if (s.partner_id != partner_id) continue;
    total.pending += s.pending;
    if (total.oldest_ms == 0 || s.oldest_ms < total.oldest_ms) total.oldest_ms = s.oldest_ms;
    if (total.last_error.empty()) total.last_error = s.last_error;
  }
  return total;
}

}  // namespace switchyard::roaming
