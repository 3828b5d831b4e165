// A worker thread: ramps its chargers up, sweeps call timeouts, hands its measurements over.
#include "loadgen/worker.h"

#include <boost/asio/executor_work_guard.hpp>

#include "common/runtime/core/clock.h"
#include "loadgen/charger.h"

namespace switchyard::loadgen {

namespace net = boost::asio;

Worker::Worker(const RunContext& context, int index)
    : context_(context), index_(index), rng_(0x5eed0000ull + static_cast<std::uint64_t>(index)) {}

Worker::~Worker() {
  join();
  chargers_.clear();  // before the io_context they use
}

void Worker::add_charger(std::uint64_t ordinal) {
  chargers_.push_back(std::make_unique<Charger>(*this, ordinal));
}

void Worker::start_thread() {
  work_.emplace(net::make_work_guard(ioc_));
  thread_ = std::thread([this] { ioc_.run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::start_ramp(Steady::time_point start) {
  ramp_start_ = start;
  ramp_tick();
  sweep_tick();
}

void Worker::ramp_tick() {
  if (finishing_) return;
  const auto now = Steady::now();
  const double ramp = config().ramp;
  const auto threads = static_cast<double>(config().threads);
  while (ramp_next_ < chargers_.size()) {
    // This worker holds every threads-th charger of the run, so its k-th starts at
    // ordinal / ramp: the whole fleet ramps at --ramp.
    const double ordinal = static_cast<double>(ramp_next_) * threads + index_;
    const auto due =
        ramp_start_ + std::chrono::duration_cast<Steady::duration>(
                          std::chrono::duration<double>(ramp > 0 ? ordinal / ramp : 0));
    if (due > now) {
      ramp_timer_.expires_at(due);
      ramp_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) ramp_tick();
      });
      return;
    }
    chargers_[ramp_next_++]->start();
  }
}

void Worker::sweep_tick() {
  if (finishing_) return;
  const auto now = Steady::now();
  for (auto& charger : chargers_) charger->sweep(now);
  sweep_timer_.expires_after(std::chrono::milliseconds(250));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep_tick();
  });
}

void Worker::go(Steady::time_point t0) {
  window_open_ = true;
  window_start_ = t0;
  for (auto& charger : chargers_) charger->go();
}

void Worker::storm(Steady::time_point) {
  storm_started_ = true;
  const double fraction = config().storm_fraction;
  const auto threads = static_cast<std::uint64_t>(config().threads);
  for (std::size_t k = 0; k < chargers_.size(); ++k) {
    const std::uint64_t ordinal = k * threads + static_cast<std::uint64_t>(index_);
    if (pick_share(ordinal, fraction)) chargers_[k]->drop();
  }
}

void Worker::finish() {
  finishing_ = true;
  ramp_timer_.cancel();
  sweep_timer_.cancel();
  for (auto& charger : chargers_) charger->finish();
  work_.reset();  // run() returns once the closes are done
}

Interval Worker::take_interval() {
  const Interval out = interval_;
  interval_ = Interval();
  return out;
}

const std::string& Worker::measured_payload(ocpp::Version version) {
  if (context_.action == Action::kAuthorize && config().id_tags > 0) {
    const std::string tag =
        id_tag_of(next_id_tag_++ % static_cast<std::uint64_t>(config().id_tags));
    FrameParams params;
    params.id_tag = tag;
    token_payload_.clear();
    append_payload(token_payload_, version, Action::kAuthorize, params);
    return token_payload_;
  }
  auto& slot = measured_[version == ocpp::Version::k16 ? 0 : 1];
  if (!slot) {
    const std::string timestamp = format_rfc3339(std::chrono::system_clock::now());
    FrameParams params;
    params.timestamp = timestamp;
    params.meter_wh = 123'456;
    slot.emplace();
    append_payload(*slot, version, context_.action, params);
  }
  return *slot;
}

const std::string* Worker::answer(ocpp::Version version, std::string_view action) {
  auto& cache = answers_[version == ocpp::Version::k16 ? 0 : 1];
  auto it = cache.find(action);
  if (it == cache.end()) {
    const std::string timestamp = format_rfc3339(std::chrono::system_clock::now());
    it = cache.emplace(std::string(action), answer_for(version, action, timestamp)).first;
  }
  return it->second ? &*it->second : nullptr;
}

void Worker::record_error(std::uint64_t ErrorCounts::*counter) {
  ++(stats_.errors.*counter);
  ++interval_.errors;
}

void Worker::record_answer(Action action, Steady::duration latency) {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  stats_.latency[static_cast<std::size_t>(action)].record(ns);
  ++stats_.answered;
  ++interval_.answered;
  interval_.latency.record(ns);
}

void Worker::connection_closed(bool was_booted) {
  context_.signals->connected.fetch_sub(1, std::memory_order_relaxed);
  if (was_booted) context_.signals->booted.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace switchyard::loadgen
