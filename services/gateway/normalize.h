// Turns the typed OCPP message a charger sent into the version-neutral ChargerEvent payload that
// the gateway publishes on ocpp.events.v1.
#pragma once

#include "common/ocpp/decoder.h"

namespace switchyard::v1 {
class ChargerEvent;
}  // namespace switchyard::v1

namespace switchyard::gateway {

// Fills event.payload from a CALL or SEND a charger sent (frame.payload typed by the decoder).
// Returns true when the action has a version-neutral form; false leaves the payload unset (the
// caller then uses OtherMessage with the payload JSON).
//
// Only the payload is touched: the envelope (ids, times, raw frame) and the CSMS's answers
// (BootNotification registration_status / interval_s, TransactionEvent and Authorize decisions,
// the 1.6 transaction id allocated for StartTransaction) are the caller's. Energy samples carry
// both the unit as sent and a normalized Wh / W value. The strings copied out of `frame` are owned
// by `event`, so the frame may be released afterwards.
bool normalize_inbound(ocpp::Version version, const ocpp::DecodedFrame& frame,
                       v1::ChargerEvent& event);

}  // namespace switchyard::gateway
