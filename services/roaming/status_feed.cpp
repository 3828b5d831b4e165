// Charger events into EVSE statuses (see status_feed.h).
#include "roaming/status_feed.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::roaming {
namespace {

std::int64_t millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1'000'000;
}

}  // namespace

StatusFeed::StatusFeed(LocationStore& store, prometheus::Registry* metrics) : store_(store) {
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
}

Result<void> StatusFeed::handle(const bus::Event& event) {
  v1::ChargerEvent parsed;
  if (!bus::parse_event(event, parsed, malformed_)) return {};
  return apply(parsed);
}

Result<void> StatusFeed::apply(const v1::ChargerEvent& event) {
  if (event.charger_id().empty()) return {};
  const std::int64_t at = millis(event.received_at());
  Result<std::vector<EvseChange>> changes = std::vector<EvseChange>{};
  if (event.has_status_notification()) {
    const auto& s = event.status_notification();
    changes = store_.apply_status(event.charger_id(), s.location().evse_id(),
                                  s.location().connector_id(), s.status(), at);
  } else if (event.has_connection_opened() || event.has_boot_notification()) {
    changes = store_.apply_online(event.charger_id(), true, at);
  } else if (event.has_connection_closed()) {
    changes = store_.apply_online(event.charger_id(), false, at);
  }
  if (!changes) return std::unexpected(changes.error());
  count(*changes);
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
