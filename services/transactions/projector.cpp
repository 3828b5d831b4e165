// The transactions projector (see projector.h).
#include "transactions/projector.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <charconv>
#include <chrono>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/charger_event_peek.h"
#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "switchyard/v1/events.pb.h"
#include "transactions/convert.h"
#include "transactions/session_fold.h"
#include "transactions/store.h"

namespace switchyard::transactions {
namespace {

std::string version_name(v1::OcppVersion v) {
  switch (v) {
    case v1::OCPP_VERSION_1_6:
      return "1.6";
    case v1::OCPP_VERSION_2_0_1:
      return "2.0.1";
    case v1::OCPP_VERSION_2_1:
      return "2.1";
    default:
      return "";
  }
}

const char* kind_name(const v1::ChargerEvent& e) {
  if (e.has_meter_values()) return "meter_values";
  switch (e.transaction_event().kind()) {
    case v1::TransactionEvent::KIND_STARTED:
      return "started";
    case v1::TransactionEvent::KIND_ENDED:
      return "ended";
    default:
      return "updated";
  }
}

}  // namespace

Projector::Projector(sql::Database& db, TransactionHub& hub, ProjectorTopics topics,
                     prometheus::Registry* metrics)
    : db_(db), hub_(hub), topics_(std::move(topics)) {
  if (metrics == nullptr) return;
  events_ =
      &prometheus::BuildCounter()
           .Name("switchyard_transactions_events_total")
           .Help("Transaction events applied, by kind (started, updated, ended, meter_values)")
           .Register(*metrics);
  duplicates_ = &prometheus::BuildCounter()
                     .Name("switchyard_transactions_duplicate_events_total")
                     .Help("Events skipped because their event id was already applied")
                     .Register(*metrics)
                     .Add({});
  malformed_ = &prometheus::BuildCounter()
                    .Name("switchyard_transactions_malformed_events_total")
                    .Help("Events on the topic that could not be parsed (skipped)")
                    .Register(*metrics)
                    .Add({});
  start_missing_ =
      &prometheus::BuildCounter()
           .Name("switchyard_transactions_start_missing_total")
           .Help("Stops or updates recorded for a transaction whose start was not seen")
           .Register(*metrics)
           .Add({});
  cdrs_ = &prometheus::BuildCounter()
               .Name("switchyard_cdrs_created_total")
               .Help("CDRs created at the end of a transaction")
               .Register(*metrics)
               .Add({});
  energy_ = &prometheus::BuildCounter()
                 .Name("switchyard_transactions_energy_wh_total")
                 .Help(
                     "Energy of the CDRs created (Wh): what the sessions delivered, counted once "
                     "per CDR when the session ends")
                 .Register(*metrics)
                 .Add({});
  late_after_cdr_ =
      &prometheus::BuildCounter()
           .Name("switchyard_transactions_late_after_cdr_total")
           .Help("Events for a transaction whose CDR was already made (the CDR stays as it is)")
           .Register(*metrics)
           .Add({});
  unpriced_ = &prometheus::BuildCounter()
                   .Name("switchyard_cdrs_unpriced_total")
                   .Help("CDRs created without a tariff (price 0): no default tariff is configured")
                   .Register(*metrics)
                   .Add({});
}

Result<void> Projector::handle(const bus::Event& event) {
  // Only transaction events and meter values of a transaction are projected: the rest is skipped
  // on a peek, without parsing it.
  if (const auto peek = bus::peek_charger_event(event.value);
      peek && peek->payload != v1::ChargerEvent::kTransactionEvent) {
    if (peek->payload != v1::ChargerEvent::kMeterValues) return {};
    // A MeterValues split over several occurrences (never from a serializer) merges: parsed.
    const auto tx = peek->payload_split
                        ? std::nullopt
                        : bus::peek_string_field(peek->payload_bytes,
                                                 v1::MeterValues::kTransactionIdFieldNumber);
    if (tx && tx->empty()) return {};
  }
  bus::ArenaMessage<v1::ChargerEvent> parsed;
  if (!bus::parse_event(event, *parsed, malformed_)) return {};
  return apply(*parsed);
}

Result<void> Projector::apply(const v1::ChargerEvent& event) {
  const bool is_tx = event.has_transaction_event();
  const bool is_meter = event.has_meter_values() && !event.meter_values().transaction_id().empty();
  if (!is_tx && !is_meter) return {};
  const std::string& transaction_id =
      is_tx ? event.transaction_event().transaction_id() : event.meter_values().transaction_id();
  if (transaction_id.empty() || event.charger_id().empty() || event.event_id().empty()) {
    if (malformed_ != nullptr) malformed_->Increment();
    log::warn("skipping a transaction event without charger, transaction or event id",
              {{"charger_id", event.charger_id()}, {"event_id", event.event_id()}});
    return {};
  }
  const EventContext context{event.charger_id(), version_name(event.protocol_version()),
                             millis(event.received_at())};

  bool duplicate = false;
  std::optional<Folded> folded;
  bool cdr_made = false;
  bool unpriced = false;
  // The outbox's age counts from the commit, not from when the charger sent the event.
  const std::int64_t enqueued_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  auto committed = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    duplicate = false;
    folded.reset();
    cdr_made = unpriced = false;
    auto fresh = mark_processed(tx, event.event_id(), context.received_at_ms);
    if (!fresh) return std::unexpected(fresh.error());
    if (!*fresh) {
      duplicate = true;
      return {};
    }
    if (is_tx && event.protocol_version() == v1::OCPP_VERSION_1_6 &&
        event.transaction_event().kind() == v1::TransactionEvent::KIND_STARTED) {
      std::int64_t id = 0;
      const char* end = transaction_id.data() + transaction_id.size();
      if (std::from_chars(transaction_id.data(), end, id).ptr == end && id > 0) {
        if (auto r = raise_transaction_id_counter(tx, id); !r) return r;
      }
    }
    auto current = load_transaction(tx, event.charger_id(), transaction_id);
    if (!current) return std::unexpected(current.error());
    folded = is_tx ? fold(std::move(*current), event.transaction_event(), context)
                   : fold(std::move(*current), event.meter_values(), context);
    if (cdr_due(folded->row)) {
      auto tariff = tariff_for(tx, event.charger_id());
      if (!tariff) return std::unexpected(tariff.error());
      const CdrRow cdr = make_cdr(folded->row, *tariff, context.received_at_ms);
      if (auto r = insert_cdr(tx, cdr); !r) return r;
      v1::Cdr message;
      to_proto(cdr, &message);
      if (auto r =
              enqueue(tx, topics_.cdrs, cdr.charger_id, message.SerializeAsString(), enqueued_at);
          !r) {
        return r;
      }
      folded->row.cdr_id = cdr.cdr_id;
      cdr_made = true;
      unpriced = !tariff->has_value();
    }
    if (auto r = save_transaction(tx, folded->row); !r) return r;
    v1::TransactionUpdated update;
    to_proto(folded->row, update.mutable_transaction());
    update.set_change(change_name(folded->change));
    update.set_event_id(event.event_id());
    return enqueue(tx, topics_.transactions, folded->row.charger_id, update.SerializeAsString(),
                   enqueued_at);
  });
  if (!committed) return committed;

  if (duplicate) {
    if (duplicates_ != nullptr) duplicates_->Increment();
    return {};
  }
  const TransactionRow& row = folded->row;
  if (events_ != nullptr) events_->Add({{"kind", kind_name(event)}}).Increment();
  if (row.start_missing && start_missing_ != nullptr) start_missing_->Increment();
  if (row.start_missing && folded->change == Change::kEnded) {
    log::warn("transaction ended without a known start; recorded, CDR waits for the start",
              {{"charger_id", row.charger_id}, {"transaction_id", row.transaction_id}});
  }
  if (folded->late_after_cdr) {
    if (late_after_cdr_ != nullptr) late_after_cdr_->Increment();
    log::warn("event for a transaction that already has its CDR; the CDR is not changed",
              {{"charger_id", row.charger_id},
               {"transaction_id", row.transaction_id},
               {"cdr_id", row.cdr_id}});
  }
  if (cdr_made) {
    if (cdrs_ != nullptr) cdrs_->Increment();
    if (energy_ != nullptr) energy_->Increment(static_cast<double>(row.registers.energy_wh()));
    if (unpriced) {
      if (unpriced_ != nullptr) unpriced_->Increment();
      log::warn("CDR created without a tariff: price 0; add a default tariff (PutTariff)",
                {{"cdr_id", row.cdr_id}, {"charger_id", row.charger_id}});
    }
    log::info("CDR created", {{"cdr_id", row.cdr_id},
                              {"charger_id", row.charger_id},
                              {"transaction_id", row.transaction_id},
                              {"energy_wh", row.registers.energy_wh()}});
  }
  if (on_commit_) on_commit_();
  hub_.publish(row, folded->change);
  return {};
}

}  // namespace switchyard::transactions
