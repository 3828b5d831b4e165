// Protocol micro-benchmarks. Each case runs twice on the same bytes: a bare Boost.JSON DOM parse
// (parser reused, monotonic arena: the fastest DOM parse) and Switchyard's decode (frame parse +
// schema validation + typed struct), so the ratio Typed / BareParse is measured in one run.
// Serialization pairs compare boost::json's serializer with the Encoder. The MeterValues event
// pair compares the gateway's two ways to its published event: the ChargerEvent message built
// (arena, normalize_inbound) and serialized, against the same bytes written directly
// (event_wire.h). DateTimeText: a time point's text, snprintf (as before) against DateTime's own.
//   build/bin/ocpp_bench --benchmark_format=json | tests/bench/ocpp_ratios.py
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serializer.hpp>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"
#include "common/runtime/bus/arena_message.h"
#include "gateway/event_wire.h"
#include "gateway/normalize.h"
#include "switchyard/v1/events.pb.h"

namespace {

using namespace switchyard::ocpp;

// 451 bytes: a 1.6 MeterValues CALL with three sampled values, as chargers send every minute.
constexpr std::string_view kMeterValues16 =
    R"([2,"19223201","MeterValues",{"connectorId":1,"transactionId":1234567,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"12345.678","context":"Sample.Periodic","format":"Raw","measurand":"Energy.Active.Import.Register","unit":"kWh"},{"value":"7400.5","context":"Sample.Periodic","measurand":"Power.Active.Import","unit":"W"},{"value":"32.1","context":"Sample.Periodic","measurand":"Current.Import","phase":"L1","unit":"A"}]}]}])";

constexpr std::string_view kBootNotification16 =
    R"([2,"b-1","BootNotification",{"chargePointVendor":"Alfen BV","chargePointModel":"NG920-61005","chargePointSerialNumber":"ACE0123456","chargeBoxSerialNumber":"ACE0123456","firmwareVersion":"6.1.2-4218","iccid":"8931080019052345678","imsi":"204080901234567","meterType":"Inepro PRO380","meterSerialNumber":"1812345678"}])";

constexpr std::string_view kTransactionEvent201 =
    R"([2,"te-77","TransactionEvent",{"eventType":"Updated","timestamp":"2026-12-01T10:00:00.000Z","triggerReason":"MeterValuePeriodic","seqNo":12,"transactionInfo":{"transactionId":"f3c1a2b4-5d6e-4f70-8192-a3b4c5d6e7f8","chargingState":"Charging"},"evse":{"id":1,"connectorId":1},"meterValue":[{"timestamp":"2026-12-01T10:00:00.000Z","sampledValue":[{"value":12345.678,"context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"kWh"}},{"value":7400.5,"context":"Sample.Periodic","measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W"}},{"value":32.1,"context":"Sample.Periodic","measurand":"Current.Import","phase":"L1"}]}]}])";

void bare_parse(benchmark::State& state, std::string_view text) {
  unsigned char buffer[16384];
  boost::json::parser parser;
  for (auto _ : state) {
    boost::json::monotonic_resource arena(buffer, sizeof buffer);
    parser.reset(&arena);
    parser.write(text.data(), text.size());
    boost::json::value v = parser.release();
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void typed(benchmark::State& state, Version version, std::string_view text) {
  Decoder decoder;
  for (auto _ : state) {
    auto frame = decoder.decode(version, Role::kCsms, text);
    if (!frame) state.SkipWithError(frame.error().description.c_str());
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void bare_serialize(benchmark::State& state, std::string_view text) {
  const boost::json::value value =
      boost::json::parse(boost::json::string_view(text.data(), text.size()));
  boost::json::serializer serializer;
  char out[16384];
  for (auto _ : state) {
    serializer.reset(&value);
    boost::json::string_view written = serializer.read(out, sizeof out);
    benchmark::DoNotOptimize(written);
  }
}

void typed_serialize(benchmark::State& state, Version version, std::string_view text) {
  Decoder decoder;
  auto frame = decoder.decode(version, Role::kCsms, text);
  if (!frame) {
    state.SkipWithError(frame.error().description.c_str());
    return;
  }
  Encoder encoder;
  for (auto _ : state) {
    std::string_view written =
        encoder.call(frame->message_id, frame->action, *frame->payload_type, frame->payload);
    benchmark::DoNotOptimize(written);
  }
}

// The envelope both event cases write around the payload.
constexpr std::string_view kEventId = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
constexpr std::string_view kChargerId = "CP-000042";
constexpr std::string_view kPodId = "gateway-7f9c-2";

void event_message(benchmark::State& state, Version version, std::string_view text) {
  Decoder decoder;
  auto frame = decoder.decode(version, Role::kCsms, text);
  if (!frame) return state.SkipWithError(frame.error().description.c_str());
  switchyard::bus::ArenaMessage<switchyard::v1::ChargerEvent, 4096> event;
  std::string bytes;
  for (auto _ : state) {
    event.reset();
    switchyard::v1::ChargerEvent& e = *event;
    e.set_event_id(std::string(kEventId));
    e.set_charger_id(std::string(kChargerId));
    e.set_pod_id(std::string(kPodId));
    e.mutable_received_at()->set_seconds(1764583200);
    e.mutable_received_at()->set_nanos(123456789);
    e.set_protocol_version(switchyard::v1::OCPP_VERSION_1_6);
    e.set_message_id(std::string(frame->message_id));
    e.set_action(std::string(frame->action));
    e.set_raw_frame(std::string(text));
    switchyard::gateway::normalize_inbound(version, *frame, e);
    e.SerializeToString(&bytes);
    benchmark::DoNotOptimize(bytes);
  }
}

void event_direct(benchmark::State& state, Version version, std::string_view text) {
  Decoder decoder;
  auto frame = decoder.decode(version, Role::kCsms, text);
  if (!frame) return state.SkipWithError(frame.error().description.c_str());
  std::string bytes;
  for (auto _ : state) {
    bytes.clear();
    switchyard::gateway::EventEnvelope envelope;
    envelope.event_id = kEventId;
    envelope.charger_id = kChargerId;
    envelope.pod_id = kPodId;
    envelope.received_seconds = 1764583200;
    envelope.received_nanos = 123456789;
    envelope.protocol_version = switchyard::v1::OCPP_VERSION_1_6;
    envelope.message_id = frame->message_id;
    envelope.action = frame->action;
    envelope.raw_frame = text;
    switchyard::gateway::append_envelope(envelope, bytes);
    switchyard::gateway::append_meter_values(version, *frame, bytes);
    switchyard::gateway::append_quirks(frame->quirks, bytes);
    benchmark::DoNotOptimize(bytes);
  }
}

// SWITCHYARD_BENCH_ITERATIONS=N runs every benchmark exactly N times: with valgrind
// --tool=callgrind that gives exact instructions per iteration, whatever else the machine runs.
benchmark::internal::Benchmark* fixed(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("SWITCHYARD_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
  return b;
}

#define SWITCHYARD_CASE(Case, version, text)                                                  \
  void BM_##Case##_BareParse(benchmark::State& s) { bare_parse(s, text); }                    \
  void BM_##Case##_Typed(benchmark::State& s) { typed(s, version, text); }                    \
  void BM_##Case##_BareSerialize(benchmark::State& s) { bare_serialize(s, text); }            \
  void BM_##Case##_TypedSerialize(benchmark::State& s) { typed_serialize(s, version, text); } \
  BENCHMARK(BM_##Case##_BareParse)->Apply([](auto* b) { fixed(b); });                         \
  BENCHMARK(BM_##Case##_Typed)->Apply([](auto* b) { fixed(b); });                             \
  BENCHMARK(BM_##Case##_BareSerialize)->Apply([](auto* b) { fixed(b); });                     \
  BENCHMARK(BM_##Case##_TypedSerialize)->Apply([](auto* b) { fixed(b); })

SWITCHYARD_CASE(MeterValues16, Version::k16, kMeterValues16);
SWITCHYARD_CASE(BootNotification16, Version::k16, kBootNotification16);
SWITCHYARD_CASE(TransactionEvent201, Version::k201, kTransactionEvent201);

void BM_MeterValues16_EventMessage(benchmark::State& s) {
  event_message(s, Version::k16, kMeterValues16);
}
void BM_MeterValues16_EventDirect(benchmark::State& s) {
  event_direct(s, Version::k16, kMeterValues16);
}
BENCHMARK(BM_MeterValues16_EventMessage)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_MeterValues16_EventDirect)->Apply([](auto* b) { fixed(b); });

// A Heartbeat's currentTime (and every time the gateway writes): the text of a time point.
// Baseline: the snprintf the DateTime constructor used before, on the same fields.
void BM_DateTimeText_Printf(benchmark::State& state) {
  std::int64_t ms = 1764583200123;
  char text[40];
  for (auto _ : state) {
    const std::int64_t rem = ms % 86'400'000;
    const int n =
        std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", 2025, 12u, 1u,
                      static_cast<int>(rem / 3'600'000), static_cast<int>(rem / 60'000 % 60),
                      static_cast<int>(rem / 1000 % 60), static_cast<int>(rem % 1000));
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(text);
    ++ms;
  }
}
void BM_DateTimeText_Direct(benchmark::State& state) {
  std::int64_t ms = 1764583200123;
  for (auto _ : state) {
    const DateTime t{DateTime::TimePoint(std::chrono::milliseconds(ms))};
    benchmark::DoNotOptimize(t);
    ++ms;
  }
}
BENCHMARK(BM_DateTimeText_Printf)->Apply([](auto* b) { fixed(b); });
BENCHMARK(BM_DateTimeText_Direct)->Apply([](auto* b) { fixed(b); });

}  // namespace

BENCHMARK_MAIN();
