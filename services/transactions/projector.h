// Turns ocpp.events.v1 into transactions and CDRs: each event is applied in one SQL transaction
// together with its event id, so a redelivered or replayed event changes nothing. A transaction
// that ended (and whose start is known) gets its CDR in the same SQL transaction. The
// transaction's new state and the CDR go to the outbox in that transaction too; the Outbox
// publishes them afterwards.
#pragma once

#include <functional>
#include <string>

#include "common/runtime/bus/event_consumer.h"
#include "common/runtime/sql/database.h"
#include "transactions/hub.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::v1 {
class ChargerEvent;
}

namespace switchyard::transactions {

struct ProjectorTopics {
  std::string transactions = "csms.transactions.v1";
  std::string cdrs = "csms.cdrs.v1";
};

class Projector {
 public:
  Projector(sql::Database& db, TransactionHub& hub, ProjectorTopics topics,
            prometheus::Registry* metrics);

  // The bus handler: an event that cannot be parsed is counted, logged and skipped (it would
  // never parse on redelivery either); a database error is returned, so it is retried.
  Result<void> handle(const bus::Event& event);
  Result<void> apply(const v1::ChargerEvent& event);

  // Called after something was committed to the outbox (wakes the Outbox).
  void on_commit(std::function<void()> callback) { on_commit_ = std::move(callback); }

 private:
  sql::Database& db_;
  TransactionHub& hub_;
  ProjectorTopics topics_;
  std::function<void()> on_commit_;
  prometheus::Family<prometheus::Counter>* events_ = nullptr;
  prometheus::Counter* duplicates_ = nullptr;
  prometheus::Counter* malformed_ = nullptr;
  prometheus::Counter* start_missing_ = nullptr;
  prometheus::Counter* cdrs_ = nullptr;
  prometheus::Counter* energy_ = nullptr;
  prometheus::Counter* late_after_cdr_ = nullptr;
  prometheus::Counter* unpriced_ = nullptr;
};

}  // namespace switchyard::transactions
