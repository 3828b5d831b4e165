// The projector on a real SQLite database: a whole session into a transaction and a priced CDR,
// redelivered events, a stop without a start, the outbox contents and gauges, and Decide.
#include "transactions/projector.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <algorithm>

#include "support/temp_sqlite.h"
#include "switchyard/v1/events.pb.h"
#include "switchyard/v1/transactions.pb.h"
#include "transactions/decider.h"
#include "transactions/outbox.h"
#include "transactions/store.h"

namespace switchyard::transactions {
namespace {

void set_ms(google::protobuf::Timestamp* ts, std::int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

class ProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    Tariff t;
    t.tariff_id = "default";
    t.product_id = "AC1";
    t.currency = "EUR";
    t.energy_minor_per_mwh = 30'000;
    t.session_fee_minor = 100;
    t.vat_basis_points = 2000;
    ASSERT_TRUE(put_tariff(db_.db(), t));
    projector_ = std::make_unique<Projector>(db_.db(), hub_, ProjectorTopics{}, &metrics_);
  }
  void TearDown() override { projector_.reset(); }

  v1::ChargerEvent tx_event(const std::string& event_id, v1::TransactionEvent::Kind kind,
                            std::int64_t at_ms, std::optional<std::int64_t> meter_wh) {
    v1::ChargerEvent e;
    e.set_event_id(event_id);
    e.set_charger_id("CP-1");
    e.set_protocol_version(v1::OCPP_VERSION_1_6);
    set_ms(e.mutable_received_at(), at_ms + 5);
    auto* t = e.mutable_transaction_event();
    t->set_kind(kind);
    t->set_transaction_id("7");
    set_ms(t->mutable_timestamp(), at_ms);
    t->mutable_location()->set_evse_id(1);
    t->mutable_location()->set_connector_id(1);
    t->mutable_id_token()->set_id("TOKEN-A");
    if (meter_wh) {
      t->set_meter_wh(*meter_wh);
      t->set_has_meter_wh(true);
    }
    return e;
  }

  int count(const std::string& sql) {
    auto r = db_.db().exec(sql);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? static_cast<int>(r->int64(0, 0)) : -1;
  }

  testing::TempSqlite db_{"tx_projector", migrations()};
  TransactionHub hub_;
  prometheus::Registry metrics_;
  std::unique_ptr<Projector> projector_;
};

TEST_F(ProjectorTest, AWholeSessionMakesOneTransactionAndOnePricedCdr) {
  std::vector<std::string> changes;
  hub_.subscribe([&](const TransactionRow&, Change c) { changes.push_back(change_name(c)); });
  ASSERT_TRUE(
      projector_->apply(tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1'000'000, 10'000)));
  v1::ChargerEvent mv;
  mv.set_event_id("e2");
  mv.set_charger_id("CP-1");
  set_ms(mv.mutable_received_at(), 1'500'000);
  mv.mutable_meter_values()->set_transaction_id("7");
  auto* s = mv.mutable_meter_values()->add_samples();
  set_ms(s->mutable_timestamp(), 1'500'000);
  s->set_normalized_value(15'000);
  s->set_normalized_unit("Wh");
  ASSERT_TRUE(projector_->apply(mv));
  ASSERT_TRUE(
      projector_->apply(tx_event("e3", v1::TransactionEvent::KIND_ENDED, 2'000'000, 30'000)));

  auto row = get_transaction(db_.db(), "CP-1", "7");
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->state, "ENDED");
  EXPECT_EQ((*row)->registers.energy_wh(), 20'000);
  EXPECT_EQ((*row)->cdr_id, cdr_id_for("CP-1", "7"));
  auto cdr = get_cdr(db_.db(), (*row)->cdr_id);
  ASSERT_TRUE(cdr && *cdr);
  EXPECT_EQ((*cdr)->energy_wh, 20'000);
  EXPECT_EQ((*cdr)->product_id, "AC1");
  EXPECT_EQ((*cdr)->price.energy_minor, 600);  // 20 kWh at 0.30
  EXPECT_EQ((*cdr)->price.total_excl_vat_minor, 700);
  EXPECT_EQ((*cdr)->price.total_incl_vat_minor, 840);
  EXPECT_EQ(changes, (std::vector<std::string>{"started", "updated", "ended"}));
  // Three transaction updates and one CDR wait in the outbox.
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_outbox WHERE topic = 'csms.transactions.v1'"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_outbox WHERE topic = 'csms.cdrs.v1'"), 1);
  auto batch = outbox_batch(db_.db(), 10);
  ASSERT_TRUE(batch);
  const auto cdr_message =
      std::ranges::find(*batch, std::string("csms.cdrs.v1"), &OutboxMessage::topic);
  ASSERT_NE(cdr_message, batch->end());
  v1::Cdr published;
  ASSERT_TRUE(published.ParseFromString(cdr_message->payload));
  EXPECT_EQ(published.cdr_id(), (*row)->cdr_id);
  EXPECT_EQ(published.price().total_incl_vat_minor(), 840);
}

TEST_F(ProjectorTest, RedeliveredEventsChangeNothing) {
  const auto start = tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1000, 100);
  const auto stop = tx_event("e2", v1::TransactionEvent::KIND_ENDED, 5000, 600);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(projector_->apply(start));
    ASSERT_TRUE(projector_->apply(stop));
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_transactions"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_cdrs"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_outbox"), 3);  // started, ended, the CDR
  auto row = get_transaction(db_.db(), "CP-1", "7");
  EXPECT_EQ((*row)->registers.energy_wh(), 500);
}

TEST_F(ProjectorTest, AStopForAnUnknownTransactionIsRecordedAndItsCdrWaitsForTheStart) {
  ASSERT_TRUE(projector_->apply(tx_event("e2", v1::TransactionEvent::KIND_ENDED, 5000, 600)));
  auto row = get_transaction(db_.db(), "CP-1", "7");
  ASSERT_TRUE(row && *row);
  EXPECT_TRUE((*row)->start_missing);
  EXPECT_EQ((*row)->state, "ENDED");
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_cdrs"), 0);
  // The start arrives late (an offline charger's queue): now the CDR is made.
  ASSERT_TRUE(projector_->apply(tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1000, 100)));
  row = get_transaction(db_.db(), "CP-1", "7");
  EXPECT_FALSE((*row)->start_missing);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_cdrs"), 1);
  EXPECT_EQ((*row)->registers.energy_wh(), 500);
}

TEST_F(ProjectorTest, GarbageOnTheTopicIsSkippedNotRetriedForever) {
  const std::string garbage = "\xff\xff\xff not a protobuf";
  EXPECT_TRUE(projector_->handle(bus::Event{"ocpp.events.v1", "CP-1", garbage, 0, 1}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM tx_transactions"), 0);
}

TEST_F(ProjectorTest, DecideAllocatesUniqueIdsAndRefusesConcurrentUse) {
  int asked = 0;
  Decider decider(
      db_.db(),
      [&](const v1::AuthorizeRequest& r) -> Result<v1::AuthorizeResponse> {
        ++asked;
        v1::AuthorizeResponse out;
        out.mutable_decision()->set_status(r.id_token().id() == "BLOCKED" ? "Blocked" : "Accepted");
        out.set_refuse_concurrent(true);
        return out;
      },
      nullptr);
  v1::DecideRequest request;
  request.set_charger_id("CP-1");
  request.set_ocpp_version(v1::OCPP_VERSION_1_6);
  request.mutable_event()->set_kind(v1::TransactionEvent::KIND_STARTED);
  request.mutable_event()->mutable_id_token()->set_id("TOKEN-A");
  auto first = decider.decide(request);
  auto second = decider.decide(request);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->transaction_id(), second->transaction_id());
  EXPECT_EQ(first->decision().status(), "Accepted");
  EXPECT_EQ(asked, 2);

  // TOKEN-A now runs transaction 7: a second start with it is ConcurrentTx.
  ASSERT_TRUE(projector_->apply(tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1000, 100)));
  auto third = decider.decide(request);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->decision().status(), "ConcurrentTx");
  // ...but its own transaction's stop is not.
  v1::DecideRequest stop = request;
  stop.mutable_event()->set_kind(v1::TransactionEvent::KIND_ENDED);
  stop.mutable_event()->set_transaction_id("7");
  EXPECT_EQ(decider.decide(stop)->decision().status(), "Accepted");

  request.mutable_event()->mutable_id_token()->set_id("BLOCKED");
  EXPECT_EQ(decider.decide(request)->decision().status(), "Blocked");

  v1::DecideRequest empty;
  auto refused = decider.decide(empty);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ProjectorTest, ReplayedStartsMoveTheIdCounterPastTheIdsTheyUse) {
  // A database rebuilt from the topic has seen 1.6 transaction 7 start: the next id is 8.
  ASSERT_TRUE(projector_->apply(tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1000, 100)));
  EXPECT_EQ(count("SELECT next_value FROM tx_id_counters WHERE name = 'ocpp16'"), 7);
  auto next = allocate_transaction_id(db_.db());
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 8);
  // An older start replayed later never moves it back.
  auto older = tx_event("e2", v1::TransactionEvent::KIND_STARTED, 500, 50);
  older.mutable_transaction_event()->set_transaction_id("3");
  ASSERT_TRUE(projector_->apply(older));
  EXPECT_EQ(count("SELECT next_value FROM tx_id_counters WHERE name = 'ocpp16'"), 8);
}

TEST_F(ProjectorTest, DecideFailsWhenAuthorizationIsUnreachable) {
  Decider decider(
      db_.db(),
      [](const v1::AuthorizeRequest&) -> Result<v1::AuthorizeResponse> {
        return make_error(ErrorCode::kUnavailable, "connection refused");
      },
      nullptr);
  v1::DecideRequest request;
  request.set_charger_id("CP-1");
  request.set_ocpp_version(v1::OCPP_VERSION_2_0_1);
  request.mutable_event()->set_kind(v1::TransactionEvent::KIND_STARTED);
  request.mutable_event()->set_transaction_id("tx-1");
  request.mutable_event()->mutable_id_token()->set_id("TOKEN-A");
  auto d = decider.decide(request);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
}

// A publisher whose every publish succeeds or fails at once, as the test says.
class FakePublisher : public bus::EventPublisher {
 public:
  bool up = false;
  void publish(std::string_view, std::string_view, std::string_view,
               bus::PublishCallback done) override {
    done(up ? Result<void>() : make_error(ErrorCode::kUnavailable, "broker down"));
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  std::size_t in_flight() const override { return 0; }
};

// What the sessions dashboard and the outbox alert read: active sessions, energy delivered, and
// the length and age of the outbox while the bus is down and after it is back.
TEST_F(ProjectorTest, StoreGaugesShowActiveSessionsEnergyAndTheOutboxAge) {
  auto value = [this](const std::string& name) {
    double v = -1;
    for (const auto& family : metrics_.Collect()) {
      if (family.name != name) continue;
      v = 0;
      for (const auto& m : family.metric) v += m.counter.value + m.gauge.value;
    }
    return v;
  };
  FakePublisher bus;
  Outbox outbox(db_.db(), bus, {}, &metrics_);
  ASSERT_TRUE(
      projector_->apply(tx_event("e1", v1::TransactionEvent::KIND_STARTED, 1'000'000, 10'000)));
  // Committed a minute ago and not delivered since: the bus is down.
  ASSERT_TRUE(db_.db().exec("UPDATE tx_outbox SET created_at = created_at - 60000"));
  EXPECT_FALSE(outbox.publish_pending());
  outbox.refresh_gauges();
  EXPECT_EQ(value("switchyard_transactions_active_sessions"), 1);
  EXPECT_EQ(value("switchyard_transactions_outbox_pending"), 1);
  EXPECT_GE(value("switchyard_transactions_outbox_oldest_age_seconds"), 60);
  EXPECT_LT(value("switchyard_transactions_outbox_oldest_age_seconds"), 120);
  EXPECT_EQ(value("switchyard_transactions_energy_wh_total"), 0);

  ASSERT_TRUE(
      projector_->apply(tx_event("e2", v1::TransactionEvent::KIND_ENDED, 2'000'000, 32'500)));
  bus.up = true;
  ASSERT_TRUE(outbox.publish_pending());
  outbox.refresh_gauges();
  EXPECT_EQ(value("switchyard_transactions_active_sessions"), 0);
  EXPECT_EQ(value("switchyard_transactions_outbox_pending"), 0);
  EXPECT_EQ(value("switchyard_transactions_outbox_oldest_age_seconds"), 0);
  EXPECT_EQ(value("switchyard_transactions_energy_wh_total"), 22'500);
  EXPECT_EQ(value("switchyard_transactions_outbox_published_total"), 3);
  EXPECT_EQ(value("switchyard_transactions_outbox_failures_total"), 1);
}

}  // namespace
}  // namespace switchyard::transactions
