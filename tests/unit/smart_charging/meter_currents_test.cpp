// peek_meter_values() reads the bytes of a v1::MeterValues as protobuf would parse them: random
// messages, merged occurrences, unknown fields and fields of an unexpected wire type all give
// what the full parse and phase_currents() give; what is not well-formed gives nullopt.
#include "smart_charging/meter_currents.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "switchyard/v1/events.pb.h"

namespace switchyard::smart_charging {
namespace {

// What the consumer took from a parsed message before the peek.
struct Parsed {
  std::int32_t evse_id = 0;
  std::string transaction_id;
  std::optional<PhaseCurrents> currents;
};

std::optional<Parsed> parse(const std::string& bytes) {
  v1::MeterValues mv;
  if (!mv.ParseFromString(bytes)) return std::nullopt;
  return Parsed{mv.location().evse_id(), mv.transaction_id(), phase_currents(mv.samples())};
}

void expect_same(const std::string& bytes, const std::string& what) {
  const auto parsed = parse(bytes);
  const auto peeked = peek_meter_values(bytes);
  ASSERT_EQ(parsed.has_value(), peeked.has_value()) << what;
  if (!parsed) return;
  EXPECT_EQ(parsed->evse_id, peeked->evse_id) << what;
  EXPECT_EQ(parsed->transaction_id, peeked->transaction_id) << what;
  EXPECT_EQ(parsed->currents, peeked->currents) << what;
}

v1::MeterValues random_meter_values(std::mt19937& rng) {
  const std::vector<std::string> measurands = {"Current.Import", "Current.Import",
                                               "Power.Active.Import", "Current.Export", ""};
  const std::vector<std::string> phases = {"L1",   "L2", "L3",    "L1-N", "L2-N",
                                           "L3-N", "N",  "L1-L2", ""};
  const std::vector<std::string> units = {"A", "A", "W", "mA", ""};
  const std::vector<double> values = {0.0,  6.5,  16.0,
                                      31.9, -2.0, std::numeric_limits<double>::quiet_NaN()};
  auto pick = [&](const auto& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  v1::MeterValues mv;
  const int evse = std::uniform_int_distribution<int>(-1, 3)(rng);
  if (evse != 0) mv.mutable_location()->set_evse_id(evse);
  if (rng() % 2) mv.mutable_location()->set_connector_id(1);
  if (rng() % 2) mv.set_transaction_id(std::to_string(rng() % 1000));
  const int samples = std::uniform_int_distribution<int>(0, 8)(rng);
  for (int i = 0; i < samples; ++i) {
    auto* s = mv.add_samples();
    s->set_measurand(pick(measurands));
    s->set_phase(pick(phases));
    s->set_normalized_unit(pick(units));
    s->set_unit(s->normalized_unit());
    s->set_normalized_value(pick(values));
    s->set_value(s->normalized_value());
    s->set_context("Sample.Periodic");
    s->mutable_timestamp()->set_seconds(1700000000 + i);
    if (rng() % 4 == 0) s->set_raw_value("12.5");
  }
  return mv;
}

TEST(PeekMeterValues, GivesWhatTheParseGivesForRandomMessages) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 5000; ++i) {
    const std::string bytes = random_meter_values(rng).SerializeAsString();
    expect_same(bytes, "message " + std::to_string(i));
    if (HasFailure()) return;
  }
}

TEST(PeekMeterValues, ConcatenatedMessagesMergeAsTheParseMergesThem) {
  // Serialized messages one after the other parse as one merged message: the location merges
  // (a later occurrence without evse_id keeps the earlier id), samples add up, the later
  // transaction id wins.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const std::string bytes =
        random_meter_values(rng).SerializeAsString() + random_meter_values(rng).SerializeAsString();
    expect_same(bytes, "pair " + std::to_string(i));
    if (HasFailure()) return;
  }
  v1::MeterValues first;
  first.mutable_location()->set_evse_id(2);
  v1::MeterValues second;
  second.mutable_location()->set_connector_id(1);
  const auto peeked = peek_meter_values(first.SerializeAsString() + second.SerializeAsString());
  ASSERT_TRUE(peeked);
  EXPECT_EQ(peeked->evse_id, 2);
}

TEST(PeekMeterValues, SkipsUnknownFieldsAndKnownNumbersOfAnotherWireTypeLikeTheParse) {
  v1::MeterSample sample;
  sample.set_measurand("Current.Import");
  sample.set_phase("L2");
  sample.set_normalized_unit("A");
  sample.set_normalized_value(7.0);
  std::string sample_bytes = sample.SerializeAsString();
  // normalized_value (9) as a varint and an unknown field 99 (fixed32): both unknown to the parse.
  sample_bytes += std::string("\x48\x05", 2);
  sample_bytes += std::string("\x9d\x06\x01\x02\x03\x04", 6);
  v1::MeterValues mv;
  mv.mutable_location()->set_evse_id(1);
  std::string bytes = mv.SerializeAsString();
  bytes += '\x1a';  // samples (3), length-delimited
  bytes += static_cast<char>(sample_bytes.size());
  bytes += sample_bytes;
  bytes += std::string("\x10\x05", 2);  // transaction_id (2) as a varint: unknown to the parse
  expect_same(bytes, "unknown fields");
  const auto peeked = peek_meter_values(bytes);
  ASSERT_TRUE(peeked);
  ASSERT_TRUE(peeked->currents);
  EXPECT_EQ((*peeked->currents)[1], 7.0);
  EXPECT_EQ(peeked->transaction_id, "");
}

TEST(PeekMeterValues, WhatIsNotWellFormedIsLeftToTheParse) {
  v1::MeterValues mv;
  mv.mutable_location()->set_evse_id(1);
  mv.set_transaction_id("42");
  auto* s = mv.add_samples();
  s->set_measurand("Current.Import");
  s->set_phase("L1");
  s->set_normalized_unit("A");
  s->set_normalized_value(10.0);
  const std::string bytes = mv.SerializeAsString();
  // Every cut inside the message: a field's value ends early, or a nested message does.
  for (std::size_t n = 1; n < bytes.size(); ++n) {
    const std::string cut = bytes.substr(0, n);
    expect_same(cut, "cut at " + std::to_string(n));
  }
  EXPECT_FALSE(peek_meter_values(std::string("\x00\x01", 2)));  // field number 0
  EXPECT_FALSE(peek_meter_values(std::string("\x0b", 1)));      // a group: not proto3
  // A string that is not UTF-8, in a field the peek reads or not, in an earlier occurrence of
  // the transaction id, or a timestamp that is not well-formed: the parse refuses the message,
  // the peek leaves it to it.
  auto refused_by_both = [](const std::string& message, const std::string& what) {
    EXPECT_FALSE(parse(message)) << what;
    EXPECT_FALSE(peek_meter_values(message)) << what;
  };
  v1::MeterValues bad;
  bad.set_transaction_id("ok");
  std::string bad_bytes = bad.SerializeAsString();
  bad_bytes[bad_bytes.size() - 1] = '\xff';
  refused_by_both(bad_bytes, "transaction id");
  refused_by_both(bad_bytes + bytes, "an earlier transaction id");
  for (const int field : {2, 3, 4, 5, 6, 8, 10}) {
    v1::MeterSample sample;
    sample.set_measurand("Current.Import");
    sample.set_phase("L1");
    sample.set_normalized_unit("A");
    sample.set_normalized_value(10.0);
    std::string sample_bytes = sample.SerializeAsString();
    sample_bytes += static_cast<char>(field << 3 | 2);
    sample_bytes += std::string("\x02\xc3\x28", 3);  // a lead byte without its continuation
    std::string mv_bytes = bytes;
    mv_bytes += '\x1a';
    mv_bytes += static_cast<char>(sample_bytes.size());
    mv_bytes += sample_bytes;
    refused_by_both(mv_bytes, "string field " + std::to_string(field));
  }
  std::string sample_bytes = std::string("\x0a\x02\x08", 3);  // timestamp: seconds cut short
  sample_bytes += '\x80';
  std::string mv_bytes = bytes + '\x1a' + static_cast<char>(sample_bytes.size()) + sample_bytes;
  refused_by_both(mv_bytes, "timestamp");
  // Tags past 32 bits: the parse refuses them.
  refused_by_both(std::string("\x80\x80\x80\x80\x10\x00", 6), "a 64-bit tag");
}

}  // namespace
}  // namespace switchyard::smart_charging
