// The transactions outbox (see outbox.h).
#include "transactions/outbox.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <future>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"
#include "transactions/store.h"

namespace switchyard::transactions {

Outbox::Outbox(sql::Database& db, bus::EventPublisher& publisher, OutboxOptions options,
               prometheus::Registry* metrics)
    : db_(db), publisher_(publisher), options_(options) {
  if (metrics == nullptr) return;
  published_ = &prometheus::BuildCounter()
                    .Name("switchyard_transactions_outbox_published_total")
                    .Help("Transaction updates and CDRs acknowledged by the bus")
                    .Register(*metrics)
                    .Add({});
  failures_ = &prometheus::BuildCounter()
                   .Name("switchyard_transactions_outbox_failures_total")
                   .Help("Outbox publishes that failed (kept and retried)")
                   .Register(*metrics)
                   .Add({});
  pending_ = &prometheus::BuildGauge()
                  .Name("switchyard_transactions_outbox_pending")
                  .Help("Messages committed and not yet acknowledged by the bus")
                  .Register(*metrics)
                  .Add({});
  oldest_age_ = &prometheus::BuildGauge()
                     .Name("switchyard_transactions_outbox_oldest_age_seconds")
                     .Help("Age of the oldest message not yet acknowledged by the bus (0: empty)")
                     .Register(*metrics)
                     .Add({});
  active_sessions_ = &prometheus::BuildGauge()
                          .Name("switchyard_transactions_active_sessions")
                          .Help("Transactions started and not yet ended, over every charger")
                          .Register(*metrics)
                          .Add({});
}

Outbox::~Outbox() { stop(); }

void Outbox::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) {
    name_this_thread("outbox");
    run(stop);
  });
}

void Outbox::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void Outbox::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

Result<int> Outbox::publish_pending() {
  int total = 0;
  for (;;) {
    auto batch = outbox_batch(db_, options_.batch);
    if (!batch) return std::unexpected(batch.error());
    if (batch->empty()) return total;
    std::vector<std::promise<Result<void>>> acks(batch->size());
    for (std::size_t i = 0; i < batch->size(); ++i) {
      const auto& m = (*batch)[i];
      publisher_.publish(m.topic, m.key, m.payload,
                         [&ack = acks[i]](Result<void> r) { ack.set_value(std::move(r)); });
    }
    // Deleted: the acknowledged prefix only, so a failure keeps the order of what follows.
    std::vector<std::int64_t> done;
    std::optional<Error> failure;
    for (std::size_t i = 0; i < acks.size(); ++i) {
      auto r = acks[i].get_future().get();
      if (!r && !failure) failure = r.error();
      if (!failure) done.push_back((*batch)[i].id);
    }
    if (auto d = outbox_delete(db_, done); !d) return std::unexpected(d.error());
    total += static_cast<int>(done.size());
    if (published_ != nullptr) published_->Increment(static_cast<double>(done.size()));
    if (failure) {
      if (failures_ != nullptr) failures_->Increment();
      return std::unexpected(*failure);
    }
  }
}

void Outbox::refresh_gauges() {
  if (pending_ == nullptr) return;
  if (auto stats = outbox_stats(db_)) {
    pending_->Set(static_cast<double>(stats->pending));
    double age = 0;
    if (stats->oldest_created_at) {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      age = std::max<double>(0, static_cast<double>(now - *stats->oldest_created_at) / 1000.0);
    }
    oldest_age_->Set(age);
  }
  if (auto active = count_all_active(db_)) active_sessions_->Set(static_cast<double>(*active));
}

void Outbox::run(const std::stop_token& stop) {
  auto next_prune = std::chrono::steady_clock::now();
  auto next_gauges = next_prune;
  while (!stop.stop_requested()) {
    if (auto r = publish_pending(); !r) {
      log::warn("outbox publish failed; retrying", {{"error", r.error().message}});
    }
    // Woken on every commit under load: the counting queries run at most every few seconds.
    if (std::chrono::steady_clock::now() >= next_gauges) {
      refresh_gauges();
      next_gauges = std::chrono::steady_clock::now() + options_.gauge_interval;
    }
    if (std::chrono::steady_clock::now() >= next_prune) {
      const auto cutoff = std::chrono::system_clock::now() - options_.processed_retention;
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count();
      if (auto n = prune_processed(db_, ms); n && *n > 0)
        log::info("pruned processed event ids", {{"rows", *n}});
      next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, stop, options_.interval, [this] { return woken_; });
    woken_ = false;
  }
}

}  // namespace switchyard::transactions
