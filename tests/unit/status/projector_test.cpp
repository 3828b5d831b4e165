// The status projector on a real SQLite database: every 1.6 error code in the history and the
// metric, online / offline by ownership epoch, boot info, configuration, idempotency, and the
// consumer's path: a poll's events written in one transaction at its flush.
#include "status/projector.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "support/temp_sqlite.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::status {
namespace {

void set_ms(google::protobuf::Timestamp* ts, std::int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

// Every ChargePointErrorCode of OCPP 1.6 other than NoError.
const char* const kErrorCodes16[] = {
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure",      "HighTemperature",
    "InternalError",        "LocalListConflict",    "OtherError",         "OverCurrentFailure",
    "OverVoltage",          "PowerMeterFailure",    "PowerSwitchFailure", "ReaderFailure",
    "ResetFailure",         "UnderVoltage",         "WeakSignal"};

// The real database, whose transactions fail while `down` is set (a database that went away
// between a poll and its flush).
class FlakyDatabase : public sql::Database {
 public:
  explicit FlakyDatabase(sql::Database& real) : real_(real) {}
  sql::Dialect dialect() const override { return real_.dialect(); }
  Result<void> transaction(const std::function<Result<void>(sql::Transaction&)>& body) override {
    ++transactions;
    if (down) return make_error(ErrorCode::kUnavailable, "the database went away");
    return real_.transaction(body);
  }
  Result<sql::Rows> exec(std::string_view sql, std::span<const sql::Param> params) override {
    return real_.exec(sql, params);
  }
  bool down = false;
  int transactions = 0;

 private:
  sql::Database& real_;
};

class StatusProjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    projector_ = std::make_unique<StatusProjector>(db_.db(), &metrics_);
  }
  void TearDown() override { projector_.reset(); }

  v1::ChargerEvent event(const std::string& id, std::int64_t at_ms) {
    v1::ChargerEvent e;
    e.set_event_id(id);
    e.set_charger_id("CP-1");
    e.set_pod_id("pod-a");
    e.set_protocol_version(v1::OCPP_VERSION_1_6);
    set_ms(e.mutable_received_at(), at_ms);
    return e;
  }

  std::string metrics_text() { return prometheus::TextSerializer().Serialize(metrics_.Collect()); }

  // `e` as the consumer hands it over.
  static Result<void> handle(StatusProjector& projector, const v1::ChargerEvent& e) {
    const std::string value = e.SerializeAsString();
    return projector.handle(bus::Event{"ocpp.events.v1", e.charger_id(), value, 0, 0});
  }

  testing::TempSqlite db_{"status_projector", migrations()};
  prometheus::Registry metrics_;
  std::unique_ptr<StatusProjector> projector_;
};

TEST_F(StatusProjectorTest, EveryErrorCodeShowsInHistoryCountsAndTheMetric) {
  int n = 0;
  for (const char* code : kErrorCodes16) {
    auto e = event("err-" + std::to_string(n), 1000 + n);
    auto* s = e.mutable_status_notification();
    s->mutable_location()->set_evse_id(1);
    s->mutable_location()->set_connector_id(1);
    s->set_status("Faulted");
    s->set_error_code(code);
    s->set_info("detail " + std::to_string(n));
    s->set_vendor_id("com.vendor");
    s->set_vendor_error_code("V-" + std::to_string(n % 3));
    ASSERT_TRUE(projector_->apply(e));
    ++n;
  }
  auto ok = event("ok", 5000);
  ok.mutable_status_notification()->set_status("Available");
  ok.mutable_status_notification()->set_error_code("NoError");
  ok.mutable_status_notification()->mutable_location()->set_connector_id(1);
  ok.mutable_status_notification()->mutable_location()->set_evse_id(1);
  ASSERT_TRUE(projector_->apply(ok));

  HistoryFilter all;
  all.charger_id = "CP-1";
  auto history = status_history(db_.db(), all);
  ASSERT_TRUE(history);
  EXPECT_EQ(history->size(), std::size(kErrorCodes16) + 1);
  HistoryFilter errors = all;
  errors.errors_only = true;
  EXPECT_EQ(status_history(db_.db(), errors)->size(), std::size(kErrorCodes16));
  HistoryFilter ground = all;
  ground.error_code = "GroundFailure";
  auto g = status_history(db_.db(), ground);
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ((*g)[0].state.vendor_id, "com.vendor");
  EXPECT_EQ((*g)[0].state.info, "detail 2");

  auto counts = count_errors(db_.db(), "CP-1", std::nullopt);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->by_error_code.size(), std::size(kErrorCodes16));
  ASSERT_EQ(counts->by_vendor_error_code.size(), 3u);
  EXPECT_EQ(counts->by_vendor_error_code[0].vendor_error_code, "V-0");
  EXPECT_EQ(counts->by_vendor_error_code[0].count, 5);

  const std::string text = metrics_text();
  for (const char* code : kErrorCodes16) {
    EXPECT_NE(
        text.find(std::string("switchyard_connector_errors_total{error_code=\"") + code + "\"} 1"),
        std::string::npos)
        << code;
  }
  EXPECT_EQ(text.find("error_code=\"NoError\""), std::string::npos);

  // The connector's current state is the latest one.
  auto charger = get_charger(db_.db(), "CP-1");
  ASSERT_TRUE(charger && *charger);
  ASSERT_EQ((*charger)->connectors.size(), 1u);
  EXPECT_EQ((*charger)->connectors[0].status, "Available");
}

TEST_F(StatusProjectorTest, ReplayingEventsChangesNothing) {
  auto e = event("err", 1000);
  e.mutable_status_notification()->set_status("Faulted");
  e.mutable_status_notification()->set_error_code("GroundFailure");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(projector_->apply(e));
  EXPECT_EQ(status_history(db_.db(), {})->size(), 1u);
  EXPECT_NE(
      metrics_text().find("switchyard_connector_errors_total{error_code=\"GroundFailure\"} 1"),
      std::string::npos);
}

TEST_F(StatusProjectorTest, EventsThatOnlyMoveLastSeenAreWrittenOncePerFlush) {
  auto boot = event("boot", 1000);
  boot.mutable_boot_notification()->set_vendor("Acme");
  ASSERT_TRUE(projector_->apply(boot));
  for (int i = 0; i < 50; ++i) {
    auto e = event("mv-" + std::to_string(i), 2000 + i);
    if (i % 2 == 0) {
      e.mutable_meter_values();
    } else {
      e.mutable_heartbeat();
    }
    ASSERT_TRUE(projector_->apply(e));
  }
  // An older event delivered late (a redelivery) moves nothing back, not even the version.
  auto late = event("late", 1500);
  late.set_protocol_version(v1::OCPP_VERSION_2_0_1);
  late.mutable_heartbeat();
  ASSERT_TRUE(projector_->apply(late));
  auto other = event("hb-2", 3000);  // a charger first seen through a heartbeat
  other.set_charger_id("CP-2");
  other.mutable_heartbeat();
  ASSERT_TRUE(projector_->apply(other));

  // Nothing written until the flush (the consumer runs it before committing its positions).
  EXPECT_EQ((*get_charger(db_.db(), "CP-1"))->last_seen, 1000);
  EXPECT_FALSE(*get_charger(db_.db(), "CP-2"));
  ASSERT_TRUE(projector_->flush());
  auto charger = get_charger(db_.db(), "CP-1");
  EXPECT_EQ((*charger)->last_seen, 2049);
  EXPECT_EQ((*charger)->ocpp_version, "1.6");
  EXPECT_EQ((*charger)->vendor, "Acme");
  auto second = get_charger(db_.db(), "CP-2");
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->last_seen, 3000);
  ASSERT_TRUE(projector_->flush());  // nothing pending: no change
  EXPECT_EQ((*get_charger(db_.db(), "CP-1"))->last_seen, 2049);

  // The same events again (a redelivery after a crash before the commit) change nothing.
  auto again = event("mv-3", 2003);
  again.mutable_heartbeat();
  ASSERT_TRUE(projector_->apply(again));
  ASSERT_TRUE(projector_->flush());
  EXPECT_EQ((*get_charger(db_.db(), "CP-1"))->last_seen, 2049);
  // 53 events gathered, written as 3 charger rows (CP-1 and CP-2, then CP-1 again).
  EXPECT_NE(metrics_text().find("switchyard_status_last_seen_events_total 53"), std::string::npos)
      << metrics_text();
  EXPECT_NE(metrics_text().find("switchyard_status_last_seen_writes_total 3"), std::string::npos)
      << metrics_text();
}

TEST_F(StatusProjectorTest, AnOlderStatusDoesNotOverwriteANewerOne) {
  auto newer = event("a", 2000);
  newer.mutable_status_notification()->set_status("Charging");
  set_ms(newer.mutable_status_notification()->mutable_timestamp(), 2000);
  auto older = event("b", 2100);  // received later, but the charger stamped it earlier
  older.mutable_status_notification()->set_status("Preparing");
  set_ms(older.mutable_status_notification()->mutable_timestamp(), 1500);
  ASSERT_TRUE(projector_->apply(newer));
  ASSERT_TRUE(projector_->apply(older));
  auto charger = get_charger(db_.db(), "CP-1");
  EXPECT_EQ((*charger)->connectors[0].status, "Charging");
  EXPECT_EQ(status_history(db_.db(), {})->size(), 2u);  // both are history
}

TEST_F(StatusProjectorTest, OnlineFollowsTheNewestConnection) {
  auto opened_a = event("o1", 1000);
  opened_a.mutable_connection_opened()->set_owner_epoch(10);
  opened_a.mutable_connection_opened()->set_security_profile(1);
  auto opened_b = event("o2", 2000);
  opened_b.set_pod_id("pod-b");
  opened_b.mutable_connection_opened()->set_owner_epoch(20);
  auto closed_a = event("c1", 2100);  // pod A notices the old connection died, after B took over
  closed_a.mutable_connection_closed()->set_owner_epoch(10);
  ASSERT_TRUE(projector_->apply(opened_a));
  ASSERT_TRUE(projector_->apply(opened_b));
  ASSERT_TRUE(projector_->apply(closed_a));
  auto charger = get_charger(db_.db(), "CP-1");
  EXPECT_TRUE((*charger)->online);
  EXPECT_EQ((*charger)->pod_id, "pod-b");
  auto closed_b = event("c2", 3000);
  closed_b.mutable_connection_closed()->set_owner_epoch(20);
  ASSERT_TRUE(projector_->apply(closed_b));
  charger = get_charger(db_.db(), "CP-1");
  EXPECT_FALSE((*charger)->online);
  EXPECT_EQ((*charger)->last_seen, 3000);
  EXPECT_EQ(*(*charger)->disconnected_at, 3000);
}

TEST_F(StatusProjectorTest, BootFirmwareAndConfigurationAreKept) {
  auto boot = event("b", 1000);
  boot.mutable_boot_notification()->set_vendor("Acme");
  boot.mutable_boot_notification()->set_model("X1");
  boot.mutable_boot_notification()->set_firmware_version("1.2.3");
  boot.mutable_boot_notification()->set_registration_status("Accepted");
  auto fw = event("f", 1100);
  fw.mutable_firmware_status()->set_status("Downloading");
  auto config = event("c", 1200);
  config.set_action("GetConfiguration");
  config.mutable_command_result()->set_payload_json(
      R"({"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}]})");
  auto broken = event("d", 1300);
  broken.set_action("GetConfiguration");
  broken.mutable_command_result()->set_payload_json("{oops");
  for (const auto* e : {&boot, &fw, &config, &broken}) ASSERT_TRUE(projector_->apply(*e));
  auto charger = get_charger(db_.db(), "CP-1");
  EXPECT_EQ((*charger)->vendor, "Acme");
  EXPECT_EQ((*charger)->firmware_version, "1.2.3");
  EXPECT_EQ((*charger)->firmware_status, "Downloading");
  auto values = configuration(db_.db(), "CP-1", "");
  ASSERT_EQ(values->size(), 1u);
  EXPECT_EQ((*values)[0].value.value, "300");
  EXPECT_EQ(configuration(db_.db(), "CP-1", "Heart")->size(), 1u);
  EXPECT_EQ(configuration(db_.db(), "CP-1", "Meter")->size(), 0u);
}

TEST_F(StatusProjectorTest, NotifyEventProblemsAreErrors) {
  auto e = event("n", 1000);
  e.set_protocol_version(v1::OCPP_VERSION_2_0_1);
  auto* entry = e.mutable_device_event()->add_entries();
  entry->set_component("Connector");
  entry->mutable_location()->set_evse_id(1);
  entry->mutable_location()->set_connector_id(1);
  entry->set_variable("AvailabilityState");
  entry->set_actual_value("Faulted");
  entry->set_tech_code("E42");
  auto* problem = e.mutable_device_event()->add_entries();
  problem->set_component("EVSE");
  problem->set_variable("Problem");
  problem->set_actual_value("true");
  problem->set_tech_info("RCD tripped");
  auto* boring = e.mutable_device_event()->add_entries();
  boring->set_component("ChargingStation");
  boring->set_variable("Temperature");
  boring->set_actual_value("41");
  ASSERT_TRUE(projector_->apply(e));
  auto history = status_history(db_.db(), {});
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].state.error_code, "Connector.AvailabilityState");
  EXPECT_EQ((*history)[0].state.vendor_error_code, "E42");
  EXPECT_EQ((*history)[1].state.error_code, "EVSE.Problem");
  auto charger = get_charger(db_.db(), "CP-1");
  ASSERT_EQ((*charger)->connectors.size(), 1u);
  EXPECT_EQ((*charger)->connectors[0].status, "Faulted");
}

TEST_F(StatusProjectorTest, SecurityEventsAreStoredOnceListedAndCountedByKnownType) {
  auto tls = event("sec-1", 5000);
  tls.mutable_security_event()->set_type("InvalidTLSVersion");
  tls.mutable_security_event()->set_tech_info("TLS 1.0 offered");
  set_ms(tls.mutable_security_event()->mutable_timestamp(), 4900);
  ASSERT_TRUE(projector_->apply(tls));
  ASSERT_TRUE(projector_->apply(tls));  // redelivered: once
  auto vendor = event("sec-2", 6000);
  vendor.mutable_security_event()->set_type("AcmeDoorOpened");
  ASSERT_TRUE(projector_->apply(vendor));

  auto all = security_events(db_.db(), {});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].type, "InvalidTLSVersion");
  EXPECT_EQ((*all)[0].tech_info, "TLS 1.0 offered");
  EXPECT_EQ((*all)[0].occurred_at, 4900);
  EXPECT_EQ((*all)[0].received_at, 5000);
  SecurityEventFilter only_vendor;
  only_vendor.type = "AcmeDoorOpened";
  EXPECT_EQ(security_events(db_.db(), only_vendor)->size(), 1U);
  SecurityEventFilter after_first;
  after_first.after_received = 5000;
  after_first.after_event = "sec-1";
  EXPECT_EQ(security_events(db_.db(), after_first)->at(0).event_id, "sec-2");

  const std::string text = metrics_text();
  EXPECT_NE(text.find("switchyard_security_events_total{type=\"InvalidTLSVersion\"} 1"),
            std::string::npos)
      << text;
  // A vendor's own type is "other": chargers cannot grow the label set.
  EXPECT_NE(text.find("switchyard_security_events_total{type=\"other\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("AcmeDoorOpened"), std::string::npos);
}

TEST_F(StatusProjectorTest, APollIsWrittenInOneTransactionAtItsFlush) {
  FlakyDatabase flaky(db_.db());
  prometheus::Registry metrics;
  StatusProjector projector(flaky, &metrics);
  auto opened = event("open", 1000);
  opened.mutable_connection_opened()->set_owner_epoch(1);
  auto boot = event("boot", 1001);
  boot.mutable_boot_notification()->set_vendor("Acme");
  auto status = event("status", 1002);
  status.mutable_status_notification()->set_status("Available");
  auto heartbeat = event("hb", 1003);
  heartbeat.mutable_heartbeat();
  for (const auto* e : {&opened, &boot, &status, &heartbeat}) ASSERT_TRUE(handle(projector, *e));
  EXPECT_EQ(flaky.transactions, 0);  // staged only
  EXPECT_FALSE(*get_charger(db_.db(), "CP-1"));

  // The database goes away before the flush: nothing is written, and the consumer, which gets
  // the error, delivers the poll again.
  flaky.down = true;
  EXPECT_FALSE(projector.flush());
  EXPECT_FALSE(*get_charger(db_.db(), "CP-1"));
  flaky.down = false;
  for (const auto* e : {&opened, &boot, &status, &heartbeat}) ASSERT_TRUE(handle(projector, *e));
  const int before = flaky.transactions;
  ASSERT_TRUE(projector.flush());
  EXPECT_EQ(flaky.transactions - before, 1);  // the whole poll, once
  auto charger = get_charger(db_.db(), "CP-1");
  ASSERT_TRUE(charger && *charger);
  EXPECT_TRUE((*charger)->online);
  EXPECT_EQ((*charger)->vendor, "Acme");
  EXPECT_EQ((*charger)->last_seen, 1003);
  ASSERT_EQ((*charger)->connectors.size(), 1u);
  EXPECT_EQ((*charger)->connectors[0].status, "Available");
  EXPECT_EQ(status_history(db_.db(), {})->size(), 1u);  // not twice for the poll delivered twice

  const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_NE(text.find("switchyard_status_transactions_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("switchyard_status_events_total{kind=\"status_notification\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("switchyard_status_duplicate_events_total 1"), std::string::npos) << text;
}

// A flush writes every charger seen in the poll, in statements of 64, 16, 4 and 1 rows: 150
// chargers (2 x 64 + 16 + 4 + 2 x 1) each get their newest sighting, and a sighting older
// than the stored one still moves nothing back.
TEST_F(StatusProjectorTest, AFlushOfManyChargersWritesEachInStatementsOfSeveralRows) {
  auto known = event("boot-7", 10'000);
  known.set_charger_id("CP-7");
  known.mutable_boot_notification()->set_vendor("Acme");
  ASSERT_TRUE(projector_->apply(known));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 150; ++i) {
      auto e =
          event("hb-" + std::to_string(round) + "-" + std::to_string(i), 5000 + round * 100 + i);
      e.set_charger_id("CP-" + std::to_string(i));
      if (i % 3 == 0) e.set_protocol_version(v1::OCPP_VERSION_2_0_1);
      e.mutable_heartbeat();
      ASSERT_TRUE(handle(*projector_, e));
    }
  }
  ASSERT_TRUE(projector_->flush());
  for (int i = 0; i < 150; ++i) {
    auto charger = get_charger(db_.db(), "CP-" + std::to_string(i));
    ASSERT_TRUE(charger && *charger) << i;
    if (i == 7) {
      EXPECT_EQ((*charger)->last_seen, 10'000);  // the boot was newer
      EXPECT_EQ((*charger)->vendor, "Acme");
      continue;
    }
    EXPECT_EQ((*charger)->last_seen, 5100 + i) << i;
    EXPECT_EQ((*charger)->ocpp_version, i % 3 == 0 ? "2.0.1" : "1.6") << i;
  }
  EXPECT_NE(metrics_text().find("switchyard_status_last_seen_writes_total 150"), std::string::npos)
      << metrics_text();
}

}  // namespace
}  // namespace switchyard::status
