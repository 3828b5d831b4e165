// The transaction folding rules: energy from register readings, late / repeated / out-of-order
// events, the CDR once the start and the end are known.
#include "transactions/session_fold.h"

#include <gtest/gtest.h>

#include <cmath>

#include "switchyard/v1/events.pb.h"

namespace switchyard::transactions {
namespace {

void set_ms(google::protobuf::Timestamp* ts, std::int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

v1::MeterSample* add_sample(google::protobuf::RepeatedPtrField<v1::MeterSample>* samples,
                            std::int64_t at_ms, double wh, std::string measurand = "",
                            std::string phase = "") {
  auto* s = samples->Add();
  set_ms(s->mutable_timestamp(), at_ms);
  s->set_measurand(std::move(measurand));
  s->set_phase(std::move(phase));
  s->set_value(wh);
  s->set_normalized_value(wh);
  s->set_normalized_unit("Wh");
  return s;
}

v1::TransactionEvent event(v1::TransactionEvent::Kind kind, std::int64_t at_ms) {
  v1::TransactionEvent e;
  e.set_kind(kind);
  e.set_transaction_id("42");
  set_ms(e.mutable_timestamp(), at_ms);
  return e;
}

const EventContext kContext{"CP-1", "1.6", 1'700'000'000'000};

TEST(RegisterReadings, TakesTheTotalOverPhasesAndSumsPhasesWithoutATotal) {
  google::protobuf::RepeatedPtrField<v1::MeterSample> samples;
  add_sample(&samples, 1000, 5000);  // total, default measurand
  add_sample(&samples, 1000, 1700, "Energy.Active.Import.Register", "L1");  // ignored: total given
  add_sample(&samples, 2000, 1000, "Energy.Active.Import.Register", "L1");
  add_sample(&samples, 2000, 1100, "Energy.Active.Import.Register", "L2");
  add_sample(&samples, 2000, 1200, "Energy.Active.Import.Register", "L3");
  add_sample(&samples, 3000, 7.5, "Power.Active.Import");  // not energy
  auto ev = add_sample(&samples, 4000, 9999, "Energy.Active.Import.Register");
  ev->set_location("EV");  // measured in the car: not the charger's register
  auto nan = add_sample(&samples, 5000, NAN);
  (void)nan;

  const auto readings = register_readings(samples, 0);
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(readings[0].at_ms, 1000);
  EXPECT_EQ(readings[0].wh, 5000);
  EXPECT_EQ(readings[1].at_ms, 2000);
  EXPECT_EQ(readings[1].wh, 3300);
}

TEST(RegisterReadings, SkipsValuesNotInWh) {
  google::protobuf::RepeatedPtrField<v1::MeterSample> samples;
  auto* s = add_sample(&samples, 1000, 12);
  s->set_normalized_unit("varh");
  EXPECT_TRUE(register_readings(samples, 0).empty());
}

TEST(Fold, Ocpp16SessionEnergyIsMeterStopMinusMeterStart) {
  auto start = event(v1::TransactionEvent::KIND_STARTED, 1'000'000);
  start.set_meter_wh(12'000);
  start.set_has_meter_wh(true);
  start.mutable_id_token()->set_id("TOKEN-1");
  start.mutable_location()->set_evse_id(1);
  start.mutable_location()->set_connector_id(1);
  auto folded = fold(std::nullopt, start, kContext);
  EXPECT_EQ(folded.change, Change::kStarted);
  EXPECT_FALSE(folded.row.start_missing);
  EXPECT_EQ(folded.row.state, "ACTIVE");
  EXPECT_EQ(folded.row.id_token, "TOKEN-1");

  v1::MeterValues mv;
  mv.set_transaction_id("42");
  add_sample(mv.mutable_samples(), 1'600'000, 15'000);
  folded = fold(folded.row, mv, kContext);
  EXPECT_EQ(folded.row.registers.energy_wh(), 3000);

  auto stop = event(v1::TransactionEvent::KIND_ENDED, 4'600'000);
  stop.set_meter_wh(22'500);
  stop.set_has_meter_wh(true);
  folded = fold(folded.row, stop, kContext);
  EXPECT_EQ(folded.change, Change::kEnded);
  EXPECT_EQ(folded.row.state, "ENDED");
  EXPECT_EQ(folded.row.stopped_reason, "Local");  // omitted reason means Local
  EXPECT_EQ(folded.row.registers.energy_wh(), 10'500);
  EXPECT_TRUE(cdr_due(folded.row));
}

TEST(Fold, ReadingsArrivingLateAndOutOfOrderGiveTheSameEnergy) {
  auto start = event(v1::TransactionEvent::KIND_STARTED, 1000);
  start.set_meter_wh(100);
  start.set_has_meter_wh(true);
  auto stop = event(v1::TransactionEvent::KIND_ENDED, 9000);
  stop.set_meter_wh(900);
  stop.set_has_meter_wh(true);
  v1::MeterValues mv;
  mv.set_transaction_id("42");
  add_sample(mv.mutable_samples(), 5000, 500);

  // In order.
  auto a = fold(std::nullopt, start, kContext).row;
  a = fold(a, mv, kContext).row;
  a = fold(a, stop, kContext).row;
  // Stop first, then the meter value, then the start (an offline charger's queue gone wrong).
  auto b = fold(std::nullopt, stop, kContext).row;
  EXPECT_TRUE(b.start_missing);
  EXPECT_FALSE(cdr_due(b));  // no CDR without a start
  b = fold(b, mv, kContext).row;
  b = fold(b, start, kContext).row;
  EXPECT_FALSE(b.start_missing);
  EXPECT_EQ(b.state, "ENDED");  // a late start does not reopen the transaction
  EXPECT_EQ(a.registers.energy_wh(), 800);
  EXPECT_EQ(b.registers.energy_wh(), 800);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.ended_at, b.ended_at);
  EXPECT_TRUE(cdr_due(b));
}

TEST(Fold, TheSameEventTwiceChangesNothingMore) {
  auto start = event(v1::TransactionEvent::KIND_STARTED, 1000);
  start.set_meter_wh(100);
  start.set_has_meter_wh(true);
  auto once = fold(std::nullopt, start, kContext).row;
  auto twice = fold(once, start, kContext).row;
  EXPECT_EQ(once.registers.energy_wh(), twice.registers.energy_wh());
  EXPECT_EQ(once.started_at, twice.started_at);
  EXPECT_EQ(once.updated_at, twice.updated_at);
}

TEST(Fold, Ocpp2xUpdatesCarryTheTokenSeqNoAndOfflineFlag) {
  EventContext v2 = kContext;
  v2.ocpp_version = "2.0.1";
  auto started = event(v1::TransactionEvent::KIND_STARTED, 1000);
  started.set_transaction_id("tx-abc");
  started.set_seq_no(0);
  add_sample(started.mutable_samples(), 1000, 2000);
  auto row = fold(std::nullopt, started, v2).row;
  EXPECT_TRUE(row.id_token.empty());

  auto updated = event(v1::TransactionEvent::KIND_UPDATED, 2000);
  updated.set_transaction_id("tx-abc");
  updated.set_seq_no(1);
  updated.set_offline(true);
  updated.mutable_id_token()->set_id("EMAID-1");
  updated.mutable_id_token()->set_type("eMAID");
  updated.mutable_decision()->set_group_id("FLEET");
  add_sample(updated.mutable_samples(), 2000, 2600);
  auto f = fold(row, updated, v2);
  EXPECT_EQ(f.change, Change::kUpdated);
  EXPECT_EQ(f.row.id_token, "EMAID-1");
  EXPECT_EQ(f.row.id_token_type, "eMAID");
  EXPECT_EQ(f.row.group_id, "FLEET");
  EXPECT_EQ(f.row.seq_no, 1);
  EXPECT_TRUE(f.row.offline);
  EXPECT_EQ(f.row.registers.energy_wh(), 600);

  auto ended = event(v1::TransactionEvent::KIND_ENDED, 3000);
  ended.set_transaction_id("tx-abc");
  ended.set_seq_no(2);
  ended.set_stopped_reason("EVDisconnected");
  add_sample(ended.mutable_samples(), 3000, 3100);
  f = fold(f.row, ended, v2);
  EXPECT_EQ(f.row.stopped_reason, "EVDisconnected");
  EXPECT_EQ(f.row.registers.energy_wh(), 1100);
  // An update that arrives after the end (seqNo 1 again, late) does not move seq_no back.
  f = fold(f.row, updated, v2);
  EXPECT_EQ(f.row.seq_no, 2);
  EXPECT_EQ(f.row.state, "ENDED");
}

TEST(Fold, AnEventAfterTheCdrIsFlagged) {
  auto row = fold(std::nullopt, event(v1::TransactionEvent::KIND_STARTED, 1000), kContext).row;
  row = fold(row, event(v1::TransactionEvent::KIND_ENDED, 2000), kContext).row;
  row.cdr_id = cdr_id_for(row.charger_id, row.transaction_id);
  EXPECT_FALSE(cdr_due(row));
  EXPECT_TRUE(fold(row, event(v1::TransactionEvent::KIND_UPDATED, 1500), kContext).late_after_cdr);
}

TEST(Cdr, IdIsStableAndFitsOcpi) {
  const auto id = cdr_id_for("CP-1", "42");
  EXPECT_EQ(id, cdr_id_for("CP-1", "42"));
  EXPECT_NE(id, cdr_id_for("CP-1", "43"));
  EXPECT_NE(id, cdr_id_for("CP-2", "42"));
  EXPECT_EQ(id.size(), 32u);
}

TEST(Cdr, PricedWithTheTariff) {
  TransactionRow row;
  row.charger_id = "CP-1";
  row.transaction_id = "42";
  row.state = "ENDED";
  row.start_missing = false;
  row.started_at = 0;
  row.ended_at = 3'600'000;  // one hour
  row.registers.fold(0, 1'000);
  row.registers.fold(3'600'000, 23'456);  // 22.456 kWh
  Tariff t;
  t.tariff_id = "T1";
  t.product_id = "AC3";
  t.currency = "EUR";
  t.energy_minor_per_mwh = 39'000;  // 0.39 EUR/kWh
  t.time_minor_per_hour = 120;      // 1.20 EUR/h
  t.session_fee_minor = 50;
  t.vat_basis_points = 1900;
  const CdrRow cdr = make_cdr(row, t, 99);
  EXPECT_EQ(cdr.energy_wh, 22'456);
  EXPECT_EQ(cdr.duration_s, 3600);
  EXPECT_EQ(cdr.product_id, "AC3");
  EXPECT_EQ(cdr.price.energy_minor, 876);  // 22.456 * 39 = 875.78 -> 876
  EXPECT_EQ(cdr.price.time_minor, 120);
  EXPECT_EQ(cdr.price.session_fee_minor, 50);
  EXPECT_EQ(cdr.price.total_excl_vat_minor, 1046);
  EXPECT_EQ(cdr.price.vat_minor, 199);  // 198.74 -> 199
  EXPECT_EQ(cdr.price.total_incl_vat_minor, 1245);
  EXPECT_EQ(cdr.created_at, 99);
}

TEST(Cdr, WithoutATariffThePriceIsZero) {
  TransactionRow row;
  row.started_at = 0;
  row.ended_at = 1000;
  const CdrRow cdr = make_cdr(row, std::nullopt, 1);
  EXPECT_EQ(cdr.price.total_incl_vat_minor, 0);
  EXPECT_TRUE(cdr.tariff_id.empty());
}

TEST(Pricing, RoundsHalfUpWithoutOverflow) {
  EXPECT_EQ(mul_div_round(1, 1, 2), 1);
  EXPECT_EQ(mul_div_round(1, 1, 3), 0);
  EXPECT_EQ(mul_div_round(5, 1, 10), 1);
  // 9e15 Wh at 1e6 minor/MWh would overflow 64-bit intermediate products.
  EXPECT_EQ(mul_div_round(9'000'000'000'000'000, 1'000'000, 1'000'000), 9'000'000'000'000'000);
}

}  // namespace
}  // namespace switchyard::transactions
