// Maps each request a charger sends in OCPP 1.6, 2.0.1 or 2.1 onto its version-neutral
// ChargerEvent payload (events.proto documents the meaning of every field).
#include "gateway/normalize.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"
#include "common/ocpp/generated/v21/messages.h"
#include "common/ocpp/json_text.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

namespace v16 = ocpp::v16;
namespace v201 = ocpp::v201;
namespace v21 = ocpp::v21;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The OCPP defaults of an absent measurand and unit (both versions).
constexpr std::string_view kDefaultMeasurand = "Energy.Active.Import.Register";
constexpr std::string_view kDefaultUnit = "Wh";
// An ending transaction without a reason stopped for the default reason, Local (1.6
// StopTransaction.reason, 2.x transactionInfo.stoppedReason of an Ended event).
constexpr std::string_view kDefaultStopReason = "Local";
constexpr std::string_view kIdTagType = "IdTag";

// ---- text, times, places, tokens ----

std::string_view text(const ocpp::String& value) { return value.view(); }

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

void set_time(const ocpp::DateTime& time, google::protobuf::Timestamp& out) {
  // Floor, not truncation: an instant before 1970 still needs nanos in [0, 1e9).
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time.time());
  out.set_seconds(seconds.time_since_epoch().count());
  out.set_nanos(static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time() - seconds).count()));
}

void set_location(std::int64_t evse_id, std::int64_t connector_id, v1::Location& out) {
  out.set_evse_id(static_cast<std::int32_t>(evse_id));
  out.set_connector_id(static_cast<std::int32_t>(connector_id));
}

// 1.6 knows connectors only; events.proto puts the connector in both places.
void set_connector_location(std::int64_t connector_id, v1::Location& out) {
  set_location(connector_id, connector_id, out);
}

// 2.x EVSEType, whose connector is optional (0 = the EVSE as a whole).
template <typename Evse>
void set_evse_location(const Evse& evse, v1::Location& out) {
  set_location(evse.id, evse.connector_id.value_or(0), out);
}

void set_id_tag(const ocpp::String& id_tag, v1::IdToken& out) {
  *out.mutable_id() = text(id_tag);
  *out.mutable_type() = kIdTagType;
}

// 2.x IdTokenType: its type is an enum in 2.0.1 and a string in 2.1.
template <typename IdToken>
void set_id_token(const IdToken& token, v1::IdToken& out) {
  *out.mutable_id() = text(token.id_token);
  *out.mutable_type() = text(token.type);
}

// 1.6's plain status notifications carry no request id: 0, as proto3 reads an unset one.
template <typename Request>
std::int32_t request_id_of(const Request& request) {
  if constexpr (requires { request.request_id; }) {
    return static_cast<std::int32_t>(request.request_id.value_or(0));
  } else {
    return 0;
  }
}

// ---- meter samples ----

struct UnitConversion {
  std::string_view unit;
  std::string_view normalized;
  double factor;
};

// Energy and power in Wh / W (and their reactive and apparent kin) so consumers need not know
// the prefixes. 1.6 spells Celsius two ways ("Celcius" is the 1.6 schema's typo) and frequency
// "Hertz" where 2.x says "Hz": one spelling each.
constexpr std::array<UnitConversion, 19> kConversions{{
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

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
  });
}

// 2.x units are CiStrings, which OCPP compares ignoring case ("KWH" is kWh). No two units of the
// table differ only in case, so that cannot confuse them.
const UnitConversion* find_conversion(std::string_view unit) {
  const auto* it = std::ranges::find_if(
      kConversions, [unit](const UnitConversion& c) { return equal_ignoring_case(c.unit, unit); });
  return it == kConversions.end() ? nullptr : it;
}

// `value` is in `unit`, any multiplier already applied.
void set_reading(std::string_view unit, double value, v1::MeterSample& out) {
  *out.mutable_unit() = unit;
  out.set_value(value);
  const UnitConversion* conversion = find_conversion(unit);
  if (conversion == nullptr) {
    *out.mutable_normalized_unit() = unit;
    out.set_normalized_value(value);
    return;
  }
  *out.mutable_normalized_unit() = conversion->normalized;
  out.set_normalized_value(value * conversion->factor);
}

// 1.6 values are text: anything but a whole finite number reads as NaN.
double parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc{} || stop != end || !std::isfinite(value)) return kNaN;
  return value;
}

double apply_multiplier(double value, std::int64_t multiplier) {
  // The schema leaves the multiplier unbounded; beyond ±400 every double is 0 or inf anyway, and
  // the clamp keeps the negation below defined. Dividing by 10^-m (rather than multiplying by
  // 10^m) keeps 123 with multiplier -1 at exactly 12.3.
  const auto m = std::clamp<std::int64_t>(multiplier, -400, 400);
  return m >= 0 ? value * std::pow(10.0, static_cast<double>(m))
                : value / std::pow(10.0, static_cast<double>(-m));
}

template <typename SampledValue>
void set_sample_context(const ocpp::DateTime& timestamp, const SampledValue& sampled,
                        v1::MeterSample& out) {
  set_time(timestamp, *out.mutable_timestamp());
  *out.mutable_measurand() = sampled.measurand ? text(*sampled.measurand) : kDefaultMeasurand;
  *out.mutable_phase() = text(sampled.phase);
  *out.mutable_context() = text(sampled.context);
  *out.mutable_location() = text(sampled.location);
}

// 1.6: the value is text, the unit an enum; signed data is no number at all.
template <typename SampledValue>
  requires std::same_as<decltype(SampledValue::value), ocpp::String>
void set_sample_value(const SampledValue& sampled, v1::MeterSample& out) {
  const bool is_signed = sampled.format == v16::ValueFormat::kSignedData;
  *out.mutable_raw_value() = text(sampled.value);
  out.set_signed_data(is_signed);
  set_reading(sampled.unit ? text(*sampled.unit) : kDefaultUnit,
              is_signed ? kNaN : parse_number(sampled.value.view()), out);
}

// 2.x: the value is a number in unitOfMeasure.unit times 10^multiplier.
template <typename SampledValue>
  requires std::same_as<decltype(SampledValue::value), double>
void set_sample_value(const SampledValue& sampled, v1::MeterSample& out) {
  // The shortest text that reads back as the same double: what the charger most likely wrote.
  std::array<char, 32> buffer{};
  const auto printed = std::to_chars(buffer.data(), buffer.data() + buffer.size(), sampled.value);
  out.mutable_raw_value()->assign(buffer.data(), printed.ptr);
  out.set_signed_data(sampled.signed_meter_value.has_value());
  std::string_view unit = kDefaultUnit;
  std::int64_t multiplier = 0;
  if (sampled.unit_of_measure) {
    if (sampled.unit_of_measure->unit) unit = text(*sampled.unit_of_measure->unit);
    multiplier = sampled.unit_of_measure->multiplier.value_or(0);
  }
  set_reading(unit, apply_multiplier(sampled.value, multiplier), out);
}

// 1.6 MeterValue / TransactionData and 2.x MeterValueType: one sample per sampled value, each
// stamped with the time of its meter value.
template <typename MeterValues>
void add_samples(const MeterValues& meter_values,
                 google::protobuf::RepeatedPtrField<v1::MeterSample>& out) {
  for (const auto& meter_value : meter_values) {
    for (const auto& sampled : meter_value.sampled_value) {
      v1::MeterSample& sample = *out.Add();
      set_sample_context(meter_value.timestamp, sampled, sample);
      set_sample_value(sampled, sample);
    }
  }
}

// ---- one function per message family: 1.6 overloads, 2.0.1 / 2.1 templates ----

void fill_boot(const v16::BootNotificationRequest& request, v1::ChargerEvent& event) {
  v1::BootNotification& out = *event.mutable_boot_notification();
  *out.mutable_vendor() = text(request.charge_point_vendor);
  *out.mutable_model() = text(request.charge_point_model);
  *out.mutable_serial_number() = text(request.charge_point_serial_number);
  *out.mutable_charge_box_serial_number() = text(request.charge_box_serial_number);
  *out.mutable_firmware_version() = text(request.firmware_version);
  *out.mutable_iccid() = text(request.iccid);
  *out.mutable_imsi() = text(request.imsi);
  *out.mutable_meter_type() = text(request.meter_type);
  *out.mutable_meter_serial_number() = text(request.meter_serial_number);
}

template <typename Request>
void fill_boot(const Request& request, v1::ChargerEvent& event) {
  v1::BootNotification& out = *event.mutable_boot_notification();
  const auto& station = request.charging_station;
  *out.mutable_vendor() = text(station.vendor_name);
  *out.mutable_model() = text(station.model);
  *out.mutable_serial_number() = text(station.serial_number);
  *out.mutable_firmware_version() = text(station.firmware_version);
  if (station.modem) {
    *out.mutable_iccid() = text(station.modem->iccid);
    *out.mutable_imsi() = text(station.modem->imsi);
  }
  *out.mutable_reason() = text(request.reason);
}

template <typename Request>
void fill_heartbeat(const Request& /*request*/, v1::ChargerEvent& event) {
  event.mutable_heartbeat();
}

void fill_status(const v16::StatusNotificationRequest& request, v1::ChargerEvent& event) {
  v1::StatusNotification& out = *event.mutable_status_notification();
  set_connector_location(request.connector_id, *out.mutable_location());
  *out.mutable_status() = text(request.status);
  *out.mutable_error_code() = text(request.error_code);
  *out.mutable_info() = text(request.info);
  *out.mutable_vendor_id() = text(request.vendor_id);
  *out.mutable_vendor_error_code() = text(request.vendor_error_code);
  if (request.timestamp) set_time(*request.timestamp, *out.mutable_timestamp());
}

template <typename Request>
void fill_status(const Request& request, v1::ChargerEvent& event) {
  v1::StatusNotification& out = *event.mutable_status_notification();
  set_location(request.evse_id, request.connector_id, *out.mutable_location());
  *out.mutable_status() = text(request.connector_status);
  set_time(request.timestamp, *out.mutable_timestamp());
}

void fill_meter_values(const v16::MeterValuesRequest& request, v1::ChargerEvent& event) {
  v1::MeterValues& out = *event.mutable_meter_values();
  set_connector_location(request.connector_id, *out.mutable_location());
  if (request.transaction_id)
    *out.mutable_transaction_id() = std::to_string(*request.transaction_id);
  add_samples(request.meter_value, *out.mutable_samples());
}

template <typename Request>
void fill_meter_values(const Request& request, v1::ChargerEvent& event) {
  v1::MeterValues& out = *event.mutable_meter_values();
  set_location(request.evse_id, 0, *out.mutable_location());
  add_samples(request.meter_value, *out.mutable_samples());
}

// The transaction id stays empty: the gateway allocates it when it answers.
void fill_transaction(const v16::StartTransactionRequest& request, v1::ChargerEvent& event) {
  v1::TransactionEvent& out = *event.mutable_transaction_event();
  out.set_kind(v1::TransactionEvent::KIND_STARTED);
  set_connector_location(request.connector_id, *out.mutable_location());
  set_id_tag(request.id_tag, *out.mutable_id_token());
  out.set_meter_wh(request.meter_start);
  out.set_has_meter_wh(true);
  set_time(request.timestamp, *out.mutable_timestamp());
  out.set_reservation_id(static_cast<std::int32_t>(request.reservation_id.value_or(0)));
}

void fill_transaction(const v16::StopTransactionRequest& request, v1::ChargerEvent& event) {
  v1::TransactionEvent& out = *event.mutable_transaction_event();
  out.set_kind(v1::TransactionEvent::KIND_ENDED);
  *out.mutable_transaction_id() = std::to_string(request.transaction_id);
  if (request.id_tag) set_id_tag(*request.id_tag, *out.mutable_id_token());
  out.set_meter_wh(request.meter_stop);
  out.set_has_meter_wh(true);
  set_time(request.timestamp, *out.mutable_timestamp());
  *out.mutable_stopped_reason() = request.reason ? text(*request.reason) : kDefaultStopReason;
  if (request.transaction_data) add_samples(*request.transaction_data, *out.mutable_samples());
}

template <typename EventType>
v1::TransactionEvent::Kind transaction_kind(EventType type) {
  switch (type) {
    case EventType::kStarted:
      return v1::TransactionEvent::KIND_STARTED;
    case EventType::kUpdated:
      return v1::TransactionEvent::KIND_UPDATED;
    case EventType::kEnded:
      return v1::TransactionEvent::KIND_ENDED;
  }
  return v1::TransactionEvent::KIND_UNSPECIFIED;
}

template <typename Request>
void fill_transaction(const Request& request, v1::ChargerEvent& event) {
  v1::TransactionEvent& out = *event.mutable_transaction_event();
  const auto& info = request.transaction_info;
  out.set_kind(transaction_kind(request.event_type));
  *out.mutable_transaction_id() = text(info.transaction_id);
  if (request.evse) set_evse_location(*request.evse, *out.mutable_location());
  if (request.id_token) set_id_token(*request.id_token, *out.mutable_id_token());
  set_time(request.timestamp, *out.mutable_timestamp());
  out.set_seq_no(request.seq_no);
  out.set_offline(request.offline.value_or(false));
  *out.mutable_trigger_reason() = text(request.trigger_reason);
  *out.mutable_charging_state() = text(info.charging_state);
  if (info.stopped_reason) {
    *out.mutable_stopped_reason() = text(*info.stopped_reason);
  } else if (out.kind() == v1::TransactionEvent::KIND_ENDED) {
    *out.mutable_stopped_reason() = kDefaultStopReason;
  }
  out.set_remote_start_id(static_cast<std::int32_t>(info.remote_start_id.value_or(0)));
  out.set_reservation_id(static_cast<std::int32_t>(request.reservation_id.value_or(0)));
  if (request.meter_value) add_samples(*request.meter_value, *out.mutable_samples());
}

void fill_authorize(const v16::AuthorizeRequest& request, v1::ChargerEvent& event) {
  set_id_tag(request.id_tag, *event.mutable_authorize()->mutable_id_token());
}

template <typename Request>
void fill_authorize(const Request& request, v1::ChargerEvent& event) {
  set_id_token(request.id_token, *event.mutable_authorize()->mutable_id_token());
}

// 1.6 data is a string: kept as a JSON string literal so data_json is JSON in every version.
void fill_data_transfer(const v16::DataTransferRequest& request, v1::ChargerEvent& event) {
  v1::DataTransfer& out = *event.mutable_data_transfer();
  *out.mutable_vendor_id() = text(request.vendor_id);
  *out.mutable_message_id() = text(request.message_id);
  if (request.data) {
    std::string& json = *out.mutable_data_json();
    json.reserve(request.data->size() + 2);
    json += '"';
    ocpp::append_escaped(json, text(*request.data));
    json += '"';
  }
}

template <typename Request>
void fill_data_transfer(const Request& request, v1::ChargerEvent& event) {
  v1::DataTransfer& out = *event.mutable_data_transfer();
  *out.mutable_vendor_id() = text(request.vendor_id);
  *out.mutable_message_id() = text(request.message_id);
  if (request.data) *out.mutable_data_json() = request.data->json();
}

template <typename Request>
void fill_firmware_status(const Request& request, v1::ChargerEvent& event) {
  v1::FirmwareStatus& out = *event.mutable_firmware_status();
  *out.mutable_status() = text(request.status);
  out.set_request_id(request_id_of(request));
}

template <typename Request>
void fill_log_status(const Request& request, v1::ChargerEvent& event) {
  v1::LogStatus& out = *event.mutable_log_status();
  *out.mutable_status() = text(request.status);
  out.set_request_id(request_id_of(request));
}

template <typename Request>
void fill_security_event(const Request& request, v1::ChargerEvent& event) {
  v1::SecurityEvent& out = *event.mutable_security_event();
  *out.mutable_type() = text(request.type);
  set_time(request.timestamp, *out.mutable_timestamp());
  *out.mutable_tech_info() = text(request.tech_info);
}

template <typename EventData>
void set_device_event_entry(const EventData& data, v1::DeviceEvent::Entry& out) {
  out.set_event_id(static_cast<std::int32_t>(data.event_id));
  set_time(data.timestamp, *out.mutable_timestamp());
  *out.mutable_trigger() = text(data.trigger);
  *out.mutable_actual_value() = text(data.actual_value);
  *out.mutable_tech_code() = text(data.tech_code);
  *out.mutable_tech_info() = text(data.tech_info);
  out.set_cleared(data.cleared.value_or(false));
  *out.mutable_component() = text(data.component.name);
  if (data.component.evse) set_evse_location(*data.component.evse, *out.mutable_location());
  *out.mutable_variable() = text(data.variable.name);
  *out.mutable_event_notification_type() = text(data.event_notification_type);
}

template <typename Request>
void fill_device_event(const Request& request, v1::ChargerEvent& event) {
  v1::DeviceEvent& out = *event.mutable_device_event();
  out.mutable_entries()->Reserve(static_cast<int>(request.event_data.size()));
  for (const auto& data : request.event_data) set_device_event_entry(data, *out.add_entries());
}

// ---- dispatch ----

// `fill` is named as an overload set; the explicit Request picks the 1.6 overload or the 2.x
// template instance.
template <typename Request>
bool fill_as(const ocpp::DecodedFrame& frame, v1::ChargerEvent& event,
             void (*fill)(const Request&, v1::ChargerEvent&)) {
  const Request* request = frame.as<Request>();
  if (request == nullptr) return false;
  fill(*request, event);
  return true;
}

bool normalize_v16(const ocpp::DecodedFrame& f, v1::ChargerEvent& e) {
  return fill_as<v16::BootNotificationRequest>(f, e, fill_boot) ||
         fill_as<v16::HeartbeatRequest>(f, e, fill_heartbeat) ||
         fill_as<v16::StatusNotificationRequest>(f, e, fill_status) ||
         fill_as<v16::MeterValuesRequest>(f, e, fill_meter_values) ||
         fill_as<v16::StartTransactionRequest>(f, e, fill_transaction) ||
         fill_as<v16::StopTransactionRequest>(f, e, fill_transaction) ||
         fill_as<v16::AuthorizeRequest>(f, e, fill_authorize) ||
         fill_as<v16::DataTransferRequest>(f, e, fill_data_transfer) ||
         fill_as<v16::FirmwareStatusNotificationRequest>(f, e, fill_firmware_status) ||
         fill_as<v16::SignedFirmwareStatusNotificationRequest>(f, e, fill_firmware_status) ||
         fill_as<v16::DiagnosticsStatusNotificationRequest>(f, e, fill_log_status) ||
         fill_as<v16::LogStatusNotificationRequest>(f, e, fill_log_status) ||
         fill_as<v16::SecurityEventNotificationRequest>(f, e, fill_security_event);
}

bool normalize_v201(const ocpp::DecodedFrame& f, v1::ChargerEvent& e) {
  return fill_as<v201::BootNotificationRequest>(f, e, fill_boot) ||
         fill_as<v201::HeartbeatRequest>(f, e, fill_heartbeat) ||
         fill_as<v201::StatusNotificationRequest>(f, e, fill_status) ||
         fill_as<v201::MeterValuesRequest>(f, e, fill_meter_values) ||
         fill_as<v201::TransactionEventRequest>(f, e, fill_transaction) ||
         fill_as<v201::AuthorizeRequest>(f, e, fill_authorize) ||
         fill_as<v201::DataTransferRequest>(f, e, fill_data_transfer) ||
         fill_as<v201::FirmwareStatusNotificationRequest>(f, e, fill_firmware_status) ||
         fill_as<v201::LogStatusNotificationRequest>(f, e, fill_log_status) ||
         fill_as<v201::SecurityEventNotificationRequest>(f, e, fill_security_event) ||
         fill_as<v201::NotifyEventRequest>(f, e, fill_device_event);
}

bool normalize_v21(const ocpp::DecodedFrame& f, v1::ChargerEvent& e) {
  return fill_as<v21::BootNotificationRequest>(f, e, fill_boot) ||
         fill_as<v21::HeartbeatRequest>(f, e, fill_heartbeat) ||
         fill_as<v21::StatusNotificationRequest>(f, e, fill_status) ||
         fill_as<v21::MeterValuesRequest>(f, e, fill_meter_values) ||
         fill_as<v21::TransactionEventRequest>(f, e, fill_transaction) ||
         fill_as<v21::AuthorizeRequest>(f, e, fill_authorize) ||
         fill_as<v21::DataTransferRequest>(f, e, fill_data_transfer) ||
         fill_as<v21::FirmwareStatusNotificationRequest>(f, e, fill_firmware_status) ||
         fill_as<v21::LogStatusNotificationRequest>(f, e, fill_log_status) ||
         fill_as<v21::SecurityEventNotificationRequest>(f, e, fill_security_event) ||
         fill_as<v21::NotifyEventRequest>(f, e, fill_device_event);
}

}  // namespace

bool normalize_inbound(ocpp::Version version, const ocpp::DecodedFrame& frame,
                       v1::ChargerEvent& event) {
  // A CALLRESULT's payload answers a command of ours: a CommandResult, which is not built here.
  if (frame.type != ocpp::MessageType::kCall && frame.type != ocpp::MessageType::kSend) {
    return false;
  }
  switch (version) {
    case ocpp::Version::k16:
      return normalize_v16(frame, event);
    case ocpp::Version::k201:
      return normalize_v201(frame, event);
    case ocpp::Version::k21:
      return normalize_v21(frame, event);
  }
  return false;
}

}  // namespace switchyard::gateway
