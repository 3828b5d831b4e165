// Pushes changes to partners' receiver modules from the push outbox (push_outbox.h): for each due
// entry the module's PushSource builds the request from the object as it is at send time, so a
// partner that was down gets one request per changed object when it is back, never the history.
// Failures back off per entry (1 s doubling up to `max_backoff`); an unreachable partner defers
// all of its entries at once so it is asked once per back-off, not once per object. An entry of a
// partner that no longer receives its module (unregistered, or the endpoint went) is dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/ocpi_client.h"
#include "roaming/partners.h"
#include "roaming/push_outbox.h"

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

// The partner's RECEIVER endpoint of `module`; empty when it has none.
std::string receiver_url(const Partner& partner, std::string_view module);

struct PushRequest {
  std::string method;  // PUT, PATCH or POST
  std::string url;
  std::string body;  // JSON
};

// One module's side of the pushes.
class PushSource {
 public:
  virtual ~PushSource() = default;
  virtual std::string_view module() const = 0;
  // A pass over the outbox begins (a source may cache objects for the pass).
  virtual void begin_pass() {}
  // The request telling the partner about `push`, whose receiver endpoint is `url`; nullopt when
  // there is nothing to tell (the object is gone). kFailedPrecondition: it cannot be built yet
  // (kept, retried with back-off, the message as the entry's last error); any other error (the
  // store) ends the pass.
  virtual Result<std::optional<PushRequest>> request(const PendingPush& push,
                                                     const std::string& url) = 0;
  // The partner answered `push` with an error (it was reached): true when the source dealt with
  // it (e.g. replaced the entry by another), false to retry it with back-off.
  virtual Result<bool> refused(const PendingPush& /*push*/, const Error& /*error*/,
                               std::int64_t /*now_ms*/) {
    return false;
  }
  // The partner accepted `push` (before the entry leaves the outbox).
  virtual Result<void> delivered(const PendingPush& /*push*/, std::int64_t /*now_ms*/) {
    return {};
  }
};

class Pusher {
 public:
  // Everything outlives this; `metrics` may be null.
  Pusher(PushOutbox& outbox, PartnerStore& partners, OcpiClient& client, const Clock& clock,
         prometheus::Registry* metrics, PushOptions options = {});
  ~Pusher();
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Before start(); `source` outlives this.
  void add_source(PushSource& source);
  // Before start(): a built-in partner (kBuiltInPrefix, e.g. OICP's Hubject) whose own pusher
  // sends `module`'s changes; receivers(module) names it, so changes go into its outbox too, and
  // wake() calls `wake` as well.
  void add_built_in_receiver(std::string module, std::string partner_id,
                             std::function<void()> wake);

  // Ids of the registered partners with a RECEIVER endpoint of `module` (and the built-in ones).
  // Read from the partner store at most once a second (every charger event asks): a partner
  // registering now gets changes from a second later.
  Result<std::vector<std::string>> receivers(std::string_view module);
  // A partner registered or changed: the next receivers() reads the store again.
  void forget_receivers();

  void start();
  void stop();
  // Something was enqueued: push soon.
  void wake();
  // One pass over the due entries; how many were delivered.
  Result<int> push_due();
  // switchyard_roaming_outbox_pending / _oldest_age_seconds per partner and module, from the
  // store.
  void refresh_gauges();

 private:
  void run(const std::stop_token& stop);
  std::int64_t now_ms() const;
  // The back-off after a failed push: kept, tried again later.
  Result<void> retry_later(const PendingPush& push, const Error& error,
                           std::set<std::string>& deferred);

  PushOutbox& outbox_;
  PartnerStore& partners_;
  OcpiClient& client_;
  const Clock& clock_;
  PushOptions options_;
  std::map<std::string, PushSource*, std::less<>> sources_;
  std::vector<std::pair<std::string, std::string>> built_in_;  // (module, partner id)
  std::vector<std::function<void()>> built_in_wakes_;
  prometheus::Family<prometheus::Counter>* pushes_ = nullptr;
  prometheus::Family<prometheus::Gauge>* pending_ = nullptr;
  prometheus::Family<prometheus::Gauge>* oldest_ = nullptr;
  // (partner, module) gauge labels, to reset when an outbox empties.
  std::map<std::pair<std::string, std::string>, bool> seen_;
  // Partners that did not answer, and until when none of their entries is tried (ms). Only
  // the pusher's thread (or a test calling push_due) touches it.
  std::map<std::string, std::int64_t> unreachable_until_;
  std::mutex receivers_mutex_;
  std::vector<Partner> registered_;
  std::chrono::steady_clock::time_point receivers_until_ =
      std::chrono::steady_clock::time_point::min();
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  std::jthread thread_;
};

}  // namespace switchyard::roaming
