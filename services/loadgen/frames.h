// OCPP-J frames of a simulated charger, built from string templates (valid per the official
// schemas; tests/unit/loadgen checks each with the project's decoder), and the little reading
// of server frames the generator needs on its hot path (type, message id) without a JSON parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ocpp/types.h"

namespace switchyard::ocpp {
struct TypeInfo;
}

namespace switchyard::loadgen {

// The CALLs a simulated charger sends.
enum class Action : std::uint8_t {
  kBootNotification,
  kHeartbeat,
  kStatusNotification,
  kAuthorize,
  kStartTransaction,  // 1.6
  kMeterValues,
  kStopTransaction,   // 1.6
  kTransactionEvent,  // 2.0.1
  kCount,
};
inline constexpr std::size_t kActionCount = static_cast<std::size_t>(Action::kCount);

std::string_view action_name(Action action);
std::optional<Action> parse_action(std::string_view name);

// What varies between frames of one action. Views must live until the frame is appended.
struct FrameParams {
  std::string_view timestamp;  // RFC 3339, e.g. "2026-01-01T10:00:00.000Z"
  int connector = 1;           // 1.6 connectorId; 2.0.1 evseId (connectorId is always 1)
  // StatusNotification: 1.6 "Available" / "Preparing" / "Charging" / "Finishing";
  // 2.0.1 "Available" / "Occupied".
  std::string_view status = "Available";
  std::string_view id_tag = "LG0001";  // Authorize, start; 1.6 idTag / 2.0.1 idToken (ISO14443)
  std::int64_t meter_wh = 0;           // Energy.Active.Import.Register in Wh
  std::int64_t power_w = 7400;         // Power.Active.Import in W
  // 1.6: the integer transactionId from StartTransaction (0 = none: MeterValues without one);
  // 2.0.1: unused (see transaction_id).
  std::int64_t transaction_id_16 = 0;
  std::string_view transaction_id;               // 2.0.1 transactionId (CiString36)
  std::string_view context = "Sample.Periodic";  // MeterValues / TransactionEvent sampled values
  std::string_view event_type = "Updated";       // TransactionEvent: Started / Updated / Ended
  std::string_view trigger_reason = "MeterValuePeriodic";  // TransactionEvent
  std::int64_t seq_no = 0;                                 // TransactionEvent
  bool meter = true;                                       // TransactionEvent carries a meterValue
};

// The loadgen's token number `index` (--id-tags): "LG" and the index, zero-padded to 6 digits.
std::string id_tag_of(std::uint64_t index);

// Appends the payload object of `action` in `version`.
void append_payload(std::string& out, ocpp::Version version, Action action,
                    const FrameParams& params);

// Appends a whole CALL: [2,"<message_id>","<action>",<payload>].
void append_call(std::string& out, std::string_view message_id, std::string_view action,
                 std::string_view payload_json);

// Appends a CALLRESULT: [3,"<message_id>",<payload>].
void append_result(std::string& out, std::string_view message_id, std::string_view payload_json);

// Appends a CALLERROR: [4,"<message_id>","<code>","<description>",{}].
void append_error(std::string& out, std::string_view message_id, std::string_view code,
                  std::string_view description);

// A server frame split into its parts, as views into the frame. The payload is the JSON text of
// the last element (CALL, CALLRESULT) or, for a CALLERROR, the error code.
struct FrameView {
  int type = 0;  // 2 CALL, 3 CALLRESULT, 4 CALLERROR
  std::string_view message_id;
  std::string_view action;      // CALL only
  std::string_view payload;     // CALL / CALLRESULT: the payload's JSON text
  std::string_view error_code;  // CALLERROR only
};

// nullopt when the frame is not an OCPP-J array with a type and a string message id. Strings
// with escapes in the message id or action are not expected from a CSMS and are refused.
std::optional<FrameView> split_frame(std::string_view frame);

// A minimal valid CALLRESULT payload for `type` (a response schema), derived from the schema
// table: every required member with a value that validates, "Accepted" where an enum has it.
std::string minimal_payload(const ocpp::TypeInfo& type, std::string_view timestamp);

// The payload a simulated charger answers a CSMS CALL with, or nullopt when the version has no
// such CSMS-to-charger action (the charger then answers NotImplemented / NotSupported).
std::optional<std::string> answer_for(ocpp::Version version, std::string_view action,
                                      std::string_view timestamp);

}  // namespace switchyard::loadgen
