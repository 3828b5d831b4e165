// The run of a profile: phases, progress, the summary table and the JSON report.
#include "loadgen/run.h"

#include <openssl/ssl.h>
#include <sys/resource.h>
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json/array.hpp>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "common/runtime/core/log.h"
#include "loadgen/answer_log.h"
#include "loadgen/charger.h"
#include "loadgen/worker.h"

namespace switchyard::loadgen {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// SIGINT / SIGTERM end the run early, with its report (a fault test stops a fleet when it has
// seen enough).
std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int /*signal*/) { stop_requested.store(true); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = &request_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second signal ends the process as usual
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int new_session(SSL* ssl, SSL_SESSION* session) {
  auto* charger = static_cast<Charger*>(SSL_get_ex_data(ssl, ssl_charger_index()));
  if (charger == nullptr) return 0;
  charger->keep_tls_session(session);
  return 1;  // the charger owns the reference now
}

Result<std::unique_ptr<ssl::context>> make_tls_context(const LoadgenConfig& config,
                                                       bool per_charger_cert) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(
      ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3, ec);
  if (!config.ca.empty()) {
    context->load_verify_file(config.ca, ec);
    if (ec)
      return make_error(ErrorCode::kInvalidArgument, "--ca " + config.ca + ": " + ec.message());
  } else if (!config.insecure) {
    context->set_default_verify_paths(ec);
  }
  context->set_verify_mode(config.insecure ? ssl::verify_none : ssl::verify_peer, ec);
  if (!config.cert.empty() && !per_charger_cert) {
    context->use_certificate_chain_file(config.cert, ec);
    if (ec)
      return make_error(ErrorCode::kInvalidArgument, "--cert " + config.cert + ": " + ec.message());
    context->use_private_key_file(config.key, ssl::context::pem, ec);
    if (ec)
      return make_error(ErrorCode::kInvalidArgument, "--key " + config.key + ": " + ec.message());
  }
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (config.tls_resume) {
    SSL_CTX_set_session_cache_mode(native,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, &new_session);
  }
  return context;
}

Result<std::vector<Target>> resolve_targets(const LoadgenConfig& config) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  std::vector<Target> targets;
  for (const auto& text : config.urls) {
    auto url = parse_url(text);
    if (!url) return make_error(ErrorCode::kInvalidArgument, url.error());
    boost::system::error_code ec;
    const auto results = resolver.resolve(url->host, url->port, ec);
    if (ec || results.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot resolve " + url->host + ": " + ec.message());
    }
    Target target;
    target.endpoint = results.begin()->endpoint();
    for (const auto& entry : results) {
      if (entry.endpoint().address().is_v4()) {
        target.endpoint = entry.endpoint();
        break;
      }
    }
    const bool v6_literal = url->host.find(':') != std::string::npos;
    target.host_header = (v6_literal ? "[" + url->host + "]" : url->host) + ":" + url->port;
    target.url = std::move(*url);
    targets.push_back(std::move(target));
  }
  return targets;
}

// The last second of every worker, merged.
Interval gather(std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<std::future<Interval>> futures;
  futures.reserve(workers.size());
  for (auto& worker : workers) {
    auto promise = std::make_shared<std::promise<Interval>>();
    futures.push_back(promise->get_future());
    worker->post([w = worker.get(), promise] { promise->set_value(w->take_interval()); });
  }
  Interval sum;
  for (auto& future : futures) sum.merge(future.get());
  return sum;
}

std::string format_ms(double ms) {
  char buf[32];
  if (ms < 10) {
    std::snprintf(buf, sizeof buf, "%.3f", ms);
  } else if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.1f", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", ms);
  }
  return buf;
}

std::uint64_t peak_rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

Result<RunResult> run(const LoadgenConfig& config, Profile profile) {
  install_stop_handlers();
  RunSignals signals;
  RunContext context;
  context.config = &config;
  context.profile = profile;
  context.action = parse_action(config.action).value_or(Action::kMeterValues);
  context.total_chargers = config.chargers;
  context.signals = &signals;
  {
    // Seconds since the epoch in hex: 8 characters, unique per run started a second apart.
    char tag[17];
    std::snprintf(
        tag, sizeof tag, "%llx",
        static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()));
    context.run_tag = tag;
  }
  std::unique_ptr<AnswerLog> answers;
  if (!config.answers_log.empty()) {
    auto opened = AnswerLog::open(config.answers_log);
    if (!opened) return std::unexpected(opened.error());
    answers = std::move(*opened);
    context.answers = answers.get();
  }
  auto targets = resolve_targets(config);
  if (!targets) return std::unexpected(targets.error());
  context.targets = std::move(*targets);
  for (const auto& text : config.source_addresses) {
    boost::system::error_code ec;
    const auto address = net::ip::make_address(text, ec);
    if (ec) return make_error(ErrorCode::kInvalidArgument, "bad source address " + text);
    context.sources.push_back(address);
  }
  std::unique_ptr<ssl::context> tls;
  bool any_tls = false;
  for (const auto& target : context.targets) any_tls = any_tls || target.url.tls;
  if (any_tls) {
    context.per_charger_cert =
        config.cert.find('{') != std::string::npos || config.key.find('{') != std::string::npos;
    auto made = make_tls_context(config, context.per_charger_cert);
    if (!made) return std::unexpected(made.error());
    tls = std::move(*made);
    context.tls = tls.get();
  }
  if (profile == Profile::kRate) {
    context.schedule.emplace(config.rate, static_cast<std::uint64_t>(config.chargers));
  }

  std::vector<std::unique_ptr<Worker>> workers;
  workers.reserve(static_cast<std::size_t>(config.threads));
  for (int i = 0; i < config.threads; ++i) workers.push_back(std::make_unique<Worker>(context, i));
  for (std::int64_t ordinal = 0; ordinal < config.chargers; ++ordinal) {
    workers[static_cast<std::size_t>(ordinal % config.threads)]->add_charger(
        static_cast<std::uint64_t>(ordinal));
  }
  for (auto& worker : workers) worker->start_thread();

  std::unique_ptr<CommandDriver> commands;
  if (profile == Profile::kCommands) commands = std::make_unique<CommandDriver>(config);

  const double cpu_start = cpu_seconds();
  const auto t_start = Steady::now() + std::chrono::milliseconds(5);
  for (auto& worker : workers) {
    worker->post([w = worker.get(), t_start] { w->start_ramp(t_start); });
  }

  enum class Phase { kRamp, kWindow, kStorm, kDone };
  Phase phase = Phase::kRamp;
  const auto ramp_time = std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(
      config.ramp > 0 ? static_cast<double>(config.chargers) / config.ramp : 0));
  Steady::time_point window_start = t_start;
  Steady::time_point storm_t0;
  RunResult result;
  std::uint64_t answered_so_far = 0;
  auto next_tick = t_start + std::chrono::seconds(1);
  const auto n = config.chargers;

  auto start_window = [&](Steady::time_point t0) {
    window_start = t0;
    for (auto& w : workers) {
      w->post([w = w.get(), t0] {
        w->take_interval();  // what came before the window does not count
        w->go(t0);
      });
    }
    answered_so_far = 0;
    phase = Phase::kWindow;
  };
  // idle and fleet measure from the first connection; saturate, rate and commands once every
  // charger booted (commands would otherwise hit chargers not connected yet).
  if (profile == Profile::kIdle || profile == Profile::kFleet) phase = Phase::kWindow;

  while (phase != Phase::kDone) {
    const auto now = Steady::now();
    if (now >= next_tick) {
      const Interval sum = gather(workers);
      if (phase == Phase::kWindow) answered_so_far += sum.answered;
      if (config.progress) {
        const auto elapsed = std::chrono::duration<double>(now - t_start).count();
        std::fprintf(stderr,
                     "[%6.1fs] connected %" PRId64 "/%" PRId64 " booted %" PRId64 " | %" PRIu64
                     " msg/s | errors %" PRIu64 " | p99 %s ms\n",
                     elapsed, signals.connected.load(), n, signals.booted.load(), sum.answered,
                     sum.errors,
                     format_ms(static_cast<double>(sum.latency.percentile(0.99)) * 1e-6).c_str());
      }
      next_tick += std::chrono::seconds(1);
    }
    switch (phase) {
      case Phase::kRamp: {
        const bool all_booted = signals.booted.load() >= n;
        const bool waited_enough = now - t_start > ramp_time + config.boot_wait;
        if (!all_booted && !waited_enough) break;
        if (!all_booted) {
          log::warn("not every charger booted; going on",
                    {{"booted", signals.booted.load()}, {"chargers", n}});
        }
        if (profile == Profile::kStorm) {
          storm_t0 = Steady::now();
          result.storm_started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count();
          std::vector<std::future<void>> acks;
          acks.reserve(workers.size());
          for (auto& w : workers) {
            auto promise = std::make_shared<std::promise<void>>();
            acks.push_back(promise->get_future());
            w->post([w = w.get(), storm_t0, promise] {
              w->storm(storm_t0);
              promise->set_value();
            });
          }
          for (auto& ack : acks) ack.wait();
          result.storm_dropped = signals.storm_dropped.load();
          phase = Phase::kStorm;
        } else {
          start_window(Steady::now() + std::chrono::milliseconds(2));
          if (commands) commands->start();
        }
        break;
      }
      case Phase::kWindow:
        if (now >= window_start + config.duration) phase = Phase::kDone;
        break;
      case Phase::kStorm:
        if (result.storm_dropped == 0) {
          log::warn("storm: no charger was connected to drop");
          phase = Phase::kDone;
        } else if (signals.storm_recovered.load() >= result.storm_dropped) {
          result.storm_complete = true;
          phase = Phase::kDone;
        } else if (now - storm_t0 > config.storm_timeout) {
          log::warn("storm did not recover in time", {{"recovered", signals.storm_recovered.load()},
                                                      {"dropped", result.storm_dropped}});
          phase = Phase::kDone;
        }
        break;
      case Phase::kDone:
        break;
    }
    if (stop_requested.load()) {
      log::warn("stopped by a signal; reporting what ran");
      phase = Phase::kDone;
    }
    if (phase == Phase::kDone) break;
    std::this_thread::sleep_until(
        std::min(next_tick, Steady::now() + std::chrono::milliseconds(5)));
  }

  const auto window_end = Steady::now();
  if (commands) commands->stop();
  result.connected_at_end = signals.connected.load();
  // Stop every worker: what arrived since the last tick still counts.
  std::vector<std::future<Interval>> last;
  last.reserve(workers.size());
  for (auto& w : workers) {
    auto promise = std::make_shared<std::promise<Interval>>();
    last.push_back(promise->get_future());
    w->post([w = w.get(), promise] {
      promise->set_value(w->take_interval());
      w->finish();
    });
  }
  for (auto& f : last) {
    const Interval interval = f.get();
    if (profile != Profile::kStorm) answered_so_far += interval.answered;
  }
  // Closes have 2 s; after that the workers are stopped outright.
  std::vector<std::future<void>> joined;
  joined.reserve(workers.size());
  for (auto& w : workers) {
    joined.push_back(std::async(std::launch::async, [w = w.get()] { w->join(); }));
  }
  const auto deadline = Steady::now() + std::chrono::seconds(4);
  for (std::size_t i = 0; i < joined.size(); ++i) {
    if (joined[i].wait_until(deadline) != std::future_status::ready) workers[i]->ioc().stop();
  }
  for (auto& j : joined) j.wait();

  for (auto& w : workers) result.stats.merge(w->stats());
  if (profile == Profile::kStorm) {
    result.storm_recovered = signals.storm_recovered.load();
    result.storm_failures = signals.storm_failures.load();
    const auto last_ns = signals.storm_last_recovery_ns.load();
    if (last_ns > 0) {
      result.storm_seconds =
          std::chrono::duration<double>(Steady::time_point(Steady::duration(last_ns)) - storm_t0)
              .count();
    }
    result.window_seconds = std::chrono::duration<double>(window_end - storm_t0).count();
    result.window_answered = result.stats.answered;
  } else {
    result.window_seconds = std::chrono::duration<double>(window_end - window_start).count();
    result.window_answered = answered_so_far;
  }
  if (commands) {
    result.has_commands = true;
    result.commands = commands->results();
  }
  result.cpu_seconds = cpu_seconds() - cpu_start;
  result.peak_rss_bytes = peak_rss();
  workers.clear();
  if (answers) {
    if (auto closed = answers->close(); !closed) return std::unexpected(closed.error());
  }
  return result;
}

std::string summary_table(const LoadgenConfig& config, const RunResult& r) {
  std::string out;
  char line[512];
  const double rate =
      r.window_seconds > 0 ? static_cast<double>(r.window_answered) / r.window_seconds : 0;
  std::snprintf(line, sizeof line,
                "switchyard-loadgen: profile %s, %" PRId64
                " chargers, %d thread(s), %.2f s measured\n",
                config.profile.c_str(), config.chargers, config.threads, r.window_seconds);
  out += line;
  std::snprintf(line, sizeof line,
                "messages     sent %" PRIu64 "  answered %" PRIu64 "  in window %" PRIu64
                "  => %.0f msg/s  (server CALLs answered %" PRIu64 ")\n",
                r.stats.sent, r.stats.answered, r.window_answered, rate, r.stats.server_calls);
  out += line;
  const auto connect = summarize(r.stats.connect);
  const auto boot = summarize(r.stats.boot);
  std::snprintf(line, sizeof line,
                "connections  opened %" PRIu64 "  open at end %" PRId64
                "  connect p50/p99 %s/%s ms  boot p50/p99 %s/%s ms\n",
                r.stats.connects, r.connected_at_end, format_ms(connect.p50).c_str(),
                format_ms(connect.p99).c_str(), format_ms(boot.p50).c_str(),
                format_ms(boot.p99).c_str());
  out += line;
  if (r.stats.tls.count() > 0) {
    const auto tls = summarize(r.stats.tls);
    std::snprintf(line, sizeof line,
                  "tls          handshakes %" PRIu64 " (resumed %" PRIu64 ")  p50/p99 %s/%s ms\n",
                  tls.count, r.stats.tls_resumed, format_ms(tls.p50).c_str(),
                  format_ms(tls.p99).c_str());
    out += line;
  }
  if (r.stats.retry_after > 0) {
    std::snprintf(
        line, sizeof line,
        "retry-after  %" PRIu64
        " refused upgrades told when to come back (%.1f s on "
        "average), waited as told\n",
        r.stats.retry_after,
        static_cast<double>(r.stats.retry_after_s) / static_cast<double>(r.stats.retry_after));
    out += line;
  }
  if (config.profile == "storm") {
    std::snprintf(line, sizeof line,
                  "storm        dropped %" PRId64 "  recovered %" PRId64
                  "  in %.2f s  failures %" PRId64 "%s\n",
                  r.storm_dropped, r.storm_recovered, r.storm_seconds, r.storm_failures,
                  r.storm_complete ? "" : "  (INCOMPLETE)");
    out += line;
  }
  const auto& e = r.stats.errors;
  std::string errors;
  auto add = [&](const std::string& name, std::uint64_t count) {
    if (count == 0) return;
    if (!errors.empty()) errors += ", ";
    errors += name + " " + std::to_string(count);
  };
  add("connect_refused", e.connect_refused);
  add("connect_timeout", e.connect_timeout);
  add("connect_other", e.connect_other);
  add("tls", e.tls);
  add("subprotocol", e.subprotocol);
  for (const auto& [status, count] : e.http_status) add("http_" + std::to_string(status), count);
  add("timeout", e.timeout);
  for (const auto& [code, count] : e.call_errors) add("callerror_" + code, count);
  add("closed", e.closed);
  add("unanswered_at_close", e.unanswered_at_close);
  add("protocol", e.protocol);
  add("boot_rejected", e.boot_rejected);
  add("boot_pending", e.boot_pending);
  out += "errors       " + (errors.empty() ? std::string("none") : errors) + "\n";
  std::snprintf(line, sizeof line, "%-26s %10s %9s %9s %9s %9s %9s\n", "latency (ms)", "count",
                "p50", "p90", "p99", "p99.9", "max");
  out += line;
  auto row = [&](std::string_view name, const Histogram& h) {
    if (h.count() == 0) return;
    const auto s = summarize(h);
    std::snprintf(line, sizeof line, "%-26.*s %10" PRIu64 " %9s %9s %9s %9s %9s\n",
                  static_cast<int>(name.size()), name.data(), s.count, format_ms(s.p50).c_str(),
                  format_ms(s.p90).c_str(), format_ms(s.p99).c_str(), format_ms(s.p999).c_str(),
                  format_ms(s.max).c_str());
    out += line;
  };
  for (std::size_t i = 0; i < kActionCount; ++i) {
    row(action_name(static_cast<Action>(i)), r.stats.latency[i]);
  }
  if (r.has_commands) {
    row("command:" + config.command, r.commands.latency);
    std::string outcomes;
    for (const auto& [code, count] : r.commands.outcomes) {
      outcomes += (outcomes.empty() ? "" : ", ") + code + " " + std::to_string(count);
    }
    out += "commands     sent " + std::to_string(r.commands.sent) + "  outcomes " +
           (outcomes.empty() ? std::string("none") : outcomes) + "\n";
    std::snprintf(line, sizeof line, "commands     slowest %.3f ms, sent %.3f s after the first\n",
                  static_cast<double>(r.commands.slowest_ns) / 1e6, r.commands.slowest_sent_at_s);
    out += line;
    std::snprintf(line, sizeof line, "commands     channel %s in %.3f ms, before the first RPC\n",
                  r.commands.channel_ready ? "connected" : "NOT connected",
                  r.commands.channel_connect_ms);
    out += line;
  }
  std::snprintf(
      line, sizeof line, "generator    cpu %.2f s (%.2f us/msg)  peak rss %.1f MiB\n",
      r.cpu_seconds,
      r.stats.answered > 0 ? r.cpu_seconds * 1e6 / static_cast<double>(r.stats.answered) : 0.0,
      static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0));
  out += line;
  return out;
}

namespace {

boost::json::object latency_json(const Histogram& h) {
  const auto s = summarize(h);
  return {{"count", s.count}, {"p50", s.p50}, {"p90", s.p90},  {"p99", s.p99},
          {"p999", s.p999},   {"max", s.max}, {"mean", s.mean}};
}

}  // namespace

boost::json::object report_json(const LoadgenConfig& config, const RunResult& r) {
  namespace json = boost::json;
  json::object report;
  report["profile"] = config.profile;
  report["chargers"] = config.chargers;
  report["threads"] = config.threads;
  report["ocpp16_share"] = config.ocpp16_share;
  json::array urls;
  for (const auto& url : config.urls) urls.emplace_back(url);
  report["urls"] = std::move(urls);
  report["echo"] = config.echo;
  if (config.profile == "saturate" || config.profile == "rate") report["action"] = config.action;
  if (config.profile == "saturate") report["pipeline"] = config.pipeline;
  if (config.profile == "rate") report["target_rate"] = config.rate;
  report["duration_s"] = r.window_seconds;
  const double rate =
      r.window_seconds > 0 ? static_cast<double>(r.window_answered) / r.window_seconds : 0;
  report["messages"] = json::object{{"sent", r.stats.sent},
                                    {"answered", r.stats.answered},
                                    {"answered_in_window", r.window_answered},
                                    {"per_second", rate},
                                    {"server_calls", r.stats.server_calls}};
  report["connections"] = json::object{{"opened", r.stats.connects},
                                       {"open_at_end", r.connected_at_end},
                                       {"tls_resumed", r.stats.tls_resumed},
                                       {"retry_after_honored", r.stats.retry_after},
                                       {"retry_after_seconds", r.stats.retry_after_s}};
  const auto& e = r.stats.errors;
  json::object http;
  for (const auto& [status, count] : e.http_status) http[std::to_string(status)] = count;
  json::object call_errors;
  for (const auto& [code, count] : e.call_errors) call_errors[code] = count;
  report["errors"] = json::object{{"total", e.total()},
                                  {"connect_refused", e.connect_refused},
                                  {"connect_timeout", e.connect_timeout},
                                  {"connect_other", e.connect_other},
                                  {"tls", e.tls},
                                  {"subprotocol", e.subprotocol},
                                  {"http_status", std::move(http)},
                                  {"timeout", e.timeout},
                                  {"callerror", std::move(call_errors)},
                                  {"closed", e.closed},
                                  {"unanswered_at_close", e.unanswered_at_close},
                                  {"protocol", e.protocol},
                                  {"boot_rejected", e.boot_rejected},
                                  {"boot_pending", e.boot_pending}};
  json::object latency;
  for (std::size_t i = 0; i < kActionCount; ++i) {
    if (r.stats.latency[i].count() == 0) continue;
    latency[action_name(static_cast<Action>(i))] = latency_json(r.stats.latency[i]);
  }
  report["latency_ms"] = std::move(latency);
  report["connect_ms"] = latency_json(r.stats.connect);
  report["tls_handshake_ms"] = latency_json(r.stats.tls);
  report["boot_ms"] = latency_json(r.stats.boot);
  if (config.profile == "storm") {
    report["storm"] =
        json::object{{"chargers", r.storm_dropped},  {"recovered", r.storm_recovered},
                     {"seconds", r.storm_seconds},   {"started_unix_ms", r.storm_started_unix_ms},
                     {"failures", r.storm_failures}, {"complete", r.storm_complete}};
  }
  if (r.has_commands) {
    json::object outcomes;
    for (const auto& [code, count] : r.commands.outcomes) outcomes[code] = count;
    report["commands"] =
        json::object{{"command", config.command},
                     {"sent", r.commands.sent},
                     {"outcomes", std::move(outcomes)},
                     {"latency_ms", latency_json(r.commands.latency)},
                     {"slowest_ms", static_cast<double>(r.commands.slowest_ns) / 1e6},
                     {"slowest_sent_at_s", r.commands.slowest_sent_at_s},
                     {"channel_connect_ms", r.commands.channel_connect_ms},
                     {"channel_ready", r.commands.channel_ready}};
  }
  report["generator"] =
      json::object{{"cpu_seconds", r.cpu_seconds}, {"peak_rss_bytes", r.peak_rss_bytes}};
  return report;
}

}  // namespace switchyard::loadgen
