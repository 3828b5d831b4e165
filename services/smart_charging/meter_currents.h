// The per-phase currents the planner takes from meter values: Current.Import in A per connector
// phase. Read from parsed samples (a TransactionEvent's), or straight off a serialized
// v1::MeterValues, which is most of ocpp.events.v1: parsing one builds an object and several
// strings per sample, and planning looks at three fields of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "smart_charging/site.h"

namespace google::protobuf {
template <typename Element>
class RepeatedPtrField;
}  // namespace google::protobuf

namespace switchyard::v1 {
class MeterSample;
}  // namespace switchyard::v1

namespace switchyard::smart_charging {

// Per-phase Current.Import (normalized unit A, phase L1/L2/L3 or L1-N/L2-N/L3-N, not negative)
// among the samples, the last one of a phase winning; nullopt when there is none.
std::optional<PhaseCurrents> phase_currents(
    const google::protobuf::RepeatedPtrField<v1::MeterSample>& samples);

struct MeterValuesPeek {
  std::int32_t evse_id = 0;               // location.evse_id; 0 when absent
  std::string_view transaction_id;        // into the bytes; empty when absent
  std::optional<PhaseCurrents> currents;  // as phase_currents() of the samples
};

// The same as parsing the bytes as a v1::MeterValues and reading those fields, without building
// it. nullopt wherever the parse would fail (not well-formed wire format, a string that is not
// UTF-8, a sample's timestamp not well-formed): the full parse then decides, and counts it
// malformed. The caller keeps to a payload that is not split (ChargerEventPeek::payload_split);
// the envelope's fields other than the event and charger ids are not checked here.
std::optional<MeterValuesPeek> peek_meter_values(std::string_view bytes);

}  // namespace switchyard::smart_charging
