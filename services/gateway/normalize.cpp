// Maps each request a charger sends in OCPP 1.6, 2.0.1 or 2.1 onto its version-neutral
// ChargerEvent payload (events.proto documents the meaning of every field).
#include "gateway/normalize.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ocpp/json_text.h"
#include "gateway/meter_samples.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

namespace v16 = ocpp::v16;
namespace v201 = ocpp::v201;
namespace v21 = ocpp::v21;

// An ending transaction without a reason stopped for the default reason, Local (1.6
// StopTransaction.reason, 2.x transactionInfo.stoppedReason of an Ended event).
constexpr std::string_view kDefaultStopReason = "Local";
constexpr std::string_view kIdTagType = "IdTag";

// ---- text, times, places, tokens ----

using samples::text;

void set_time(const ocpp::DateTime& time, google::protobuf::Timestamp& out) {
  const samples::Instant at = samples::instant_of(time);
  out.set_seconds(at.seconds);
  out.set_nanos(at.nanos);
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

// 1.6 MeterValue / TransactionData and 2.x MeterValueType: one sample per sampled value
// (meter_samples.h works out its fields).
template <typename MeterValues>
void add_samples(const MeterValues& meter_values,
                 google::protobuf::RepeatedPtrField<v1::MeterSample>& out) {
  samples::for_each_sample(meter_values, [&out](const samples::SampleFields& f) {
    v1::MeterSample& sample = *out.Add();
    google::protobuf::Timestamp& at = *sample.mutable_timestamp();
    at.set_seconds(f.timestamp.seconds);
    at.set_nanos(f.timestamp.nanos);
    *sample.mutable_measurand() = f.measurand;
    *sample.mutable_phase() = f.phase;
    *sample.mutable_context() = f.context;
    *sample.mutable_location() = f.location;
    *sample.mutable_unit() = f.unit;
    sample.set_value(f.value);
    *sample.mutable_raw_value() = f.raw_value;
    sample.set_normalized_value(f.normalized_value);
    *sample.mutable_normalized_unit() = f.normalized_unit;
    sample.set_signed_data(f.signed_data);
  });
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
