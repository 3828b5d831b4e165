// Charger events into EVSE statuses (see status_feed.h).
#include "roaming/status_feed.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/charger_event_peek.h"
#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::roaming {
namespace {

std::int64_t millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

// The payloads gather() acts on.
bool moves_evses(int payload) {
  switch (static_cast<v1::ChargerEvent::PayloadCase>(payload)) {
    case v1::ChargerEvent::kStatusNotification:
    case v1::ChargerEvent::kConnectionOpened:
    case v1::ChargerEvent::kBootNotification:
    case v1::ChargerEvent::kConnectionClosed:
      return true;
    default:
      return false;
  }
}

}  // namespace

StatusFeed::StatusFeed(LocationStore& store, Pusher* pusher, prometheus::Registry* metrics)
    : store_(store), pusher_(pusher) {
  if (metrics == nullptr) return;
  malformed_ = &prometheus::BuildCounter()
                    .Name("switchyard_roaming_malformed_events_total")
                    .Help("Events on the charger events topic that could not be parsed (skipped)")
                    .Register(*metrics)
                    .Add({});
  changes_ = &prometheus::BuildCounter()
                  .Name("switchyard_roaming_evse_status_changes_total")
                  .Help(
                      "OCPI EVSE status changes of published and unpublished locations, by the "
                      "new status")
                  .Register(*metrics);
  for (const char* status :
       {"AVAILABLE", "CHARGING", "RESERVED", "INOPERATIVE", "OUTOFORDER", "UNKNOWN"}) {
    changes_->Add({{"status", status}});
  }
}

Result<void> StatusFeed::handle(const bus::Event& event) {
  // Only status and connection events move an EVSE: the rest (MeterValues, Heartbeat, ...) are
  // skipped on a peek at their payload, without parsing them.
  if (const auto peek = bus::peek_charger_event(event.value); peek && !moves_evses(peek->payload)) {
    return {};
  }
  bus::ArenaMessage<v1::ChargerEvent> parsed;
  if (!bus::parse_event(event, *parsed, malformed_)) return {};
  gather(*parsed);
  return {};
}

void StatusFeed::gather(const v1::ChargerEvent& event) {
  if (event.charger_id().empty()) return;
  const std::int64_t at = millis(event.received_at());
  if (event.has_status_notification()) {
    const auto& s = event.status_notification();
    facts_.push_back(LocationStore::Fact{event.charger_id(), s.status(), s.location().evse_id(),
                                         s.location().connector_id(), false, at});
  } else if (event.has_connection_opened() || event.has_boot_notification() ||
             event.has_connection_closed()) {
    facts_.push_back(LocationStore::Fact{event.charger_id(), std::nullopt, 0, 0,
                                         !event.has_connection_closed(), at});
  }
}

Result<void> StatusFeed::flush() {
  if (facts_.empty()) return {};
  auto applied = apply_gathered();
  facts_.clear();  // the vector keeps its capacity for the next poll
  return applied;
}

Result<void> StatusFeed::apply_gathered() {
  std::vector<std::string> push_to;
  if (pusher_ != nullptr) {
    auto receivers = pusher_->receivers("locations");
    if (!receivers) return std::unexpected(receivers.error());
    push_to = std::move(*receivers);
  }
  auto changes = store_.apply_facts(facts_, push_to);
  if (!changes) return std::unexpected(changes.error());
  count(*changes);
  if (!changes->empty() && !push_to.empty() && pusher_ != nullptr) pusher_->wake();
  return {};
}

void StatusFeed::count(const std::vector<EvseChange>& changes) {
  for (const auto& c : changes) {
    log::debug("EVSE status changed",
               {{"location_id", c.location_id}, {"evse_uid", c.uid}, {"status", c.status}});
    if (changes_ != nullptr) changes_->Add({{"status", c.status}}).Increment();
  }
}

}  // namespace switchyard::roaming
