// OCPI commands against a fake ChargerControl and a fake eMSP on a real SQLite store: each command
// is answered at once (ACCEPTED with a timeout, or why not) and the charger's answer is POSTed to
// the response_url as a CommandResult; START_SESSION's token becomes the eMSP's known driver with
// auth_method COMMAND; refusals name the problem; OCPP answers map to OCPI results.
#include "roaming/commands.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>

#include "common/runtime/http/server.h"
#include "roaming_test_support.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

const Party kParty{"DE", "SWY"};

// ChargerControl as the commands see it: records each call, answers `answer` (the workers call
// it; tests read it after CommandsReceiver::stop()).
class FakeChargers final : public ChargerCommands {
 public:
  Result<std::string> answer = std::string("Accepted");
  std::vector<std::string> calls;

  Result<std::string> remote_start(const std::string& charger, int evse, const std::string& token,
                                   const std::string& type) override {
    return record("start " + charger + "/" + std::to_string(evse) + " " + token + " " + type);
  }
  Result<std::string> remote_stop(const std::string& charger, const std::string& tx) override {
    return record("stop " + charger + " " + tx);
  }
  Result<std::string> unlock(const std::string& charger, int evse, int connector) override {
    return record("unlock " + charger + "/" + std::to_string(evse) + "/" +
                  std::to_string(connector));
  }
  Result<std::string> reserve(const std::string& charger, int evse, int id,
                              const std::string& token, std::int64_t expires_ms) override {
    reserved_id = id;
    return record("reserve " + charger + "/" + std::to_string(evse) + " " + token + " until " +
                  std::to_string(expires_ms));
  }
  Result<std::string> cancel_reservation(const std::string& charger, int id) override {
    return record("cancel " + charger + (id == reserved_id ? " same id" : " other id"));
  }
  int reserved_id = -1;

 private:
  Result<std::string> record(std::string call) {
    std::lock_guard lock(mutex_);
    calls.push_back(std::move(call));
    return answer;
  }
  std::mutex mutex_;
};

json::object token(const std::string& uid) {
  return {
      {"country_code", "NL"}, {"party_id", "EMS"},      {"uid", uid},
      {"type", "RFID"},       {"contract_id", "NL-C1"}, {"issuer", "Peer eMSP"},
      {"valid", true},        {"whitelist", "NEVER"},   {"last_updated", "2026-12-01T10:00:00Z"}};
}

class CommandsTest : public testing::PushFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(partners_.put(emsp_));
    ASSERT_TRUE(locations_.put(testing::sample_location()));
  }
  // POST commands/<command> with `body`; the answer's envelope.
  json::object post(const std::string& command, const json::value& body, int expect_http = 200,
                    const std::string& method = "POST", const Partner* caller = nullptr) {
    http::Request r;
    r.method = method;
    r.path = "/ocpi/2.2.1/commands/" + command;
    r.target = r.path;
    r.body = body.is_string() ? std::string(body.as_string()) : json::serialize(body);
    auto answer = receiver().handle(caller ? *caller : emsp_, r, "/" + command);
    EXPECT_EQ(answer.status, expect_http) << answer.body;
    return json::parse(answer.body).as_object();
  }
  CommandsReceiver& receiver() {
    if (!commands_) {
      commands_ = std::make_unique<CommandsReceiver>(
          CommandsReceiver::Stores{locations_, sessions_, tokens_, *db_}, receiver_, chargers_,
          clock_, &registry_, std::chrono::seconds(30));
    }
    return *commands_;
  }
  // The results posted so far (waits for the commands in flight).
  std::vector<testing::Sent> results() {
    receiver().stop();
    commands_.reset();
    return receiver_.sent;
  }
  static json::object start(const std::string& evse_uid = "E1") {
    json::object o{{"response_url", "https://emsp.test/ocpi/emsp/2.2.1/commands/START_SESSION/7"},
                   {"token", token("04AA")},
                   {"location_id", "LOC1"},
                   {"authorization_reference", "REF-7"}};
    if (!evse_uid.empty()) o["evse_uid"] = evse_uid;
    return o;
  }

  Partner emsp_ = testing::registered_partner("ptr-emsp", {});
  FakeChargers chargers_;
  TokenStore tokens_{*db_};
  SessionStore sessions_{*db_, clock_};
  std::unique_ptr<CommandsReceiver> commands_;
};

TEST_F(CommandsTest, StartSessionIsAcceptedAtOnceAndTheChargersAnswerGoesToTheResponseUrl) {
  const auto answer = post("START_SESSION", start());
  EXPECT_EQ(answer.at("status_code"), 1000);
  EXPECT_EQ(answer.at("data").at("result"), "ACCEPTED");
  EXPECT_EQ(answer.at("data").at("timeout"), 30);
  const auto sent = results();
  EXPECT_EQ(chargers_.calls, std::vector<std::string>{"start CP1/1 04AA ISO14443"});
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, "https://emsp.test/ocpi/emsp/2.2.1/commands/START_SESSION/7");
  EXPECT_EQ(sent[0].token, "token-for-ptr-emsp");
  EXPECT_EQ(sent[0].body.at("result"), "ACCEPTED");
  EXPECT_EQ(sent[0].body.at("message").at(0).at("text"), "the charger answered Accepted");
  // The driver is the eMSP's now, and its session will say how it started.
  auto owned = tokens_.find("04AA");
  ASSERT_TRUE(owned && *owned);
  EXPECT_EQ((*owned)->partner_id, "ptr-emsp");
  auto how = sessions_.authorization("04AA", "ptr-emsp");
  ASSERT_TRUE(how && *how);
  EXPECT_EQ((*how)->auth_method, "COMMAND");
  EXPECT_EQ((*how)->authorization_reference, "REF-7");
}

TEST_F(CommandsTest, TheChargersRefusalOrSilenceIsTheResult) {
  chargers_.answer = std::string("Rejected");
  post("START_SESSION", start());
  EXPECT_EQ(results().back().body.at("result"), "REJECTED");
  chargers_.answer = make_error(ErrorCode::kUnavailable, "charger CP1 is not connected");
  post("START_SESSION", start("E2"));
  const auto sent = results();
  EXPECT_EQ(sent.back().body.at("result"), "FAILED");
  EXPECT_EQ(sent.back().body.at("message").at(0).at("text"), "charger CP1 is not connected");
  EXPECT_EQ(chargers_.calls.back(), "start CP1/2 04AA ISO14443");
}

TEST_F(CommandsTest, OcppAnswersMapToOcpiResults) {
  EXPECT_EQ(command_result("START_SESSION", std::string("Accepted")), "ACCEPTED");
  EXPECT_EQ(command_result("START_SESSION", std::string("Rejected")), "REJECTED");
  EXPECT_EQ(command_result("RESERVE_NOW", std::string("Occupied")), "EVSE_OCCUPIED");
  EXPECT_EQ(command_result("RESERVE_NOW", std::string("Faulted")), "EVSE_INOPERATIVE");
  EXPECT_EQ(command_result("UNLOCK_CONNECTOR", std::string("Unlocked")), "ACCEPTED");
  EXPECT_EQ(command_result("UNLOCK_CONNECTOR", std::string("UnlockFailed")), "FAILED");
  EXPECT_EQ(command_result("UNLOCK_CONNECTOR", std::string("UnknownConnector")), "NOT_SUPPORTED");
  EXPECT_EQ(command_result("CANCEL_RESERVATION", std::string("Rejected")), "UNKNOWN_RESERVATION");
  EXPECT_EQ(command_result("STOP_SESSION", make_error(ErrorCode::kDeadlineExceeded, "late")),
            "TIMEOUT");
  EXPECT_EQ(command_result("STOP_SESSION", make_error(ErrorCode::kUnavailable, "gone")), "FAILED");
}

TEST_F(CommandsTest, StopSessionAsksToStopTheEmspsOwnRunningSessionOnly) {
  v1::Transaction t;
  t.set_charger_id("CP1");
  t.set_transaction_id("42");
  t.set_state(v1::TRANSACTION_STATE_ACTIVE);
  t.mutable_updated_at()->set_seconds(1);
  const std::string id = session_id_of("CP1", "42");
  ASSERT_TRUE(sessions_.put_session(id, {"ptr-emsp", "{}", "COMMAND", ""}, t, false));
  json::object stop{{"response_url", "https://emsp.test/r/1"}, {"session_id", id}};
  EXPECT_EQ(post("STOP_SESSION", stop).at("data").at("result"), "ACCEPTED");
  EXPECT_EQ(results().back().body.at("result"), "ACCEPTED");
  EXPECT_EQ(chargers_.calls, std::vector<std::string>{"stop CP1 42"});

  Partner other = testing::registered_partner("ptr-othr", {});
  other.roles = {{"EMSP", "NL", "OTH", "Other"}};
  auto theirs = post("STOP_SESSION", stop, 200, "POST", &other);
  EXPECT_EQ(theirs.at("data").at("result"), "UNKNOWN_SESSION");
  stop["session_id"] = "nope";
  EXPECT_EQ(post("STOP_SESSION", stop).at("data").at("result"), "UNKNOWN_SESSION");
  t.set_state(v1::TRANSACTION_STATE_ENDED);
  t.mutable_updated_at()->set_seconds(2);
  ASSERT_TRUE(sessions_.put_session(id, {"ptr-emsp", "{}", "COMMAND", ""}, t, false));
  stop["session_id"] = id;
  const auto ended = post("STOP_SESSION", stop);
  EXPECT_EQ(ended.at("data").at("result"), "REJECTED");
  EXPECT_EQ(ended.at("data").at("message").at(0).at("text").as_string(),
            "session " + id + " has ended");
  EXPECT_EQ(chargers_.calls.size(), 1U);
}

TEST_F(CommandsTest, ReserveNowThenCancelReservationUseOneOcppReservationId) {
  json::object reserve{{"response_url", "https://emsp.test/r/2"},
                       {"token", token("05BB")},
                       {"expiry_date", "2027-01-15T09:00:00Z"},
                       {"reservation_id", "RES-1"},
                       {"location_id", "LOC1"},
                       {"evse_uid", "E2"}};
  EXPECT_EQ(post("RESERVE_NOW", reserve).at("data").at("result"), "ACCEPTED");
  results();  // commands run on two workers: one at a time here, in order
  json::object cancel{{"response_url", "https://emsp.test/r/3"}, {"reservation_id", "RES-1"}};
  EXPECT_EQ(post("CANCEL_RESERVATION", cancel).at("data").at("result"), "ACCEPTED");
  results();
  EXPECT_EQ(chargers_.calls, (std::vector<std::string>{"reserve CP1/2 05BB until 1800003600000",
                                                       "cancel CP1 same id"}));
  cancel["reservation_id"] = "RES-9";
  EXPECT_EQ(post("CANCEL_RESERVATION", cancel).at("data").at("result"), "REJECTED");
}

TEST_F(CommandsTest, UnlockConnectorNamesTheChargersConnector) {
  chargers_.answer = std::string("Unlocked");
  json::object unlock{{"response_url", "https://emsp.test/r/4"},
                      {"location_id", "LOC1"},
                      {"evse_uid", "E2"},
                      {"connector_id", "1"}};
  EXPECT_EQ(post("UNLOCK_CONNECTOR", unlock).at("data").at("result"), "ACCEPTED");
  EXPECT_EQ(results().back().body.at("result"), "ACCEPTED");
  EXPECT_EQ(chargers_.calls, std::vector<std::string>{"unlock CP1/2/1"});
  unlock["connector_id"] = "9";
  EXPECT_EQ(post("UNLOCK_CONNECTOR", unlock, 404).at("status_code"), 2003);
}

TEST_F(CommandsTest, RefusalsNameTheProblemAndAskNoCharger) {
  EXPECT_EQ(post("SELF_DESTRUCT", json::object{}, 404).at("status_code"), 2000);
  EXPECT_EQ(post("START_SESSION", start(), 405, "GET").at("status_code"), 2000);
  EXPECT_EQ(post("START_SESSION", json::string("{not json"), 400).at("status_code"), 2001);
  auto no_url = start();
  no_url.erase("response_url");
  EXPECT_EQ(post("START_SESSION", no_url, 400).at("status_message"), "response_url: missing");
  auto bad_url = start();
  bad_url["response_url"] = "ftp://x";
  EXPECT_EQ(post("START_SESSION", bad_url, 400).at("status_message"),
            "response_url: not an http(s) URL");
  auto bad_token = start();
  bad_token["token"].as_object().erase("contract_id");
  EXPECT_EQ(post("START_SESSION", bad_token, 400).at("status_message"),
            "token.contract_id: missing");
  auto nowhere = start();
  nowhere["location_id"] = "LOC9";
  const auto unknown = post("START_SESSION", nowhere, 404);
  EXPECT_EQ(unknown.at("status_code"), 2003);
  EXPECT_EQ(unknown.at("status_message"), "unknown location LOC9");
  const auto which = post("START_SESSION", start(""));
  EXPECT_EQ(which.at("data").at("result"), "REJECTED");
  EXPECT_EQ(which.at("data").at("message").at(0).at("text"),
            "evse_uid required: location LOC1 has 2 EVSEs");
  EXPECT_TRUE(results().empty());
  EXPECT_TRUE(chargers_.calls.empty());
  auto stored = tokens_.find("04AA");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);  // a refused command stores nothing
}

}  // namespace
}  // namespace switchyard::roaming
