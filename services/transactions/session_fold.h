// How one event changes one transaction: pure functions from (the stored row, the event) to the
// new row, so the projector's rules can be tested without a database. Every time comes from the
// event (the charger's timestamps, the gateway's receive time), never from the clock, so
// replaying a topic rebuilds the same rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transactions/pricing.h"
#include "transactions/store.h"

namespace google::protobuf {
template <typename T>
class RepeatedPtrField;
}
namespace switchyard::v1 {
class ChargerEvent;
class MeterSample;
class MeterValues;
class TransactionEvent;
}  // namespace switchyard::v1

namespace switchyard::transactions {

enum class Change { kStarted, kUpdated, kEnded };
const char* change_name(Change change);

struct EventContext {
  std::string charger_id;
  std::string ocpp_version;  // "1.6", "2.0.1", "2.1"
  std::int64_t received_at_ms = 0;
};

struct Folded {
  TransactionRow row;
  Change change = Change::kUpdated;
  bool late_after_cdr = false;  // the transaction changed after its CDR was made
};

// Energy register readings (Energy.Active.Import.Register, in Wh) in a list of samples, one per
// timestamp: the total (no phase) when the charger sent one, else the sum of the phase values.
// Samples measured at the EV side and non-numbers are skipped.
struct Reading {
  std::int64_t at_ms;
  std::int64_t wh;
};
std::vector<Reading> register_readings(
    const google::protobuf::RepeatedPtrField<v1::MeterSample>& samples,
    std::int64_t fallback_at_ms);

Folded fold(std::optional<TransactionRow> current, const v1::TransactionEvent& event,
            const EventContext& context);
// A meter value sent with a transaction id (1.6 MeterValues.transactionId).
Folded fold(std::optional<TransactionRow> current, const v1::MeterValues& values,
            const EventContext& context);

// A transaction gets its CDR once it ended and its start is known; exactly once.
bool cdr_due(const TransactionRow& row);
// The CDR id: derived from the charger and transaction ids, so a replay makes the same one.
std::string cdr_id_for(const std::string& charger_id, const std::string& transaction_id);
// The CDR of an ended transaction, priced with `tariff` (none: a zero price and no currency).
CdrRow make_cdr(const TransactionRow& row, const std::optional<Tariff>& tariff,
                std::int64_t created_at_ms);

}  // namespace switchyard::transactions
