// What a worker thread measures: latencies per action (nanoseconds), connection, TLS and boot
// times, counters and errors by kind. Each worker records into its own Stats; the run merges
// them, so recording takes no lock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "loadgen/frames.h"
#include "loadgen/histogram.h"

namespace switchyard::loadgen {

// Errors by kind, as the report lists them.
struct ErrorCounts {
  std::uint64_t connect_refused = 0;
  std::uint64_t connect_timeout = 0;      // TCP, TLS or upgrade not done within --connect-timeout
  std::uint64_t connect_other = 0;        // resolve / bind / other socket errors
  std::uint64_t tls = 0;                  // TLS handshake failed
  std::uint64_t subprotocol = 0;          // upgrade answered without the OCPP subprotocol
  std::uint64_t timeout = 0;              // a CALL unanswered within --call-timeout
  std::uint64_t closed = 0;               // an open connection closed or reset by the server
  std::uint64_t unanswered_at_close = 0;  // CALLs still unanswered when it closed
  std::uint64_t protocol = 0;             // a frame that is not OCPP-J, an unknown answer id
  std::uint64_t boot_rejected = 0;        // BootNotification answered Rejected
  std::uint64_t boot_pending = 0;         // BootNotification answered Pending (retried)
  std::map<int, std::uint64_t> http_status;          // upgrade refused with this HTTP status
  std::map<std::string, std::uint64_t> call_errors;  // CALLERROR by code

  std::uint64_t total() const;
  void merge(const ErrorCounts& other);
};

struct Stats {
  std::array<Histogram, kActionCount> latency;  // CALL -> answer, per action
  Histogram connect;                // connection start -> WebSocket open (TCP, TLS, upgrade)
  Histogram tls;                    // TLS handshake alone
  Histogram boot;                   // connection start -> BootNotification Accepted
  std::uint64_t sent = 0;           // CALLs written
  std::uint64_t answered = 0;       // CALLs answered (CALLRESULT, CALLERROR or echo)
  std::uint64_t server_calls = 0;   // CALLs from the server answered by a charger
  std::uint64_t connects = 0;       // WebSocket connections opened
  std::uint64_t tls_resumed = 0;    // TLS handshakes that resumed a session
  std::uint64_t retry_after = 0;    // upgrades refused with a Retry-After that was honored
  std::uint64_t retry_after_s = 0;  // the seconds those Retry-Afters asked for, summed
  ErrorCounts errors;

  void merge(const Stats& other);
};

// What the progress line needs each second, handed from a worker to the main thread.
struct Interval {
  std::uint64_t answered = 0;
  std::uint64_t errors = 0;
  Histogram latency;  // every action
  void merge(const Interval& other);
};

// Latency summary of a histogram, in milliseconds.
struct LatencySummary {
  std::uint64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
LatencySummary summarize(const Histogram& nanoseconds);

}  // namespace switchyard::loadgen
