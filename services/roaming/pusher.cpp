// Pushes to partners' receiver modules (see pusher.h).
#include "roaming/pusher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"

namespace switchyard::roaming {

std::string receiver_url(const Partner& partner, std::string_view module) {
  for (const auto& e : partner.endpoints) {
    if (e.identifier == module && e.role == "RECEIVER") return e.url;
  }
  return "";
}

Pusher::Pusher(PushOutbox& outbox, PartnerStore& partners, OcpiClient& client, const Clock& clock,
               prometheus::Registry* metrics, PushOptions options)
    : outbox_(outbox), partners_(partners), client_(client), clock_(clock), options_(options) {
  if (metrics == nullptr) return;
  pushes_ = &prometheus::BuildCounter()
                 .Name("switchyard_roaming_pushes_total")
                 .Help(
                     "Pushes to partners' receiver modules by module and result (delivered, "
                     "failed: kept and retried)")
                 .Register(*metrics);
  pending_ = &prometheus::BuildGauge()
                  .Name("switchyard_roaming_outbox_pending")
                  .Help(
                      "Objects a partner has still to be told about, by module (one per changed "
                      "object; CDRs until the partner accepted them)")
                  .Register(*metrics);
  oldest_ = &prometheus::BuildGauge()
                 .Name("switchyard_roaming_outbox_oldest_age_seconds")
                 .Help(
                     "Age of the oldest change a partner has not received yet, by module (0: "
                     "none)")
                 .Register(*metrics);
}

Pusher::~Pusher() { stop(); }

void Pusher::add_source(PushSource& source) {
  sources_.emplace(std::string(source.module()), &source);
  // Known label values start at 0, so dashboards and alerts have a series before the first push.
  if (pushes_ == nullptr) return;
  for (const char* result : {"delivered", "failed"}) {
    pushes_->Add({{"module", std::string(source.module())}, {"result", result}});
  }
}

void Pusher::add_built_in_receiver(std::string module, std::string partner_id,
                                   std::function<void()> wake) {
  built_in_.emplace_back(std::move(module), std::move(partner_id));
  built_in_wakes_.push_back(std::move(wake));
}

Result<std::vector<std::string>> Pusher::receivers(std::string_view module) {
  std::lock_guard lock(receivers_mutex_);
  const auto now = clock_.steady_now();
  if (now >= receivers_until_) {
    auto all = partners_.load_all();
    if (!all) return std::unexpected(all.error());
    registered_.clear();
    for (auto& p : *all) {
      if (p.state == PartnerState::kRegistered) registered_.push_back(std::move(p));
    }
    receivers_until_ = now + std::chrono::seconds(1);
  }
  std::vector<std::string> out;
  for (const auto& p : registered_) {
    if (!receiver_url(p, module).empty()) out.push_back(p.id);
  }
  for (const auto& [m, id] : built_in_) {
    if (m == module) out.push_back(id);
  }
  return out;
}

void Pusher::forget_receivers() {
  std::lock_guard lock(receivers_mutex_);
  receivers_until_ = std::chrono::steady_clock::time_point::min();
}

void Pusher::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) {
    name_this_thread("ocpi-push");
    run(stop);
  });
}

void Pusher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void Pusher::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
  for (const auto& wake : built_in_wakes_) wake();
}

std::int64_t Pusher::now_ms() const { return unix_ms(clock_.now()); }

Result<void> Pusher::retry_later(const PendingPush& push, const Error& error,
                                 std::set<std::string>& deferred) {
  const std::int64_t next = now_ms() + retry_delay_ms(push.attempts, options_.max_backoff);
  if (auto f = outbox_.failed(push, error.message, next); !f) return f;
  if (push.attempts == 0) {
    log::warn("push failed; kept and retried", {{"partner_id", push.partner_id},
                                                {"module", push.module},
                                                {"object_id", push.object_id},
                                                {"part", push.part},
                                                {"error", error.message}});
  }
  if (error.code != ErrorCode::kUnavailable) return {};
  unreachable_until_[push.partner_id] = next;
  deferred.insert(push.partner_id);
  return outbox_.defer(push.partner_id, next);
}

Result<int> Pusher::push_due() {
  auto due = outbox_.due(now_ms(), options_.batch);
  if (!due) return std::unexpected(due.error());
  for (auto& [module, source] : sources_) source->begin_pass();
  int delivered = 0;
  std::map<std::string, std::optional<Partner>> partners;
  std::set<std::string> deferred;                         // unreachable in this pass
  std::set<std::pair<std::string, std::string>> dropped;  // (partner, module)
  const std::int64_t started = now_ms();
  for (const PendingPush& push : *due) {
    if (deferred.contains(push.partner_id) || dropped.contains({push.partner_id, push.module})) {
      continue;
    }
    // Unreachable a moment ago: objects that changed since wait for the same back-off, so the
    // partner is asked once per back-off however many objects change meanwhile.
    if (auto it = unreachable_until_.find(push.partner_id);
        it != unreachable_until_.end() && it->second > started) {
      if (auto d = outbox_.defer(push.partner_id, it->second); !d) {
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
    const auto source = sources_.find(push.module);
    const std::string url =
        partner && partner->state == PartnerState::kRegistered && source != sources_.end()
            ? receiver_url(*partner, push.module)
            : std::string();
    if (url.empty()) {
      // Unregistered, or no longer receiving the module: nothing of it is sent any more.
      auto gone = outbox_.drop(push.partner_id, push.module);
      if (!gone) return std::unexpected(gone.error());
      log::info("pushes dropped: the partner no longer receives the module",
                {{"partner_id", push.partner_id}, {"module", push.module}, {"entries", *gone}});
      dropped.insert({push.partner_id, push.module});
      continue;
    }
    auto request = source->second->request(push, url);
    if (!request && request.error().code == ErrorCode::kFailedPrecondition) {
      // Cannot be built yet (e.g. a session at a charger in no location): kept, tried later.
      if (pushes_ != nullptr)
        pushes_->Add({{"module", push.module}, {"result", "failed"}}).Increment();
      if (auto r = retry_later(push, request.error(), deferred); !r) {
        return std::unexpected(r.error());
      }
      continue;
    }
    if (!request) return std::unexpected(request.error());
    if (!*request) {  // the object is gone: nothing to tell
      if (auto d = outbox_.done(push); !d) return std::unexpected(d.error());
      continue;
    }
    // Routed to the partner's own party (a hub: to the hub, which broadcasts).
    const Party to = partner->roles.empty() ? Party{}
                                            : Party{partner->roles.front().country_code,
                                                    partner->roles.front().party_id};
    auto sent = client_.push((*request)->method, push.module, (*request)->url, partner->their_token,
                             std::move((*request)->body), to);
    if (sent) {
      unreachable_until_.erase(push.partner_id);
      if (auto d = source->second->delivered(push, now_ms()); !d) {
        return std::unexpected(d.error());
      }
      if (auto d = outbox_.done(push); !d) return std::unexpected(d.error());
      if (pushes_ != nullptr)
        pushes_->Add({{"module", push.module}, {"result", "delivered"}}).Increment();
      if (push.attempts > 0) {
        log::info("push delivered after failures", {{"partner_id", push.partner_id},
                                                    {"module", push.module},
                                                    {"object_id", push.object_id},
                                                    {"part", push.part},
                                                    {"attempts", push.attempts}});
      }
      ++delivered;
      continue;
    }
    if (pushes_ != nullptr)
      pushes_->Add({{"module", push.module}, {"result", "failed"}}).Increment();
    if (sent.error().code != ErrorCode::kUnavailable) {
      auto handled = source->second->refused(push, sent.error(), now_ms());
      if (!handled) return std::unexpected(handled.error());
      if (*handled) continue;
    }
    if (auto r = retry_later(push, sent.error(), deferred); !r) return std::unexpected(r.error());
  }
  return delivered;
}

void Pusher::refresh_gauges() {
  if (pending_ == nullptr) return;
  auto stats = outbox_.stats();
  if (!stats) return;
  for (auto& [key, present] : seen_) present = false;
  // Every partner has an outbox of every module, empty or not (an invited or unregistered
  // partner's: empty), so dashboards and alerts have series before the first change.
  if (auto all = partners_.load_all()) {
    for (const auto& p : *all) {
      for (const auto& [module, source] : sources_) seen_.try_emplace({p.id, module}, false);
    }
  }
  const std::int64_t now = now_ms();
  for (const auto& s : *stats) {
    seen_[{s.partner_id, s.module}] = true;
    const prometheus::Labels labels{{"partner", s.partner_id}, {"module", s.module}};
    pending_->Add(labels).Set(static_cast<double>(s.pending));
    oldest_->Add(labels).Set(std::max<double>(0, static_cast<double>(now - s.oldest_ms) / 1000.0));
  }
  for (const auto& [key, present] : seen_) {
    if (present) continue;
    const prometheus::Labels labels{{"partner", key.first}, {"module", key.second}};
    pending_->Add(labels).Set(0);
    oldest_->Add(labels).Set(0);
  }
}

void Pusher::run(const std::stop_token& stop) {
  auto next_gauges = clock_.steady_now();
  while (!stop.stop_requested()) {
    for (;;) {  // until nothing due is left (a full batch may hide more)
      auto r = push_due();
      if (!r) {
        log::warn("pushes failed; retrying", {{"error", r.error().message}});
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
