// ocpp.events.v1 into smart-charging facts (see charger_events.h).
#include "smart_charging/charger_events.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/charger_event_peek.h"
#include "common/runtime/bus/parse_event.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::smart_charging {
namespace {

// Per-phase Current.Import among the samples, per connector phase; nullopt when there is none.
std::optional<PhaseCurrents> phase_currents(
    const google::protobuf::RepeatedPtrField<v1::MeterSample>& samples) {
  PhaseCurrents out{};
  bool any = false;
  for (const v1::MeterSample& s : samples) {
    if (s.measurand() != "Current.Import" || s.normalized_unit() != "A") continue;
    const std::string& phase = s.phase();
    int p = -1;
    if (phase == "L1" || phase == "L1-N") p = 0;
    if (phase == "L2" || phase == "L2-N") p = 1;
    if (phase == "L3" || phase == "L3-N") p = 2;
    const double value = s.normalized_value();
    if (p < 0 || !(value >= 0.0)) continue;
    out[p] = value;
    any = true;
  }
  if (!any) return std::nullopt;
  return out;
}

// The payloads apply() acts on.
bool is_applied(int payload) {
  switch (static_cast<v1::ChargerEvent::PayloadCase>(payload)) {
    case v1::ChargerEvent::kConnectionOpened:
    case v1::ChargerEvent::kConnectionClosed:
    case v1::ChargerEvent::kTransactionEvent:
    case v1::ChargerEvent::kMeterValues:
      return true;
    default:
      return false;
  }
}

}  // namespace

ChargerProtocol protocol_of(int ocpp_version) {
  switch (ocpp_version) {
    case v1::OCPP_VERSION_1_6:
      return ChargerProtocol::k16;
    case v1::OCPP_VERSION_2_0_1:
      return ChargerProtocol::k201;
    case v1::OCPP_VERSION_2_1:
      return ChargerProtocol::k21;
    default:
      return ChargerProtocol::kUnknown;
  }
}

ChargerEvents::ChargerEvents(SmartChargingService& service, prometheus::Registry* metrics)
    : service_(service) {
  if (metrics == nullptr) return;
  malformed_ = &prometheus::BuildCounter()
                    .Name("switchyard_smart_charging_malformed_events_total")
                    .Help("Events on ocpp.events.v1 that did not parse (skipped)")
                    .Register(*metrics)
                    .Add({});
}

Result<void> ChargerEvents::handle(const bus::Event& event) {
  // Only connections, transactions and meter values matter here: the rest is skipped on a peek
  // at its payload, without parsing it.
  if (const auto peek = bus::peek_charger_event(event.value); peek && !is_applied(peek->payload)) {
    return {};
  }
  bus::ArenaMessage<v1::ChargerEvent> parsed;
  if (bus::parse_event(event, *parsed, malformed_)) apply(*parsed);
  return {};
}

void ChargerEvents::apply(const v1::ChargerEvent& event) {
  const std::string& charger = event.charger_id();
  switch (event.payload_case()) {
    case v1::ChargerEvent::kConnectionOpened:
      service_.charger_connected(charger, protocol_of(event.protocol_version()));
      break;
    case v1::ChargerEvent::kConnectionClosed:
      service_.charger_disconnected(charger);
      break;
    case v1::ChargerEvent::kTransactionEvent: {
      const auto& tx = event.transaction_event();
      std::optional<EvseAddress> evse;
      if (tx.location().evse_id() > 0) {
        evse = EvseAddress{charger, tx.location().evse_id()};
      } else {
        // 1.6 StopTransaction names no connector; a 2.x event after Started need not repeat it.
        evse = service_.evse_of_transaction(charger, tx.transaction_id());
      }
      if (!evse) break;
      if (tx.kind() == v1::TransactionEvent::KIND_STARTED) {
        service_.session_started(*evse, tx.transaction_id());
      } else if (tx.kind() == v1::TransactionEvent::KIND_ENDED) {
        service_.session_ended(*evse, tx.transaction_id());
        break;
      }
      if (auto currents = phase_currents(tx.samples())) service_.evse_meter(*evse, *currents);
      break;
    }
    case v1::ChargerEvent::kMeterValues: {
      const auto& mv = event.meter_values();
      std::optional<EvseAddress> evse;
      if (mv.location().evse_id() > 0) {
        evse = EvseAddress{charger, mv.location().evse_id()};
      } else {
        evse = service_.evse_of_transaction(charger, mv.transaction_id());
      }
      if (!evse) break;  // the charger's main meter
      if (auto currents = phase_currents(mv.samples())) service_.evse_meter(*evse, *currents);
      break;
    }
    default:
      break;
  }
}

}  // namespace switchyard::smart_charging
