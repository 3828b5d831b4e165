// The peeks walk the wire format with bus::WireReader (wire_reader.h).
#include "common/runtime/bus/charger_event_peek.h"

#include "common/runtime/bus/wire_reader.h"

#include "common/runtime/websocket/protocol.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::bus {
namespace {

using Event = v1::ChargerEvent;

// A switch on the number itself: any value may come off the wire, and one outside the enum's
// range must not be cast to it.
bool is_payload(std::uint64_t field) {
  switch (field) {
    case Event::kConnectionOpened:
    case Event::kConnectionClosed:
    case Event::kBootNotification:
    case Event::kHeartbeat:
    case Event::kStatusNotification:
    case Event::kMeterValues:
    case Event::kTransactionEvent:
    case Event::kAuthorize:
    case Event::kDataTransfer:
    case Event::kFirmwareStatus:
    case Event::kLogStatus:
    case Event::kSecurityEvent:
    case Event::kDeviceEvent:
    case Event::kCommandResult:
    case Event::kOther:
      return true;
    default:
      return false;
  }
}

// google.protobuf.Timestamp: seconds (1), nanos (2). Repeated occurrences of a message field
// merge, so the fields read stay unless a later occurrence sets them again.
bool read_timestamp(std::string_view bytes, std::int64_t& seconds, std::int32_t& nanos) {
  WireReader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    std::uint64_t value = 0;
    if (!r.key(field, type) || type != WireReader::kVarint) return false;  // both are varints
    if (!r.varint(value)) return false;
    if (field == 1) seconds = static_cast<std::int64_t>(value);
    if (field == 2) nanos = static_cast<std::int32_t>(value);
  }
  return true;
}

}  // namespace

std::optional<std::string_view> peek_string_field(std::string_view message, int number) {
  WireReader r(message);
  std::string_view out;
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    if (!r.key(field, type)) return std::nullopt;
    if (field == static_cast<std::uint64_t>(number) && type == WireReader::kBytes) {
      if (!r.bytes(out)) return std::nullopt;
    } else if (!r.skip_value(type)) {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<ChargerEventPeek> peek_charger_event(std::string_view bytes) {
  ChargerEventPeek out;
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  WireReader r(bytes);
  while (!r.done()) {
    std::uint64_t field = 0;
    std::uint32_t type = 0;
    if (!r.key(field, type)) return std::nullopt;
    switch (type) {
      case WireReader::kVarint: {
        std::uint64_t value = 0;
        if (!r.varint(value)) return std::nullopt;
        if (field == Event::kProtocolVersionFieldNumber) {
          out.protocol_version = static_cast<int>(value);
        }
        break;
      }
      case WireReader::kBytes: {
        std::string_view value;
        if (!r.bytes(value)) return std::nullopt;
        if (field == Event::kEventIdFieldNumber) {
          out.event_id = value;
        } else if (field == Event::kChargerIdFieldNumber) {
          out.charger_id = value;
        } else if (field == Event::kReceivedAtFieldNumber) {
          if (!read_timestamp(value, seconds, nanos)) return std::nullopt;
        } else if (is_payload(field)) {
          // A oneof: the last member set wins; occurrences of the same member merge.
          out.payload_split = static_cast<int>(field) == out.payload;
          out.payload = static_cast<int>(field);
          out.payload_bytes = value;
        }
        break;
      }
      default:
        if (!r.skip_value(type)) return std::nullopt;
    }
  }
  if (!websocket::valid_utf8(out.event_id) || !websocket::valid_utf8(out.charger_id)) {
    return std::nullopt;
  }
  out.received_at_ms = seconds * 1000 + nanos / 1'000'000;  // as Timestamp → ms everywhere
  return out;
}

}  // namespace switchyard::bus
