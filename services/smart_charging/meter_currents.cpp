// Both readings go through add_sample(), so the peek and the parse cannot disagree on what a
// sample contributes (tests/unit/smart_charging/meter_currents_test.cpp holds them together).
#include "smart_charging/meter_currents.h"

#include "common/runtime/bus/wire_reader.h"
#include "common/runtime/websocket/protocol.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::smart_charging {
namespace {

using bus::WireReader;

int phase_index(std::string_view phase) {
  if (phase == "L1" || phase == "L1-N") return 0;
  if (phase == "L2" || phase == "L2-N") return 1;
  if (phase == "L3" || phase == "L3-N") return 2;
  return -1;
}

void add_sample(std::optional<PhaseCurrents>& out, std::string_view measurand,
                std::string_view unit, std::string_view phase, double value) {
  if (measurand != "Current.Import" || unit != "A") return;
  const int p = phase_index(phase);
  if (p < 0 || !(value >= 0.0)) return;
  if (!out) out = PhaseCurrents{};
  (*out)[static_cast<std::size_t>(p)] = value;
}

// Whether the bytes are well-formed wire format (a nested message protobuf parses, such as a
// Timestamp: varints only, nothing to check for UTF-8).
bool well_formed(std::string_view bytes) {
  WireReader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    if (!r.key(field, type) || !r.skip_value(type)) return false;
  }
  return true;
}

// A string field of MeterSample: the parse refuses one that is not UTF-8.
bool is_string_field(std::uint64_t field) {
  switch (field) {
    case v1::MeterSample::kMeasurandFieldNumber:
    case v1::MeterSample::kPhaseFieldNumber:
    case v1::MeterSample::kContextFieldNumber:
    case v1::MeterSample::kLocationFieldNumber:
    case v1::MeterSample::kUnitFieldNumber:
    case v1::MeterSample::kRawValueFieldNumber:
    case v1::MeterSample::kNormalizedUnitFieldNumber:
      return true;
    default:
      return false;
  }
}

// One MeterSample's bytes into `out`; false when the parse would refuse them: not well-formed,
// a string not UTF-8, a timestamp not well-formed.
bool peek_sample(std::string_view bytes, std::optional<PhaseCurrents>& out) {
  std::string_view measurand;
  std::string_view phase;
  std::string_view unit;
  double value = 0.0;
  WireReader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    if (!r.key(field, type)) return false;
    if (type == WireReader::kFixed64 && field == v1::MeterSample::kNormalizedValueFieldNumber) {
      if (!r.fixed64_double(value)) return false;
      continue;
    }
    if (type != WireReader::kBytes) {
      if (!r.skip_value(type)) return false;
      continue;
    }
    std::string_view text;
    if (!r.bytes(text)) return false;
    if (field == v1::MeterSample::kTimestampFieldNumber) {
      if (!well_formed(text)) return false;
      continue;
    }
    if (!is_string_field(field)) continue;  // unknown: kept by the parse, unchecked
    if (!websocket::valid_utf8(text)) return false;
    if (field == v1::MeterSample::kMeasurandFieldNumber) measurand = text;
    if (field == v1::MeterSample::kPhaseFieldNumber) phase = text;
    if (field == v1::MeterSample::kNormalizedUnitFieldNumber) unit = text;
  }
  add_sample(out, measurand, unit, phase, value);
  return true;
}

}  // namespace

std::optional<PhaseCurrents> phase_currents(
    const google::protobuf::RepeatedPtrField<v1::MeterSample>& samples) {
  std::optional<PhaseCurrents> out;
  for (const v1::MeterSample& s : samples) {
    add_sample(out, s.measurand(), s.normalized_unit(), s.phase(), s.normalized_value());
  }
  return out;
}

std::optional<MeterValuesPeek> peek_meter_values(std::string_view bytes) {
  MeterValuesPeek out;
  WireReader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    if (!r.key(field, type)) return std::nullopt;
    if (type != WireReader::kBytes) {
      if (!r.skip_value(type)) return std::nullopt;
      continue;
    }
    std::string_view value;
    if (!r.bytes(value)) return std::nullopt;
    if (field == v1::MeterValues::kLocationFieldNumber) {
      // Occurrences of a message field merge: a later one without evse_id keeps the earlier.
      WireReader location(value);
      while (!location.done()) {
        std::uint64_t f = 0;
        std::uint32_t t = 0;
        if (!location.key(f, t)) return std::nullopt;
        std::uint64_t id = 0;
        if (f == v1::Location::kEvseIdFieldNumber && t == WireReader::kVarint) {
          if (!location.varint(id)) return std::nullopt;
          out.evse_id = static_cast<std::int32_t>(id);
        } else if (!location.skip_value(t)) {
          return std::nullopt;
        }
      }
    } else if (field == v1::MeterValues::kTransactionIdFieldNumber) {
      if (!websocket::valid_utf8(value)) return std::nullopt;
      out.transaction_id = value;
    } else if (field == v1::MeterValues::kSamplesFieldNumber) {
      if (!peek_sample(value, out.currents)) return std::nullopt;
    }
  }
  return out;
}

}  // namespace switchyard::smart_charging
