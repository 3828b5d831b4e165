// Frame templates of the simulated chargers and the hot-path frame splitter.
#include "loadgen/frames.h"

#include <array>
#include <charconv>

#include "common/ocpp/schema.h"
#include "common/runtime/core/log.h"

namespace switchyard::loadgen {

namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "BootNotification", "Heartbeat",   "StatusNotification", "Authorize",
    "StartTransaction", "MeterValues", "StopTransaction",    "TransactionEvent",
};

void append_int(std::string& out, std::int64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  log::append_json_escaped(out, text);
  out += '"';
}

// Three sampled values, as a metering charger sends them: energy register, power, current.
void append_sampled_values_16(std::string& out, const FrameParams& p) {
  out += R"([{"value":")";
  append_int(out, p.meter_wh);
  out += R"(","context":")";
  out += p.context;
  out +=
      R"(","format":"Raw","measurand":"Energy.Active.Import.Register","location":"Outlet","unit":"Wh"},{"value":")";
  append_int(out, p.power_w);
  out += R"(","context":")";
  out += p.context;
  out +=
      R"(","format":"Raw","measurand":"Power.Active.Import","location":"Outlet","unit":"W"},{"value":")";
  append_int(out, p.power_w / 230);
  out += R"(","context":")";
  out += p.context;
  out += R"(","format":"Raw","measurand":"Current.Import","location":"Outlet","unit":"A"}])";
}

void append_sampled_values_201(std::string& out, const FrameParams& p) {
  out += R"([{"value":)";
  append_int(out, p.meter_wh);
  out += R"(,"context":")";
  out += p.context;
  out +=
      R"(","measurand":"Energy.Active.Import.Register","location":"Outlet","unitOfMeasure":{"unit":"Wh"}},{"value":)";
  append_int(out, p.power_w);
  out += R"(,"context":")";
  out += p.context;
  out +=
      R"(","measurand":"Power.Active.Import","location":"Outlet","unitOfMeasure":{"unit":"W"}},{"value":)";
  append_int(out, p.power_w / 230);
  out += R"(,"context":")";
  out += p.context;
  out += R"(","measurand":"Current.Import","location":"Outlet","unitOfMeasure":{"unit":"A"}}])";
}

void append_meter_value(std::string& out, bool v16, const FrameParams& p) {
  out += R"([{"timestamp":")";
  out += p.timestamp;
  out += R"(","sampledValue":)";
  if (v16) {
    append_sampled_values_16(out, p);
  } else {
    append_sampled_values_201(out, p);
  }
  out += "}]";
}

void append_payload_16(std::string& out, Action action, const FrameParams& p) {
  switch (action) {
    case Action::kBootNotification:
      out +=
          R"({"chargePointVendor":"Switchyard","chargePointModel":"Loadgen","firmwareVersion":"1.0.0","meterType":"LG-Meter"})";
      return;
    case Action::kHeartbeat:
      out += "{}";
      return;
    case Action::kStatusNotification:
      out += R"({"connectorId":)";
      append_int(out, p.connector);
      out += R"(,"errorCode":"NoError","status":")";
      out += p.status;
      out += R"(","timestamp":")";
      out += p.timestamp;
      out += R"("})";
      return;
    case Action::kAuthorize:
      out += R"({"idTag":)";
      append_string(out, p.id_tag);
      out += '}';
      return;
    case Action::kStartTransaction:
      out += R"({"connectorId":)";
      append_int(out, p.connector);
      out += R"(,"idTag":)";
      append_string(out, p.id_tag);
      out += R"(,"meterStart":)";
      append_int(out, p.meter_wh);
      out += R"(,"timestamp":")";
      out += p.timestamp;
      out += R"("})";
      return;
    case Action::kMeterValues:
      out += R"({"connectorId":)";
      append_int(out, p.connector);
      if (p.transaction_id_16 != 0) {
        out += R"(,"transactionId":)";
        append_int(out, p.transaction_id_16);
      }
      out += R"(,"meterValue":)";
      append_meter_value(out, true, p);
      out += '}';
      return;
    case Action::kStopTransaction:
      out += R"({"idTag":)";
      append_string(out, p.id_tag);
      out += R"(,"meterStop":)";
      append_int(out, p.meter_wh);
      out += R"(,"timestamp":")";
      out += p.timestamp;
      out += R"(","transactionId":)";
      append_int(out, p.transaction_id_16);
      out += R"(,"reason":"Local"})";
      return;
    case Action::kTransactionEvent:
    case Action::kCount:
      break;
  }
  out += "{}";  // not a 1.6 action; callers map TransactionEvent to the 1.6 messages
}

void append_payload_201(std::string& out, Action action, const FrameParams& p) {
  switch (action) {
    case Action::kBootNotification:
      out +=
          R"({"reason":"PowerUp","chargingStation":{"model":"Loadgen","vendorName":"Switchyard","firmwareVersion":"1.0.0"}})";
      return;
    case Action::kHeartbeat:
      out += "{}";
      return;
    case Action::kStatusNotification:
      out += R"({"timestamp":")";
      out += p.timestamp;
      out += R"(","connectorStatus":")";
      out += p.status;
      out += R"(","evseId":)";
      append_int(out, p.connector);
      out += R"(,"connectorId":1})";
      return;
    case Action::kAuthorize:
      out += R"({"idToken":{"idToken":)";
      append_string(out, p.id_tag);
      out += R"(,"type":"ISO14443"}})";
      return;
    case Action::kMeterValues:
      out += R"({"evseId":)";
      append_int(out, p.connector);
      out += R"(,"meterValue":)";
      append_meter_value(out, false, p);
      out += '}';
      return;
    case Action::kTransactionEvent:
      out += R"({"eventType":")";
      out += p.event_type;
      out += R"(","timestamp":")";
      out += p.timestamp;
      out += R"(","triggerReason":")";
      out += p.trigger_reason;
      out += R"(","seqNo":)";
      append_int(out, p.seq_no);
      out += R"(,"transactionInfo":{"transactionId":)";
      append_string(out, p.transaction_id);
      if (p.event_type == "Ended") {
        out += R"(,"stoppedReason":"Local"})";
      } else {
        out += R"(,"chargingState":"Charging"})";
      }
      if (p.event_type == "Started") {
        out += R"(,"evse":{"id":)";
        append_int(out, p.connector);
        out += R"(,"connectorId":1},"idToken":{"idToken":)";
        append_string(out, p.id_tag);
        out += R"(,"type":"ISO14443"})";
      }
      if (p.meter) {
        out += R"(,"meterValue":)";
        append_meter_value(out, false, p);
      }
      out += '}';
      return;
    case Action::kStartTransaction:
    case Action::kStopTransaction:
    case Action::kCount:
      break;
  }
  out += "{}";  // not a 2.0.1 action; callers map them to TransactionEvent
}

// -- splitting ------------------------------------------------------------------------------

struct Cursor {
  std::string_view text;
  std::size_t i = 0;

  void skip_space() {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
  }
  bool eat(char c) {
    skip_space();
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  // A JSON string without escapes; nullopt otherwise.
  std::optional<std::string_view> plain_string() {
    if (!eat('"')) return std::nullopt;
    const std::size_t start = i;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\') return std::nullopt;
      ++i;
    }
    if (i >= text.size()) return std::nullopt;
    return text.substr(start, i++ - start);
  }
  // A JSON string with escapes allowed (skipped, not decoded).
  std::optional<std::string_view> any_string() {
    if (!eat('"')) return std::nullopt;
    const std::size_t start = i;
    while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
    if (i >= text.size()) return std::nullopt;
    return text.substr(start, i++ - start);
  }
  // The rest up to the closing ']' of the frame: the last element's JSON text.
  std::optional<std::string_view> last_element() {
    skip_space();
    std::size_t end = text.size();
    while (end > i && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n' ||
                       text[end - 1] == '\r')) {
      --end;
    }
    if (end <= i || text[end - 1] != ']') return std::nullopt;
    --end;
    while (end > i && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\r' ||
                       text[end - 1] == '\t')) {
      --end;
    }
    if (end <= i) return std::nullopt;
    return text.substr(i, end - i);
  }
};

void append_minimal_value(std::string& out, const ocpp::ValueInfo& value,
                          std::string_view timestamp);

void append_minimal_object(std::string& out, const ocpp::TypeInfo& type,
                           std::string_view timestamp) {
  out += '{';
  bool first = true;
  for (const auto& field : type.field_span()) {
    if (!field.required) continue;
    if (!first) out += ',';
    first = false;
    out += field.json_key;
    append_minimal_value(out, field.value, timestamp);
  }
  out += '}';
}

void append_minimal_value(std::string& out, const ocpp::ValueInfo& value,
                          std::string_view timestamp) {
  using ocpp::Kind;
  using ocpp::ValueInfo;
  switch (value.kind) {
    case Kind::kString:
      out += "\"\"";
      return;
    case Kind::kUri:
      out += "\"urn:switchyard:loadgen\"";
      return;
    case Kind::kInteger:
    case Kind::kNumber: {
      double v = 0;
      if (value.has(ValueInfo::kHasMinimum) && v < value.minimum) v = value.minimum;
      if (value.has(ValueInfo::kHasMaximum) && v > value.maximum) v = value.maximum;
      append_int(out, static_cast<std::int64_t>(v));
      return;
    }
    case Kind::kBoolean:
      out += "false";
      return;
    case Kind::kEnum: {
      const auto& e = *value.enumeration;
      const int accepted = e.find("Accepted");
      append_string(out, e.values[accepted >= 0 ? accepted : 0]);
      return;
    }
    case Kind::kDateTime:
      append_string(out, timestamp);
      return;
    case Kind::kObject:
      append_minimal_object(out, *value.object, timestamp);
      return;
    case Kind::kArray:
      out += '[';
      for (std::uint32_t k = 0; k < value.min_items; ++k) {
        if (k > 0) out += ',';
        append_minimal_value(out, *value.item, timestamp);
      }
      out += ']';
      return;
    case Kind::kAny:
      out += "{}";
      return;
  }
}

}  // namespace

std::string_view action_name(Action action) {
  return kActionNames[static_cast<std::size_t>(action)];
}

std::optional<Action> parse_action(std::string_view name) {
  for (std::size_t i = 0; i < kActionCount; ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string id_tag_of(std::uint64_t index) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, index).ptr;
  const auto length = static_cast<std::size_t>(end - digits);
  std::string tag = "LG";
  if (length < 6) tag.append(6 - length, '0');
  tag.append(digits, length);
  return tag;
}

void append_payload(std::string& out, ocpp::Version version, Action action,
                    const FrameParams& params) {
  if (version == ocpp::Version::k16) {
    append_payload_16(out, action, params);
  } else {
    append_payload_201(out, action, params);
  }
}

void append_call(std::string& out, std::string_view message_id, std::string_view action,
                 std::string_view payload_json) {
  out += "[2,\"";
  out += message_id;
  out += "\",\"";
  out += action;
  out += "\",";
  out += payload_json;
  out += ']';
}

void append_result(std::string& out, std::string_view message_id, std::string_view payload_json) {
  out += "[3,\"";
  out += message_id;
  out += "\",";
  out += payload_json;
  out += ']';
}

void append_error(std::string& out, std::string_view message_id, std::string_view code,
                  std::string_view description) {
  out += "[4,";
  append_string(out, message_id);
  out += ",\"";
  out += code;
  out += "\",";
  append_string(out, description);
  out += ",{}]";
}

std::optional<FrameView> split_frame(std::string_view frame) {
  Cursor c{frame};
  if (!c.eat('[')) return std::nullopt;
  c.skip_space();
  if (c.i >= frame.size() || frame[c.i] < '2' || frame[c.i] > '6') return std::nullopt;
  FrameView view;
  view.type = frame[c.i++] - '0';
  if (!c.eat(',')) return std::nullopt;
  auto id = c.plain_string();
  if (!id) return std::nullopt;
  view.message_id = *id;
  if (!c.eat(',')) return std::nullopt;
  if (view.type == 2) {
    auto action = c.plain_string();
    if (!action || !c.eat(',')) return std::nullopt;
    view.action = *action;
  } else if (view.type == 4) {
    auto code = c.any_string();
    if (!code) return std::nullopt;
    view.error_code = *code;
    return view;
  }
  auto payload = c.last_element();
  if (!payload) return std::nullopt;
  view.payload = *payload;
  return view;
}

std::string minimal_payload(const ocpp::TypeInfo& type, std::string_view timestamp) {
  std::string out;
  append_minimal_object(out, type, timestamp);
  return out;
}

std::optional<std::string> answer_for(ocpp::Version version, std::string_view action,
                                      std::string_view timestamp) {
  const ocpp::MessageInfo* message = ocpp::find_message(version, action);
  if (message == nullptr || message->direction == ocpp::Direction::kChargerToCsms ||
      message->response == nullptr) {
    return std::nullopt;
  }
  return minimal_payload(*message->response, timestamp);
}

}  // namespace switchyard::loadgen
