// ocpp.events.v1 into smart-charging facts (see charger_events.h).
#include "smart_charging/charger_events.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/charger_event_peek.h"
#include "common/runtime/bus/parse_event.h"
#include "smart_charging/meter_currents.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::smart_charging {
namespace {

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
  // at its payload, without parsing it. Of a MeterValues only the phase currents matter: they
  // are read off its bytes too (meter_currents.h).
  const auto peek = bus::peek_charger_event(event.value);
  if (peek && !is_applied(peek->payload)) return {};
  if (peek && peek->payload == v1::ChargerEvent::kMeterValues && !peek->payload_split) {
    if (const auto meter = peek_meter_values(peek->payload_bytes)) {
      if (meter->currents) {
        evse_meter(std::string(peek->charger_id), meter->evse_id,
                   std::string(meter->transaction_id), *meter->currents);
      }
      return {};
    }
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
      if (auto currents = phase_currents(mv.samples())) {
        evse_meter(charger, mv.location().evse_id(), mv.transaction_id(), *currents);
      }
      break;
    }
    default:
      break;
  }
}

void ChargerEvents::evse_meter(const std::string& charger, std::int32_t evse_id,
                               const std::string& transaction_id, const PhaseCurrents& currents) {
  std::optional<EvseAddress> evse;
  if (evse_id > 0) {
    evse = EvseAddress{charger, evse_id};
  } else {
    evse = service_.evse_of_transaction(charger, transaction_id);
  }
  if (evse) service_.evse_meter(*evse, currents);  // else the charger's main meter
}

}  // namespace switchyard::smart_charging
