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
// it. nullopt when the bytes are not well-formed wire format or the transaction id is not UTF-8:
// then the full parse decides (and counts it malformed). Fields not read are not checked.
std::optional<MeterValuesPeek> peek_meter_values(std::string_view bytes);

}  // namespace switchyard::smart_charging
