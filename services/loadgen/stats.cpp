// Merging and summarizing the measurements of the worker threads.
#include "loadgen/stats.h"

namespace switchyard::loadgen {

std::uint64_t ErrorCounts::total() const {
  std::uint64_t n = connect_refused + connect_timeout + connect_other + tls + subprotocol +
                    timeout + closed + unanswered_at_close + protocol + boot_rejected;
  for (const auto& [status, count] : http_status) n += count;
  for (const auto& [code, count] : call_errors) n += count;
  return n;
}

void ErrorCounts::merge(const ErrorCounts& o) {
  connect_refused += o.connect_refused;
  connect_timeout += o.connect_timeout;
  connect_other += o.connect_other;
  tls += o.tls;
  subprotocol += o.subprotocol;
  timeout += o.timeout;
  closed += o.closed;
  unanswered_at_close += o.unanswered_at_close;
  protocol += o.protocol;
  boot_rejected += o.boot_rejected;
  boot_pending += o.boot_pending;
  for (const auto& [status, count] : o.http_status) http_status[status] += count;
  for (const auto& [code, count] : o.call_errors) call_errors[code] += count;
}

void Stats::merge(const Stats& o) {
  for (std::size_t i = 0; i < latency.size(); ++i) latency[i].merge(o.latency[i]);
  connect.merge(o.connect);
  tls.merge(o.tls);
  boot.merge(o.boot);
  sent += o.sent;
  answered += o.answered;
  server_calls += o.server_calls;
  connects += o.connects;
  tls_resumed += o.tls_resumed;
  retry_after += o.retry_after;
  retry_after_s += o.retry_after_s;
  errors.merge(o.errors);
}

void Interval::merge(const Interval& o) {
  answered += o.answered;
  errors += o.errors;
  latency.merge(o.latency);
}

LatencySummary summarize(const Histogram& h) {
  constexpr double kMs = 1e-6;
  LatencySummary s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.p50 = static_cast<double>(h.percentile(0.50)) * kMs;
  s.p90 = static_cast<double>(h.percentile(0.90)) * kMs;
  s.p99 = static_cast<double>(h.percentile(0.99)) * kMs;
  s.p999 = static_cast<double>(h.percentile(0.999)) * kMs;
  s.max = static_cast<double>(h.max()) * kMs;
  s.mean = h.mean() * kMs;
  return s;
}

}  // namespace switchyard::loadgen
