// ConnectionAdmission control of new connections. A pod takes at most `rate` new connections per
// second (a token bucket of `burst`), so a reconnect storm larger than it can serve at once (TLS
// handshakes, password hashes, owner claims, boots) is spread out instead of starving the
// chargers already connected. Over the rate a connection is refused with a Retry-After drawn
// from [1, spread] s. The spread follows the crowd waiting outside, every refused charger whose
// time to come back is still ahead: crowd / rate seconds (capped at `retry_after_max`), so the
// crowd comes back at about the rate. (A spread taken from the refusals of the last second
// alone brings N waiting chargers back at about sqrt(2 x N x rate) a second: ten refusals per
// admission for 1,000 chargers at 25/s.) With an address share, one source address takes at most
// that share of the rate and burst (a bucket of its own, kept for at most kMaxAddresses addresses),
// so an upgrade flood from one address cannot starve the others. Thread-safe (the listeners' I/O
// threads share one).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/runtime/core/clock.h"

namespace switchyard::gateway {

struct ConnectionAdmissionSettings {
  double rate = 0;   // new connections per second; 0: no limit
  double burst = 0;  // taken at once after a quiet time; 0: one second's worth
  std::chrono::seconds retry_after_max{30};
  // At most this share (0..1] of the rate and burst goes to one source address; 0: no limit.
  // Chargers behind a carrier's NAT share an address: keep it well above one charger's share.
  double address_share = 0;
  bool enabled() const { return rate > 0; }
};

struct AdmissionRefusal {
  std::chrono::seconds retry_after{1};
  bool address = false;  // the source address took its share (else: the pod is at its rate)
  // The first refusal of this address's surplus in a minute: worth a log line (the rest are
  // counted only, a flood would write one per request).
  bool report = false;
};

class ConnectionAdmission {
 public:
  ConnectionAdmission(ConnectionAdmissionSettings settings, const Clock& clock,
                      std::uint64_t seed = 0x5eed);

  // nullopt: admitted (one token taken, and one of `address`'s share); otherwise refused, with
  // the Retry-After to answer. `address`: the source address (empty: not known).
  std::optional<AdmissionRefusal> admit(std::string_view address = {});

  bool enabled() const { return settings_.enabled(); }
  std::size_t tracked_addresses();

  static constexpr std::size_t kMaxAddresses = 65536;

 private:
  ConnectionAdmissionSettings settings_;
  double burst_;
  const Clock& clock_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::chrono::steady_clock::time_point second_start_;
  // The crowd waiting: how many were told to come back in each of the next seconds (a ring of
  // retry_after_max + 2 seconds; `second_` is the current one), and their sum.
  std::vector<std::uint64_t> returning_;
  std::uint64_t waiting_ = 0;
  std::uint64_t second_ = 0;
  std::mt19937_64 rng_;
  struct AddressBucket {
    double tokens;
    std::chrono::steady_clock::time_point refilled;
    std::optional<std::chrono::steady_clock::time_point> reported;  // last one worth a log line
  };
  double address_rate_ = 0;
  double address_burst_ = 0;
  std::unordered_map<std::string, AddressBucket> addresses_;
  std::chrono::steady_clock::time_point last_sweep_{};

  std::chrono::seconds retry_after();
  // The bucket of `address`, refilled to `now`; nullptr when no per-address limit applies (off,
  // no address, or kMaxAddresses busy addresses tracked already: the pod's rate still holds).
  AddressBucket* address_bucket(std::string_view address,
                                std::chrono::steady_clock::time_point now);
};

}  // namespace switchyard::gateway
