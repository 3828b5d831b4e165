// Pushes location changes to the partners that receive them (registered, with a `locations`
// RECEIVER endpoint): the whole location (PUT) when the operator changed it, an EVSE's status
// (PATCH status + last_updated) when the charger did. What to push comes from the store's
// outbox, written in the transaction of each change, and what is sent is the object as it is at
// send time: a partner that was down gets one request per changed object when it is back, never
// the history. Failures back off per entry (1 s doubling up to `max_backoff`); an unreachable
// partner defers all of its entries at once so it is asked once per back-off, not once per
// object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/location_store.h"
#include "roaming/locations.h"
#include "roaming/ocpi_client.h"
#include "roaming/partners.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::roaming {

struct PushOptions {
  std::chrono::milliseconds interval{1000};  // the outbox is read this often when not woken
  int batch = 200;
  std::chrono::milliseconds max_backoff{15000};
  std::chrono::milliseconds gauge_interval{5000};
};

// The partner's locations RECEIVER endpoint; empty when it has none.
std::string locations_receiver_url(const Partner& partner);

class LocationPusher {
 public:
  // Everything outlives this; `metrics` may be null.
  LocationPusher(LocationStore& locations, PartnerStore& partners, OcpiClient& client, Party party,
                 const Clock& clock, prometheus::Registry* metrics, PushOptions options = {});
  ~LocationPusher();
  LocationPusher(const LocationPusher&) = delete;
  LocationPusher& operator=(const LocationPusher&) = delete;

  // Ids of the partners a change must go to. Read from the partner store at most once a second
  // (every charger event asks): a partner registering now gets changes from a second later.
  Result<std::vector<std::string>> receivers();

  void start();
  void stop();
  // Something was enqueued: push soon.
  void wake();
  // One pass over the due entries; how many were delivered.
  Result<int> push_due();
  // switchyard_roaming_outbox_pending / _oldest_age_seconds per partner, from the store.
  void refresh_gauges();

 private:
  void run(const std::stop_token& stop);
  std::int64_t now_ms() const;

  LocationStore& locations_;
  PartnerStore& partners_;
  OcpiClient& client_;
  Party party_;
  const Clock& clock_;
  PushOptions options_;
  prometheus::Family<prometheus::Counter>* pushes_ = nullptr;
  prometheus::Family<prometheus::Gauge>* pending_ = nullptr;
  prometheus::Family<prometheus::Gauge>* oldest_ = nullptr;
  std::map<std::string, bool> seen_partners_;  // gauge labels to reset when an outbox empties
  // Partners that did not answer, and until when none of their entries is tried (ms). Only
  // the pusher's thread (or a test calling push_due) touches it.
  std::map<std::string, std::int64_t> unreachable_until_;
  std::mutex receivers_mutex_;
  std::vector<std::string> receivers_;
  std::chrono::steady_clock::time_point receivers_until_ =
      std::chrono::steady_clock::time_point::min();
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  std::jthread thread_;
};

}  // namespace switchyard::roaming
