// The Chargers gRPC service (see grpc_api.h).
#include "status/grpc_api.h"

#include <map>

#include "common/runtime/core/base64.h"
#include "common/runtime/grpc/status.h"
#include "status/store.h"

namespace switchyard::status {
namespace {

grpc::Status invalid(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }

// Where a page of a (received_at, id)-ordered list ends, as an opaque token.
std::string page_token(std::int64_t received_at, const std::string& id) {
  return base64_encode(std::to_string(received_at) + '\x1f' + id);
}

// A page_token back into (received_at, id); nullopt when this service did not make it.
std::optional<std::pair<std::int64_t, std::string>> parse_page_token(const std::string& token) {
  auto decoded = base64_decode(token);
  const auto sep = decoded ? decoded->find('\x1f') : std::string::npos;
  if (sep == std::string::npos) return std::nullopt;
  try {
    return std::make_pair(std::stoll(decoded->substr(0, sep)), decoded->substr(sep + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<int> page_size(int requested) {
  if (requested < 0) return std::nullopt;
  return requested == 0 ? 100 : std::min(requested, 1000);
}

std::int64_t millis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}
void set_millis(google::protobuf::Timestamp* ts, std::int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

v1::OcppVersion version_enum(const std::string& v) {
  if (v == "1.6") return v1::OCPP_VERSION_1_6;
  if (v == "2.0.1") return v1::OCPP_VERSION_2_0_1;
  if (v == "2.1") return v1::OCPP_VERSION_2_1;
  return v1::OCPP_VERSION_UNSPECIFIED;
}

void to_proto(const ConnectorRow& c, v1::ConnectorState* out) {
  out->mutable_location()->set_evse_id(c.evse_id);
  out->mutable_location()->set_connector_id(c.connector_id);
  out->set_status(c.status);
  out->set_error_code(c.error_code);
  out->set_info(c.info);
  out->set_vendor_id(c.vendor_id);
  out->set_vendor_error_code(c.vendor_error_code);
  set_millis(out->mutable_since(), c.since);
}

void to_proto(const ChargerRow& c, v1::ChargerState* out) {
  out->set_charger_id(c.charger_id);
  out->set_online(c.online);
  out->set_pod_id(c.pod_id);
  out->set_ocpp_version(version_enum(c.ocpp_version));
  out->set_security_profile(c.security_profile);
  if (c.last_seen > 0) set_millis(out->mutable_last_seen(), c.last_seen);
  if (c.connected_at) set_millis(out->mutable_connected_at(), *c.connected_at);
  if (c.disconnected_at) set_millis(out->mutable_disconnected_at(), *c.disconnected_at);
  out->set_vendor(c.vendor);
  out->set_model(c.model);
  out->set_serial_number(c.serial_number);
  out->set_firmware_version(c.firmware_version);
  out->set_registration_status(c.registration_status);
  if (c.booted_at) set_millis(out->mutable_booted_at(), *c.booted_at);
  out->set_firmware_status(c.firmware_status);
  out->set_log_status(c.log_status);
  for (const auto& connector : c.connectors) to_proto(connector, out->add_connectors());
}

}  // namespace

ChargersApi::Reactor* ChargersApi::ListChargers(Context* c, const v1::ListChargersRequest* r,
                                                v1::ListChargersResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const auto size = page_size(r->page_size());
    if (!size) return invalid("page_size must not be negative");
    std::string after;
    if (!r->page_token().empty()) {
      auto decoded = base64_decode(r->page_token());
      if (!decoded) return invalid("page_token is not one this service returned");
      after = *decoded;
    }
    auto rows = list_chargers(db_, r->online_only(), after, *size);
    if (!rows) return to_grpc_status(rows.error());
    for (const auto& row : *rows) to_proto(row, out->add_chargers());
    if (static_cast<int>(rows->size()) == *size)
      out->set_next_page_token(base64_encode(rows->back().charger_id));
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::GetCharger(Context* c, const v1::GetChargerRequest* r,
                                              v1::GetChargerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty()) return invalid("charger_id is required");
    auto row = get_charger(db_, r->charger_id());
    if (!row) return to_grpc_status(row.error());
    if (!*row)
      return {grpc::StatusCode::NOT_FOUND, "no charger " + r->charger_id() + " has been seen"};
    to_proto(**row, out->mutable_charger());
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::GetStatusHistory(Context* c,
                                                    const v1::GetStatusHistoryRequest* r,
                                                    v1::GetStatusHistoryResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const auto size = page_size(r->page_size());
    if (!size) return invalid("page_size must not be negative");
    HistoryFilter f;
    f.charger_id = r->charger_id();
    f.error_code = r->error_code();
    f.vendor_error_code = r->vendor_error_code();
    f.errors_only = r->errors_only();
    if (r->has_since()) f.since = millis(r->since());
    if (r->has_until()) f.until = millis(r->until());
    f.page_size = *size;
    if (!r->page_token().empty()) {
      auto after = parse_page_token(r->page_token());
      if (!after) return invalid("page_token is not one this service returned");
      f.after_received = after->first;
      f.after_record = std::move(after->second);
    }
    auto rows = status_history(db_, f);
    if (!rows) return to_grpc_status(rows.error());
    for (const auto& row : *rows) {
      auto* record = out->add_records();
      record->set_charger_id(row.charger_id);
      to_proto(row.state, record->mutable_state());
      set_millis(record->mutable_received_at(), row.received_at);
      // The record id is the event id, with ":n" for the n-th entry of a NotifyEvent.
      record->set_event_id(row.record_id.substr(0, row.record_id.find(':')));
    }
    if (static_cast<int>(rows->size()) == *size) {
      const auto& last = rows->back();
      out->set_next_page_token(page_token(last.received_at, last.record_id));
    }
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::ListSecurityEvents(Context* c,
                                                      const v1::ListSecurityEventsRequest* r,
                                                      v1::ListSecurityEventsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const auto size = page_size(r->page_size());
    if (!size) return invalid("page_size must not be negative");
    SecurityEventFilter f;
    f.charger_id = r->charger_id();
    f.type = r->type();
    f.page_size = *size;
    if (!r->page_token().empty()) {
      auto after = parse_page_token(r->page_token());
      if (!after) return invalid("page_token is not one this service returned");
      f.after_received = after->first;
      f.after_event = std::move(after->second);
    }
    auto rows = security_events(db_, f);
    if (!rows) return to_grpc_status(rows.error());
    for (const auto& row : *rows) {
      auto* event = out->add_events();
      event->set_event_id(row.event_id);
      event->set_charger_id(row.charger_id);
      event->set_type(row.type);
      event->set_tech_info(row.tech_info);
      set_millis(event->mutable_occurred_at(), row.occurred_at);
      set_millis(event->mutable_received_at(), row.received_at);
    }
    if (static_cast<int>(rows->size()) == *size) {
      const auto& last = rows->back();
      out->set_next_page_token(page_token(last.received_at, last.event_id));
    }
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::CountErrors(Context* c, const v1::CountErrorsRequest* r,
                                               v1::CountErrorsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    std::optional<std::int64_t> since;
    if (r->has_since()) since = millis(r->since());
    auto counts = count_errors(db_, r->charger_id(), since);
    if (!counts) return to_grpc_status(counts.error());
    for (const auto& row : counts->by_error_code) {
      auto* e = out->add_by_error_code();
      e->set_error_code(row.error_code);
      e->set_count(row.count);
    }
    for (const auto& row : counts->by_vendor_error_code) {
      auto* e = out->add_by_vendor_error_code();
      e->set_vendor_id(row.vendor_id);
      e->set_vendor_error_code(row.vendor_error_code);
      e->set_count(row.count);
    }
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::GetConfiguration(Context* c,
                                                    const v1::GetConfigurationSnapshotRequest* r,
                                                    v1::GetConfigurationSnapshotResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty()) return invalid("charger_id is required");
    auto values = configuration(db_, r->charger_id(), r->key_prefix());
    if (!values) return to_grpc_status(values.error());
    for (const auto& v : *values) {
      auto* value = out->add_values();
      value->set_key(v.value.key);
      value->set_value(v.value.value);
      value->set_readonly(v.value.readonly);
      set_millis(value->mutable_reported_at(), v.reported_at);
    }
    return grpc::Status::OK;
  });
}

ChargersApi::Reactor* ChargersApi::DiffConfiguration(Context* c,
                                                     const v1::DiffConfigurationRequest* r,
                                                     v1::DiffConfigurationResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty() || r->other_charger_id().empty()) {
      return invalid("charger_id and other_charger_id are required");
    }
    auto mine = configuration(db_, r->charger_id(), "");
    if (!mine) return to_grpc_status(mine.error());
    auto theirs = configuration(db_, r->other_charger_id(), "");
    if (!theirs) return to_grpc_status(theirs.error());
    std::map<std::string, std::pair<std::optional<std::string>, std::optional<std::string>>> keys;
    for (const auto& v : *mine) keys[v.value.key].first = v.value.value;
    for (const auto& v : *theirs) keys[v.value.key].second = v.value.value;
    for (const auto& [key, values] : keys) {
      if (values.first == values.second) continue;
      auto* d = out->add_differences();
      d->set_key(key);
      d->set_value(values.first.value_or(""));
      d->set_other_value(values.second.value_or(""));
    }
    return grpc::Status::OK;
  });
}

}  // namespace switchyard::status
