// The status projector (see projector.h).
#include "status/projector.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "common/runtime/bus/arena_message.h"
#include "common/runtime/bus/charger_event_peek.h"
#include "common/runtime/bus/parse_event.h"
#include "common/runtime/core/log.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::status {
namespace {

std::int64_t millis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

std::string version_name(v1::OcppVersion v) {
  switch (v) {
    case v1::OCPP_VERSION_1_6:
      return "1.6";
    case v1::OCPP_VERSION_2_0_1:
      return "2.0.1";
    case v1::OCPP_VERSION_2_1:
      return "2.1";
    default:
      return "";
  }
}

const char* kind_of(const v1::ChargerEvent& e) {
  switch (e.payload_case()) {
    case v1::ChargerEvent::kConnectionOpened:
      return "connection_opened";
    case v1::ChargerEvent::kConnectionClosed:
      return "connection_closed";
    case v1::ChargerEvent::kBootNotification:
      return "boot_notification";
    case v1::ChargerEvent::kHeartbeat:
      return "heartbeat";
    case v1::ChargerEvent::kStatusNotification:
      return "status_notification";
    case v1::ChargerEvent::kDeviceEvent:
      return "device_event";
    case v1::ChargerEvent::kFirmwareStatus:
      return "firmware_status";
    case v1::ChargerEvent::kLogStatus:
      return "log_status";
    case v1::ChargerEvent::kCommandResult:
      return "command_result";
    default:
      return "other";
  }
}

bool problem(const v1::DeviceEvent::Entry& e) {
  if (e.cleared()) return false;
  if (e.variable() == "Problem") return e.actual_value() != "false";
  if (e.variable() == "AvailabilityState") return e.actual_value() == "Faulted";
  return e.trigger() == "Alerting" && !e.tech_code().empty();
}

}  // namespace

ConnectorRow connector_state(const v1::StatusNotification& s, std::int64_t received_at) {
  ConnectorRow row;
  row.evse_id = s.location().evse_id();
  row.connector_id = s.location().connector_id();
  row.status = s.status();
  row.error_code = s.error_code();
  row.info = s.info();
  row.vendor_id = s.vendor_id();
  row.vendor_error_code = s.vendor_error_code();
  row.since = s.has_timestamp() ? millis(s.timestamp()) : received_at;
  return row;
}

std::vector<DeviceRecord> device_records(const v1::DeviceEvent& event, std::int64_t received_at) {
  std::vector<DeviceRecord> out;
  for (const auto& e : event.entries()) {
    DeviceRecord r;
    r.state.evse_id = e.location().evse_id();
    r.state.connector_id = e.location().connector_id();
    r.availability = e.variable() == "AvailabilityState" &&
                     (e.component() == "Connector" || e.component() == "EVSE");
    r.state.status = e.variable() == "AvailabilityState" ? e.actual_value() : "";
    if (problem(e)) r.state.error_code = e.component() + "." + e.variable();
    r.state.info = e.tech_info();
    r.state.vendor_id = e.component();
    r.state.vendor_error_code = e.tech_code();
    r.state.since = e.has_timestamp() ? millis(e.timestamp()) : received_at;
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The security event types of OCPP 2.0.1 (Appendix, "Security events") and the 1.6 security
// whitepaper: the metric label takes these, anything else (vendor types) is "other", so a charger
// cannot grow the label set.
std::string_view security_event_label(std::string_view type) {
  static constexpr std::string_view kKnown[] = {
      "FirmwareUpdated",
      "FailedToAuthenticateAtCsms",
      "FailedToAuthenticateAtCentralSystem",
      "CsmsFailedToAuthenticate",
      "CentralSystemFailedToAuthenticate",
      "SettingSystemTime",
      "StartupOfTheDevice",
      "ResetOrReboot",
      "SecurityLogWasCleared",
      "ReconfigurationOfSecurityParameters",
      "MemoryExhaustion",
      "InvalidMessages",
      "AttemptedReplayAttacks",
      "TamperDetectionActivated",
      "InvalidFirmwareSignature",
      "InvalidFirmwareSigningCertificate",
      "InvalidCsmsCertificate",
      "InvalidCentralSystemCertificate",
      "InvalidChargingStationCertificate",
      "InvalidChargePointCertificate",
      "InvalidTLSVersion",
      "InvalidTLSCipherSuite",
      "MaintenanceLoginAccessed",
      "MaintenanceLoginFailed",
  };
  for (std::string_view known : kKnown) {
    if (type == known) return known;
  }
  return "other";
}

// Whether an event of this payload case can change more than the charger's last_seen (and OCPP
// version); changes_state() decides with the whole event.
bool may_change_state(int payload) {
  switch (static_cast<v1::ChargerEvent::PayloadCase>(payload)) {
    case v1::ChargerEvent::kConnectionOpened:
    case v1::ChargerEvent::kConnectionClosed:
    case v1::ChargerEvent::kBootNotification:
    case v1::ChargerEvent::kFirmwareStatus:
    case v1::ChargerEvent::kLogStatus:
    case v1::ChargerEvent::kStatusNotification:
    case v1::ChargerEvent::kDeviceEvent:
    case v1::ChargerEvent::kSecurityEvent:
    case v1::ChargerEvent::kCommandResult:
    case v1::ChargerEvent::kOther:
      return true;
    default:
      return false;
  }
}

// Whether the event changes more than the charger's last_seen (and OCPP version).
bool changes_state(const v1::ChargerEvent& e) {
  switch (e.payload_case()) {
    case v1::ChargerEvent::kCommandResult:
      return e.command_result().error_code().empty();
    case v1::ChargerEvent::kOther:
      return e.action() == "NotifyReport";
    default:
      return may_change_state(e.payload_case());
  }
}

}  // namespace

StatusProjector::StatusProjector(sql::Database& db, prometheus::Registry* metrics) : db_(db) {
  if (metrics == nullptr) return;
  errors_ =
      &prometheus::BuildCounter()
           .Name("switchyard_connector_errors_total")
           .Help(
               "Connector / EVSE error reports by error code (1.6 ChargePointErrorCode other than "
               "NoError; 2.x Component.Variable of a NotifyEvent problem)")
           .Register(*metrics);
  events_ = &prometheus::BuildCounter()
                 .Name("switchyard_status_events_total")
                 .Help("Events applied by the status service, by kind")
                 .Register(*metrics);
  duplicates_ = &prometheus::BuildCounter()
                     .Name("switchyard_status_duplicate_events_total")
                     .Help("Events skipped because their event id was already applied")
                     .Register(*metrics)
                     .Add({});
  security_ = &prometheus::BuildCounter()
                   .Name("switchyard_security_events_total")
                   .Help(
                       "SecurityEventNotifications from chargers, by type (standard OCPP types; "
                       "vendor types as other)")
                   .Register(*metrics);
  last_seen_events_ =
      &prometheus::BuildCounter()
           .Name("switchyard_status_last_seen_events_total")
           .Help(
               "Events that only moved a charger's last seen (MeterValues, Heartbeat, "
               "TransactionEvent, ...): gathered, written once per consumer poll")
           .Register(*metrics)
           .Add({});
  transactions_ = &prometheus::BuildCounter()
                       .Name("switchyard_status_transactions_total")
                       .Help(
                           "Transactions the status service committed: one per consumer poll "
                           "(switchyard_status_events_total / this = events per transaction)")
                       .Register(*metrics)
                       .Add({});
  last_seen_writes_ = &prometheus::BuildCounter()
                           .Name("switchyard_status_last_seen_writes_total")
                           .Help("Charger rows those gathered events were written to")
                           .Register(*metrics)
                           .Add({});
  malformed_ = &prometheus::BuildCounter()
                    .Name("switchyard_status_malformed_events_total")
                    .Help("Events that could not be parsed or had no charger / event id (skipped)")
                    .Register(*metrics)
                    .Add({});
}

StatusProjector::~StatusProjector() = default;

Result<void> StatusProjector::handle(const bus::Event& event) {
  // Most events (MeterValues, Heartbeat, ...) only move last_seen: their envelope is enough, read
  // without parsing them. What might change state, or does not peek, is parsed in full.
  if (const auto peek = bus::peek_charger_event(event.value);
      peek && !may_change_state(peek->payload)) {
    stage_seen(peek->charger_id, peek->event_id, peek->received_at_ms, peek->protocol_version);
    return {};
  }
  bus::ArenaMessage<v1::ChargerEvent> parsed;
  if (!bus::parse_event(event, *parsed, malformed_)) return {};
  if (stage(*parsed) == Staged::kStateChange) pending_.push_back(*parsed);
  return {};
}

StatusProjector::Staged StatusProjector::stage(const v1::ChargerEvent& e) {
  if (changes_state(e) && !e.charger_id().empty() && !e.event_id().empty()) {
    return Staged::kStateChange;
  }
  stage_seen(e.charger_id(), e.event_id(), millis(e.received_at()), e.protocol_version());
  return Staged::kDone;
}

void StatusProjector::stage_seen(std::string_view charger_id, std::string_view event_id,
                                 std::int64_t received, int protocol_version) {
  if (charger_id.empty() || event_id.empty()) {
    if (malformed_ != nullptr) malformed_->Increment();
    log::warn("skipping an event without charger or event id",
              {{"event_id", std::string(event_id)}});
    return;
  }
  // Only last_seen moves: kept until flush(), the latest per charger, one write for all.
  auto found = seen_.find(charger_id);
  if (found == seen_.end()) found = seen_.emplace(std::string(charger_id), Seen{}).first;
  Seen& seen = found->second;
  if (received >= seen.at) {
    seen.at = received;
    seen.ocpp_version = version_name(static_cast<v1::OcppVersion>(protocol_version));
  }
  if (last_seen_events_ != nullptr) last_seen_events_->Increment();
}

Result<void> StatusProjector::apply(const v1::ChargerEvent& e) {
  if (stage(e) == Staged::kDone) return {};
  Applied applied;
  auto committed = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    applied = {};
    return apply_in(tx, e, applied);
  });
  if (!committed) return committed;
  if (transactions_ != nullptr) transactions_->Increment();
  report(e, applied);
  return {};
}

Result<void> StatusProjector::apply_in(sql::Transaction& tx, const v1::ChargerEvent& e,
                                       Applied& out) {
  const std::int64_t received = millis(e.received_at());
  const std::string& charger = e.charger_id();
  auto fresh = mark_processed(tx, e.event_id(), received);
  if (!fresh) return std::unexpected(fresh.error());
  if (!*fresh) {
    out.duplicate = true;
    return {};
  }
  if (auto r = touch_charger(tx, charger, received, version_name(e.protocol_version())); !r)
    return r;

  auto update_charger = [&](auto&& change) -> Result<void> {
    auto row = load_charger(tx, charger);
    if (!row) return std::unexpected(row.error());
    if (!*row) return make_error(ErrorCode::kInternal, "charger row vanished");
    if (!change(**row)) return {};
    return save_charger(tx, **row);
  };
  auto record = [&](const std::string& record_id, const ConnectorRow& state,
                    bool current) -> Result<void> {
    auto inserted = insert_history(tx, {record_id, charger, state, received});
    if (!inserted) return std::unexpected(inserted.error());
    if (*inserted && is_error(state)) out.new_errors.push_back(state);
    if (current) return upsert_connector(tx, charger, state, received);
    return {};
  };

  switch (e.payload_case()) {
    case v1::ChargerEvent::kConnectionOpened:
      return update_charger([&](ChargerRow& row) {
        const auto& opened = e.connection_opened();
        if (opened.owner_epoch() < row.owner_epoch) return false;  // an older connection
        row.online = true;
        row.owner_epoch = opened.owner_epoch();
        row.pod_id = e.pod_id();
        row.security_profile = opened.security_profile();
        row.connected_at = received;
        return true;
      });
    case v1::ChargerEvent::kConnectionClosed:
      return update_charger([&](ChargerRow& row) {
        // A close of an older connection (the charger is already on another pod) changes nothing.
        if (e.connection_closed().owner_epoch() < row.owner_epoch) return false;
        row.online = false;
        row.disconnected_at = received;
        return true;
      });
    case v1::ChargerEvent::kBootNotification:
      return update_charger([&](ChargerRow& row) {
        const auto& boot = e.boot_notification();
        row.vendor = boot.vendor();
        row.model = boot.model();
        row.serial_number = boot.serial_number();
        row.firmware_version = boot.firmware_version();
        row.registration_status = boot.registration_status();
        row.booted_at = received;
        return true;
      });
    case v1::ChargerEvent::kFirmwareStatus:
      return update_charger([&](ChargerRow& row) {
        row.firmware_status = e.firmware_status().status();
        return true;
      });
    case v1::ChargerEvent::kLogStatus:
      return update_charger([&](ChargerRow& row) {
        row.log_status = e.log_status().status();
        return true;
      });
    case v1::ChargerEvent::kStatusNotification:
      return record(e.event_id(), connector_state(e.status_notification(), received), true);
    case v1::ChargerEvent::kDeviceEvent: {
      const auto records = device_records(e.device_event(), received);
      for (std::size_t i = 0; i < records.size(); ++i) {
        if (records[i].state.status.empty() && !is_error(records[i].state))
          continue;  // not a status
        if (auto r = record(e.event_id() + ":" + std::to_string(i), records[i].state,
                            records[i].availability);
            !r) {
          return r;
        }
      }
      return {};
    }
    case v1::ChargerEvent::kSecurityEvent: {
      const auto& se = e.security_event();
      SecurityEventRow row{e.event_id(),
                           charger,
                           se.type(),
                           se.tech_info(),
                           se.has_timestamp() ? millis(se.timestamp()) : received,
                           received};
      auto inserted = insert_security_event(tx, row);
      if (!inserted) return std::unexpected(inserted.error());
      if (*inserted) out.security_event = std::move(row);
      return {};
    }
    case v1::ChargerEvent::kCommandResult: {
      const auto& result = e.command_result();
      if (!result.error_code().empty()) return {};
      auto values = values_from_command(e.action(), result.request_json(), result.payload_json());
      if (!values) {
        out.config_problem = values.error().message;
        return {};
      }
      return put_configuration(tx, charger, *values, received);
    }
    case v1::ChargerEvent::kOther: {
      if (e.action() != "NotifyReport") return {};
      auto values = values_from_report(e.other().payload_json());
      if (!values) {
        out.config_problem = values.error().message;
        return {};
      }
      return put_configuration(tx, charger, *values, received);
    }
    default:
      return {};
  }
}

void StatusProjector::report(const v1::ChargerEvent& e, const Applied& applied) {
  const std::string& charger = e.charger_id();
  if (applied.duplicate) {
    if (duplicates_ != nullptr) duplicates_->Increment();
    return;
  }
  if (events_ != nullptr) events_->Add({{"kind", kind_of(e)}}).Increment();
  for (const auto& error : applied.new_errors) {
    if (errors_ != nullptr) errors_->Add({{"error_code", error.error_code}}).Increment();
    log::info("connector error reported", {{"charger_id", charger},
                                           {"evse_id", error.evse_id},
                                           {"connector_id", error.connector_id},
                                           {"status", error.status},
                                           {"error_code", error.error_code},
                                           {"vendor_id", error.vendor_id},
                                           {"vendor_error_code", error.vendor_error_code},
                                           {"info", error.info}});
  }
  if (const auto& security_event = applied.security_event) {
    if (security_ != nullptr)
      security_->Add({{"type", std::string(security_event_label(security_event->type))}})
          .Increment();
    log::warn("security event reported", {{"charger_id", charger},
                                          {"event_id", security_event->event_id},
                                          {"type", security_event->type},
                                          {"tech_info", security_event->tech_info}});
  }
  if (!applied.config_problem.empty()) {
    log::warn("configuration in an event could not be read",
              {{"charger_id", charger}, {"action", e.action()}, {"error", applied.config_problem}});
  }
}

Result<void> StatusProjector::flush() {
  if (seen_.empty() && pending_.empty()) return {};
  std::vector<Applied> applied(pending_.size());
  auto written = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      applied[i] = {};
      if (auto r = apply_in(tx, pending_[i], applied[i]); !r) return r;
    }
    seen_rows_.clear();
    for (const auto& [charger, seen] : seen_) {
      seen_rows_.push_back(SeenRow{charger, seen.at, seen.ocpp_version});
    }
    return touch_chargers(tx, seen_rows_);
  });
  if (!written) {
    // The consumer delivers the poll's events again: staged anew, not twice.
    pending_.clear();
    return written;
  }
  if (transactions_ != nullptr) transactions_->Increment();
  for (std::size_t i = 0; i < pending_.size(); ++i) report(pending_[i], applied[i]);
  pending_.clear();
  if (last_seen_writes_ != nullptr) last_seen_writes_->Increment(static_cast<double>(seen_.size()));
  seen_.clear();
  return {};
}

}  // namespace switchyard::status
