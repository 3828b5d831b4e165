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
};

}  // namespace

std::span<const sql::Migration> migrations() { return kMigrations; }

}  // namespace switchyard::roaming
