"""Roaming slice 1: OCPI 2.2.1 versions and the credentials handshake, against switchyard-standalone
(OCPI on its HTTP port, the Roaming gRPC API through switchyardctl) and once against the
distributed switchyard-roaming on PostgreSQL.

The other party is a real eMSP: `ocpi_peer.OcpiEmsp`, built on the `extrawest-ocpi` package.
Both directions: we register with it (`switchyardctl partners connect`: the package answers our
POST, GETs our versions with the token we gave it and answers with its token C), and it registers
with us (`partners invite` gives token A; the peer GETs our versions and POSTs its credentials).
Then update (token rotation) and unregister from either side, and everything that must be refused.
Every response of ours must be an OCPI envelope with X-Request-ID and X-Correlation-ID, and every
payload we send (versions, version details, credentials) must validate against the OCPI 2.2.1
OpenAPI description in ../shared/roaming/ocpi-2.2.1-openapi (read at test time, never copied).
"""

import hashlib
import os
import re
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ocpi_peer import OcpiEmsp, b64, new_token
from servicekit import free_port, in_ci, psql, wait_until

REPO = Path(__file__).resolve().parents[3]
OPENAPI = Path(os.environ.get("SWITCHYARD_SHARED_DIR", REPO.parent / "shared")) / "roaming" / \
    "ocpi-2.2.1-openapi"

# The contract's defaults (--ocpi-country-code, --ocpi-party-id, --ocpi-business-name).
OUR_ROLE = {"role": "CPO", "business_details": {"name": "Switchyard CPO"}, "party_id": "SWY",
            "country_code": "DE"}


# -- the OCPI 2.2.1 schemas ----------------------------------------------------------------

class OcpiSchemas:
    """The OpenAPI files as JSON Schema 2020-12 resources; `validate(file, name, payload)` checks
    a payload against `<file>#/components/schemas/<name>`, following $refs across files."""

    def __init__(self, root):
        self.root = root.resolve()
        self.registry = Registry(retrieve=self._retrieve)
        self.checked = []

    def _retrieve(self, uri):
        path = Path(uri.removeprefix("file://"))
        return Resource.from_contents(yaml.safe_load(path.read_text()),
                                      default_specification=DRAFT202012)

    def validate(self, file, name, payload):
        schema = {"$ref": f"{(self.root / file).as_uri()}#/components/schemas/{name}"}
        validator = Draft202012Validator(schema, registry=self.registry,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
        assert not errors, (f"not an OCPI 2.2.1 {name} ({file}): " +
                            "; ".join(f"{list(e.path)}: {e.message}" for e in errors) +
                            f"\npayload: {payload}")
        self.checked.append(name)


@pytest.fixture(scope="session")
def schemas():
    if not (OPENAPI / "credentials.yaml").exists():
        message = f"the OCPI 2.2.1 OpenAPI description is not at {OPENAPI} (../shared)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return OcpiSchemas(OPENAPI)


# -- talking OCPI to Switchyard ------------------------------------------------------------

class Answer:
    """One response of ours, already checked to be an OCPI envelope with the correlation headers
    (every response must be)."""

    def __init__(self, response):
        self.response = response
        self.http = response.status_code
        self.headers = response.headers
        assert response.headers.get("content-type", "").startswith("application/json"), (
            f"{response.request.method} {response.request.url}: Content-Type "
            f"{response.headers.get('content-type')!r}")
        self.body = response.json()
        assert isinstance(self.body, dict), self.body
        assert isinstance(self.body.get("status_code"), int), self.body
        stamp = self.body.get("timestamp")
        assert isinstance(stamp, str) and stamp.endswith("Z"), f"timestamp {stamp!r} not UTC Z"
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        for header in ("X-Request-ID", "X-Correlation-ID"):
            assert response.headers.get(header), (
                f"{response.request.method} {response.request.url} answered without {header}")
        self.status_code = self.body["status_code"]
        self.message = self.body.get("status_message") or ""
        self.data = self.body.get("data")

    def __repr__(self):
        return f"HTTP {self.http} {self.body}"


def ocpi(method, url, token=None, encode=True, body=None, content=None, headers=None,
         authorization=None):
    """A request to Switchyard's OCPI API; token Base64-encoded unless `encode` is False,
    `authorization` replaces the header as given."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Token {b64(token) if encode else token}"
    if authorization is not None:
        all_headers["Authorization"] = authorization
    if body is not None:
        content = httpx.Request("POST", url, json=body).content
    if content is not None:
        all_headers.setdefault("Content-Type", "application/json")
    response = httpx.request(method, url, headers=all_headers, content=content, timeout=15)
    return Answer(response)


def assert_401(answer):
    assert answer.http == 401, answer
    assert answer.status_code == 2000, answer
    assert "unknown or missing token" in answer.message, answer


# -- the operator's side (switchyardctl partners) ------------------------------------------

def invite(cpo, name="peer"):
    out = cpo.ctl.json("partners", "invite", name)
    assert out["partner"]["state"] == "PARTNER_STATE_INVITED", out
    assert out["tokenA"] and out["versionsUrl"] == f"{cpo.ocpi_base_url}/versions", out
    return out


def connect(cpo, peer, name=None):
    extra = ["--name", name] if name else []
    return cpo.ctl.json("partners", "connect", peer.versions_url, peer.token_a, *extra)["partner"]


def get_partner(cpo, partner_id):
    return cpo.ctl.json("partners", "get", partner_id)["partner"]


def list_partners(cpo):
    return cpo.ctl.json("partners", "list").get("partners", [])


def peer_registers(cpo, peer, name="peer"):
    """Direction (b): the eMSP registers with us with an invite's token A. Returns
    (partner id, token A, the POST's answer)."""
    invitation = invite(cpo, name)
    response = peer.register_with(invitation["versionsUrl"], invitation["tokenA"])
    answer = Answer(response)
    assert answer.http == 200 and answer.status_code == 1000, answer
    return invitation["partner"]["id"], invitation["tokenA"], answer


def credentials_url(cpo):
    return f"{cpo.ocpi_base_url}/2.2.1/credentials"


def credentials_body(peer, token=None, **changes):
    body = peer.own_credentials(token or new_token())
    body.update(changes)
    return body


# == versions and version details ==========================================================

def test_versions_and_details_open_with_an_invites_token_and_validate(standalone, schemas):
    invitation = invite(standalone)
    token_a = invitation["tokenA"]
    versions = ocpi("GET", invitation["versionsUrl"], token_a)
    assert versions.http == 200 and versions.status_code == 1000, versions
    schemas.validate("versions.yaml", "VersionListResponse", versions.body)
    assert versions.data == [{"version": "2.2.1", "url": f"{standalone.ocpi_base_url}/2.2.1"}]
    details = ocpi("GET", versions.data[0]["url"], token_a)
    assert details.http == 200 and details.status_code == 1000, details
    schemas.validate("versions.yaml", "VersionDetailsResponse", details.body)
    assert details.data["version"] == "2.2.1"
    credentials = {(e["identifier"], e["role"], e["url"]) for e in details.data["endpoints"]}
    assert {("credentials", "SENDER", credentials_url(standalone)),
            ("credentials", "RECEIVER", credentials_url(standalone))} <= credentials


def test_a_raw_token_is_accepted_too(standalone):
    token_a = invite(standalone)["tokenA"]
    answer = ocpi("GET", f"{standalone.ocpi_base_url}/versions", token_a, encode=False)
    assert answer.http == 200 and answer.status_code == 1000, answer


@pytest.mark.parametrize("authorization", [None, "Token " + b64("no-such-token"),
                                           "Token no-such-token", "Bearer abc", "Token"])
def test_a_missing_or_unknown_token_is_401(standalone, authorization):
    invite(standalone)  # a partner exists: its token is not any token
    for path in ("/versions", "/2.2.1", "/2.2.1/credentials"):
        assert_401(ocpi("GET", standalone.ocpi_base_url + path, authorization=authorization))


def test_token_a_opens_neither_get_credentials_nor_put_or_delete(standalone):
    token_a = invite(standalone)["tokenA"]
    assert_401(ocpi("GET", credentials_url(standalone), token_a))
    peer = OcpiEmsp()
    for method in ("PUT", "DELETE"):
        body = credentials_body(peer) if method == "PUT" else None
        answer = ocpi(method, credentials_url(standalone), token_a, body=body)
        assert answer.http == 405, answer
    # Refusals change nothing: token A still registers.
    with peer:
        answer = Answer(peer.register_with(f"{standalone.ocpi_base_url}/versions", token_a))
        assert answer.status_code == 1000, answer


def test_unknown_module_is_404(standalone):
    with OcpiEmsp() as peer:
        _, _, registered = peer_registers(standalone, peer)
    token_c = registered.data["token"]
    for path, module in (("/2.2.1/hubclientinfo", "hubclientinfo"),
                         ("/nonsense", "nonsense")):
        answer = ocpi("GET", standalone.ocpi_base_url + path, token_c)
        assert answer.http == 404 and answer.status_code == 2000, answer
        assert f"unknown module {module}" in answer.message, answer


def test_request_and_correlation_ids_are_echoed_or_made(standalone):
    url = f"{standalone.ocpi_base_url}/versions"
    token_a = invite(standalone)["tokenA"]
    echoed = ocpi("GET", url, token_a,
                  headers={"X-Request-ID": "req-42", "X-Correlation-ID": "corr-7"})
    assert echoed.headers["X-Request-ID"] == "req-42"
    assert echoed.headers["X-Correlation-ID"] == "corr-7"
    made = [ocpi("GET", url, token_a) for _ in range(2)]
    ids = [a.headers["X-Request-ID"] for a in made]
    assert ids[0] != ids[1], "a new X-Request-ID per response"
    uuid.UUID(ids[0])
    # Refusals carry them too.
    refused = ocpi("GET", url, "wrong", headers={"X-Request-ID": "req-43"})
    assert refused.http == 401 and refused.headers["X-Request-ID"] == "req-43"


# == the eMSP registers with us (invite, token A) ==========================================

def test_emsp_registers_with_an_invite_and_gets_token_c(standalone, schemas):
    with OcpiEmsp(country_code="NL", party_id="EMS", business_name="Peer eMSP") as peer:
        partner_id, token_a, answer = peer_registers(standalone, peer, name="nl-ems")
        schemas.validate("credentials.yaml", "CredentialsResponse", answer.body)
        token_c = answer.data["token"]
        assert len(token_c) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token_c), token_c
        assert token_c != token_a
        assert answer.data["url"] == f"{standalone.ocpi_base_url}/versions"
        assert answer.data["roles"] == [OUR_ROLE]
        # We read its versions and details with its token B, Base64-encoded, during the POST.
        token_b = next(iter(peer.valid_tokens))
        gets = peer.received("GET")
        assert [r["path"] for r in gets] == ["/ocpi/versions", "/ocpi/2.2.1/details"], gets
        assert all(r["headers"]["authorization"] == f"Token {b64(token_b)}" for r in gets)
        assert all(r["headers"].get("x-request-id") and r["headers"].get("x-correlation-id")
                   for r in gets), "our requests carry X-Request-ID and X-Correlation-ID"

        partner = get_partner(standalone, partner_id)
        assert partner["state"] == "PARTNER_STATE_REGISTERED", partner
        assert partner["name"] == "nl-ems" and partner["version"] == "2.2.1"
        assert partner["initiatedByUs"] is False and partner["lastError"] == ""
        assert partner["versionsUrl"] == peer.versions_url
        assert partner["roles"] == [{"role": "EMSP", "countryCode": "NL", "partyId": "EMS",
                                     "businessName": "Peer eMSP"}]
        assert {"identifier": "credentials", "role": "RECEIVER",
                "url": peer.credentials_url} in partner["endpoints"]

        # Token C opens our API; GET credentials answers with it.
        got = ocpi("GET", credentials_url(standalone), token_c)
        assert got.status_code == 1000 and got.data["token"] == token_c, got
        schemas.validate("credentials.yaml", "CredentialsResponse", got.body)


def test_token_a_is_dead_after_registration(standalone):
    with OcpiEmsp() as peer:
        _, token_a, _ = peer_registers(standalone, peer)
        assert_401(ocpi("GET", f"{standalone.ocpi_base_url}/versions", token_a))
        assert_401(ocpi("GET", f"{standalone.ocpi_base_url}/2.2.1", token_a))
        assert_401(ocpi("POST", credentials_url(standalone), token_a,
                        body=credentials_body(peer)))


def test_a_second_post_is_405(standalone):
    with OcpiEmsp() as peer:
        partner_id, _, answer = peer_registers(standalone, peer)
        again = ocpi("POST", credentials_url(standalone), answer.data["token"],
                     body=credentials_body(peer))
        assert again.http == 405 and again.status_code == 2000, again
        assert "already registered" in again.message, again
        assert get_partner(standalone, partner_id)["state"] == "PARTNER_STATE_REGISTERED"


def test_malformed_json_is_400_and_changes_nothing(standalone):
    invitation = invite(standalone)
    for content in (b"{not json", b"", b"\xff\xfe"):
        answer = ocpi("POST", credentials_url(standalone), invitation["tokenA"], content=content)
        assert answer.http == 400, answer
        assert 2000 <= answer.status_code < 3000, answer
    assert get_partner(standalone, invitation["partner"]["id"])["state"] == "PARTNER_STATE_INVITED"
    with OcpiEmsp() as peer:
        answer = Answer(peer.register_with(invitation["versionsUrl"], invitation["tokenA"]))
        assert answer.status_code == 1000, answer


def _without(body, *path):
    *parents, last = path
    target = body
    for key in parents:
        target = target[key]
    del target[last]
    return body


INVALID_CREDENTIALS = {
    "no token": ("token", lambda b: _without(b, "token")),
    "token with a space": ("token", lambda b: {**b, "token": "two words"}),
    "token of 65 characters": ("token", lambda b: {**b, "token": "x" * 65}),
    "token not a string": ("token", lambda b: {**b, "token": 42}),
    "no url": ("url", lambda b: _without(b, "url")),
    "no roles": ("roles", lambda b: _without(b, "roles")),
    "empty roles": ("roles", lambda b: {**b, "roles": []}),
    "role without role": ("role", lambda b: _without(b, "roles", 0, "role")),
    "no business name": ("business_details",
                         lambda b: _without(b, "roles", 0, "business_details", "name")),
    "party id of 4": ("party_id",
                      lambda b: {**b, "roles": [{**b["roles"][0], "party_id": "ABCD"}]}),
    "country code of 3": ("country_code",
                          lambda b: {**b, "roles": [{**b["roles"][0], "country_code": "NLD"}]}),
    "not an object": ("", lambda b: [b]),
}


@pytest.mark.parametrize("case", sorted(INVALID_CREDENTIALS))
def test_invalid_credentials_are_2001_naming_the_field(standalone, case):
    field, spoil = INVALID_CREDENTIALS[case]
    invitation = invite(standalone)
    peer = OcpiEmsp(port=free_port())  # not started: only its credentials body is used
    answer = ocpi("POST", credentials_url(standalone), invitation["tokenA"],
                  body=spoil(credentials_body(peer)))
    assert answer.http == 200 and answer.status_code == 2001, answer
    assert field in answer.message, f"{answer.message!r} does not name {field!r}"
    # Nothing was registered; token A still opens the versions.
    assert get_partner(standalone, invitation["partner"]["id"])["state"] == "PARTNER_STATE_INVITED"
    assert ocpi("GET", invitation["versionsUrl"], invitation["tokenA"]).status_code == 1000


def test_emsp_without_221_is_3002_and_stays_invited(standalone):
    with OcpiEmsp(versions=("2.1.1",)) as old:
        invitation = invite(standalone)
        answer = Answer(old.register_with(invitation["versionsUrl"], invitation["tokenA"]))
        assert answer.http == 200 and answer.status_code == 3002, answer
        partner = get_partner(standalone, invitation["partner"]["id"])
        assert partner["state"] == "PARTNER_STATE_INVITED", partner
        assert ocpi("GET", invitation["versionsUrl"], invitation["tokenA"]).status_code == 1000


def test_emsp_without_credentials_endpoint_is_3003(standalone):
    with OcpiEmsp(advertise_credentials=False) as peer:
        invitation = invite(standalone)
        answer = Answer(peer.register_with(invitation["versionsUrl"], invitation["tokenA"]))
        assert answer.http == 200 and answer.status_code == 3003, answer


def test_emsp_whose_versions_cannot_be_read_is_3001(standalone):
    invitation = invite(standalone)
    dead = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    body = credentials_body(OcpiEmsp(), url=dead)
    answer = ocpi("POST", credentials_url(standalone), invitation["tokenA"], body=body)
    assert answer.http == 200 and answer.status_code == 3001, answer
    assert f"GET {dead}" in answer.message, answer
    assert get_partner(standalone, invitation["partner"]["id"])["state"] == "PARTNER_STATE_INVITED"


def test_emsp_updates_its_credentials_and_the_old_token_dies(standalone, schemas):
    with OcpiEmsp() as peer:
        partner_id, _, answer = peer_registers(standalone, peer)
        old_c = answer.data["token"]
        before = len(peer.received("GET"))
        updated = Answer(peer.update_with_us())
        assert updated.http == 200 and updated.status_code == 1000, updated
        schemas.validate("credentials.yaml", "CredentialsResponse", updated.body)
        new_c = updated.data["token"]
        assert new_c != old_c and len(new_c) == 43
        # We re-read its versions with its new token B'.
        token_b2 = next(iter(peer.valid_tokens))
        rereads = peer.received("GET")[before:]
        assert rereads and all(r["headers"]["authorization"] == f"Token {b64(token_b2)}"
                               for r in rereads), rereads
        assert_401(ocpi("GET", credentials_url(standalone), old_c))
        assert ocpi("GET", credentials_url(standalone), new_c).status_code == 1000
        assert get_partner(standalone, partner_id)["state"] == "PARTNER_STATE_REGISTERED"
        # From now on we call it with B': our unregister's DELETE shows it.
        standalone.ctl("partners", "unregister", partner_id)
        delete = peer.wait_for("DELETE", "/credentials")[-1]
        assert delete["headers"]["authorization"] == f"Token {b64(token_b2)}"


def test_emsp_unregisters_with_delete_and_its_token_dies(standalone, schemas):
    with OcpiEmsp() as peer:
        partner_id, _, answer = peer_registers(standalone, peer)
        token_c = answer.data["token"]
        gone = Answer(peer.unregister_from_us())
        assert gone.http == 200 and gone.status_code == 1000, gone
        schemas.validate("shared/common.yaml", "OcpiResponse", gone.body)
        partner = get_partner(standalone, partner_id)
        assert partner["state"] == "PARTNER_STATE_UNREGISTERED", partner
        assert_401(ocpi("GET", credentials_url(standalone), token_c))
        assert_401(ocpi("DELETE", credentials_url(standalone), token_c))
        # Nobody to unregister at: the operator gets FAILED_PRECONDITION.
        done = standalone.ctl.run("partners", "unregister", partner_id)
        assert done.returncode == 1 and "FAILED_PRECONDITION" in done.stderr, done.stderr


# == we register with the eMSP (ConnectPartner) ============================================

def test_we_register_with_an_emsp(standalone, schemas):
    with OcpiEmsp(country_code="BE", party_id="MSP", business_name="Belgian eMSP") as peer:
        partner = connect(standalone, peer, name="be-msp")
        assert partner["state"] == "PARTNER_STATE_REGISTERED", partner
        assert partner["initiatedByUs"] is True and partner["version"] == "2.2.1"
        assert partner["name"] == "be-msp" and partner["id"].startswith("ptr-")
        assert re.fullmatch(r"ptr-[0-9a-f]{12}", partner["id"]), partner["id"]
        assert partner["roles"] == [{"role": "EMSP", "countryCode": "BE", "partyId": "MSP",
                                     "businessName": "Belgian eMSP"}]
        # What we sent: versions and details with token A, then POST credentials with token A.
        requests = [(r["method"], r["path"]) for r in peer.requests]
        assert requests[:3] == [("GET", "/ocpi/versions"), ("GET", "/ocpi/2.2.1/details"),
                                ("POST", "/ocpi/emsp/2.2.1/credentials/")], requests
        post = peer.received("POST", "/credentials")[0]
        assert post["headers"]["authorization"] == f"Token {b64(peer.token_a)}"
        assert post["headers"].get("x-request-id") and post["headers"].get("x-correlation-id")
        assert post["status"] == 200
        schemas.validate("credentials.yaml", "Credentials", post["body"])
        token_b = post["body"]["token"]
        assert 0 < len(token_b) <= 64 and re.fullmatch(r"[\x21-\x7e]+", token_b)
        assert post["body"]["url"] == f"{standalone.ocpi_base_url}/versions"
        assert post["body"]["roles"] == [OUR_ROLE]
        # The package read our versions with B during the POST; B opens our API from now on,
        # token A (theirs) is not ours to accept.
        assert peer.token_to_switchyard == token_b
        got = ocpi("GET", credentials_url(standalone), token_b)
        assert got.status_code == 1000 and got.data["token"] == token_b, got
        assert_401(ocpi("GET", f"{standalone.ocpi_base_url}/versions", peer.token_a))
        shown = str(get_partner(standalone, partner["id"])) + str(list_partners(standalone))
        for token in (token_b, peer.token_a, *peer.valid_tokens):
            assert token not in shown, "a token in a Partner"


def test_we_update_the_partner_and_rotate_both_tokens(standalone, schemas):
    with OcpiEmsp() as peer:
        partner_id = connect(standalone, peer)["id"]
        old_b = peer.token_to_switchyard
        token_c = next(iter(peer.valid_tokens))  # what we call the peer with
        standalone.ctl.json("partners", "update", partner_id)
        put = peer.wait_for("PUT", "/credentials")[-1]
        assert put["headers"]["authorization"] == f"Token {b64(token_c)}", put["headers"]
        assert put["status"] == 200
        schemas.validate("credentials.yaml", "Credentials", put["body"])
        new_b = put["body"]["token"]
        assert new_b != old_b and peer.token_to_switchyard == new_b
        assert_401(ocpi("GET", credentials_url(standalone), old_b))
        assert ocpi("GET", credentials_url(standalone), new_b).status_code == 1000
        # We keep the token it answered with: the DELETE of an unregister uses it.
        new_c = next(iter(peer.valid_tokens))
        assert new_c != token_c
        standalone.ctl("partners", "unregister", partner_id)
        delete = peer.wait_for("DELETE", "/credentials")[-1]
        assert delete["headers"]["authorization"] == f"Token {b64(new_c)}"


def test_we_unregister_the_partner_with_delete_at_theirs(standalone):
    with OcpiEmsp() as peer:
        partner_id = connect(standalone, peer)["id"]
        token_b = peer.token_to_switchyard
        out = standalone.ctl.json("partners", "unregister", partner_id)["partner"]
        assert out["state"] == "PARTNER_STATE_UNREGISTERED", out
        delete = peer.wait_for("DELETE", "/credentials")[0]
        assert delete["status"] == 200 and not peer.registered
        assert_401(ocpi("GET", credentials_url(standalone), token_b))
        assert get_partner(standalone, partner_id)["state"] == "PARTNER_STATE_UNREGISTERED"


def test_unregister_forgets_our_side_even_when_the_partner_is_gone(standalone):
    peer = OcpiEmsp().start()
    partner_id = connect(standalone, peer)["id"]
    token_b = peer.token_to_switchyard
    peer.stop()
    out = standalone.ctl.json("partners", "unregister", partner_id)["partner"]
    assert out["state"] == "PARTNER_STATE_UNREGISTERED", out
    assert out["lastError"], "the failed DELETE is recorded"
    assert_401(ocpi("GET", credentials_url(standalone), token_b))


def test_an_unreachable_partner_fails_connect_with_unavailable(standalone):
    dead = f"http://127.0.0.1:{free_port()}/ocpi/versions"
    done = standalone.ctl.run("partners", "connect", dead, "token-a")
    assert done.returncode == 1, done
    assert "Roaming.ConnectPartner: UNAVAILABLE" in done.stderr, done.stderr
    assert dead in done.stderr, done.stderr
    assert not [p for p in list_partners(standalone)
                if p["state"] == "PARTNER_STATE_REGISTERED"]


def test_a_partner_without_221_fails_connect_with_failed_precondition(standalone):
    with OcpiEmsp(versions=("2.1.1",)) as old:
        done = standalone.ctl.run("partners", "connect", old.versions_url, old.token_a)
        assert done.returncode == 1, done
        assert "Roaming.ConnectPartner: FAILED_PRECONDITION" in done.stderr, done.stderr
        assert "2.1.1" in done.stderr, done.stderr
        assert not old.received("POST"), "nothing is posted to a partner without 2.2.1"
    assert not [p for p in list_partners(standalone)
                if p["state"] == "PARTNER_STATE_REGISTERED"]


def test_a_refused_token_a_fails_connect(standalone):
    with OcpiEmsp() as peer:
        done = standalone.ctl.run("partners", "connect", peer.versions_url, "not-their-token")
        assert done.returncode == 1, done
        assert "Roaming.ConnectPartner:" in done.stderr and "401" in done.stderr, done.stderr
        assert not peer.registered


# == several partners ======================================================================

def test_two_partners_register_at_once_each_with_its_own_token(standalone):
    with OcpiEmsp(country_code="NL", party_id="AAA") as ours, \
            OcpiEmsp(country_code="FR", party_id="BBB") as theirs:
        with ThreadPoolExecutor(2) as pool:
            connected = pool.submit(connect, standalone, ours, "nl-aaa")
            registered = pool.submit(peer_registers, standalone, theirs, "fr-bbb")
            connected_id = connected.result()["id"]
            registered_id, _, answer = registered.result()
        assert connected_id != registered_id
        states = {p["id"]: p["state"] for p in list_partners(standalone)}
        assert states[connected_id] == states[registered_id] == "PARTNER_STATE_REGISTERED"
        token_ours, token_theirs = ours.token_to_switchyard, answer.data["token"]
        assert token_ours != token_theirs
        for token in (token_ours, token_theirs):
            got = ocpi("GET", credentials_url(standalone), token)
            assert got.status_code == 1000 and got.data["token"] == token
        # Unregistering one leaves the other.
        standalone.ctl("partners", "unregister", connected_id)
        assert_401(ocpi("GET", credentials_url(standalone), token_ours))
        assert ocpi("GET", credentials_url(standalone), token_theirs).status_code == 1000
        table = standalone.ctl("partners", "list")
        assert "nl-aaa" in table and "fr-bbb" in table and "FR/BBB" in table, table


def test_one_partner_per_country_code_and_party_id(standalone):
    with OcpiEmsp(country_code="NL", party_id="DUP") as first, \
            OcpiEmsp(country_code="NL", party_id="DUP") as second, \
            OcpiEmsp(country_code="NL", party_id="DUP") as third, \
            OcpiEmsp(country_code="NL", party_id="DUP") as fourth:
        first_id, _, _ = peer_registers(standalone, first)
        invitation = invite(standalone)
        answer = Answer(second.register_with(invitation["versionsUrl"], invitation["tokenA"]))
        assert answer.http == 200 and answer.status_code == 2000, answer
        assert f"party NL/DUP is already registered as partner {first_id}" in answer.message
        assert get_partner(standalone, invitation["partner"]["id"])["state"] == \
            "PARTNER_STATE_INVITED"
        done = standalone.ctl.run("partners", "connect", third.versions_url, third.token_a)
        assert done.returncode == 1 and "ALREADY_EXISTS" in done.stderr, done.stderr
        assert [p["state"] for p in list_partners(standalone)].count(
            "PARTNER_STATE_REGISTERED") == 1
        # Once the first is gone, the party is free again.
        assert Answer(first.unregister_from_us()).status_code == 1000
        assert connect(standalone, fourth)["state"] == "PARTNER_STATE_REGISTERED"


# == the operator's CLI ====================================================================

def test_partners_cli_tables_errors_and_usage(standalone):
    invitation_table = standalone.ctl("partners", "invite", "table-peer")
    assert "TOKEN_A" in invitation_table and "VERSIONS_URL" in invitation_table
    assert f"{standalone.ocpi_base_url}/versions" in invitation_table
    listing = standalone.ctl("partners", "list")
    assert "PARTNER" in listing and "table-peer" in listing and "INVITED" in listing, listing
    missing = standalone.ctl.run("partners", "get", "ptr-000000000000")
    assert missing.returncode == 1 and "Roaming.GetPartner: NOT_FOUND" in missing.stderr
    usage = standalone.ctl.run("partners", "connect", "http://127.0.0.1:1/ocpi/versions")
    assert usage.returncode == 2, usage
    for url, token in (("", "token"), ("not a url", "token"),
                       ("http://127.0.0.1:1/ocpi/versions", "two words"),
                       ("http://127.0.0.1:1/ocpi/versions", "x" * 65)):
        bad = standalone.ctl.run("partners", "connect", url, token)
        assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr, (url, token, bad.stderr)
    invited = re.search(r"ptr-[0-9a-f]{12}", invitation_table).group(0)
    for verb in ("update", "unregister"):
        done = standalone.ctl.run("partners", verb, invited)
        assert done.returncode == 1 and "FAILED_PRECONDITION" in done.stderr, (verb, done.stderr)


# == what operations see: metrics, log, storage ============================================

def samples(process, name):
    """[(labels, value)] of `name` on the process's /metrics."""
    status, text = process.http_get("/metrics")
    assert status == 200
    out = []
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            out.append((dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")),
                        float(m.group(4))))
    return out


def partners_gauge(process):
    """{state: value} of switchyard_roaming_partners, states as REGISTERED, INVITED, ..."""
    return {labels.get("state", "").upper().removeprefix("PARTNER_STATE_"): value
            for labels, value in samples(process, "switchyard_roaming_partners")}


def test_metrics_count_requests_both_ways_and_partners_by_state(standalone):
    process = standalone.roaming_service
    with OcpiEmsp() as theirs, OcpiEmsp(country_code="BE", party_id="OUT") as ours:
        peer_registers(standalone, theirs)
        connect(standalone, ours)
        assert_401(ocpi("GET", f"{standalone.ocpi_base_url}/versions", "wrong"))
        invite(standalone)

        def count(**labels):
            return sum(value for found, value in samples(process,
                                                         "switchyard_roaming_requests_total")
                       if all(found.get(k) == v for k, v in labels.items()))

        assert count(direction="in", protocol="ocpi", module="credentials", method="POST",
                     status="200") >= 1
        assert count(direction="in", protocol="ocpi", method="GET", status="401") >= 1
        assert count(direction="in", protocol="ocpi", method="GET", status="200") >= 1
        assert count(direction="out", protocol="ocpi", module="credentials", method="POST",
                     status="200") >= 1
        assert count(direction="out", protocol="ocpi", method="GET", status="200") >= 2
        gauge = partners_gauge(process)
        assert gauge.get("REGISTERED") == 2 and gauge.get("INVITED") == 1, gauge
        Answer(theirs.unregister_from_us())
        wait_until(lambda: partners_gauge(process).get("UNREGISTERED") == 1, 5,
                   "the partners gauge to count the unregistered partner")
        failed = standalone.ctl.run("partners", "connect",
                                    f"http://127.0.0.1:{free_port()}/ocpi/versions", "t")
        assert failed.returncode == 1
        assert count(direction="out", protocol="ocpi", status="error") >= 1


def test_no_token_in_the_log_and_only_hashes_of_ours_stored(standalone, tmp_path):
    seen = []
    with OcpiEmsp() as theirs, OcpiEmsp(country_code="BE", party_id="LOG") as ours:
        partner_id, token_a, answer = peer_registers(standalone, theirs)
        seen += [token_a, answer.data["token"], *theirs.valid_tokens]
        Answer(theirs.update_with_us())
        seen += [theirs.token_to_switchyard, *theirs.valid_tokens]
        ours_id = connect(standalone, ours)["id"]
        seen += [ours.token_a, ours.token_to_switchyard, *ours.valid_tokens]
        standalone.ctl("partners", "update", ours_id)
        seen += [ours.token_to_switchyard, *ours.valid_tokens]
        ocpi("GET", f"{standalone.ocpi_base_url}/versions", "a-wrong-token-0123456789")
        seen.append("a-wrong-token-0123456789")
        # The tokens we issued are stored as SHA-256 only.
        with sqlite3.connect(tmp_path / "switchyard.db") as db:
            rows = db.execute(
                "SELECT partner_id, our_token_sha256 FROM roaming_partners").fetchall()
        hashes = {row[1] for row in rows}
        assert hashlib.sha256(theirs.token_to_switchyard.encode()).hexdigest() in hashes, rows
        assert hashlib.sha256(ours.token_to_switchyard.encode()).hexdigest() in hashes, rows
        stored = b"".join(f.read_bytes() for f in standalone.stored_files)
        for token in (theirs.token_to_switchyard, ours.token_to_switchyard):
            assert token.encode() not in stored, "a token we issued is stored in clear"
    log = standalone.process.log()
    assert log, "the service logged nothing"
    for token in seen:
        for form in (token, b64(token)):
            assert form not in log, f"a token ({form[:6]}...) is in the log"


# == distributed: switchyard-roaming on PostgreSQL =========================================

def test_distributed_roaming_service_registers_both_ways_on_postgres(stack_factory):
    stack = stack_factory
    process = stack.start_roaming()
    with OcpiEmsp(country_code="NL", party_id="DST") as theirs, \
            OcpiEmsp(country_code="BE", party_id="DSO") as ours:
        partner_id, _, answer = peer_registers(stack, theirs)
        connected_id = connect(stack, ours)["id"]
        token_c = answer.data["token"]
        assert ocpi("GET", credentials_url(stack), token_c).status_code == 1000
        schema = f"{stack.name}_roaming"
        rows = psql(stack.servers.postgres_url,
                    f'SELECT partner_id, our_token_sha256 FROM "{schema}".roaming_partners')
        stored = {r[0]: r[1] for r in rows}
        assert stored[partner_id] == hashlib.sha256(token_c.encode()).hexdigest(), rows
        assert connected_id in stored
        # A restart keeps the partners and their tokens.
        process.stop()
        process.start(same_ports=True)
        assert ocpi("GET", credentials_url(stack), token_c).status_code == 1000
        assert get_partner(stack, connected_id)["state"] == "PARTNER_STATE_REGISTERED"
        stack.ctl("partners", "unregister", connected_id)
        ours.wait_for("DELETE", "/credentials")
        assert partners_gauge(process).get("REGISTERED") == 1
