// OCPI commands, CPO side (see commands.h).
#include "roaming/commands.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "common/runtime/core/log.h"
#include "common/runtime/grpc/work_pool.h"
#include "common/runtime/http/server.h"
#include "common/runtime/sql/database.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

constexpr std::string_view kCommands[] = {"START_SESSION", "STOP_SESSION", "RESERVE_NOW",
                                          "CANCEL_RESERVATION", "UNLOCK_CONNECTOR"};

std::string display_text(std::string_view text) {
  return json::serialize(json::array{json::object{{"language", "en"}, {"text", text}}});
}

// A required string member, at most `max` characters; "" with `problem` set otherwise.
std::string member(const json::object& o, std::string_view name, std::size_t max,
                   std::string& problem, bool required = true) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required && problem.empty()) problem = std::string(name) + ": missing";
    return "";
  }
  if (!v->is_string() || v->get_string().empty() || v->get_string().size() > max) {
    if (problem.empty()) {
      problem = std::string(name) + ": not a string of 1 to " + std::to_string(max) + " characters";
    }
    return "";
  }
  return std::string(v->get_string());
}

// The OCPP 2.x IdToken type of an OCPI token type (1.6 ignores it).
std::string id_token_type(std::string_view ocpi_type) {
  return ocpi_type == "RFID" ? "ISO14443" : "Central";
}

// A stable OCPP reservation id (31 bits) of an eMSP's reservation id.
int ocpp_reservation_id(const std::string& partner_id, const std::string& reservation_id) {
  const std::string digest = sha256_hex(partner_id + '\n' + reservation_id);
  std::uint32_t n = 0;
  std::from_chars(digest.data(), digest.data() + 8, n, 16);
  return static_cast<int>(n & 0x7fffffffU);
}

}  // namespace

std::string command_result(std::string_view command, const Result<std::string>& answer) {
  if (!answer) {
    return answer.error().code == ErrorCode::kDeadlineExceeded ? "TIMEOUT" : "FAILED";
  }
  const std::string& s = *answer;
  if (s == "Accepted" || s == "Unlocked") return "ACCEPTED";
  if (s == "Occupied") return "EVSE_OCCUPIED";
  if (s == "Faulted" || s == "Unavailable") return "EVSE_INOPERATIVE";
  if (s == "NotSupported" || s == "UnknownConnector") return "NOT_SUPPORTED";
  if (s == "UnlockFailed") return "FAILED";
  if (command == "CANCEL_RESERVATION" && s == "Rejected") return "UNKNOWN_RESERVATION";
  return "REJECTED";
}

struct CommandsReceiver::Job {
  std::string command;
  std::string response_url;
  std::string partner_id;
  std::string their_token;
  Party to;
  std::string target;  // for the log: charger and EVSE, or session
  std::function<Result<std::string>()> ask;
};

CommandsReceiver::CommandsReceiver(Stores stores, OcpiClient& client, ChargerCommands& chargers,
                                   const Clock& clock, prometheus::Registry* metrics,
                                   std::chrono::seconds timeout)
    : stores_(stores),
      client_(client),
      chargers_(chargers),
      clock_(clock),
      timeout_(timeout),
      workers_(std::make_unique<WorkPool>(2, 1000)) {
  if (metrics == nullptr) return;
  commands_ = &prometheus::BuildCounter()
                   .Name("switchyard_roaming_commands_total")
                   .Help(
                       "OCPI commands from eMSPs by command and result (the CommandResponse's "
                       "when not accepted, else the CommandResult posted to the eMSP)")
                   .Register(*metrics);
  for (std::string_view c : kCommands) {
    for (const char* r : {"ACCEPTED", "REJECTED", "FAILED"}) {
      commands_->Add({{"command", std::string(c)}, {"result", r}});
    }
  }
}

CommandsReceiver::~CommandsReceiver() { stop(); }

void CommandsReceiver::stop() { workers_.reset(); }

void CommandsReceiver::count(std::string_view command, std::string_view result) {
  if (commands_ == nullptr) return;
  commands_->Add({{"command", std::string(command)}, {"result", std::string(result)}}).Increment();
}

void CommandsReceiver::run(const std::shared_ptr<Job>& job) {
  const Result<std::string> answer = job->ask();
  const std::string result = command_result(job->command, answer);
  const std::string message = answer ? "the charger answered " + *answer : answer.error().message;
  count(job->command, result);
  log::info("roaming command answered", {{"partner_id", job->partner_id},
                                         {"command", job->command},
                                         {"target", job->target},
                                         {"result", result},
                                         {"message", message}});
  const std::string body = json::serialize(
      json::object{{"result", result}, {"message", json::parse(display_text(message))}});
  post_result(client_, "commands", job->response_url, job->their_token, body, job->to,
              job->partner_id);
}

http::Response CommandsReceiver::handle(const Partner& partner, const http::Request& request,
                                        std::string_view rest) {
  const auto now = clock_.now();
  auto fail = [&](int http, OcpiStatus status, const std::string& message) {
    return envelope_response(http, status, message, {}, now);
  };
  if (request.method != "POST") {
    return fail(405, OcpiStatus::kClientError,
                "method " + request.method + " not allowed on commands (POST commands/{command})");
  }
  const std::string command(rest.starts_with('/') ? rest.substr(1) : rest);
  auto respond = [&](std::string_view result, const std::string& message) {
    if (result != "ACCEPTED") count(command, result);
    json::object o{{"result", result}, {"timeout", timeout_.count()}};
    if (!message.empty()) o["message"] = json::parse(display_text(message));
    return envelope_response(200, OcpiStatus::kSuccess, "", json::serialize(o), now);
  };
  if (std::ranges::find(kCommands, command) == std::end(kCommands)) {
    return fail(404, OcpiStatus::kClientError,
                "unknown command '" + command.substr(0, 40) +
                    "' (START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION, "
                    "UNLOCK_CONNECTOR)");
  }
  boost::system::error_code ec;
  const json::value parsed = json::parse(request.body, ec);
  if (ec || !parsed.is_object()) {
    return fail(400, OcpiStatus::kInvalidParameters, "body: not a JSON object");
  }
  const json::object& body = parsed.as_object();
  std::string problem;
  auto job = std::make_shared<Job>();
  job->command = command;
  job->partner_id = partner.id;
  job->their_token = partner.their_token;
  if (!partner.roles.empty()) {
    job->to = Party{partner.roles.front().country_code, partner.roles.front().party_id};
  }
  job->response_url = member(body, "response_url", 255, problem);
  if (problem.empty() && !job->response_url.starts_with("http://") &&
      !job->response_url.starts_with("https://")) {
    problem = "response_url: not an http(s) URL";
  }

  // The published location and EVSE a command names (evse_uid may be left out when the location
  // has one EVSE).
  std::optional<v1::RoamingEvse> evse;
  auto locate = [&](bool evse_required) -> std::optional<http::Response> {
    const std::string location_id = member(body, "location_id", 36, problem);
    const std::string evse_uid = member(body, "evse_uid", 36, problem, evse_required);
    if (!problem.empty()) return fail(400, OcpiStatus::kInvalidParameters, problem);
    auto found = stores_.locations.get(location_id);
    if (!found) {
      log::error("commands: location read failed", {{"error", found.error().message}});
      return fail(500, OcpiStatus::kServerError, "locations unavailable");
    }
    if (!*found || !(*found)->publish()) {
      return fail(404, OcpiStatus::kUnknownLocation, "unknown location " + location_id);
    }
    std::vector<v1::RoamingEvse> live;
    for (const auto& e : (*found)->evses()) {
      if (e.status() != "REMOVED") live.push_back(e);
    }
    if (evse_uid.empty()) {
      if (live.size() != 1) {
        return respond("REJECTED", "evse_uid required: location " + location_id + " has " +
                                       std::to_string(live.size()) + " EVSEs");
      }
      evse = live.front();
      return std::nullopt;
    }
    const auto e = std::ranges::find(live, evse_uid, &v1::RoamingEvse::uid);
    if (e == live.end()) {
      return fail(404, OcpiStatus::kUnknownLocation,
                  "unknown EVSE " + evse_uid + " in location " + location_id);
    }
    evse = *e;
    return std::nullopt;
  };
  // The command's Token (kInvalidArgument naming the field).
  auto token_of = [&]() -> Result<OcpiToken> {
    const json::value* t = body.if_contains("token");
    if (t == nullptr || !t->is_object()) {
      return make_error(ErrorCode::kInvalidArgument, "token: missing or not an object");
    }
    auto token = token_from_json(json::serialize(*t));
    if (!token) {
      return make_error(ErrorCode::kInvalidArgument, "token." + token.error().message);
    }
    return token;
  };
  auto store_failed = [&](const Error& e) {
    if (e.code == ErrorCode::kInvalidArgument) {
      return fail(400, OcpiStatus::kInvalidParameters, e.message);
    }
    log::error("commands: store failed", {{"command", command}, {"error", e.message}});
    return fail(500, OcpiStatus::kServerError, "commands unavailable");
  };
  const std::int64_t now_ms = unix_ms(now);

  if (command == "START_SESSION" || command == "RESERVE_NOW") {
    auto token = token_of();
    const std::string reference = member(body, "authorization_reference", 36, problem, false);
    std::string reservation_id;
    std::optional<std::int64_t> expires;
    if (command == "RESERVE_NOW") {
      reservation_id = member(body, "reservation_id", 36, problem);
      const std::string expiry = member(body, "expiry_date", 40, problem);
      if (problem.empty()) {
        auto at = parse_rfc3339(expiry);
        if (!at) {
          problem = "expiry_date: not an RFC 3339 time";
        } else {
          expires = unix_ms(*at);
        }
      }
    }
    if (!problem.empty()) return fail(400, OcpiStatus::kInvalidParameters, problem);
    if (!token) return fail(400, OcpiStatus::kInvalidParameters, token.error().message);
    if (auto refused = locate(false)) return *refused;
    // The driver becomes the eMSP's known driver (the charger's authorization finds the token)
    // and the session it starts says how: COMMAND, with the eMSP's reference.
    if (auto r = stores_.tokens.put(partner.id, *token); !r) return store_failed(r.error());
    if (auto r = stores_.sessions.record_authorization(token->uid, partner.id,
                                                       {"COMMAND", reference, now_ms});
        !r) {
      return store_failed(r.error());
    }
    job->target = evse->charger_id() + "/" + std::to_string(evse->ocpp_evse_id());
    if (command == "START_SESSION") {
      job->ask = [this, charger = evse->charger_id(), e = evse->ocpp_evse_id(), uid = token->uid,
                  type = id_token_type(token->type)] {
        return chargers_.remote_start(charger, e, uid, type);
      };
    } else {
      const int ocpp_id = ocpp_reservation_id(partner.id, reservation_id);
      auto saved = stores_.db.exec(
          "INSERT INTO roaming_reservations (partner_id, reservation_id, charger_id, evse_id, "
          "ocpp_reservation_id, expires_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT "
          "(partner_id, reservation_id) DO UPDATE SET charger_id = excluded.charger_id, "
          "evse_id = excluded.evse_id, expires_ms = excluded.expires_ms",
          {partner.id, reservation_id, evse->charger_id(), std::to_string(evse->ocpp_evse_id()),
           std::to_string(ocpp_id), std::to_string(*expires)});
      if (!saved) return store_failed(saved.error());
      job->ask = [this, charger = evse->charger_id(), e = evse->ocpp_evse_id(), ocpp_id,
                  uid = token->uid, expires_ms = *expires] {
        return chargers_.reserve(charger, e, ocpp_id, uid, expires_ms);
      };
    }
  } else if (command == "STOP_SESSION") {
    const std::string session_id = member(body, "session_id", 36, problem);
    if (!problem.empty()) return fail(400, OcpiStatus::kInvalidParameters, problem);
    auto session = stores_.sessions.session(session_id);
    if (!session) return store_failed(session.error());
    if (!*session || (*session)->owner.partner_id != partner.id) {
      return respond("UNKNOWN_SESSION", "unknown session " + session_id);
    }
    const v1::Transaction& t = (*session)->transaction;
    if (t.state() == v1::TRANSACTION_STATE_ENDED) {
      return respond("REJECTED", "session " + session_id + " has ended");
    }
    job->target = t.charger_id() + " transaction " + t.transaction_id();
    job->ask = [this, charger = t.charger_id(), tx = t.transaction_id()] {
      return chargers_.remote_stop(charger, tx);
    };
  } else if (command == "CANCEL_RESERVATION") {
    const std::string reservation_id = member(body, "reservation_id", 36, problem);
    if (!problem.empty()) return fail(400, OcpiStatus::kInvalidParameters, problem);
    auto found = stores_.db.exec(
        "SELECT charger_id, ocpp_reservation_id FROM roaming_reservations WHERE partner_id = $1 "
        "AND reservation_id = $2",
        {partner.id, reservation_id});
    if (!found) return store_failed(found.error());
    if (found->empty()) return respond("REJECTED", "unknown reservation " + reservation_id);
    job->target = found->text(0, 0);
    job->ask = [this, charger = found->text(0, 0), id = static_cast<int>(found->int64(0, 1))] {
      return chargers_.cancel_reservation(charger, id);
    };
  } else {  // UNLOCK_CONNECTOR
    const std::string connector_id = member(body, "connector_id", 36, problem);
    if (auto refused = locate(true)) return *refused;
    const auto c = std::ranges::find(evse->connectors(), connector_id, &v1::RoamingConnector::id);
    if (c == evse->connectors().end()) {
      return fail(404, OcpiStatus::kUnknownLocation,
                  "unknown connector " + connector_id + " of EVSE " + evse->uid());
    }
    int ocpp_connector = 0;
    const auto [end, ec2] = std::from_chars(
        connector_id.data(), connector_id.data() + connector_id.size(), ocpp_connector);
    if (ec2 != std::errc() || end != connector_id.data() + connector_id.size()) {
      ocpp_connector = static_cast<int>(c - evse->connectors().begin()) + 1;
    }
    job->target = evse->charger_id() + "/" + std::to_string(evse->ocpp_evse_id()) + "/" +
                  std::to_string(ocpp_connector);
    job->ask = [this, charger = evse->charger_id(), e = evse->ocpp_evse_id(), ocpp_connector] {
      return chargers_.unlock(charger, e, ocpp_connector);
    };
  }

  if (!workers_ || !workers_->post([this, job] { run(job); })) {
    return respond("REJECTED", "too many commands in flight; try again");
  }
  log::info("roaming command accepted",
            {{"partner_id", partner.id}, {"command", command}, {"target", job->target}});
  return respond("ACCEPTED", "");
}

}  // namespace switchyard::roaming
