// One OCPP sampled value as a ChargerEvent's MeterSample carries it (events.proto), worked out
// once for the two ways the gateway writes it: the protobuf message (normalize.cpp) and the
// direct wire encoding of its busiest event (event_wire.cpp). Internal to the gateway's
// normalization library; it includes the generated OCPP types, so only those two files do.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"
#include "common/ocpp/generated/v21/messages.h"

namespace switchyard::gateway::samples {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The OCPP defaults of an absent measurand and unit (both versions).
inline constexpr std::string_view kDefaultMeasurand = "Energy.Active.Import.Register";
inline constexpr std::string_view kDefaultUnit = "Wh";

inline std::string_view text(const ocpp::String& value) { return value.view(); }

template <typename Enum>
  requires std::is_enum_v<Enum>
std::string_view text(Enum value) {
  return to_string(value);
}

// An absent member reads as empty text, which is what an empty proto3 string means.
template <typename T>
std::string_view text(const std::optional<T>& value) {
  return value ? text(*value) : std::string_view{};
}

// A google.protobuf.Timestamp's fields. Floor, not truncation: an instant before 1970 still
// needs nanos in [0, 1e9).
struct Instant {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
};

inline Instant instant_of(const ocpp::DateTime& time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time.time());
  return {seconds.time_since_epoch().count(),
          static_cast<std::int32_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(time.time() - seconds).count())};
}

struct UnitConversion {
  std::string_view unit;
  std::string_view normalized;
  double factor;
};

// Energy and power in Wh / W (and their reactive and apparent kin) so consumers need not know
// the prefixes. 1.6 spells Celsius two ways ("Celcius" is the 1.6 schema's typo) and frequency
// "Hertz" where 2.x says "Hz": one spelling each.
inline constexpr std::array<UnitConversion, 19> kConversions{{
    {"Wh", "Wh", 1},
    {"kWh", "Wh", 1000},
    {"W", "W", 1},
    {"kW", "W", 1000},
    {"varh", "varh", 1},
    {"kvarh", "varh", 1000},
    {"var", "var", 1},
    {"kvar", "var", 1000},
    {"VA", "VA", 1},
    {"kVA", "VA", 1000},
    {"A", "A", 1},
    {"V", "V", 1},
    {"Hz", "Hz", 1},
    {"Hertz", "Hz", 1},
    {"Percent", "Percent", 1},
    {"K", "K", 1},
    {"Fahrenheit", "Fahrenheit", 1},
    {"Celsius", "Celsius", 1},
    {"Celcius", "Celsius", 1},
}};

inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
  });
}

// 2.x units are CiStrings, which OCPP compares ignoring case ("KWH" is kWh). No two units of the
// table differ only in case, so that cannot confuse them.
inline const UnitConversion* find_conversion(std::string_view unit) {
  const auto* it = std::ranges::find_if(
      kConversions, [unit](const UnitConversion& c) { return equal_ignoring_case(c.unit, unit); });
  return it == kConversions.end() ? nullptr : it;
}

// 1.6 values are text: anything but a whole finite number reads as NaN.
inline double parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc{} || stop != end || !std::isfinite(value)) return kNaN;
  return value;
}

inline double apply_multiplier(double value, std::int64_t multiplier) {
  // The schema leaves the multiplier unbounded; beyond ±400 every double is 0 or inf anyway, and
  // the clamp keeps the negation below defined. Dividing by 10^-m (rather than multiplying by
  // 10^m) keeps 123 with multiplier -1 at exactly 12.3.
  const auto m = std::clamp<std::int64_t>(multiplier, -400, 400);
  if (m == 0) return value;
  return m > 0 ? value * std::pow(10.0, static_cast<double>(m))
               : value / std::pow(10.0, static_cast<double>(-m));
}

// A MeterSample's fields. The views point into the decoded frame, the tables above or `printed`,
// so a SampleFields is filled in place and read before the frame goes.
struct SampleFields {
  SampleFields() = default;
  SampleFields(const SampleFields&) = delete;
  SampleFields& operator=(const SampleFields&) = delete;

  Instant timestamp;
  std::string_view measurand;
  std::string_view phase;
  std::string_view context;
  std::string_view location;
  std::string_view unit;  // as sent
  double value = 0;       // in `unit`, any multiplier applied; NaN for a non-number
  std::string_view raw_value;
  double normalized_value = 0;
  std::string_view normalized_unit;
  bool signed_data = false;
  std::array<char, 32> printed{};  // a 2.x value as text, when raw_value needs one
};

// `value` is in `unit`, any multiplier already applied.
inline void set_reading(std::string_view unit, double value, SampleFields& out) {
  out.unit = unit;
  out.value = value;
  const UnitConversion* conversion = find_conversion(unit);
  out.normalized_unit = conversion == nullptr ? unit : conversion->normalized;
  out.normalized_value = conversion == nullptr ? value : value * conversion->factor;
}

// 1.6 MeterValue / TransactionData and 2.x MeterValueType: each sampled value stamped with the
// time of its meter value.
template <typename SampledValue>
void fill(const ocpp::DateTime& timestamp, const SampledValue& sampled, SampleFields& out) {
  out.timestamp = instant_of(timestamp);
  out.measurand = sampled.measurand ? text(*sampled.measurand) : kDefaultMeasurand;
  out.phase = text(sampled.phase);
  out.context = text(sampled.context);
  out.location = text(sampled.location);
  if constexpr (std::same_as<decltype(SampledValue::value), ocpp::String>) {
    // 1.6: the value is text, the unit an enum; signed data is no number at all.
    const bool is_signed = sampled.format == ocpp::v16::ValueFormat::kSignedData;
    out.raw_value = text(sampled.value);
    out.signed_data = is_signed;
    set_reading(sampled.unit ? text(*sampled.unit) : kDefaultUnit,
                is_signed ? kNaN : parse_number(sampled.value.view()), out);
  } else {
    // 2.x: the value is a number in unitOfMeasure.unit times 10^multiplier. Its text is the
    // shortest that reads back as the same double: what the charger most likely wrote.
    const auto printed =
        std::to_chars(out.printed.data(), out.printed.data() + out.printed.size(), sampled.value);
    out.raw_value = std::string_view(out.printed.data(),
                                     static_cast<std::size_t>(printed.ptr - out.printed.data()));
    out.signed_data = sampled.signed_meter_value.has_value();
    std::string_view unit = kDefaultUnit;
    std::int64_t multiplier = 0;
    if (sampled.unit_of_measure) {
      if (sampled.unit_of_measure->unit) unit = text(*sampled.unit_of_measure->unit);
      multiplier = sampled.unit_of_measure->multiplier.value_or(0);
    }
    set_reading(unit, apply_multiplier(sampled.value, multiplier), out);
  }
}

// Calls `each(const SampleFields&)` for every sampled value of a list of meter values, in order.
template <typename MeterValues, typename Each>
void for_each_sample(const MeterValues& meter_values, Each&& each) {
  SampleFields fields;
  for (const auto& meter_value : meter_values) {
    for (const auto& sampled : meter_value.sampled_value) {
      fill(meter_value.timestamp, sampled, fields);
      each(static_cast<const SampleFields&>(fields));
    }
  }
}

}  // namespace switchyard::gateway::samples
