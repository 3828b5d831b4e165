// A ChargerEvent written straight in protobuf's wire format, for the gateway's busiest event
// (MeterValues: a sample every 10 s per charging session, three or more values each). Building
// the message first cost more than decoding the frame (an arena object and two or three heap
// strings per sample, then ByteSizeLong and the serializer); written directly it is a few
// appends to a reused buffer. The bytes are the ones SerializeToString writes for the same
// event (fields in number order, proto3 defaults left out), which event_wire_test checks frame
// by frame against fill_envelope + normalize_inbound. Other events keep the message: their
// decisions read it, and they are rarer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/ocpp/decoder.h"

namespace switchyard::gateway {

// ChargerEvent fields 1-8 (events.proto); the views must live until append_envelope returns.
struct EventEnvelope {
  std::string_view event_id;
  std::string_view charger_id;
  std::string_view pod_id;
  std::int64_t received_seconds = 0;  // received_at
  std::int32_t received_nanos = 0;
  int protocol_version = 0;  // v1::OcppVersion
  std::string_view message_id;
  std::string_view action;
  std::string_view raw_frame;
};

// Appends the envelope's fields to `out`. An event is the envelope, then its payload, then its
// quirks: fields go in number order, as SerializeToString writes them.
void append_envelope(const EventEnvelope& envelope, std::string& out);

// Appends the meter_values payload (field 25) of a 1.6, 2.0.1 or 2.1 MeterValues CALL, as
// normalize_inbound fills it. False, with nothing appended, for any other frame.
bool append_meter_values(ocpp::Version version, const ocpp::DecodedFrame& frame, std::string& out);

// Appends the quirks (field 40) of a frame decoded leniently, one name per bit, lowest first.
void append_quirks(std::uint8_t quirks, std::string& out);

}  // namespace switchyard::gateway
