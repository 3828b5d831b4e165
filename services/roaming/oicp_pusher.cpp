// Pushes to Hubject (see oicp_pusher.h).
#include "roaming/oicp_pusher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"
#include "common/runtime/sql/database.h"
#include "roaming/location_store.h"
#include "roaming/oicp_pricing.h"
#include "roaming/oicp_sessions.h"

namespace switchyard::roaming {

namespace {

const std::string kHubject(kHubjectPartner);

// A live EVSE of a published location that Hubject may show.
struct LiveEvse {
  std::string uid;  // ours, within the location
  std::string evse_id;
  std::string location_id;
  std::string record;  // EvseDataRecord JSON
  std::string status;  // OICP EvseStatus
};

// The EVSEs of `location` Hubject should hold (none when unpublished); `skipped` counts the ones
// it cannot (logged once per pass by the caller).
std::vector<LiveEvse> live_evses(const v1::RoamingLocation& location, const OicpSettings& s,
                                 std::vector<std::string>& skipped) {
  std::vector<LiveEvse> out;
  if (!location.publish()) return out;
  for (const auto& e : location.evses()) {
    if (e.status() == "REMOVED") continue;
    const OicpEvse evse{&location, &e};
    if (auto ok = check_oicp_evse(evse, s); !ok) {
      skipped.push_back(location.id() + ": " + ok.error().message);
      continue;
    }
    out.push_back({e.uid(), e.evse_id(), location.id(), evse_data_record(evse, s),
                   std::string(oicp_evse_status(e.status()))});
  }
  return out;
}

// Statuses as (EvseID, status) records, each EVSE once (the last one wins).
std::vector<OicpStatus> unique_statuses(const std::vector<OicpStatus>& in) {
  std::map<std::string, std::string> by_id;
  for (const auto& s : in) by_id[s.evse_id] = s.status;
  std::vector<OicpStatus> out;
  out.reserve(by_id.size());
  for (auto& [id, status] : by_id) out.push_back({id, status});
  return out;
}

}  // namespace

OicpPusher::OicpPusher(const OicpSettings& settings, LocationStore& locations, PushOutbox& outbox,
                       sql::Database& db, OicpClient& client, const Clock& clock,
                       prometheus::Registry* metrics, OicpPushOptions options,
                       OicpSessionStore* sessions, TariffCatalog* tariffs)
    : settings_(settings),
      locations_(locations),
      outbox_(outbox),
      db_(db),
      client_(client),
      clock_(clock),
      options_(options),
      sessions_(sessions) {
  if (tariffs != nullptr && settings.pricing) {
    pricing_ = std::make_unique<OicpPricing>(
        settings, *tariffs, db, clock,
        [this](OicpOperation operation, std::string_view action, std::string body, int records) {
          return send(operation, action, std::move(body), records);
        },
        settings.currency, options.max_backoff, options.batch);
  }
  if (metrics == nullptr) return;
  pushes_ =
      &prometheus::BuildCounter()
           .Name("switchyard_roaming_oicp_pushes_total")
           .Help(
               "Pushes to Hubject by operation (evse-data, evse-status, charge-detail-record, "
               "pricing-products, evse-pricing), action (fullLoad, insert, update, delete; send "
               "for CDRs) and result (accepted; refused: Hubject answered Result false; "
               "unreachable). Refused and unreachable ones are kept and retried")
           .Register(*metrics);
  for (const auto& [op, action] :
       {std::pair{"evse-data", "update"}, std::pair{"evse-status", "update"},
        std::pair{"charge-detail-record", "send"}, std::pair{"pricing-products", "fullLoad"},
        std::pair{"evse-pricing", "update"}}) {
    if (pricing_ == nullptr && std::string_view(op).find("pricing") != std::string_view::npos) {
      continue;
    }
    for (const auto* result : {"accepted", "refused", "unreachable"}) {
      pushes_->Add({{"operation", op}, {"action", action}, {"result", result}});
    }
  }
  evses_ = &prometheus::BuildGauge()
                .Name("switchyard_roaming_oicp_evses")
                .Help("EVSEs Hubject holds (as of the last pushes it accepted)")
                .Register(*metrics)
                .Add({});
  full_load_time_ = &prometheus::BuildGauge()
                         .Name("switchyard_roaming_oicp_last_full_load_timestamp_seconds")
                         .Help("When Hubject last accepted a fullLoad of our EVSEs (0: never)")
                         .Register(*metrics)
                         .Add({});
}

OicpPusher::~OicpPusher() { stop(); }

void OicpPusher::start() {
  count_evses();
  thread_ = std::jthread([this](const std::stop_token& stop) {
    name_this_thread("oicp-push");
    run(stop);
  });
}

void OicpPusher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void OicpPusher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void OicpPusher::resend() {
  {
    std::lock_guard lock(mutex_);
    resend_ = true;
    woken_ = true;
  }
  cv_.notify_all();
}

std::int64_t OicpPusher::now_ms() const { return unix_ms(clock_.now()); }

void OicpPusher::count_evses() {
  if (evses_ == nullptr) return;
  if (auto r = db_.exec("SELECT COUNT(*) FROM roaming_oicp_evses"); r && r->size() == 1) {
    evses_->Set(static_cast<double>(r->int64(0, 0)));
  }
}

Result<std::optional<std::int64_t>> OicpPusher::last_full_load() {
  if (last_full_load_ms_) return last_full_load_ms_;
  auto r = db_.exec("SELECT value FROM roaming_oicp_state WHERE name = 'last_full_load_ms'");
  if (!r) return std::unexpected(r.error());
  if (r->size() == 1) last_full_load_ms_ = r->int64(0, 0);
  if (last_full_load_ms_ && full_load_time_ != nullptr) {
    full_load_time_->Set(static_cast<double>(*last_full_load_ms_) / 1000.0);
  }
  return last_full_load_ms_;
}

Result<void> OicpPusher::send(OicpOperation operation, std::string_view action, std::string body,
                              int records) {
  const std::string op(oicp_operation_name(operation));
  const std::string act(action);
  auto sent = client_.push(operation, std::move(body));
  const char* result = sent                                           ? "accepted"
                       : sent.error().code == ErrorCode::kUnavailable ? "unreachable"
                                                                      : "refused";
  if (pushes_ != nullptr) {
    pushes_->Add({{"operation", op}, {"action", act}, {"result", result}}).Increment();
  }
  if (!sent) return sent;
  log::debug("OICP push accepted", {{"operation", op}, {"action", act}, {"records", records}});
  return {};
}

Result<void> OicpPusher::back_off(const std::vector<PendingPush>& entries, const Error& error) {
  const std::int64_t wait = retry_delay_ms(failures_, options_.max_backoff);
  ++failures_;
  backed_off_ = true;
  backoff_until_ms_ = now_ms() + wait;
  if (failures_ == 1 || failures_ % 10 == 0) {
    log::warn("OICP push failed; kept and retried",
              {{"error", error.message}, {"failures", failures_}, {"retry_in_ms", wait}});
  }
  for (const auto& e : entries) {
    if (auto f = outbox_.failed(e, error.message, backoff_until_ms_); !f) return f;
  }
  return outbox_.defer(kHubject, backoff_until_ms_);
}

Result<void> OicpPusher::all_done(const std::vector<PendingPush>& entries) {
  for (const auto& e : entries) {
    if (auto d = outbox_.done(e); !d) return d;
  }
  return {};
}

Result<int> OicpPusher::push_due() {
  const std::int64_t now = now_ms();
  bool resend = false;
  {
    std::lock_guard lock(mutex_);
    resend = std::exchange(resend_, false);
  }
  if (resend) {
    log::info("OICP resend: a fullLoad now", {{"failures", failures_}});
    backoff_until_ms_ = 0;
    full_load_requested_ = true;
    if (auto r = outbox_.retry_now(kHubject, now); !r) return std::unexpected(r.error());
  }
  if (now < backoff_until_ms_) return 0;
  backed_off_ = false;
  auto due = outbox_.due_of(kHubject, now, 5000);
  if (!due) return std::unexpected(due.error());
  std::vector<PendingPush> cdr_entries;
  std::vector<PendingPush> location_entries;
  for (auto& e : *due) {
    (e.module == "cdrs" ? cdr_entries : location_entries).push_back(std::move(e));
  }
  int accepted = 0;
  // CDRs first: a driver's bill waits for nothing else Hubject may refuse (EVSE data, a fullLoad).
  if (!cdr_entries.empty()) {
    auto reached = cdrs(cdr_entries, accepted);
    if (!reached) return std::unexpected(reached.error());
    if (!*reached) return accepted;
  }
  auto last = last_full_load();
  if (!last) return std::unexpected(last.error());
  auto sent =
      (!*last || full_load_requested_ || now - **last >= settings_.full_load_interval.count())
          ? full_load(now)
          : changes(location_entries);
  if (!sent) return std::unexpected(sent.error());
  accepted += *sent;
  // The pricing refers to the EVSEs Hubject holds: after them, and not while Hubject is down.
  if (pricing_ != nullptr && !backed_off_) {
    auto priced = pricing_->push();
    if (!priced) return std::unexpected(priced.error());
    accepted += *priced;
  }
  // The back-off grows until a pass goes through without one.
  if (accepted > 0 && !backed_off_) {
    if (failures_ > 0) log::info("OICP pushes accepted again", {{"failures", failures_}});
    failures_ = 0;
  }
  return accepted;
}

Result<int> OicpPusher::full_load(std::int64_t now) {
  // What waits now is contained in the full load (entries that change meanwhile stay: done()).
  auto waiting = outbox_.all_of(kHubject);
  if (!waiting) return std::unexpected(waiting.error());
  // CDRs are not part of it: they wait for their own request.
  std::erase_if(*waiting, [](const PendingPush& p) { return p.module != "locations"; });
  std::vector<LiveEvse> live;
  std::vector<std::string> skipped;
  for (std::string after;;) {
    auto page = locations_.list(after, 500);
    if (!page) return std::unexpected(page.error());
    for (const auto& l : *page) {
      auto evses = live_evses(l, settings_, skipped);
      live.insert(live.end(), std::make_move_iterator(evses.begin()),
                  std::make_move_iterator(evses.end()));
    }
    if (page->size() < 500) break;
    after = page->back().id();
  }
  std::vector<std::string> records;
  std::vector<OicpStatus> statuses;
  for (const auto& e : live) {
    records.push_back(e.record);
    statuses.push_back({e.evse_id, e.status});
  }
  if (auto s = send(OicpOperation::kPushEvseData, oicp_action_name(OicpAction::kFullLoad),
                    push_evse_data_body(OicpAction::kFullLoad, records, settings_),
                    static_cast<int>(records.size()));
      !s) {
    if (auto b = back_off(*waiting, s.error()); !b) return std::unexpected(b.error());
    return 0;
  }
  auto stored = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    if (auto d = tx.exec("DELETE FROM roaming_oicp_evses"); !d) return std::unexpected(d.error());
    for (const auto& e : live) {
      auto i = tx.exec(
          "INSERT INTO roaming_oicp_evses (evse_id, location_id, record) VALUES ($1, $2, $3) "
          "ON CONFLICT (evse_id) DO UPDATE SET location_id = $2, record = $3",
          {e.evse_id, e.location_id, e.record});
      if (!i) return std::unexpected(i.error());
    }
    return {};
  });
  if (!stored) return std::unexpected(stored.error());
  count_evses();
  if (auto s =
          send(OicpOperation::kPushEvseStatus, oicp_action_name(OicpAction::kFullLoad),
               push_evse_status_body(OicpAction::kFullLoad, unique_statuses(statuses), settings_),
               static_cast<int>(statuses.size()));
      !s) {
    if (auto b = back_off(*waiting, s.error()); !b) return std::unexpected(b.error());
    return 0;  // the whole fullLoad again after the back-off
  }
  auto saved = db_.exec(
      "INSERT INTO roaming_oicp_state (name, value) VALUES ('last_full_load_ms', $1) "
      "ON CONFLICT (name) DO UPDATE SET value = $1",
      {std::to_string(now)});
  if (!saved) return std::unexpected(saved.error());
  last_full_load_ms_ = now;
  full_load_requested_ = false;
  if (full_load_time_ != nullptr) full_load_time_->Set(static_cast<double>(now) / 1000.0);
  if (pricing_ != nullptr) pricing_->full_load_due();
  if (auto d = all_done(*waiting); !d) return std::unexpected(d.error());
  log::info("OICP fullLoad accepted",
            {{"evses", static_cast<std::int64_t>(live.size())},
             {"skipped", static_cast<std::int64_t>(skipped.size())},
             {"first_skipped", skipped.empty() ? std::string() : skipped.front()}});
  return 2;
}

Result<int> OicpPusher::changes(const std::vector<PendingPush>& due) {
  if (due.empty()) return 0;
  std::vector<PendingPush> data_entries;
  std::vector<PendingPush> status_entries;
  for (const auto& e : due) (e.part.empty() ? data_entries : status_entries).push_back(e);
  int accepted = 0;

  std::map<std::string, std::optional<v1::RoamingLocation>> locations;
  const auto location = [&](const std::string& id) -> Result<const v1::RoamingLocation*> {
    auto it = locations.find(id);
    if (it == locations.end()) {
      auto got = locations_.get(id);
      if (!got) return std::unexpected(got.error());
      it = locations.emplace(id, std::move(*got)).first;
    }
    return it->second ? &*it->second : nullptr;
  };
  std::vector<OicpStatus> statuses;
  std::vector<std::string> skipped;

  // EVSE data of the changed locations: what Hubject holds against what it should.
  if (!data_entries.empty()) {
    std::map<std::string, LiveEvse> should;   // by EvseID
    std::map<std::string, std::string> held;  // EvseID → record Hubject has
    for (const auto& entry : data_entries) {
      auto l = location(entry.object_id);
      if (!l) return std::unexpected(l.error());
      if (*l != nullptr) {
        for (auto& e : live_evses(**l, settings_, skipped)) should[e.evse_id] = std::move(e);
      }
      auto r = db_.exec("SELECT evse_id, record FROM roaming_oicp_evses WHERE location_id = $1",
                        {entry.object_id});
      if (!r) return std::unexpected(r.error());
      for (int i = 0; i < r->size(); ++i) held[r->text(i, 0)] = r->text(i, 1);
    }
    std::vector<std::string> deletes;
    std::vector<std::string> delete_ids;
    std::vector<const LiveEvse*> inserts;
    std::vector<const LiveEvse*> updates;
    for (const auto& [id, record] : held) {
      if (!should.contains(id)) {
        deletes.push_back(record);
        delete_ids.push_back(id);
      }
    }
    for (const auto& [id, e] : should) {
      const auto h = held.find(id);
      if (h == held.end()) {
        inserts.push_back(&e);
      } else if (h->second != e.record) {
        updates.push_back(&e);
      }
    }
    // An EVSE that moved to another location is held under the old one: an update, not an insert.
    for (auto it = inserts.begin(); it != inserts.end();) {
      auto r = db_.exec("SELECT 1 FROM roaming_oicp_evses WHERE evse_id = $1", {(*it)->evse_id});
      if (!r) return std::unexpected(r.error());
      if (r->size() > 0) {
        updates.push_back(*it);
        it = inserts.erase(it);
      } else {
        ++it;
      }
    }
    const auto batch = static_cast<std::size_t>(std::max(1, options_.batch));
    // POSTs `records` in batches; `accepted_batch(from, to)` records each batch Hubject accepted
    // at once, so a later failure does not send it again. False when one failed (backed off).
    const auto push_records =
        [&](OicpAction action, const std::vector<std::string>& records,
            const std::function<Result<void>(std::size_t, std::size_t)>& accepted_batch)
        -> Result<bool> {
      for (std::size_t from = 0; from < records.size(); from += batch) {
        const std::size_t to = std::min(records.size(), from + batch);
        std::vector<std::string> part(records.begin() + static_cast<std::ptrdiff_t>(from),
                                      records.begin() + static_cast<std::ptrdiff_t>(to));
        auto s = send(OicpOperation::kPushEvseData, oicp_action_name(action),
                      push_evse_data_body(action, part, settings_), static_cast<int>(part.size()));
        if (!s) {
          std::vector<PendingPush> kept = data_entries;
          kept.insert(kept.end(), status_entries.begin(), status_entries.end());
          if (auto b = back_off(kept, s.error()); !b) return std::unexpected(b.error());
          return false;
        }
        ++accepted;
        if (pricing_ != nullptr) pricing_->evses_changed();
        if (auto r = accepted_batch(from, to); !r) return std::unexpected(r.error());
      }
      return true;
    };
    const auto texts = [](const std::vector<const LiveEvse*>& evses) {
      std::vector<std::string> out;
      out.reserve(evses.size());
      for (const auto* e : evses) out.push_back(e->record);
      return out;
    };
    const auto record_held = [&](const std::vector<const LiveEvse*>& evses, std::size_t from,
                                 std::size_t to, bool inserted) -> Result<void> {
      return db_.transaction([&](sql::Transaction& tx) -> Result<void> {
        for (std::size_t i = from; i < to; ++i) {
          const LiveEvse* e = evses[i];
          auto r = tx.exec(
              "INSERT INTO roaming_oicp_evses (evse_id, location_id, record) VALUES ($1, $2, $3) "
              "ON CONFLICT (evse_id) DO UPDATE SET location_id = $2, record = $3",
              {e->evse_id, e->location_id, e->record});
          if (!r) return std::unexpected(r.error());
          if (!inserted) continue;
          // A new EVSE's status follows (its own outbox entry: kept until Hubject has it).
          const std::string hubject[] = {kHubject};
          if (auto q = enqueue_push(tx, hubject, "locations", e->location_id, e->uid, now_ms());
              !q) {
            return q;
          }
        }
        return {};
      });
    };
    // Deleted first (an EVSE id may come back under another EVSE), then inserted, then updated.
    auto d = push_records(
        OicpAction::kDelete, deletes, [&](std::size_t from, std::size_t to) -> Result<void> {
          for (std::size_t i = from; i < to; ++i) {
            auto r = db_.exec("DELETE FROM roaming_oicp_evses WHERE evse_id = $1", {delete_ids[i]});
            if (!r) return std::unexpected(r.error());
          }
          return {};
        });
    if (!d) return std::unexpected(d.error());
    if (!*d) return accepted;
    auto i = push_records(
        OicpAction::kInsert, texts(inserts),
        [&](std::size_t from, std::size_t to) { return record_held(inserts, from, to, true); });
    if (!i) return std::unexpected(i.error());
    if (!*i) return accepted;
    auto u = push_records(
        OicpAction::kUpdate, texts(updates),
        [&](std::size_t from, std::size_t to) { return record_held(updates, from, to, false); });
    if (!u) return std::unexpected(u.error());
    if (!*u) return accepted;
    if (!inserts.empty()) wake();  // their statuses: the next pass, at once
    count_evses();
    if (!skipped.empty()) {
      log::warn("EVSEs not sent to Hubject",
                {{"count", static_cast<std::int64_t>(skipped.size())}, {"first", skipped.front()}});
    }
  }

  // Statuses: the latest of each changed EVSE Hubject holds.
  for (const auto& entry : status_entries) {
    auto l = location(entry.object_id);
    if (!l) return std::unexpected(l.error());
    if (*l == nullptr || !(*l)->publish()) continue;
    for (const auto& e : (*l)->evses()) {
      if (e.uid() != entry.part || e.status() == "REMOVED") continue;
      auto r = db_.exec("SELECT 1 FROM roaming_oicp_evses WHERE evse_id = $1", {e.evse_id()});
      if (!r) return std::unexpected(r.error());
      if (r->size() > 0)
        statuses.push_back({e.evse_id(), std::string(oicp_evse_status(e.status()))});
    }
  }
  const auto unique = unique_statuses(statuses);
  const auto batch = static_cast<std::size_t>(std::max(1, options_.batch));
  for (std::size_t from = 0; from < unique.size(); from += batch) {
    const std::size_t to = std::min(unique.size(), from + batch);
    std::vector<OicpStatus> part(unique.begin() + static_cast<std::ptrdiff_t>(from),
                                 unique.begin() + static_cast<std::ptrdiff_t>(to));
    auto s = send(OicpOperation::kPushEvseStatus, oicp_action_name(OicpAction::kUpdate),
                  push_evse_status_body(OicpAction::kUpdate, part, settings_),
                  static_cast<int>(part.size()));
    if (!s) {
      if (auto d = all_done(data_entries); !d) return std::unexpected(d.error());
      if (auto b = back_off(status_entries, s.error()); !b) return std::unexpected(b.error());
      return accepted;
    }
    ++accepted;
  }
  if (auto d = all_done(data_entries); !d) return std::unexpected(d.error());
  if (auto d = all_done(status_entries); !d) return std::unexpected(d.error());
  return accepted;
}

Result<bool> OicpPusher::cdrs(std::vector<PendingPush>& entries, int& accepted) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PendingPush& entry = entries[i];
    auto body = sessions_ != nullptr ? sessions_->cdr_to_send(entry.object_id)
                                     : Result<std::optional<std::string>>(std::nullopt);
    if (!body) return std::unexpected(body.error());
    if (!*body) {  // accepted already, or no such session: nothing to send
      if (auto d = outbox_.done(entry); !d) return std::unexpected(d.error());
      continue;
    }
    auto sent = send(OicpOperation::kChargeDetailRecord, "send", std::move(**body), 1);
    if (sent) {
      ++accepted;
      if (auto a = sessions_->cdr_accepted(entry.object_id, now_ms()); !a) {
        return std::unexpected(a.error());
      }
      if (auto d = outbox_.done(entry); !d) return std::unexpected(d.error());
      log::info("OICP CDR accepted",
                {{"session_id", entry.object_id}, {"attempts", entry.attempts}});
      continue;
    }
    if (sent.error().code == ErrorCode::kUnavailable) {
      std::vector<PendingPush> rest(entries.begin() + static_cast<std::ptrdiff_t>(i),
                                    entries.end());
      if (auto b = back_off(rest, sent.error()); !b) return std::unexpected(b.error());
      return false;
    }
    // Refused (Result false): this CDR alone waits, with its own back-off.
    const std::int64_t wait = retry_delay_ms(entry.attempts, options_.max_backoff);
    if (entry.attempts == 0) {
      log::warn("OICP CDR refused; kept and retried",
                {{"session_id", entry.object_id}, {"error", sent.error().message}});
    }
    if (auto f = outbox_.failed(entry, sent.error().message, now_ms() + wait); !f) {
      return std::unexpected(f.error());
    }
  }
  return true;
}

void OicpPusher::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    auto r = push_due();
    if (!r) log::warn("OICP pushes failed; retrying", {{"error", r.error().message}});
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, stop, options_.interval, [this] { return woken_; });
    woken_ = false;
  }
}

}  // namespace switchyard::roaming
