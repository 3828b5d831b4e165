// Location pushes to partners (see location_pusher.h).
#include "roaming/location_pusher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <set>

#include "common/runtime/core/log.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

std::string timestamp(const google::protobuf::Timestamp& t) {
  return ocpi_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(t.seconds())));
}

}  // namespace

std::string locations_receiver_url(const Partner& partner) {
  for (const auto& e : partner.endpoints) {
    if (e.identifier == "locations" && e.role == "RECEIVER") return e.url;
  }
  return "";
}

LocationPusher::LocationPusher(LocationStore& locations, PartnerStore& partners, OcpiClient& client,
                               Party party, const Clock& clock, prometheus::Registry* metrics,
                               PushOptions options)
    : locations_(locations),
      partners_(partners),
      client_(client),
      party_(std::move(party)),
      clock_(clock),
      options_(options) {
  if (metrics == nullptr) return;
  pushes_ = &prometheus::BuildCounter()
                 .Name("switchyard_roaming_pushes_total")
                 .Help(
                     "Pushes to partners' receiver modules by module and result (delivered, "
                     "failed: kept and retried)")
                 .Register(*metrics);
  pending_ = &prometheus::BuildGauge()
                  .Name("switchyard_roaming_outbox_pending")
                  .Help("Objects a partner has still to be told about (one per changed object)")
                  .Register(*metrics);
  oldest_ = &prometheus::BuildGauge()
                 .Name("switchyard_roaming_outbox_oldest_age_seconds")
                 .Help("Age of the oldest change a partner has not received yet (0: none)")
                 .Register(*metrics);
  // Known label values start at 0, so dashboards and alerts have a series before the first push.
  for (const char* result : {"delivered", "failed"}) {
    pushes_->Add({{"module", "locations"}, {"result", result}});
  }
}

LocationPusher::~LocationPusher() { stop(); }

Result<std::vector<std::string>> LocationPusher::receivers() {
  std::lock_guard lock(receivers_mutex_);
  const auto now = clock_.steady_now();
  if (now < receivers_until_) return receivers_;
  auto all = partners_.load_all();
  if (!all) return std::unexpected(all.error());
  receivers_.clear();
  for (const auto& p : *all) {
    if (p.state == PartnerState::kRegistered && !locations_receiver_url(p).empty()) {
      receivers_.push_back(p.id);
    }
  }
  receivers_until_ = now + std::chrono::seconds(1);
  return receivers_;
}

void LocationPusher::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void LocationPusher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void LocationPusher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::int64_t LocationPusher::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
      .count();
}

Result<int> LocationPusher::push_due() {
  auto due = locations_.due_pushes(now_ms(), options_.batch);
  if (!due) return std::unexpected(due.error());
  int delivered = 0;
  std::map<std::string, std::optional<Partner>> partners;
  std::set<std::string> deferred;  // unreachable in this pass
  std::map<std::string, std::optional<v1::RoamingLocation>> cache;
  const std::int64_t started = now_ms();
  for (const PendingPush& push : *due) {
    if (deferred.contains(push.partner_id)) continue;
    // Unreachable a moment ago: objects that changed since wait for the same back-off, so the
    // partner is asked once per back-off however many objects change meanwhile.
    if (auto it = unreachable_until_.find(push.partner_id);
        it != unreachable_until_.end() && it->second > started) {
      if (auto d = locations_.defer_pushes(push.partner_id, it->second); !d) {
        return std::unexpected(d.error());
      }
      deferred.insert(push.partner_id);
      continue;
    }
    auto known = partners.find(push.partner_id);
    if (known == partners.end()) {
      auto p = partners_.get(push.partner_id);
      if (!p) return std::unexpected(p.error());
      known = partners.emplace(push.partner_id, std::move(*p)).first;
    }
    const std::optional<Partner>& partner = known->second;
    const std::string url = partner && partner->state == PartnerState::kRegistered
                                ? locations_receiver_url(*partner)
                                : std::string();
    if (url.empty()) {
      // Unregistered, or no longer receiving locations: nothing of it is sent any more.
      auto dropped = locations_.drop_pushes(push.partner_id);
      if (!dropped) return std::unexpected(dropped.error());
      log::info("location pushes dropped: the partner no longer receives locations",
                {{"partner_id", push.partner_id}, {"entries", *dropped}});
      deferred.insert(push.partner_id);
      continue;
    }
    auto cached = cache.find(push.location_id);
    if (cached == cache.end()) {
      auto l = locations_.get(push.location_id);
      if (!l) return std::unexpected(l.error());
      cached = cache.emplace(push.location_id, std::move(*l)).first;
    }
    const std::optional<v1::RoamingLocation>& location = cached->second;
    std::string method;
    std::string target = url + "/" + url_segment(party_.country_code) + "/" +
                         url_segment(party_.party_id) + "/" + url_segment(push.location_id);
    std::string body;
    if (push.evse_uid.empty() && location) {
      method = "PUT";
      body = location_json(*location, party_);
    } else if (location) {
      const auto evse = std::ranges::find(location->evses(), push.evse_uid, &v1::RoamingEvse::uid);
      if (evse != location->evses().end()) {
        method = "PATCH";
        target += "/" + url_segment(push.evse_uid);
        body = boost::json::serialize(boost::json::object{
            {"status", evse->status()}, {"last_updated", timestamp(evse->last_updated())}});
      }
    }
    if (method.empty()) {  // the object is gone: nothing to tell
      if (auto d = locations_.push_done(push); !d) return std::unexpected(d.error());
      continue;
    }
    // Routed to the partner's own party (a hub: to the hub, which broadcasts).
    const Party to = partner->roles.empty() ? Party{}
                                            : Party{partner->roles.front().country_code,
                                                    partner->roles.front().party_id};
    auto sent =
        client_.push(method, "locations", target, partner->their_token, std::move(body), to);
    if (sent) {
      unreachable_until_.erase(push.partner_id);
      if (auto d = locations_.push_done(push); !d) return std::unexpected(d.error());
      if (pushes_ != nullptr)
        pushes_->Add({{"module", "locations"}, {"result", "delivered"}}).Increment();
      if (push.attempts > 0) {
        log::info("location push delivered after failures", {{"partner_id", push.partner_id},
                                                             {"location_id", push.location_id},
                                                             {"evse_uid", push.evse_uid},
                                                             {"attempts", push.attempts}});
      }
      ++delivered;
      continue;
    }
    if (pushes_ != nullptr)
      pushes_->Add({{"module", "locations"}, {"result", "failed"}}).Increment();
    // A PATCH the partner answered with an error (typically 2003: it does not have the
    // location, e.g. it registered after the location was put): OCPI's remedy is the whole
    // object, so the entry becomes a PUT of the location, due at once.
    if (!push.evse_uid.empty() && sent.error().code != ErrorCode::kUnavailable) {
      if (auto e = locations_.push_whole_location(push, now_ms()); !e) {
        return std::unexpected(e.error());
      }
      log::info("EVSE patch refused; the whole location is sent instead",
                {{"partner_id", push.partner_id},
                 {"location_id", push.location_id},
                 {"evse_uid", push.evse_uid},
                 {"error", sent.error().message}});
      continue;
    }
    const auto backoff = std::min<std::int64_t>(
        options_.max_backoff.count(), 1000LL << std::min<std::int64_t>(push.attempts, 20));
    const std::int64_t next = now_ms() + backoff;
    if (auto f = locations_.push_failed(push, sent.error().message, next); !f) {
      return std::unexpected(f.error());
    }
    if (push.attempts == 0) {
      log::warn("location push failed; kept and retried", {{"partner_id", push.partner_id},
                                                           {"location_id", push.location_id},
                                                           {"evse_uid", push.evse_uid},
                                                           {"error", sent.error().message}});
    }
    if (sent.error().code == ErrorCode::kUnavailable) {
      unreachable_until_[push.partner_id] = next;
      if (auto d = locations_.defer_pushes(push.partner_id, next); !d) {
        return std::unexpected(d.error());
      }
      deferred.insert(push.partner_id);
    }
  }
  return delivered;
}

void LocationPusher::refresh_gauges() {
  if (pending_ == nullptr) return;
  auto stats = locations_.push_stats();
  if (!stats) return;
  for (auto& [partner, present] : seen_partners_) present = false;
  // Every partner has an outbox, empty or not (an invited or unregistered one: empty).
  if (auto all = partners_.load_all()) {
    for (const auto& p : *all) seen_partners_.try_emplace(p.id, false);
  }
  const std::int64_t now = now_ms();
  for (const auto& s : *stats) {
    seen_partners_[s.partner_id] = true;
    pending_->Add({{"partner", s.partner_id}}).Set(static_cast<double>(s.pending));
    oldest_->Add({{"partner", s.partner_id}})
        .Set(std::max<double>(0, static_cast<double>(now - s.oldest_ms) / 1000.0));
  }
  for (const auto& [partner, present] : seen_partners_) {
    if (present) continue;
    pending_->Add({{"partner", partner}}).Set(0);
    oldest_->Add({{"partner", partner}}).Set(0);
  }
}

void LocationPusher::run(const std::stop_token& stop) {
  auto next_gauges = clock_.steady_now();
  while (!stop.stop_requested()) {
    for (;;) {  // until nothing due is left (a full batch may hide more)
      auto r = push_due();
      if (!r) {
        log::warn("location pushes failed; retrying", {{"error", r.error().message}});
        break;
      }
      if (*r < options_.batch || stop.stop_requested()) break;
    }
    if (clock_.steady_now() >= next_gauges) {
      refresh_gauges();
      next_gauges = clock_.steady_now() + options_.gauge_interval;
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, stop, options_.interval, [this] { return woken_; });
    woken_ = false;
  }
}

}  // namespace switchyard::roaming
