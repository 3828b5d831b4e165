// The roaming service's tables, in one migration sequence (scope "roaming").
#include "roaming/schema.h"

namespace switchyard::roaming {
namespace {

const sql::Migration kMigrations[] = {
    {1, "roaming partners",
     R"sql(
CREATE TABLE roaming_partners (
  partner_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  initiated_by_us BIGINT NOT NULL,
  our_token_sha256 TEXT NOT NULL,
  their_token TEXT NOT NULL,
  versions_url TEXT NOT NULL,
  version TEXT NOT NULL,
  endpoints_json TEXT NOT NULL,
  roles_json TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL
);
CREATE INDEX roaming_partners_token ON roaming_partners (our_token_sha256);
)sql",
     ""},
    // The locations we publish (location_store.h): definitions, EVSE statuses, and the OCPP
    // facts behind the statuses, for every charger.
    {2, "roaming locations",
     R"sql(
CREATE TABLE roaming_locations (
  location_id TEXT PRIMARY KEY,
  publish BIGINT NOT NULL,
  body TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL
);
CREATE INDEX roaming_locations_updated ON roaming_locations (last_updated_ms, location_id);
CREATE TABLE roaming_evses (
  location_id TEXT NOT NULL,
  uid TEXT NOT NULL,
  charger_id TEXT NOT NULL,
  ocpp_evse_id BIGINT NOT NULL,
  status TEXT NOT NULL,
  removed BIGINT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  PRIMARY KEY (location_id, uid)
);
CREATE INDEX roaming_evses_charger ON roaming_evses (charger_id, ocpp_evse_id);
CREATE TABLE roaming_ocpp_status (
  charger_id TEXT NOT NULL,
  ocpp_evse_id BIGINT NOT NULL,
  connector_id BIGINT NOT NULL,
  status TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (charger_id, ocpp_evse_id, connector_id)
);
CREATE TABLE roaming_charger_online (
  charger_id TEXT PRIMARY KEY,
  online BIGINT NOT NULL,
  at_ms BIGINT NOT NULL
);
)sql",
     ""},
    // What each partner has still to be told (location_store.h): one row per partner and object.
    {3, "roaming push outbox",
     R"sql(
CREATE TABLE roaming_push_outbox (
  partner_id TEXT NOT NULL,
  location_id TEXT NOT NULL,
  evse_uid TEXT NOT NULL,
  version BIGINT NOT NULL,
  enqueued_ms BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  PRIMARY KEY (partner_id, location_id, evse_uid)
);
CREATE INDEX roaming_push_outbox_due ON roaming_push_outbox (next_attempt_ms);
)sql",
     ""},
    // Tokens eMSPs pushed to us (tokens.h), for the authorization of their drivers.
    {4, "roaming tokens",
     R"sql(
CREATE TABLE roaming_tokens (
  country_code TEXT NOT NULL,
  party_id TEXT NOT NULL,
  uid TEXT NOT NULL,
  token_type TEXT NOT NULL,
  partner_id TEXT NOT NULL,
  contract_id TEXT NOT NULL,
  issuer TEXT NOT NULL,
  group_id TEXT NOT NULL,
  valid BIGINT NOT NULL,
  whitelist TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (country_code, party_id, uid, token_type)
);
CREATE INDEX roaming_tokens_uid ON roaming_tokens (uid);
)sql",
     ""},
    // The push outbox of every module (push_outbox.h), replacing the locations-only one.
    {5, "roaming outbox by module",
     R"sql(
CREATE TABLE roaming_outbox (
  partner_id TEXT NOT NULL,
  module TEXT NOT NULL,
  object_id TEXT NOT NULL,
  part TEXT NOT NULL,
  version BIGINT NOT NULL,
  enqueued_ms BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_ms BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  PRIMARY KEY (partner_id, module, object_id, part)
);
INSERT INTO roaming_outbox (partner_id, module, object_id, part, version, enqueued_ms, attempts,
                            next_attempt_ms, last_error)
  SELECT partner_id, 'locations', location_id, evse_uid, version, enqueued_ms, attempts,
         next_attempt_ms, last_error FROM roaming_push_outbox;
DROP TABLE roaming_push_outbox;
CREATE INDEX roaming_outbox_due ON roaming_outbox (next_attempt_ms);
)sql",
     ""},
    // Other networks' drivers at our chargers (session_store.h): sessions, CDRs (delivered_ms 0
    // until the owner accepted it) and the latest real-time authorization per token.
    {6, "roaming sessions and CDRs",
     R"sql(
CREATE TABLE roaming_sessions (
  session_id TEXT PRIMARY KEY,
  partner_id TEXT NOT NULL,
  charger_id TEXT NOT NULL,
  transaction_id TEXT NOT NULL,
  token TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  authorization_reference TEXT NOT NULL,
  tx_updated_ms BIGINT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX roaming_sessions_partner ON roaming_sessions (partner_id, last_updated_ms, session_id);
CREATE TABLE roaming_cdrs (
  cdr_id TEXT PRIMARY KEY,
  partner_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  token TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  authorization_reference TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL,
  delivered_ms BIGINT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX roaming_cdrs_partner ON roaming_cdrs (partner_id, last_updated_ms, cdr_id);
CREATE INDEX roaming_cdrs_session ON roaming_cdrs (session_id);
CREATE TABLE roaming_authorizations (
  uid TEXT NOT NULL,
  partner_id TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  authorization_reference TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  PRIMARY KEY (uid, partner_id)
);
)sql",
     ""},
    // Reservations eMSPs made with RESERVE_NOW (commands.h): their id and the charger's.
    {7, "roaming reservations",
     R"sql(
CREATE TABLE roaming_reservations (
  partner_id TEXT NOT NULL,
  reservation_id TEXT NOT NULL,
  charger_id TEXT NOT NULL,
  evse_id BIGINT NOT NULL,
  ocpp_reservation_id BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  PRIMARY KEY (partner_id, reservation_id)
);
)sql",
     ""},
    // When roaming first saw each version of a tariff (tariffs.h): OCPI's last_updated.
    {8, "roaming tariffs",
     R"sql(
CREATE TABLE roaming_tariffs (
  tariff_id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  last_updated_ms BIGINT NOT NULL
);
)sql",
     ""},
    // OICP (oicp_pusher.h): the EVSEs Hubject holds, with the EvseDataRecord it has of each, and
    // when it last accepted a fullLoad.
    {9, "roaming oicp",
     R"sql(
CREATE TABLE roaming_oicp_evses (
  evse_id TEXT PRIMARY KEY,
  location_id TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX roaming_oicp_evses_location ON roaming_oicp_evses (location_id);
CREATE TABLE roaming_oicp_state (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
)sql",
     ""},
    // Hubject's sessions at our chargers (oicp_sessions.h): remote starts, their transaction and
    // the eRoamingChargeDetailRecord (cdr; cdr_accepted_ms once Hubject accepted it).
    {10, "roaming oicp sessions",
     R"sql(
CREATE TABLE roaming_oicp_sessions (
  session_id TEXT PRIMARY KEY,
  provider_id TEXT NOT NULL,
  evse_id TEXT NOT NULL,
  charger_id TEXT NOT NULL,
  ocpp_evse_id BIGINT NOT NULL,
  id_token TEXT NOT NULL,
  identification TEXT NOT NULL,
  emp_partner_session_id TEXT NOT NULL,
  requested_ms BIGINT NOT NULL,
  transaction_id TEXT NOT NULL,
  state TEXT NOT NULL,
  cdr TEXT NOT NULL,
  cdr_accepted_ms BIGINT NOT NULL
);
CREATE INDEX roaming_oicp_sessions_token ON roaming_oicp_sessions (id_token, requested_ms);
CREATE INDEX roaming_oicp_sessions_transaction ON roaming_oicp_sessions (charger_id, transaction_id);
)sql",
     ""},
    // What Hubject holds of our pricing (oicp_pricing.h), as of the pushes it accepted: kind
    // 'products' (id ''): the PricingProductData; kind 'evse' (id the EvseID): its EVSEPricing
    // item.
    {11, "roaming oicp pricing",
     R"sql(
CREATE TABLE roaming_oicp_pricing (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);
)sql",
     ""},
    // A card Hubject allowed to stop a running session (eRoamingAuthorizeStop): accepted for it
    // from then on without asking again (the charger's StopTransaction carries it once more).
    {12, "roaming oicp stop tokens",
     "ALTER TABLE roaming_oicp_sessions ADD COLUMN stop_id_token TEXT NOT NULL DEFAULT ''", ""},
};

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

}  // namespace switchyard::roaming
