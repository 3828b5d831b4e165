// ChargerEvent bytes without the message: protobuf's wire format (varints, tags, length-delimited
// nested messages) for the envelope, MeterValues and quirks. See event_wire.h.
#include "gateway/event_wire.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <string>

#include "gateway/meter_samples.h"

namespace switchyard::gateway {
namespace {

namespace v16 = ocpp::v16;
namespace v201 = ocpp::v201;
namespace v21 = ocpp::v21;

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

// events.proto's field numbers.
namespace field {
constexpr std::uint32_t kEventId = 1, kChargerId = 2, kPodId = 3, kReceivedAt = 4,
                        kProtocolVersion = 5, kMessageId = 6, kAction = 7, kRawFrame = 8,
                        kMeterValues = 25, kQuirks = 40;
constexpr std::uint32_t kSeconds = 1, kNanos = 2;           // google.protobuf.Timestamp
constexpr std::uint32_t kEvseId = 1, kConnectorId = 2;      // Location
constexpr std::uint32_t kLocation = 1, kTransactionId = 2,  // MeterValues
    kSamples = 3;
constexpr std::uint32_t kTimestamp = 1, kMeasurand = 2, kPhase = 3, kContext = 4,  // MeterSample
    kSampleLocation = 5, kUnit = 6, kValue = 7, kRawValue = 8, kNormalizedValue = 9,
                        kNormalizedUnit = 10, kSignedData = 11;
}  // namespace field

// A varint's bytes, least significant group first; how many (at most 10).
std::size_t varint_bytes(std::uint64_t v, char (&bytes)[10]) {
  std::size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  return n;
}

inline void put_varint(std::string& out, std::uint64_t v) {
  if (v < 0x80) {  // tags, lengths and most numbers: one byte
    out.push_back(static_cast<char>(v));
    return;
  }
  char bytes[10];
  out.append(bytes, varint_bytes(v, bytes));
}

void put_tag(std::string& out, std::uint32_t number, WireType type) {
  put_varint(out, (std::uint64_t{number} << 3) | type);
}

// proto3 leaves out what equals its default: an empty string, a zero, false, +0.0.
void put_string(std::string& out, std::uint32_t number, std::string_view s) {
  if (s.empty()) return;
  put_tag(out, number, kLengthDelimited);
  put_varint(out, s.size());
  out.append(s);
}

// int32 and int64 alike: a negative value is its 64-bit two's complement (ten bytes).
void put_int(std::string& out, std::uint32_t number, std::int64_t v) {
  if (v == 0) return;
  put_tag(out, number, kVarint);
  put_varint(out, static_cast<std::uint64_t>(v));
}

void put_bool(std::string& out, std::uint32_t number, bool v) {
  if (!v) return;
  put_tag(out, number, kVarint);
  out.push_back(1);
}

// -0.0 and NaN are written: only the bits of +0.0 are the default.
void put_double(std::string& out, std::uint32_t number, double v) {
  const auto bits = std::bit_cast<std::uint64_t>(v);
  if (bits == 0) return;
  put_tag(out, number, kFixed64);
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(bits >> (8 * i));
  out.append(bytes, 8);
}

// A nested message that is present (even when empty): its tag, then its length, then what
// `body` appends. The length is not known before the body, so one byte is kept for it and the
// body moved along in the rare case it needs more.
template <typename Body>
void put_message(std::string& out, std::uint32_t number, Body&& body) {
  put_tag(out, number, kLengthDelimited);
  const std::size_t at = out.size();
  out.push_back(0);
  body();
  const std::size_t size = out.size() - at - 1;
  if (size < 0x80) {
    out[at] = static_cast<char>(size);
    return;
  }
  char length[10];
  const std::size_t n = varint_bytes(size, length);
  out.insert(at, n - 1, '\0');
  std::memcpy(out.data() + at, length, n);
}

// A google.protobuf.Timestamp, present even at the epoch.
void put_timestamp(std::string& out, std::uint32_t number, std::int64_t seconds,
                   std::int32_t nanos) {
  put_message(out, number, [&] {
    put_int(out, field::kSeconds, seconds);
    put_int(out, field::kNanos, nanos);
  });
}

void put_location(std::string& out, std::int64_t evse_id, std::int64_t connector_id) {
  // Location's fields are int32: the 64-bit values narrow as normalize's setters narrow them.
  put_message(out, field::kLocation, [&] {
    put_int(out, field::kEvseId, static_cast<std::int32_t>(evse_id));
    put_int(out, field::kConnectorId, static_cast<std::int32_t>(connector_id));
  });
}

template <typename MeterValueList>
void put_samples(std::string& out, const MeterValueList& meter_values) {
  samples::for_each_sample(meter_values, [&out](const samples::SampleFields& f) {
    put_message(out, field::kSamples, [&] {
      put_timestamp(out, field::kTimestamp, f.timestamp.seconds, f.timestamp.nanos);
      put_string(out, field::kMeasurand, f.measurand);
      put_string(out, field::kPhase, f.phase);
      put_string(out, field::kContext, f.context);
      put_string(out, field::kSampleLocation, f.location);
      put_string(out, field::kUnit, f.unit);
      put_double(out, field::kValue, f.value);
      put_string(out, field::kRawValue, f.raw_value);
      put_double(out, field::kNormalizedValue, f.normalized_value);
      put_string(out, field::kNormalizedUnit, f.normalized_unit);
      put_bool(out, field::kSignedData, f.signed_data);
    });
  });
}

// 1.6: the connector in both places of the location, the transaction id as text.
void put_meter_values(std::string& out, const v16::MeterValuesRequest& request) {
  put_message(out, field::kMeterValues, [&] {
    put_location(out, request.connector_id, request.connector_id);
    if (request.transaction_id) {
      char text[24];
      const auto printed = std::to_chars(text, text + sizeof text, *request.transaction_id);
      put_string(out, field::kTransactionId,
                 std::string_view(text, static_cast<std::size_t>(printed.ptr - text)));
    }
    put_samples(out, request.meter_value);
  });
}

// 2.x: the EVSE, no connector and no transaction.
template <typename Request>
void put_meter_values(std::string& out, const Request& request) {
  put_message(out, field::kMeterValues, [&] {
    put_location(out, request.evse_id, 0);
    put_samples(out, request.meter_value);
  });
}

template <typename Request>
bool put_if(const ocpp::DecodedFrame& frame, std::string& out) {
  const Request* request = frame.as<Request>();
  if (request == nullptr) return false;
  put_meter_values(out, *request);
  return true;
}

}  // namespace

void append_envelope(const EventEnvelope& e, std::string& out) {
  put_string(out, field::kEventId, e.event_id);
  put_string(out, field::kChargerId, e.charger_id);
  put_string(out, field::kPodId, e.pod_id);
  put_timestamp(out, field::kReceivedAt, e.received_seconds, e.received_nanos);
  put_int(out, field::kProtocolVersion, e.protocol_version);
  put_string(out, field::kMessageId, e.message_id);
  put_string(out, field::kAction, e.action);
  put_string(out, field::kRawFrame, e.raw_frame);
}

bool append_meter_values(ocpp::Version version, const ocpp::DecodedFrame& frame, std::string& out) {
  if (frame.type != ocpp::MessageType::kCall && frame.type != ocpp::MessageType::kSend) {
    return false;
  }
  switch (version) {
    case ocpp::Version::k16:
      return put_if<v16::MeterValuesRequest>(frame, out);
    case ocpp::Version::k201:
      return put_if<v201::MeterValuesRequest>(frame, out);
    case ocpp::Version::k21:
      return put_if<v21::MeterValuesRequest>(frame, out);
  }
  return false;
}

void append_quirks(std::uint8_t quirks, std::string& out) {
  // A repeated string is written even when empty, unlike a singular one; no quirk name is.
  ocpp::for_each_quirk(
      quirks, [&out](ocpp::Quirk q) { put_string(out, field::kQuirks, ocpp::quirk_name(q)); });
}

}  // namespace switchyard::gateway
