// Hubject's sessions at our chargers (OICP 2.3, CPO role): an EMP's driver started remotely
// through Hubject (eRoamingAuthorizeRemoteStart, which Hubject POSTs to our OICP listener over
// mutual TLS), stopped the same way (eRoamingAuthorizeRemoteStop), and billed with an
// eRoamingChargeDetailRecord once the transaction ends.
//
// A remote start names the Hubject SessionID, the EvseID (one of ours Hubject holds:
// roaming_oicp_evses) and the driver's identification; the session is recorded before the charger
// is asked (RemoteStartTransaction / RequestStartTransaction with the EvcoID or RFID UID), so the
// charger's own authorization of that token is answered Accepted by roaming (authorizes()). The
// transaction that starts at that EVSE with that token is the session's (apply(transaction));
// its CDR becomes the session's eRoamingChargeDetailRecord, put into Hubject's push outbox (module
// "cdrs") and sent by OicpPusher until Hubject accepts it, once in effect.
//
// Every answer is an eRoamingAcknowledgment: Result true with StatusCode 000, or Result false with
// A token presented at a charger that only Hubject knows is asked about in real time
// (OicpAuthorizer, eRoamingAuthorizeStart): Hubject's SessionID then names the session the same
// way, and its CDR follows. Another card presented where a Hubject session runs is asked about as
// a stop of that session first (eRoamingAuthorizeStop). Every authorization of a Hubject session
// carries the session's group (oicp_group_id: the charger's parentIdTag / groupIdToken), so a
// charger lets a card Hubject authorized to stop end the transaction.
//
// OICP's code: 022 (a body that is no valid request: HTTP 400 when not JSON), 603 unknown EvseID,
// 700 out of service, 602 in use, 601 reserved, 501 the charger cannot be reached or did not
// answer, 400 an unknown or finished session. Boost.JSON stays in the .cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/settings.h"
#include "roaming/tokens.h"

namespace boost::json {
class object;
}  // namespace boost::json
namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard {
namespace http {
struct Request;
struct Response;
class Server;
}  // namespace http
namespace sql {
class Database;
}  // namespace sql
namespace v1 {
class TransactionUpdated;
class Cdr;
}  // namespace v1
}  // namespace switchyard

namespace switchyard::roaming {

class ChargerCommands;
class LocationStore;
class OicpClient;
class RoamingMetrics;

// The token group of a Hubject session, as chargers are told it (parentIdTag, at most 20
// characters in OCPP 1.6): "HBS-" and 16 hex digits of SHA-256(SessionID).
std::string oicp_group_id(const std::string& session_id);

// Roaming's Accepted for `id_token`, a driver of Hubject session `session_id` (partner
// kHubjectPartner, the session as authorization_reference, its group).
RoamingTokenDecision oicp_accepted(const std::string& id_token, const std::string& session_id);

struct OicpSession {
  std::string session_id;  // Hubject's
  std::string provider_id;
  std::string evse_id;  // OICP EvseID
  std::string charger_id;
  int ocpp_evse_id = 0;
  std::string id_token;        // what the charger is given: the EvcoID or the RFID UID
  std::string identification;  // the Identification object as Hubject sent it (JSON)
  std::string emp_partner_session_id;
  std::int64_t requested_ms = 0;
  std::string transaction_id;  // once the charger started it
  std::string state;           // requested, started, ended, failed
};

class OicpSessionStore {
 public:
  // `locations` (may be null) names the EVSE of a session Hubject authorized without one
  // (AuthorizeStart) from where its transaction ran.
  explicit OicpSessionStore(sql::Database& db, LocationStore* locations = nullptr)
      : db_(db), locations_(locations) {}

  // A new session; kAlreadyExists when the SessionID is known.
  Result<void> add(const OicpSession& session);
  Result<std::optional<OicpSession>> get(const std::string& session_id);
  Result<void> set_state(const std::string& session_id, const std::string& state);
  // Whether `id_token` presented at `charger_id` belongs to a session at that charger requested
  // within `window_ms` before `now_ms` that has not started yet, or to one whose transaction runs
  // there (started within two days), or that Hubject allowed to stop it (allow_stop): the
  // charger's authorization of a remotely started (or Hubject-authorized) driver, and of a card
  // that stops the session. At another charger the token is not.
  Result<std::optional<OicpSession>> authorizes(const std::string& id_token,
                                                const std::string& charger_id, std::int64_t now_ms,
                                                std::int64_t window_ms);
  // A card Hubject allowed to stop the session (eRoamingAuthorizeStop): authorizes() accepts it
  // for that session from then on.
  Result<void> allow_stop(const std::string& session_id, const std::string& id_token);
  // The sessions whose transaction runs at `charger_id` (started within two days before
  // `now_ms`), the most recently requested first.
  Result<std::vector<OicpSession>> running_at(const std::string& charger_id, std::int64_t now_ms);
  // A transaction update: the session at its charger EVSE with its token, requested within the
  // hour before `now_ms`, gets its transaction id (started), or ends with it. Other transactions
  // change nothing.
  Result<void> apply(const v1::TransactionUpdated& update, std::int64_t now_ms);
  // The CDR of a session's transaction: its eRoamingChargeDetailRecord stored and put into
  // Hubject's outbox (module "cdrs"), once: a CDR delivered again changes nothing. True when it
  // was a session's.
  Result<bool> put_cdr(const v1::Cdr& cdr, std::int64_t now_ms);
  // The stored eRoamingChargeDetailRecord of a session; nullopt when none waits (accepted
  // already, or none).
  Result<std::optional<std::string>> cdr_to_send(const std::string& session_id);
  Result<void> cdr_accepted(const std::string& session_id, std::int64_t now_ms);

 private:
  sql::Database& db_;
  LocationStore* locations_;
};

// A token neither our registry nor an eMSP knows, presented at one of our chargers: when it is an
// RFID UID (8, 14 or 20 hex digits) or an EvcoID, Hubject is asked in real time
// (eRoamingAuthorizeStart; the client given has a short timeout: the charger waits). Authorized:
// the session is recorded under Hubject's SessionID (its transaction and CDR follow as for a remote
// start) and the token Accepted; NotAuthorized: Invalid; Hubject unreachable or answering nonsense:
// nullopt, so the auth service's default applies. Counted in
// switchyard_roaming_oicp_authorizations_total{operation="start"}.
//
// authorize_stop: such a token at a charger where a Hubject session runs (another card than the
// one that started it) is asked about as a stop of the most recent one (eRoamingAuthorizeStop with
// its SessionID): Authorized → Accepted with the session's group, which the charger knows from the
// start, so it ends the transaction; NotAuthorized → not this session's (a new driver at another
// EVSE, then asked about as a start); no answer → the auth service's default. Counted with
// operation="stop".
struct OicpStopAnswer {
  enum class Kind { kNotAsked, kAuthorized, kNotAuthorized, kNoAnswer };
  Kind kind = Kind::kNotAsked;
  RoamingTokenDecision decision;  // with kAuthorized
};

class OicpAuthorizer {
 public:
  // `stop_client` (may be null: `client`) asks eRoamingAuthorizeStop, which comes first when a
  // session runs: a shorter timeout keeps both within the charger's wait.
  OicpAuthorizer(const OicpSettings& settings, OicpSessionStore& sessions, OicpClient& client,
                 const Clock& clock, prometheus::Registry* registry,
                 OicpClient* stop_client = nullptr);
  Result<std::optional<RoamingTokenDecision>> authorize(const std::string& id_token,
                                                        const std::string& charger_id);
  Result<OicpStopAnswer> authorize_stop(const std::string& id_token, const std::string& charger_id);

 private:
  void count(const char* operation, const char* result);

  OicpSettings settings_;
  OicpSessionStore& sessions_;
  OicpClient& client_;
  OicpClient& stop_client_;
  const Clock& clock_;
  prometheus::Family<prometheus::Counter>* authorizations_ = nullptr;
};

// Serves Hubject's calls on the OICP listener (--oicp-port, mutual TLS): POST
// .../charging/v21/providers/{ProviderID}/authorize-remote/start and .../stop, under any path
// prefix (the URL registered at Hubject).
class OicpRemoteReceiver {
 public:
  // Everything outlives this; `metrics` and `registry` may be null.
  OicpRemoteReceiver(const OicpSettings& settings, sql::Database& db, LocationStore& locations,
                     OicpSessionStore& sessions, ChargerCommands& chargers, const Clock& clock,
                     RoamingMetrics* metrics, prometheus::Registry* registry);

  void install_routes(http::Server& server);
  http::Response handle(const http::Request& request);

 private:
  struct Answer;
  // Past the checks every call shares (a JSON object, a well-formed SessionID): `answer` has the
  // request's SessionID and EMPPartnerSessionID.
  Answer remote_start(const std::string& provider_id, const boost::json::object& body,
                      Answer answer);
  Answer remote_stop(const std::string& provider_id, const boost::json::object& body,
                     Answer answer);
  Result<std::optional<std::string>> held_location(const std::string& evse_id);

  OicpSettings settings_;
  sql::Database& db_;
  LocationStore& locations_;
  OicpSessionStore& sessions_;
  ChargerCommands& chargers_;
  const Clock& clock_;
  RoamingMetrics* metrics_;
  prometheus::Family<prometheus::Counter>* remote_ = nullptr;
};

}  // namespace switchyard::roaming
