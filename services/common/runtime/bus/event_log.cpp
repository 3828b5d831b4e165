// EventLog: wires the writer (publisher) and consumers of one log, and what they
// share: the commit signal, per-group turns and metrics.
#include "common/runtime/bus/event_log.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/event_log_parts.h"

#include <algorithm>
#include <limits>

namespace switchyard::bus {
namespace event_log {

Metrics::Metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  published = &prometheus::BuildCounter()
                   .Name("switchyard_bus_published_total")
                   .Help("Events made durable in the event log")
                   .Register(*registry)
                   .Add({});
  log_events = &prometheus::BuildGauge()
                    .Name("switchyard_bus_log_events")
                    .Help("Events in the event log")
                    .Register(*registry)
                    .Add({});
  log_bytes = &prometheus::BuildGauge()
                   .Name("switchyard_bus_log_bytes")
                   .Help("Bytes of the event log's segment files on disk")
                   .Register(*registry)
                   .Add({});
  lag = &prometheus::BuildGauge()
             .Name("switchyard_bus_consumer_lag_events")
             .Help(
                 "Events of the log after a consumer group's lowest committed position (those "
                 "of other topics among them are skipped, not handled)")
             .Register(*registry);
  consumed = &prometheus::BuildCounter()
                  .Name("switchyard_bus_consumed_total")
                  .Help(
                      "Events handed to a consumer group, by where they were read: the "
                      "in-memory tail of the newest commits, or the file")
                  .Register(*registry);
  positions_saved = &prometheus::BuildCounter()
                         .Name("switchyard_bus_positions_saved_total")
                         .Help(
                             "Saves of a consumer group's positions to the SQLite file (at most "
                             "every 250 ms while it handles events, and when a consumer goes)")
                         .Register(*registry);
  segments_deleted = &prometheus::BuildCounter()
                          .Name("switchyard_bus_log_segments_deleted_total")
                          .Help(
                              "Segment files of the event log deleted by its retention "
                              "(--event-log-retention-hours)")
                          .Register(*registry)
                          .Add({});
  commit_seconds =
      &prometheus::BuildHistogram()
           .Name("switchyard_bus_log_commit_seconds")
           .Help(
               "Group commits of the event log, each one write and one fdatasync, by how long "
               "they took; switchyard_bus_published_total over the count is events per sync")
           .Register(*registry)
           .Add({},
                prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
}

prometheus::Counter* Metrics::consumed_from(const std::string& group, const char* source) {
  return consumed != nullptr ? &consumed->Add({{"group", group}, {"source", source}}) : nullptr;
}

prometheus::Counter* Metrics::positions_saved_by(const std::string& group) {
  return positions_saved != nullptr ? &positions_saved->Add({{"group", group}}) : nullptr;
}

void Metrics::set_lag(const std::string& group, std::int64_t events) {
  if (lag != nullptr) lag->Add({{"group", group}}).Set(static_cast<double>(events));
}

void Shared::notify_commit() {
  {
    std::lock_guard lock(mutex_);
    ++commits_;
  }
  committed_.notify_all();
}

std::uint64_t Shared::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}

bool Shared::wait_for_commit(std::uint64_t seen, std::chrono::milliseconds timeout,
                             std::stop_token stop) {
  std::unique_lock lock(mutex_);
  return committed_.wait_for(lock, std::move(stop), timeout, [&] { return commits_ != seen; });
}

std::shared_ptr<std::atomic<std::int64_t>> Shared::add_reader(
    const std::string& group, const std::vector<std::string>& topics) {
  std::string key = group;
  for (const auto& topic : topics) key.append(1, '\0').append(topic);
  std::lock_guard lock(mutex_);
  auto& mark = readers_[key];
  if (!mark) mark = std::make_shared<std::atomic<std::int64_t>>(-1);
  mark->store(-1);  // until the new consumer's first poll
  return mark;
}

std::int64_t Shared::handled_by_every_reader() const {
  std::lock_guard lock(mutex_);
  if (readers_.empty()) return -1;
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (const auto& [key, mark] : readers_) lowest = std::min(lowest, mark->load());
  return lowest;
}

Group& Shared::group(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto& slot = groups_[name];
  if (!slot) slot = std::make_unique<Group>();
  return *slot;
}

}  // namespace event_log

namespace {

class EventLogImpl final : public EventLog {
 public:
  EventLogImpl(std::shared_ptr<event_log::Shared> shared, std::unique_ptr<EventPublisher> publisher)
      : shared_(std::move(shared)), publisher_(std::move(publisher)) {}

  EventPublisher& publisher() override { return *publisher_; }

  Result<std::unique_ptr<EventConsumer>> consumer(const std::string& group,
                                                  const std::vector<std::string>& topics,
                                                  std::chrono::milliseconds poll_timeout) override {
    return event_log::make_consumer(shared_, group, topics, poll_timeout);
  }

 private:
  std::shared_ptr<event_log::Shared> shared_;
  std::unique_ptr<EventPublisher> publisher_;
};

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path,
                                                 prometheus::Registry* metrics, Options options) {
  auto shared = std::make_shared<event_log::Shared>(path, metrics, options);
  auto publisher = event_log::make_publisher(shared);
  if (!publisher) return std::unexpected(publisher.error());
  return std::make_unique<EventLogImpl>(std::move(shared), std::move(*publisher));
}

}  // namespace switchyard::bus
