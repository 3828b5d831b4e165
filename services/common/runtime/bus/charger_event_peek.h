// A look at a serialized v1::ChargerEvent without parsing it: which payload it carries and the
// envelope fields that say whose it is and when. Every consumer reads every event of the topic,
// and most project only some kinds (the roaming status feed: status and connection events; the
// status projector: a MeterValues only moves last_seen). A full parse of a MeterValues builds
// dozens of objects; the peek walks the top-level fields once and builds none, so skipping an
// event costs a scan instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace switchyard::bus {

struct ChargerEventPeek {
  int payload = 0;  // v1::ChargerEvent::PayloadCase (the oneof field's number); 0 = none
  // The payload message, serialized (into the bytes). A message split over several occurrences
  // of its field, which a serializer never writes, has only its last part here, and
  // payload_split says so: a peek into payload_bytes must then leave the event to the parse.
  std::string_view payload_bytes;
  bool payload_split = false;
  std::string_view event_id;    // into the bytes
  std::string_view charger_id;  // into the bytes
  std::int64_t received_at_ms = 0;
  int protocol_version = 0;  // v1::OcppVersion
};

// nullopt when the top level is not well-formed wire format, or the event or charger id is not
// UTF-8: then the full parse decides (and counts it malformed). Nested messages are not looked
// into, so a payload the caller skips is not checked either.
std::optional<ChargerEventPeek> peek_charger_event(std::string_view bytes);

// The last value of string or bytes field `number` at the top level of a serialized message
// (such as ChargerEventPeek::payload_bytes); empty when absent; nullopt when not well-formed.
std::optional<std::string_view> peek_string_field(std::string_view message, int number);

}  // namespace switchyard::bus
