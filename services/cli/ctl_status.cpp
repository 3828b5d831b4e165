// `switchyardctl status ...`: connector status history, error counts and security events
// (Chargers API).
#include "cli/ctl_command.h"
#include "switchyard/v1/chargers.pb.h"

namespace switchyard::ctl {
namespace {

std::vector<Column> status_record_columns() {
  return {field_column("CHARGER", "charger_id"),
          field_column("EVSE", "state.location.evse_id"),
          field_column("CONNECTOR", "state.location.connector_id"),
          field_column("STATUS", "state.status"),
          field_column("ERROR", "state.error_code"),
          field_column("VENDOR", "state.vendor_id"),
          field_column("VENDOR_ERROR", "state.vendor_error_code"),
          field_column("INFO", "state.info"),
          field_column("SINCE", "state.since"),
          field_column("RECEIVED", "received_at")};
}

Outcome list_status(Session& session, const VerbArgs& args) {
  v1::GetStatusHistoryRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  request.set_error_code(args.value("error-code").value_or(""));
  request.set_vendor_error_code(args.value("vendor-error-code").value_or(""));
  request.set_errors_only(args.has("errors-only"));
  if (auto copied = copy_flag(args, "since", request, "since"); !copied) return copied;
  if (auto copied = copy_flag(args, "until", request, "until"); !copied) return copied;
  v1::GetStatusHistoryResponse response;
  return list_and_print(session, args, Api::kChargers, "GetStatusHistory", request, response,
                        status_record_columns());
}

Outcome count_errors(Session& session, const VerbArgs& args) {
  v1::CountErrorsRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  if (auto copied = copy_flag(args, "since", request, "since"); !copied) return copied;
  v1::CountErrorsResponse response;
  std::vector<Column> columns{
      field_column("ERROR_CODE", "error_code"), field_column("VENDOR", "vendor_id"),
      field_column("VENDOR_ERROR_CODE", "vendor_error_code"), field_column("COUNT", "count")};
  return list_and_print(session, args, Api::kChargers, "CountErrors", request, response, columns);
}

Outcome list_security_events(Session& session, const VerbArgs& args) {
  v1::ListSecurityEventsRequest request;
  request.set_charger_id(args.value("charger").value_or(""));
  request.set_type(args.value("type").value_or(""));
  v1::ListSecurityEventsResponse response;
  std::vector<Column> columns{
      field_column("CHARGER", "charger_id"),   field_column("TYPE", "type"),
      field_column("OCCURRED", "occurred_at"), field_column("RECEIVED", "received_at"),
      field_column("TECH_INFO", "tech_info"),  field_column("EVENT", "event_id")};
  return list_and_print(session, args, Api::kChargers, "ListSecurityEvents", request, response,
                        columns);
}

}  // namespace

Noun status_noun() {
  return Noun{
      "status",
      "Connector/EVSE status history with 1.6 error and vendor codes (Chargers API).",
      {
          {{"list",
            {},
            {{"charger", "ID", "one charger"},
             {"error-code", "C", "1.6 error code, e.g. GroundFailure"},
             {"vendor-error-code", "V", "vendor error code"},
             {"errors-only", "", "skip records without an error"},
             {"since", "RFC3339", "records from this time"},
             {"until", "RFC3339", "records before this time"},
             limit_flag()},
            "Chargers.GetStatusHistory"},
           list_status},
          {{"errors",
            {},
            {{"charger", "ID", "one charger"}, {"since", "RFC3339", "errors from this time"}},
            "Chargers.CountErrors: errors by error code and by vendor error code"},
           count_errors},
          {{"security-events",
            {},
            {{"charger", "ID", "one charger"},
             {"type", "T", "one type, e.g. InvalidTLSVersion"},
             limit_flag()},
            "Chargers.ListSecurityEvents: SecurityEventNotifications, oldest first"},
           list_security_events},
      }};
}

}  // namespace switchyard::ctl
