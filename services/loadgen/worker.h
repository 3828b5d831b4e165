// One I/O thread of the load generator: its io_context, the chargers it simulates, the ramp
// that starts them and the measurements it records. The main thread talks to a worker only by
// posting to its io_context; the counters it reads while the run goes are atomics in RunSignals.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/assignment.h"
#include "loadgen/client_credentials.h"
#include "loadgen/config.h"
#include "loadgen/frames.h"
#include "loadgen/schedule.h"
#include "loadgen/stats.h"

namespace switchyard::loadgen {

using Steady = std::chrono::steady_clock;

class AnswerLog;

// A target URL with its address resolved once, before the run.
struct Target {
  TargetUrl url;
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  // host:port
};

// Counters the main thread watches while the run goes (relaxed atomics, updated on events that
// happen at most a few times per connection).
struct RunSignals {
  std::atomic<std::int64_t> connected{0};
  std::atomic<std::int64_t> booted{0};
  std::atomic<std::int64_t> storm_dropped{0};
  std::atomic<std::int64_t> storm_recovered{0};
  std::atomic<std::int64_t> storm_failures{0};
  std::atomic<std::int64_t> storm_last_recovery_ns{0};  // Steady time of the latest recovery
};

// Read-only after start, shared by every worker.
struct RunContext {
  const LoadgenConfig* config = nullptr;
  Profile profile = Profile::kIdle;
  Action action = Action::kMeterValues;  // saturate / rate
  std::vector<Target> targets;
  std::vector<boost::asio::ip::address> sources;
  boost::asio::ssl::context* tls = nullptr;  // when a target is wss
  bool per_charger_cert = false;             // --cert / --key hold {id} or {i}
  std::optional<OpenLoopSchedule> schedule;  // rate
  std::int64_t total_chargers = 0;
  RunSignals* signals = nullptr;
  // Tells this run's 2.0.1 transaction ids from those of earlier runs against the same CSMS.
  std::string run_tag;
  AnswerLog* answers = nullptr;  // --answers-log
};

class Charger;

class Worker {
 public:
  Worker(const RunContext& context, int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adds the charger with run ordinal `ordinal` (0..chargers-1) to this worker (before start).
  void add_charger(std::uint64_t ordinal);
  void start_thread();
  void join();

  // Posted from the main thread.
  void start_ramp(Steady::time_point start);
  void go(Steady::time_point t0);     // saturate / rate: begin sending
  void storm(Steady::time_point t0);  // drop the selected chargers, reconnect
  void finish();                      // close every connection, then stop
  Interval take_interval();           // run on the worker thread only
  template <typename F>
  void post(F&& f);

  // Totals, read after join().
  const Stats& stats() const { return stats_; }

  // For the chargers.
  boost::asio::io_context& ioc() { return ioc_; }
  const RunContext& context() const { return context_; }
  const LoadgenConfig& config() const { return *context_.config; }
  Stats& stats() { return stats_; }
  Interval& interval() { return interval_; }
  std::mt19937_64& rng() { return rng_; }
  bool window_open() const { return window_open_; }
  Steady::time_point window_start() const { return window_start_; }
  bool finishing() const { return finishing_; }
  bool storm_started() const { return storm_started_; }
  // The saturate / rate payload for `version`, built once; an Authorize with --id-tags is built
  // each time, with the next token.
  const std::string& measured_payload(ocpp::Version version);
  // The CALLRESULT payload answering a server CALL, or nullptr (answer NotImplemented).
  const std::string* answer(ocpp::Version version, std::string_view action);
  // Scratch strings for building a payload and the frame around it.
  std::string& scratch() { return scratch_; }
  std::string& frame_scratch() { return frame_scratch_; }
  // Per-charger client certificates (--cert / --key with {id} or {i}), each read once.
  ClientCredentials& credentials() { return credentials_; }
  void record_error(std::uint64_t ErrorCounts::*counter);
  void record_answer(Action action, Steady::duration latency);
  void connection_closed(bool was_booted);

 private:
  void ramp_tick();
  void sweep_tick();

  const RunContext& context_;
  int index_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  boost::asio::steady_timer ramp_timer_{ioc_};
  boost::asio::steady_timer sweep_timer_{ioc_};
  std::vector<std::unique_ptr<Charger>> chargers_;
  std::size_t ramp_next_ = 0;
  Steady::time_point ramp_start_;
  bool window_open_ = false;
  Steady::time_point window_start_;
  bool finishing_ = false;
  bool storm_started_ = false;
  Stats stats_;
  Interval interval_;
  std::mt19937_64 rng_;
  std::optional<std::string> measured_[2];
  std::string token_payload_;
  std::uint64_t next_id_tag_ = 0;
  std::map<std::string, std::optional<std::string>, std::less<>> answers_[2];
  std::string scratch_;
  std::string frame_scratch_;
  ClientCredentials credentials_;
  std::thread thread_;
};

template <typename F>
void Worker::post(F&& f) {
  boost::asio::post(ioc_, std::forward<F>(f));
}

}  // namespace switchyard::loadgen
