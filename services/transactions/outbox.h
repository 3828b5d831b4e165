// Publishes what the projector committed to the outbox table (transaction updates to
// csms.transactions.v1, CDRs to csms.cdrs.v1): a message is deleted only after the bus
// acknowledged it, so a crash between commit and publish publishes it again (consumers dedupe
// on the transaction's updated_at / the cdr_id). Per key the order is the commit order. Also
// prunes old processed-event ids and refreshes the gauges read from the store (outbox length
// and age, active sessions).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/runtime/bus/event_publisher.h"
#include "common/runtime/sql/database.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace switchyard::transactions {

struct OutboxOptions {
  std::chrono::milliseconds interval{1000};  // polled this often when not woken
  int batch = 500;
  std::chrono::milliseconds gauge_interval{5000};  // store gauges refreshed at most this often
  std::chrono::hours processed_retention{24 * 8};
};

class Outbox {
 public:
  Outbox(sql::Database& db, bus::EventPublisher& publisher, OutboxOptions options,
         prometheus::Registry* metrics);
  ~Outbox();

  void start();
  void stop();
  // Sets the store gauges (outbox length and oldest age, active sessions) from the database.
  void refresh_gauges();
  // Something was committed: publish soon.
  void wake();
  // One pass: publishes everything in the outbox, waiting for the acknowledgements; returns how
  // many messages were published. Stops at the first batch with a failure (kept for later).
  Result<int> publish_pending();

 private:
  void run(const std::stop_token& stop);

  sql::Database& db_;
  bus::EventPublisher& publisher_;
  OutboxOptions options_;
  prometheus::Counter* published_ = nullptr;
  prometheus::Counter* failures_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
  prometheus::Gauge* oldest_age_ = nullptr;
  prometheus::Gauge* active_sessions_ = nullptr;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool woken_ = false;
  std::jthread thread_;
};

}  // namespace switchyard::transactions
