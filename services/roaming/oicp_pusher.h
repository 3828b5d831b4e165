// Pushes our EVSEs to Hubject (OICP 2.3, CPO role): their data (eRoamingPushEvseData) and their
// live statuses (eRoamingPushEvseStatus), from the same locations and statuses OCPI publishes.
//
// Hubject is a built-in partner (kHubjectPartner) of the push outbox (push_outbox.h): every change
// of a published location, and every EVSE status change, lands in its outbox in the transaction
// of the change, like an OCPI partner's. One thread sends them, so pushes of one operation never
// run in parallel (Hubject's rule), and batches them: the changed EVSEs of a pass go as at most
// one delete, one insert and one update of EVSE data (per `batch` records), then one status update
// with the latest status of every changed EVSE: after an outage Hubject gets the latest state in a
// few requests, never the history. The CDRs of Hubject's sessions (oicp_sessions.h) go first in a
// pass, one eRoamingChargeDetailRecord each, retried with back-off until Hubject accepts it. A
// fullLoad of data and statuses replaces what Hubject holds at the first start and every
// --oicp-full-load-interval. Failures back off (1 s doubling to `max_backoff`) and keep the
// entries; which EVSEs Hubject holds (and the record it has of each) is kept in roaming_oicp_evses,
// so an EVSE that left is deleted with the record Hubject knows. With `tariffs` (and
// --oicp-pricing) the pass ends with the pricing pushes (oicp_pricing.h), after the EVSE data they
// refer to.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/oicp_client.h"
#include "roaming/oicp_records.h"
#include "roaming/push_outbox.h"
#include "roaming/settings.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

class LocationStore;
class OicpPricing;
class OicpSessionStore;
class TariffCatalog;

// Hubject's outbox in roaming_outbox.
inline constexpr std::string_view kHubjectPartner = "@hubject";

struct OicpPushOptions {
  std::chrono::milliseconds interval{1000};  // the outbox is read this often when not woken
  int batch = 500;                           // EVSE records per request
  std::chrono::milliseconds max_backoff{15000};
};

class OicpPusher {
 public:
  // Everything outlives this; `metrics` may be null.
  // `sessions` (may be null): the CDRs of Hubject's sessions (module "cdrs" of its outbox).
  // `tariffs` (may be null: no pricing pushes; also when settings.pricing is off): the products.
  OicpPusher(const OicpSettings& settings, LocationStore& locations, PushOutbox& outbox,
             sql::Database& db, OicpClient& client, const Clock& clock,
             prometheus::Registry* metrics, OicpPushOptions options = {},
             OicpSessionStore* sessions = nullptr, TariffCatalog* tariffs = nullptr);
  ~OicpPusher();
  OicpPusher(const OicpPusher&) = delete;
  OicpPusher& operator=(const OicpPusher&) = delete;

  void start();
  void stop();
  // Something was enqueued: push soon.
  void wake();
  // The operator's resend (Roaming.ResendToPartner "@hubject"): the next pass, at once and
  // whatever back-off, is a fullLoad of EVSE data, statuses and pricing. Any thread.
  void resend();
  // One pass: the due CDRs; the fullLoad when it is due, else the changed EVSEs' data, then their
  // statuses; then the pricing, when it changed.
  // How many requests Hubject accepted; an error only when the store failed.
  Result<int> push_due();

 private:
  void run(const std::stop_token& stop);
  std::int64_t now_ms() const;
  Result<int> full_load(std::int64_t now);
  // The changed EVSEs' data, then their statuses, from Hubject's due "locations" entries.
  Result<int> changes(const std::vector<PendingPush>& due);
  // POSTs one push to Hubject; counted in switchyard_roaming_oicp_pushes_total.
  Result<void> send(OicpOperation operation, std::string_view action, std::string body,
                    int records);
  // The due CDRs, one request each; false when Hubject cannot be reached (the pass ends).
  Result<bool> cdrs(std::vector<PendingPush>& entries, int& accepted);
  // After a failure: every entry of `entries` kept with the error, none tried before the
  // back-off ends.
  Result<void> back_off(const std::vector<PendingPush>& entries, const Error& error);
  Result<void> all_done(const std::vector<PendingPush>& entries);
  Result<std::optional<std::int64_t>> last_full_load();
  void count_evses();

  OicpSettings settings_;
  LocationStore& locations_;
  PushOutbox& outbox_;
  sql::Database& db_;
  OicpClient& client_;
  const Clock& clock_;
  OicpPushOptions options_;
  OicpSessionStore* sessions_;
  std::unique_ptr<OicpPricing> pricing_;
  prometheus::Family<prometheus::Counter>* pushes_ = nullptr;
  prometheus::Gauge* evses_ = nullptr;
  prometheus::Gauge* full_load_time_ = nullptr;
  // Only the pusher's thread (or a test calling push_due) touches these.
  std::optional<std::int64_t> last_full_load_ms_;
  bool full_load_requested_ = false;  // resend(): until a fullLoad is accepted
  int failures_ = 0;
  bool backed_off_ = false;  // in this pass
  std::int64_t backoff_until_ms_ = 0;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  bool resend_ = false;  // under mutex_
  std::jthread thread_;
};

}  // namespace switchyard::roaming
