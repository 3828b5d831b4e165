// The `commands` profile's gRPC side: ChargerControl RPCs at a fixed rate (open loop) against a
// gateway pod while the simulated fleet runs, with their latency and outcome.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "loadgen/config.h"
#include "loadgen/histogram.h"

namespace switchyard::loadgen {

struct CommandResults {
  // One answered RPC: `sent_at_s` is when it was sent, in seconds since the first was due.
  void record(std::uint64_t latency_ns, double sent_at_s, const std::string& outcome);

  std::uint64_t sent = 0;
  Histogram latency;                              // nanoseconds, every outcome
  std::map<std::string, std::uint64_t> outcomes;  // gRPC status code name -> count
  // The slowest RPC and when it was sent: a stall shows as one slow RPC that those sent
  // during it wait behind (a channel connecting, a thread waking), spread RPCs as slowness.
  std::uint64_t slowest_ns = 0;
  double slowest_sent_at_s = 0;
  // The channel connects before the chargers ramp up, so no RPC waits for it: how long that
  // took, and whether it was ready within 5 s (if not, the first RPCs wait or fail).
  double channel_connect_ms = 0;
  bool channel_ready = false;
};

class CommandDriver {
 public:
  // Connects the gRPC channel (waits up to 5 s for it); start() sends.
  explicit CommandDriver(const LoadgenConfig& config);
  ~CommandDriver();
  CommandDriver(const CommandDriver&) = delete;
  CommandDriver& operator=(const CommandDriver&) = delete;

  void start();
  // Stops sending and waits (up to the call timeout) for the RPCs in flight.
  void stop();
  CommandResults results();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard::loadgen
