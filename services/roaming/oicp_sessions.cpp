// Hubject's remote starts, stops and the CDRs of those sessions (see oicp_sessions.h).
#include "roaming/oicp_sessions.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>
#include <regex>

#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "common/runtime/sql/database.h"
#include "roaming/commands.h"
#include "roaming/location_store.h"
#include "roaming/metrics.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/oicp_client.h"
#include "roaming/oicp_pricing.h"
#include "roaming/oicp_pusher.h"
#include "roaming/oicp_records.h"
#include "roaming/push_outbox.h"
#include "roaming/session_store.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::roaming {

namespace json = boost::json;

namespace {

// A session is taken by a transaction of its token at its charger starting within an hour of the
// request (a request left unused does not bill a later visit); a CDR that comes before its
// transaction's start event (another topic) within two days.
constexpr std::int64_t kLinkWindowMs = 3'600'000;
constexpr std::int64_t kCdrLinkWindowMs = 2LL * 24 * 3'600'000;
// A transaction that runs longer than this is not a session's any more for authorizations (its end
// event was lost).
constexpr std::int64_t kRunningWindowMs = 2LL * 24 * 3'600'000;

constexpr const char* kColumns =
    "session_id, provider_id, evse_id, charger_id, ocpp_evse_id, id_token, identification, "
    "emp_partner_session_id, requested_ms, transaction_id, state";

OicpSession session_of(const sql::Rows& r, int i) {
  OicpSession s;
  s.session_id = r.text(i, 0);
  s.provider_id = r.text(i, 1);
  s.evse_id = r.text(i, 2);
  s.charger_id = r.text(i, 3);
  s.ocpp_evse_id = static_cast<int>(r.int64(i, 4));
  s.id_token = r.text(i, 5);
  s.identification = r.text(i, 6);
  s.emp_partner_session_id = r.text(i, 7);
  s.requested_ms = r.int64(i, 8);
  s.transaction_id = r.text(i, 9);
  s.state = r.text(i, 10);
  return s;
}

// " AND ocpp_evse_id = $<n>" when the transaction's EVSE is known (0: any EVSE of the charger;
// the parameter is still bound); a session Hubject authorized without an EVSE (0) matches any.
std::string evse_condition(int evse_id, int n) {
  // PostgreSQL must be able to type every parameter: CAST, not a bare "$n IS NOT NULL".
  return evse_id > 0 ? " AND (ocpp_evse_id = $" + std::to_string(n) + " OR ocpp_evse_id = 0)"
                     : " AND CAST($" + std::to_string(n) + " AS BIGINT) IS NOT NULL";
}

std::string_view description(std::string_view code) {
  if (code == "000") return "Success";
  if (code == "017") return "Unauthorized Access";
  if (code == "022") return "Data error";
  if (code == "400") return "Session is invalid";
  if (code == "501") return "Communication to EVSE failed";
  if (code == "601") return "EVSE already reserved";
  if (code == "602") return "EVSE already in use/ wrong token";
  if (code == "603") return "Unknown EVSE ID";
  if (code == "700") return "EVSE out of service";
  return "System error";
}

bool matches(const std::regex& pattern, std::string_view text) {
  return std::regex_match(text.begin(), text.end(), pattern);
}

// OICP's RFID UID: 8, 14 or 20 hex digits.
const std::regex& uid_pattern() {
  static const std::regex p(R"(^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$)");
  return p;
}

const std::regex& session_id_pattern() {
  static const std::regex p(R"(^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$)");
  return p;
}

const std::regex& provider_id_pattern() {
  static const std::regex p(R"(^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$)");
  return p;
}

// ProviderIDs compare without their optional separators ("DE*8EO" is "DE-8EO" is "DE8EO").
std::string bare(std::string_view id) {
  std::string out;
  for (char c : id) {
    if (c != '*' && c != '-') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string text_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The token the charger is given, and its OCPP 2.x type, from an OICP Identification.
struct Token {
  std::string id;
  std::string type;
};
std::optional<Token> token_of(const json::object& identification) {
  static const std::regex kEvco(
      R"(^(([A-Za-z]{2}\-?[A-Za-z0-9]{3}\-?C[A-Za-z0-9]{8}\-?[\d|A-Za-z])|([A-Za-z]{2}[\*|\-]?[A-Za-z0-9]{3}[\*|\-]?[A-Za-z0-9]{6}[\*|\-]?[\d|X]))$)");
  for (const char* rfid : {"RFIDIdentification", "RFIDMifareFamilyIdentification"}) {
    if (const auto* v = identification.if_contains(rfid); v != nullptr && v->is_object()) {
      const std::string uid = text_at(v->as_object(), "UID");
      if (matches(uid_pattern(), uid)) return Token{uid, "ISO14443"};
      return std::nullopt;
    }
  }
  for (const char* evco :
       {"RemoteIdentification", "QRCodeIdentification", "PlugAndChargeIdentification"}) {
    if (const auto* v = identification.if_contains(evco); v != nullptr && v->is_object()) {
      const std::string id = text_at(v->as_object(), "EvcoID");
      if (matches(kEvco, id)) return Token{id, "eMAID"};
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

// -- store -------------------------------------------------------------------------------------

Result<void> OicpSessionStore::add(const OicpSession& s) {
  auto r = db_.exec(
      "INSERT INTO roaming_oicp_sessions (" + std::string(kColumns) +
          ", cdr, cdr_accepted_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', 0) "
          "ON CONFLICT (session_id) DO NOTHING",
      {s.session_id, s.provider_id, s.evse_id, s.charger_id, std::to_string(s.ocpp_evse_id),
       s.id_token, s.identification, s.emp_partner_session_id, std::to_string(s.requested_ms),
       s.transaction_id, s.state});
  if (!r) return std::unexpected(r.error());
  if (r->affected() == 0) {
    return make_error(ErrorCode::kAlreadyExists, "session " + s.session_id + " is known");
  }
  return {};
}

Result<std::optional<OicpSession>> OicpSessionStore::get(const std::string& session_id) {
  auto r = db_.exec(
      "SELECT " + std::string(kColumns) + " FROM roaming_oicp_sessions WHERE session_id = $1",
      {session_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return session_of(*r, 0);
}

Result<void> OicpSessionStore::set_state(const std::string& session_id, const std::string& state) {
  auto r = db_.exec("UPDATE roaming_oicp_sessions SET state = $2 WHERE session_id = $1",
                    {session_id, state});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::optional<OicpSession>> OicpSessionStore::authorizes(const std::string& id_token,
                                                                const std::string& charger_id,
                                                                std::int64_t now_ms,
                                                                std::int64_t window_ms) {
  auto r = db_.exec("SELECT " + std::string(kColumns) +
                        " FROM roaming_oicp_sessions WHERE charger_id = $3 AND "
                        "((id_token = $1 AND state = 'requested' AND requested_ms >= $2) OR "
                        "((id_token = $1 OR stop_id_token = $1) AND state = 'started' AND "
                        "requested_ms >= $4)) ORDER BY requested_ms DESC LIMIT 1",
                    {id_token, std::to_string(now_ms - window_ms), charger_id,
                     std::to_string(now_ms - kRunningWindowMs)});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return session_of(*r, 0);
}

Result<void> OicpSessionStore::allow_stop(const std::string& session_id,
                                          const std::string& id_token) {
  auto r = db_.exec("UPDATE roaming_oicp_sessions SET stop_id_token = $2 WHERE session_id = $1",
                    {session_id, id_token});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<OicpSession>> OicpSessionStore::running_at(const std::string& charger_id,
                                                              std::int64_t now_ms) {
  auto r = db_.exec("SELECT " + std::string(kColumns) +
                        " FROM roaming_oicp_sessions WHERE charger_id = $1 AND state = 'started' "
                        "AND transaction_id <> '' AND requested_ms >= $2 "
                        "ORDER BY requested_ms DESC LIMIT 8",
                    {charger_id, std::to_string(now_ms - kRunningWindowMs)});
  if (!r) return std::unexpected(r.error());
  std::vector<OicpSession> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.push_back(session_of(*r, i));
  return out;
}

Result<void> OicpSessionStore::apply(const v1::TransactionUpdated& update, std::int64_t now_ms) {
  const auto& t = update.transaction();
  if (t.charger_id().empty() || t.transaction_id().empty() || t.id_token().id().empty()) return {};
  const bool ended = update.change() == "ended" || t.has_ended_at();
  // Linked already: it may end now.
  auto linked = db_.exec(
      "UPDATE roaming_oicp_sessions SET state = $3 WHERE charger_id = $1 AND transaction_id = $2 "
      "AND state <> 'ended'",
      {t.charger_id(), t.transaction_id(), ended ? "ended" : "started"});
  if (!linked) return std::unexpected(linked.error());
  if (linked->affected() > 0) return {};
  // The session requested at that EVSE for that token takes the transaction.
  auto r = db_.exec(
      "UPDATE roaming_oicp_sessions SET transaction_id = $2, state = $4, ocpp_evse_id = "
      "CASE WHEN ocpp_evse_id = 0 THEN CAST($5 AS BIGINT) ELSE ocpp_evse_id END WHERE "
      "session_id = ("
      "SELECT session_id FROM roaming_oicp_sessions WHERE charger_id = $1 AND id_token = $3 AND "
      "transaction_id = '' AND state = 'requested' AND requested_ms >= $6" +
          evse_condition(t.location().evse_id(), 5) + " ORDER BY requested_ms DESC LIMIT 1)",
      {t.charger_id(), t.transaction_id(), t.id_token().id(), ended ? "ended" : "started",
       std::to_string(t.location().evse_id()), std::to_string(now_ms - kLinkWindowMs)});
  if (!r) return std::unexpected(r.error());
  if (r->affected() > 0) {
    log::info("OICP session started",
              {{"charger_id", t.charger_id()}, {"transaction_id", t.transaction_id()}});
  }
  return {};
}

Result<bool> OicpSessionStore::put_cdr(const v1::Cdr& cdr, std::int64_t now_ms) {
  if (cdr.charger_id().empty() || cdr.transaction_id().empty()) return false;
  // Where the transaction ran: the EVSE of a session Hubject authorized without one, and the
  // location's time zone (OICP's times are in the charge point's local offset). Looked up before
  // the transaction (SQLite has one connection), and only when the charger has a session whose
  // CDR is not in yet.
  std::string placed_evse_id;
  std::string time_zone;
  if (locations_ != nullptr) {
    auto open =
        db_.exec("SELECT 1 FROM roaming_oicp_sessions WHERE charger_id = $1 AND cdr = '' LIMIT 1",
                 {cdr.charger_id()});
    if (!open) return std::unexpected(open.error());
    if (!open->empty()) {
      auto placed = locations_->place(cdr.charger_id(), cdr.location().evse_id());
      if (!placed) return std::unexpected(placed.error());
      if (*placed) {
        time_zone = (*placed)->location.time_zone();
        for (const auto& e : (*placed)->location.evses()) {
          if (e.uid() == (*placed)->evse_uid) placed_evse_id = e.evse_id();
        }
      }
    }
  }
  bool queued = false;
  auto done = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto r = tx.exec("SELECT " + std::string(kColumns) +
                         ", cdr FROM roaming_oicp_sessions WHERE charger_id = $1 AND "
                         "transaction_id = $2",
                     {cdr.charger_id(), cdr.transaction_id()});
    if (!r) return std::unexpected(r.error());
    if (r->empty()) {
      // The CDR came before the transaction's start (another topic): the session requested at
      // that EVSE for that token.
      r = tx.exec("SELECT " + std::string(kColumns) +
                      ", cdr FROM roaming_oicp_sessions WHERE charger_id = $1 AND id_token = $2 "
                      "AND transaction_id = '' AND state = 'requested' AND requested_ms >= $4" +
                      evse_condition(cdr.location().evse_id(), 3) +
                      " ORDER BY requested_ms DESC LIMIT 1",
                  {cdr.charger_id(), cdr.id_token().id(), std::to_string(cdr.location().evse_id()),
                   std::to_string(now_ms - kCdrLinkWindowMs)});
      if (!r) return std::unexpected(r.error());
      if (r->empty()) return {};
    }
    OicpSession s = session_of(*r, 0);
    if (!r->text(0, 11).empty()) return {};  // delivered again: stored (and queued) already
    if (s.evse_id.empty()) s.evse_id = placed_evse_id;
    if (s.evse_id.empty()) {
      log::warn("OICP CDR not sent: its EVSE is in no published location",
                {{"session_id", s.session_id}, {"charger_id", cdr.charger_id()}});
      return {};
    }
    boost::system::error_code ec;
    json::value identification = json::parse(s.identification, ec);
    if (ec) identification = json::object{};
    json::object body{{"SessionID", s.session_id},
                      {"CPOPartnerSessionID", cdr.cdr_id()},
                      {"EvseID", s.evse_id},
                      {"Identification", std::move(identification)},
                      {"ChargingStart", oicp_time(ms_of(cdr.started_at()), time_zone)},
                      {"ChargingEnd", oicp_time(ms_of(cdr.ended_at()), time_zone)},
                      {"SessionStart", oicp_time(ms_of(cdr.started_at()), time_zone)},
                      {"SessionEnd", oicp_time(ms_of(cdr.ended_at()), time_zone)},
                      {"ConsumedEnergy", static_cast<double>(cdr.energy_wh()) / 1000.0}};
    if (!s.emp_partner_session_id.empty()) {
      body["EMPPartnerSessionID"] = s.emp_partner_session_id;
    }
    // The product the driver was priced with: the tariff's product id, the one Hubject shows for
    // the EVSE (oicp_pricing.h); "Standard Price" when the session had no tariff.
    body["PartnerProductID"] = oicp_product_id(cdr.product_id());
    auto u = tx.exec(
        "UPDATE roaming_oicp_sessions SET cdr = $2, state = 'ended', transaction_id = $3 "
        "WHERE session_id = $1",
        {s.session_id, json::serialize(body), cdr.transaction_id()});
    if (!u) return std::unexpected(u.error());
    const std::string hubject[] = {std::string(kHubjectPartner)};
    if (auto q = enqueue_push(tx, hubject, "cdrs", s.session_id, "", now_ms); !q) return q;
    queued = true;
    return {};
  });
  if (!done) return std::unexpected(done.error());
  return queued;
}

Result<std::optional<std::string>> OicpSessionStore::cdr_to_send(const std::string& session_id) {
  auto r = db_.exec(
      "SELECT cdr FROM roaming_oicp_sessions WHERE session_id = $1 AND cdr_accepted_ms = 0 AND "
      "cdr <> ''",
      {session_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return r->text(0, 0);
}

Result<void> OicpSessionStore::cdr_accepted(const std::string& session_id, std::int64_t now_ms) {
  auto r = db_.exec("UPDATE roaming_oicp_sessions SET cdr_accepted_ms = $2 WHERE session_id = $1",
                    {session_id, std::to_string(now_ms)});
  if (!r) return std::unexpected(r.error());
  return {};
}

// -- real-time authorization ---------------------------------------------------------------------

std::string oicp_group_id(const std::string& session_id) {
  return "HBS-" + sha256_hex(session_id).substr(0, 16);
}

OicpAuthorizer::OicpAuthorizer(const OicpSettings& settings, OicpSessionStore& sessions,
                               OicpClient& client, const Clock& clock,
                               prometheus::Registry* registry, OicpClient* stop_client)
    : settings_(settings),
      sessions_(sessions),
      client_(client),
      stop_client_(stop_client != nullptr ? *stop_client : client),
      clock_(clock) {
  if (registry == nullptr) return;
  authorizations_ = &prometheus::BuildCounter()
                         .Name("switchyard_roaming_oicp_authorizations_total")
                         .Help(
                             "Tokens only Hubject may know, asked about in real time by "
                             "operation (start: eRoamingAuthorizeStart; stop: "
                             "eRoamingAuthorizeStop of a running Hubject session) and result: "
                             "authorized, not_authorized, unreachable (Hubject did not answer), "
                             "error (an answer that is no eRoamingAuthorizationStart / Stop)")
                         .Register(*registry);
  for (const char* op : {"start", "stop"}) {
    for (const char* r : {"authorized", "not_authorized", "unreachable", "error"}) {
      authorizations_->Add({{"operation", op}, {"result", r}});
    }
  }
}

void OicpAuthorizer::count(const char* operation, const char* result) {
  if (authorizations_ != nullptr) {
    authorizations_->Add({{"operation", operation}, {"result", result}}).Increment();
  }
}

namespace {

// The OICP Identification of a token: an RFID UID or an EvcoID; nullopt for anything else.
std::optional<json::object> identification_of(const std::string& id_token) {
  json::object identification;
  if (matches(uid_pattern(), id_token)) {
    identification["RFIDMifareFamilyIdentification"] = json::object{{"UID", id_token}};
  } else if (token_of(json::object{
                 {"PlugAndChargeIdentification", json::object{{"EvcoID", id_token}}}})) {
    identification["PlugAndChargeIdentification"] = json::object{{"EvcoID", id_token}};
  } else {
    return std::nullopt;
  }
  return identification;
}

// What Hubject answered to an eRoamingAuthorizeStart / Stop; fields empty where the answer has
// none (or is no JSON object).
struct AuthorizationAnswer {
  std::string status;  // AuthorizationStatus
  std::string code;    // StatusCode.Code
  std::string session_id;
  std::string provider_id;
  std::string emp_partner_session_id;
};

AuthorizationAnswer read_authorization(std::string_view text) {
  AuthorizationAnswer a;
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  const json::object* o = ec ? nullptr : parsed.if_object();
  if (o == nullptr) return a;
  a.status = text_at(*o, "AuthorizationStatus");
  a.session_id = text_at(*o, "SessionID");
  a.provider_id = text_at(*o, "ProviderID");
  a.emp_partner_session_id = text_at(*o, "EMPPartnerSessionID");
  if (const auto* sc = o->if_contains("StatusCode"); sc != nullptr && sc->is_object()) {
    a.code = text_at(sc->as_object(), "Code");
  }
  return a;
}

}  // namespace

RoamingTokenDecision oicp_accepted(const std::string& id_token, const std::string& session_id) {
  RoamingTokenDecision d;
  d.known = true;
  d.status = "Accepted";
  d.partner_id = std::string(kHubjectPartner);
  d.contract_id = id_token;
  d.authorization_reference = session_id;
  d.group_id = oicp_group_id(session_id);  // the charger lets a card Hubject allows stop it
  return d;
}

Result<OicpStopAnswer> OicpAuthorizer::authorize_stop(const std::string& id_token,
                                                      const std::string& charger_id) {
  OicpStopAnswer out;
  auto identification = identification_of(id_token);
  if (!identification) return out;  // not an identification Hubject could know
  auto running = sessions_.running_at(charger_id, unix_ms(clock_.now()));
  if (!running) return std::unexpected(running.error());
  if (running->empty()) return out;
  const OicpSession& session = running->front();
  json::object body{{"SessionID", session.session_id},
                    {"OperatorID", settings_.operator_id},
                    {"Identification", std::move(*identification)}};
  if (!session.emp_partner_session_id.empty()) {
    body["EMPPartnerSessionID"] = session.emp_partner_session_id;
  }
  if (!session.evse_id.empty()) body["EvseID"] = session.evse_id;
  auto answer = stop_client_.request(OicpOperation::kAuthorizeStop, json::serialize(body));
  if (!answer) {
    count("stop", "unreachable");
    log::warn("OICP stop authorization failed: Hubject did not answer",
              {{"charger_id", charger_id},
               {"session_id", session.session_id},
               {"error", answer.error().message}});
    out.kind = OicpStopAnswer::Kind::kNoAnswer;
    return out;
  }
  const AuthorizationAnswer a = read_authorization(*answer);
  // Named: a log field only views its text.
  const std::string token = log::redact(id_token);
  const std::string result = a.status.substr(0, 20);
  const std::string short_code = a.code.substr(0, 8);
  const log::Fields fields{{"charger_id", charger_id},
                           {"token", token},
                           {"session_id", session.session_id},
                           {"result", result},
                           {"code", short_code}};
  if (a.status == "Authorized") {
    count("stop", "authorized");
    log::info("OICP stop authorization", fields);
    // Its StopTransaction carries the card again: accepted then without a second question.
    if (auto allowed = sessions_.allow_stop(session.session_id, id_token); !allowed) {
      return std::unexpected(allowed.error());
    }
    out.kind = OicpStopAnswer::Kind::kAuthorized;
    out.decision = oicp_accepted(id_token, session.session_id);
    out.decision.real_time = true;
    return out;
  }
  if (a.status == "NotAuthorized") {
    count("stop", "not_authorized");
    log::info("OICP stop authorization", fields);
    out.kind = OicpStopAnswer::Kind::kNotAuthorized;
    return out;
  }
  count("stop", "error");
  log::warn("OICP stop authorization failed: no eRoamingAuthorizationStop in Hubject's answer",
            fields);
  out.kind = OicpStopAnswer::Kind::kNoAnswer;
  return out;
}

Result<std::optional<RoamingTokenDecision>> OicpAuthorizer::authorize(
    const std::string& id_token, const std::string& charger_id) {
  auto found = identification_of(id_token);
  if (!found) return std::nullopt;  // not an identification Hubject could know
  json::object identification = std::move(*found);
  const std::string sent_identification = json::serialize(identification);
  auto answer =
      client_.request(OicpOperation::kAuthorizeStart,
                      json::serialize(json::object{{"OperatorID", settings_.operator_id},
                                                   {"Identification", std::move(identification)}}));
  if (!answer) {
    count("start", "unreachable");
    log::warn("OICP authorization failed: Hubject did not answer",
              {{"charger_id", charger_id}, {"error", answer.error().message}});
    return std::nullopt;
  }
  const AuthorizationAnswer a = read_authorization(*answer);
  const std::string& status = a.status;
  const std::string& code = a.code;
  const std::string& session_id = a.session_id;
  if (status == "Authorized" && matches(session_id_pattern(), session_id)) {
    OicpSession s;
    s.session_id = session_id;
    s.provider_id = a.provider_id;
    s.charger_id = charger_id;
    s.id_token = id_token;
    s.identification = sent_identification;
    s.emp_partner_session_id = a.emp_partner_session_id;
    s.requested_ms = unix_ms(clock_.now());
    s.state = "requested";
    if (auto added = sessions_.add(s); !added && added.error().code != ErrorCode::kAlreadyExists) {
      return std::unexpected(added.error());
    }
    count("start", "authorized");
    RoamingTokenDecision d = oicp_accepted(id_token, session_id);
    d.real_time = true;
    log::info("OICP authorization", {{"charger_id", charger_id},
                                     {"token", log::redact(id_token)},
                                     {"result", "Authorized"},
                                     {"session_id", session_id},
                                     {"provider_id", s.provider_id}});
    return d;
  }
  if (status == "NotAuthorized") {
    count("start", "not_authorized");
    RoamingTokenDecision d;
    d.known = true;
    d.real_time = true;
    d.status = "Invalid";
    d.partner_id = std::string(kHubjectPartner);
    d.contract_id = id_token;
    log::info("OICP authorization", {{"charger_id", charger_id},
                                     {"token", log::redact(id_token)},
                                     {"result", "NotAuthorized"},
                                     {"code", code}});
    return d;
  }
  count("start", "error");
  // Not the answer itself: it may carry identifications.
  log::warn("OICP authorization failed: no eRoamingAuthorizationStart in Hubject's answer",
            {{"charger_id", charger_id},
             {"authorization_status", status.substr(0, 20)},
             {"code", code.substr(0, 8)}});
  return std::nullopt;
}

// -- Hubject's calls -----------------------------------------------------------------------------

struct OicpRemoteReceiver::Answer {
  int http = 200;
  std::string code;  // "000": Result true
  std::string info;
  std::string session_id;
  std::string emp_partner_session_id;

  // A refusal before the body could be read.
  static Answer refusal(int http, std::string code, std::string info) {
    Answer a;
    a.http = http;
    a.code = std::move(code);
    a.info = std::move(info);
    return a;
  }
};

OicpRemoteReceiver::OicpRemoteReceiver(const OicpSettings& settings, sql::Database& db,
                                       LocationStore& locations, OicpSessionStore& sessions,
                                       ChargerCommands& chargers, const Clock& clock,
                                       RoamingMetrics* metrics, prometheus::Registry* registry)
    : settings_(settings),
      db_(db),
      locations_(locations),
      sessions_(sessions),
      chargers_(chargers),
      clock_(clock),
      metrics_(metrics) {
  if (registry == nullptr) return;
  remote_ = &prometheus::BuildCounter()
                 .Name("switchyard_roaming_oicp_remote_total")
                 .Help(
                     "Hubject's remote starts and stops (eRoamingAuthorizeRemoteStart/Stop) by "
                     "operation and the OICP StatusCode we answered (000: accepted)")
                 .Register(*registry);
  for (const char* op : {"start", "stop"}) remote_->Add({{"operation", op}, {"code", "000"}});
}

void OicpRemoteReceiver::install_routes(http::Server& server) {
  server.route_prefix("*", "/", [this](const http::Request& r) { return handle(r); });
}

Result<std::optional<std::string>> OicpRemoteReceiver::held_location(const std::string& evse_id) {
  auto r = db_.exec("SELECT location_id FROM roaming_oicp_evses WHERE evse_id = $1", {evse_id});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return std::nullopt;
  return r->text(0, 0);
}

http::Response OicpRemoteReceiver::handle(const http::Request& request) {
  static const std::regex kPath(
      R"(^.*/charging/v21/providers/([^/]+)/authorize-remote/(start|stop)$)");
  std::smatch m;
  Answer answer;
  std::string operation = "other";
  if (!std::regex_match(request.path, m, kPath)) {
    answer = Answer::refusal(404, "022", "no OICP operation at " + request.path.substr(0, 200));
  } else if (!settings_.client_name.empty() &&
             request.client_common_name != settings_.client_name) {
    answer = Answer::refusal(403, "017",
                             "client certificate CN '" + request.client_common_name.substr(0, 64) +
                                 "' is not " + settings_.client_name);
  } else if (request.method != "POST") {
    answer = Answer::refusal(405, "022", "method " + request.method + " not allowed");
  } else {
    operation = m[2].str();
    const std::string provider = http::url_decode(m[1].str()).value_or("");
    boost::system::error_code ec;
    const json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) {
      answer = Answer::refusal(400, "022", "the body is not a JSON object");
    } else {
      const json::object& body = parsed.as_object();
      answer.code = "022";
      answer.session_id = text_at(body, "SessionID");
      answer.emp_partner_session_id = text_at(body, "EMPPartnerSessionID");
      if (!matches(session_id_pattern(), answer.session_id)) {
        answer.code = "022";
        answer.info = "SessionID: missing or not a GUID";
      } else {
        answer = operation == "start" ? remote_start(provider, body, std::move(answer))
                                      : remote_stop(provider, body, std::move(answer));
      }
    }
  }
  json::object ack{{"Result", answer.code == "000"},
                   {"StatusCode", json::object{{"Code", answer.code},
                                               {"Description", description(answer.code)}}}};
  if (!answer.info.empty()) {
    ack["StatusCode"].as_object()["AdditionalInfo"] = answer.info.substr(0, 1000);
  }
  // Echoed only when well-formed: an acknowledgement must itself be valid.
  if (matches(session_id_pattern(), answer.session_id)) ack["SessionID"] = answer.session_id;
  if (!answer.emp_partner_session_id.empty() && answer.emp_partner_session_id.size() <= 250) {
    ack["EMPPartnerSessionID"] = answer.emp_partner_session_id;
  }
  if (metrics_ != nullptr) {
    metrics_->request("in", operation == "other" ? "other" : "remote-" + operation, request.method,
                      answer.http, "oicp");
  }
  if (remote_ != nullptr && operation != "other") {
    remote_->Add({{"operation", operation}, {"code", answer.code}}).Increment();
  }
  log::info(answer.code == "000" ? "OICP remote " + operation + " accepted"
                                 : "OICP remote " + operation + " refused",
            {{"session_id", answer.session_id},
             {"code", answer.code},
             {"info", answer.info},
             {"client", request.client_common_name}});
  return http::Response::json(answer.http, json::serialize(ack));
}

OicpRemoteReceiver::Answer OicpRemoteReceiver::remote_start(const std::string& provider,
                                                            const json::object& body,
                                                            Answer answer) {
  const auto refuse = [&](std::string code, std::string info) {
    answer.code = std::move(code);
    answer.info = std::move(info);
    return answer;
  };
  const std::string provider_id = text_at(body, "ProviderID");
  if (!matches(provider_id_pattern(), provider_id)) {
    return refuse("022", "ProviderID: missing or not an OICP ProviderID");
  }
  if (bare(provider_id) != bare(provider)) {
    return refuse("022", "ProviderID " + provider_id + " is not the URL's " + provider);
  }
  const std::string evse_id = text_at(body, "EvseID");
  if (evse_id.empty()) return refuse("022", "EvseID: missing");
  const auto* identification = body.if_contains("Identification");
  if (identification == nullptr || !identification->is_object()) {
    return refuse("022", "Identification: missing");
  }
  const auto token = token_of(identification->as_object());
  if (!token) {
    return refuse("022",
                  "Identification: no RFID UID or EvcoID in OICP's format (RemoteIdentification, "
                  "RFIDIdentification, QRCodeIdentification, PlugAndChargeIdentification)");
  }
  if (auto known = sessions_.get(answer.session_id); !known) {
    return refuse("021", known.error().message);
  } else if (*known) {
    // Hubject sent it again (its retry): the same answer, not a second start.
    if ((*known)->state == "failed") return refuse("501", "the charger did not start it");
    answer.code = "000";
    return answer;
  }
  auto location_id = held_location(evse_id);
  if (!location_id) return refuse("021", location_id.error().message);
  if (!*location_id) return refuse("603", "EVSE " + evse_id + " is not one Hubject holds of ours");
  auto location = locations_.get(**location_id);
  if (!location) return refuse("021", location.error().message);
  const v1::RoamingEvse* evse = nullptr;
  if (*location) {
    for (const auto& e : (*location)->evses()) {
      if (e.evse_id() == evse_id && e.status() != "REMOVED") evse = &e;
    }
  }
  if (evse == nullptr) return refuse("603", "EVSE " + evse_id + " is no longer published");
  const std::string& status = evse->status();
  if (status == "OUTOFORDER" || status == "INOPERATIVE") {
    return refuse("700", "EVSE " + evse_id + " is " + status);
  }
  if (status == "UNKNOWN") return refuse("501", "the charger of EVSE " + evse_id + " is offline");
  if (status == "CHARGING" || status == "BLOCKED")
    return refuse("602", "EVSE " + evse_id + " is in use");
  if (status == "RESERVED") return refuse("601", "EVSE " + evse_id + " is reserved");
  OicpSession session{answer.session_id,
                      provider_id,
                      evse_id,
                      evse->charger_id(),
                      evse->ocpp_evse_id(),
                      token->id,
                      json::serialize(*identification),
                      answer.emp_partner_session_id,
                      unix_ms(clock_.now()),
                      "",
                      "requested"};
  // Recorded first: the charger's authorization of this token asks roaming (authorizes()).
  if (auto added = sessions_.add(session); !added) return refuse("021", added.error().message);
  auto started =
      chargers_.remote_start(session.charger_id, session.ocpp_evse_id, token->id, token->type);
  if (started && *started == "Accepted") {
    answer.code = "000";
    return answer;
  }
  (void)sessions_.set_state(session.session_id, "failed");
  if (!started) return refuse("501", started.error().message);
  return refuse("602", "the charger answered " + *started);
}

OicpRemoteReceiver::Answer OicpRemoteReceiver::remote_stop(const std::string& provider,
                                                           const json::object& body,
                                                           Answer answer) {
  const auto refuse = [&](std::string code, std::string info) {
    answer.code = std::move(code);
    answer.info = std::move(info);
    return answer;
  };
  auto session = sessions_.get(answer.session_id);
  if (!session) return refuse("021", session.error().message);
  if (!*session) return refuse("400", "no session " + answer.session_id);
  const OicpSession& s = **session;
  if (bare(s.provider_id) != bare(provider) ||
      bare(text_at(body, "ProviderID")) != bare(s.provider_id)) {
    return refuse("400", "session " + s.session_id + " is not provider " + provider + "'s");
  }
  if (text_at(body, "EvseID") != s.evse_id) {
    return refuse("400", "session " + s.session_id + " is at EVSE " + s.evse_id);
  }
  if (s.state == "ended") return refuse("400", "session " + s.session_id + " has ended");
  if (s.state == "failed") return refuse("400", "session " + s.session_id + " never started");
  if (s.transaction_id.empty()) {
    return refuse("400", "the charger has not started session " + s.session_id + " yet");
  }
  auto stopped = chargers_.remote_stop(s.charger_id, s.transaction_id);
  if (stopped && *stopped == "Accepted") {
    answer.code = "000";
    return answer;
  }
  if (!stopped) return refuse("501", stopped.error().message);
  return refuse("501", "the charger answered " + *stopped);
}

}  // namespace switchyard::roaming
