// What the roaming unit tests share: an OcpiClient whose every call is unimplemented (fakes
// override the calls they answer), a partner's receivers that record pushes, a sample location,
// a registered partner, a roaming database on a temporary SQLite file, and the fixture of the
// push tests (stores, outbox and pusher on that database, a fake clock, a metrics registry).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/registry.h>

#include "common/runtime/sql/database.h"
#include "roaming/location_store.h"
#include "roaming/ocpi_client.h"
#include "roaming/partners.h"
#include "roaming/push_outbox.h"
#include "roaming/pusher.h"
#include "roaming/schema.h"
#include "support/fake_clock.h"
#include "switchyard/v1/roaming.pb.h"

namespace switchyard::roaming::testing {

class UnimplementedOcpiClient : public OcpiClient {
 public:
  Result<std::vector<VersionInfo>> versions(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "versions");
  }
  Result<VersionDetails> version_details(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "version details");
  }
  Result<Credentials> post_credentials(const std::string&, const std::string&,
                                       const Credentials&) override {
    return make_error(ErrorCode::kUnimplemented, "POST credentials");
  }
  Result<Credentials> put_credentials(const std::string&, const std::string&,
                                      const Credentials&) override {
    return make_error(ErrorCode::kUnimplemented, "PUT credentials");
  }
  Result<void> delete_credentials(const std::string&, const std::string&) override {
    return make_error(ErrorCode::kUnimplemented, "DELETE credentials");
  }
  Result<void> push(const std::string&, const std::string&, const std::string&, const std::string&,
                    std::string, const Party&) override {
    return make_error(ErrorCode::kUnimplemented, "push");
  }
  Result<std::string> request(const std::string&, const std::string&, const std::string&,
                              const std::string&, std::string, const Party&) override {
    return make_error(ErrorCode::kUnimplemented, "request");
  }
};

struct Sent {
  std::string method;
  std::string url;
  std::string token;
  boost::json::value body;
};

// The partner's receiver: records what it is sent; `down` refuses connections, `refuse` answers
// with an OCPI error.
class FakeReceiver final : public UnimplementedOcpiClient {
 public:
  bool down = false;
  bool refuse = false;
  bool refuse_patches = false;  // answers 2003 to EVSE patches (it lacks the location)
  std::function<void()> during_send;
  std::vector<Sent> sent;
  Party last_to;

  Result<void> push(const std::string& method, const std::string&, const std::string& url,
                    const std::string& token, std::string body, const Party& to) override {
    std::lock_guard lock(mutex_);  // commands push from their worker threads
    last_to = to;
    if (down) return make_error(ErrorCode::kUnavailable, method + " " + url + ": refused");
    if (during_send) std::exchange(during_send, nullptr)();
    sent.push_back({method, url, token, boost::json::parse(body)});
    if (refuse) return make_error(ErrorCode::kFailedPrecondition, "status_code 2001: no");
    if (refuse_patches && method == "PATCH") {
      return make_error(ErrorCode::kFailedPrecondition, "status_code 2003: unknown location");
    }
    return {};
  }

 private:
  std::mutex mutex_;
};

// A published location in Berlin with EVSEs E1 and E2 (CP1 EVSE 1 and 2, one Type 2 socket each).
inline v1::RoamingLocation sample_location(const std::string& id = "LOC1") {
  v1::RoamingLocation l;
  l.set_id(id);
  l.set_publish(true);
  l.set_address("Hauptstr. 1");
  l.set_city("Berlin");
  l.set_country("DEU");
  l.mutable_coordinates()->set_latitude("52.520008");
  l.mutable_coordinates()->set_longitude("13.404954");
  l.set_time_zone("Europe/Berlin");
  for (int i = 1; i <= 2; ++i) {
    auto* e = l.add_evses();
    e->set_uid("E" + std::to_string(i));
    e->set_evse_id("DE*SWY*E1*" + std::to_string(i));
    e->set_charger_id("CP1");
    e->set_ocpp_evse_id(i);
    auto* c = e->add_connectors();
    c->set_id("1");
    c->set_standard("IEC_62196_T2");
    c->set_format("SOCKET");
    c->set_power_type("AC_3_PHASE");
    c->set_max_voltage(230);
    c->set_max_amperage(32);
  }
  return l;
}

// The roaming migrations on a SQLite file named after the running test, removed afterwards.
class RoamingDb {
 public:
  RoamingDb() {
    path_ = std::filesystem::temp_directory_path() /
            ("roaming-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    remove_files();
    auto db = sql::open_sqlite(path_.string(), nullptr);
    EXPECT_TRUE(db) << db.error().message;
    if (!db) return;
    db_ = std::move(*db);
    auto m = sql::migrate(*db_, migrations(), "roaming");
    EXPECT_TRUE(m) << m.error().message;
  }
  ~RoamingDb() {
    db_.reset();
    remove_files();
  }
  RoamingDb(const RoamingDb&) = delete;
  RoamingDb& operator=(const RoamingDb&) = delete;
  sql::Database& operator*() { return *db_; }

 private:
  void remove_files() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }
  std::filesystem::path path_;
  std::unique_ptr<sql::Database> db_;
};

// A partner REGISTERED with us (party NL/EMS) whose RECEIVER endpoints are `receives`, at
// https://emsp.test/ocpi/emsp/2.2.1/<module>; we call it with "token-for-<id>".
inline Partner registered_partner(const std::string& id,
                                  std::initializer_list<std::string> receives) {
  Partner p;
  p.id = id;
  p.name = id;
  p.state = PartnerState::kRegistered;
  p.their_token = "token-for-" + id;
  p.our_token_sha256 = std::string(64, id.back());
  p.version = "2.2.1";
  p.roles = {{"EMSP", "NL", "EMS", "Peer eMSP"}};
  p.endpoints = {{"credentials", "RECEIVER", "https://emsp.test/ocpi/2.2.1/credentials"}};
  for (const auto& module : receives) {
    p.endpoints.push_back({module, "RECEIVER", "https://emsp.test/ocpi/emsp/2.2.1/" + module});
  }
  return p;
}

// The push tests' fixture: partners, locations, the outbox and a pusher (no sources: tests add
// theirs) calling `receiver_`.
class PushFixture : public ::testing::Test {
 protected:
  PushFixture()
      : partners_(*db_),
        locations_(*db_, clock_),
        outbox_(*db_),
        pusher_(outbox_, partners_, receiver_, clock_, &registry_) {}

  // Entries in the outbox, every partner and module.
  std::int64_t pending() {
    auto stats = outbox_.stats();
    EXPECT_TRUE(stats);
    std::int64_t n = 0;
    if (stats) {
      for (const auto& s : *stats) n += s.pending;
    }
    return n;
  }

  switchyard::testing::FakeClock clock_;
  prometheus::Registry registry_;
  FakeReceiver receiver_;
  RoamingDb db_;
  SqlPartnerStore partners_;
  LocationStore locations_;
  PushOutbox outbox_;
  Pusher pusher_;
};

}  // namespace switchyard::roaming::testing
