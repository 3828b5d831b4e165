"""Roaming slice 4: OCPI 2.2.1 tokens in the RECEIVER role, and roaming drivers authorized at our
chargers, against switchyard-standalone and once against the distributed stack (gateway -> auth
-> switchyard-roaming over gRPC).

The other party is the extrawest-ocpi eMSP of ocpi_peer.py, registered with us through the
handshake of slice 1 (an invite's token A) and calling with the token C we gave it. With
`send_tokens=True` it lists `tokens` as SENDER and answers our real-time authorization
(`POST {its tokens url}/{uid}/authorize?type=RFID`) with `authorize_answers[uid]`.

What it proves:

* Our 2.2.1 details list `tokens` as RECEIVER at `<base>/2.2.1/tokens`. A partner PUTs whole
  Tokens of its own parties, PATCHes some fields (with last_updated) and GETs them back as sent,
  extra fields included; the Token validates against the OCPI 2.2.1 OpenAPI description in
  ../shared/roaming/ocpi-2.2.1-openapi. Another party's path is 403 / 2000, an invalid body or
  one that disagrees with the path 400 / 2001 naming the field, an unknown token 404 / 2004,
  DELETE 405, token A or none 401; refusals change nothing.
* An OCPP 1.6 charger's Authorize (and StartTransaction) with an id tag that our own registry
  does not know is decided from the partners' tokens: not pushed -> Invalid (1.6 for Unknown);
  valid=false -> Blocked; whitelist ALWAYS -> Accepted without asking the owner; ALLOWED,
  ALLOWED_OFFLINE, NEVER -> the owner's real-time answer (ALLOWED Accepted, BLOCKED Blocked,
  EXPIRED Expired, others Invalid), exactly one POST per decision; the owner unreachable, or
  without a tokens SENDER endpoint -> ALLOWED / ALLOWED_OFFLINE Accepted, NEVER Invalid. A token
  of our own registry is decided locally, even if a partner pushed the same uid.
* switchyard_auth_decisions_total{kind="authorize_roaming",result} counts those decisions, the
  auth log's `authorize` lines say `"roaming":true` with a redacted token, and no log line carries
  a token's full uid.
"""

import json
import secrets

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16

from ocpi_peer import OcpiEmsp, b64, sample_token
from servicekit import TARIFF, OcppCharger, at, run, wait_until
from test_roaming import Answer, assert_401, get_partner, invite, ocpi, peer_registers, samples
from test_roaming import schemas  # noqa: F401  (the fixture, shared with test_roaming)

PEER_CC, PEER_PARTY = "NL", "EMS"  # the peer's default party


def new_uid(tag):
    """An RFID uid (upper case, <= 20 characters: a 1.6 idTag) that starts with a 4-character
    tag of its own and is found nowhere by chance."""
    assert len(tag) == 4
    return f"{tag}{secrets.token_hex(6).upper()}"


def tokens_url(csms):
    return f"{csms.ocpi_base_url}/2.2.1/tokens"


def token_url(csms, uid, country_code=PEER_CC, party_id=PEER_PARTY, token_type=None):
    url = f"{tokens_url(csms)}/{country_code}/{party_id}/{uid}"
    return url + (f"?type={token_type}" if token_type else "")


def owner_peer(csms, name="token-owner", party_id=PEER_PARTY, send_tokens=True):
    """A registered eMSP (it used an invite) that may push tokens. Returns (peer, partner id,
    token C); stop() the peer."""
    peer = OcpiEmsp(country_code=PEER_CC, party_id=party_id, send_tokens=send_tokens).start()
    try:
        partner_id, _, answer = peer_registers(csms, peer, name=name)
        assert peer.switchyard_tokens_url == tokens_url(csms), peer.switchyard_endpoints
    except BaseException:
        peer.stop()
        raise
    return peer, partner_id, answer.data["token"]


def pushed(peer, uid, **fields):
    """Pushes a Token of the peer's party; fails the test unless we answer 1000."""
    token = sample_token(uid, peer.country_code, peer.party_id, **fields)
    answer = Answer(peer.push_token(token))
    assert answer.http == 200 and answer.status_code == 1000, (uid, answer)
    return token


def patched(peer, uid, **fields):
    answer = Answer(peer.patch_token(uid, fields))
    assert answer.http == 200 and answer.status_code == 1000, (uid, answer)
    return answer


def authorize_all(csms, charger_id, id_tags, start_with=None):
    """Connects a 1.6 charger, boots, sends Authorize for each id tag in order: {tag: status}.
    `start_with`: id tags to StartTransaction with afterwards (then stopped): {tag: (start status,
    stop status or None)}."""
    statuses, sessions = {}, {}

    async def scenario():
        async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="Volt-16"),
                                 suppress=False)
            assert boot.status == "Accepted", boot
            for tag in id_tags:
                answer = await cp.call(call16.Authorize(id_tag=tag), suppress=False)
                statuses[tag] = answer.id_tag_info["status"]
            for n, tag in enumerate(start_with or ()):
                start = await cp.call(call16.StartTransaction(
                    connector_id=1, id_tag=tag, meter_start=1000 * n, timestamp=at(600 * n)),
                    suppress=False)
                assert start.transaction_id > 0, start
                stop = await cp.call(call16.StopTransaction(
                    meter_stop=1000 * n + 500, timestamp=at(600 * n + 60),
                    transaction_id=start.transaction_id, reason="Local", id_tag=tag),
                    suppress=False)
                sessions[tag] = (start.id_tag_info["status"], start.transaction_id,
                                 (stop.id_tag_info or {}).get("status"))

    run(scenario(), timeout=60)
    return (statuses, sessions) if start_with else statuses


def roaming_decisions(process):
    """{result: count} of switchyard_auth_decisions_total{kind="authorize_roaming"}."""
    out = {}
    for labels, value in samples(process, "switchyard_auth_decisions_total"):
        if labels.get("kind") == "authorize_roaming":
            out[labels.get("result")] = out.get(labels.get("result"), 0) + value
    return out


def log_entries(process):
    out = []
    for line in process.log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def roaming_authorize_lines(process):
    return [e for e in log_entries(process)
            if e.get("msg") == "authorize" and e.get("roaming") is True]


def assert_no_uid_in_logs(logs, uids):
    """No line of any of `logs` ({name: text}) carries a full uid (any case)."""
    found = []
    for name, text in logs.items():
        for line in text.splitlines():
            for uid in uids:
                if uid.lower() in line.lower():
                    found.append(f"{name}: {uid}: {line[:400]}")
    assert not found, "a token uid in the log:\n" + "\n".join(found[:20])


def check_authorization_request(peer, request, uid):
    """Our real-time authorization: POST .../tokens/{uid}/authorize?type=RFID, no body, with the
    token the peer gave us and the correlation headers; the peer answered it."""
    token_b = next(iter(peer.valid_tokens))
    assert request["path"] == f"/ocpi/emsp/2.2.1/tokens/{uid}/authorize", request["path"]
    assert "type=RFID" in request["query"].split("&"), request["query"]
    assert request["raw_body"] == b"", request["raw_body"]
    assert request["headers"].get("authorization") == f"Token {b64(token_b)}", request["headers"]
    assert request["headers"].get("x-request-id") and request["headers"].get("x-correlation-id")
    # Routed to the token's owner (a hub would forward it there).
    assert request["headers"].get("ocpi-from-country-code") == "DE", request["headers"]
    assert request["headers"].get("ocpi-from-party-id") == "SWY", request["headers"]
    assert request["headers"].get("ocpi-to-country-code") == peer.country_code, request["headers"]
    assert request["headers"].get("ocpi-to-party-id") == peer.party_id, request["headers"]
    assert request["status"] == 200, request


# == 1. the module: push, get, patch ===========================================================

def test_partner_pushes_gets_and_patches_its_tokens(standalone, schemas):  # noqa: F811
    peer, partner_id, token_c = owner_peer(standalone)
    try:
        details = ocpi("GET", f"{standalone.ocpi_base_url}/2.2.1", token_c)
        assert details.http == 200 and details.status_code == 1000, details
        schemas.validate("versions.yaml", "VersionDetailsResponse", details.body)
        assert {"identifier": "tokens", "role": "RECEIVER", "url": tokens_url(standalone)} in \
            details.data["endpoints"], details.data
        assert {"identifier": "tokens", "role": "SENDER", "url": peer.tokens_url} in \
            get_partner(standalone, partner_id)["endpoints"]

        uid = new_uid("PUSH")
        sent = sample_token(uid, whitelist="ALLOWED", group_id="FAMILY-1",
                            energy_contract={"supplier_name": "Green Power",
                                             "contract_id": "GP-42"},
                            x_peer_extension={"tier": "gold", "n": [1, 2]})
        schemas.validate("tokens.yaml", "Token", sent)
        put = Answer(peer.push_token(sent))
        assert put.http == 200 and put.status_code == 1000, put
        schemas.validate("shared/common.yaml", "OcpiResponse", put.body)

        got = Answer(peer.get_token(uid))
        assert got.http == 200 and got.status_code == 1000, got
        schemas.validate("tokens.yaml", "TokenResponse", got.body)
        schemas.validate("tokens.yaml", "Token", got.data)
        assert got.data == sent, "the stored Token is returned as sent (extra fields kept)"
        typed = Answer(peer.get_token(uid, token_type="RFID"))
        assert typed.status_code == 1000 and typed.data == sent, typed

        patch = Answer(peer.patch_token(uid, {"valid": False, "whitelist": "NEVER",
                                              "last_updated": "2026-03-02T08:30:00Z"}))
        assert patch.http == 200 and patch.status_code == 1000, patch
        got = Answer(peer.get_token(uid))
        schemas.validate("tokens.yaml", "Token", got.data)
        assert got.data == {**sent, "valid": False, "whitelist": "NEVER",
                            "last_updated": "2026-03-02T08:30:00Z"}, got.data

        # A PUT replaces the whole Token (a field left out is gone); ?type=RFID as OCPI allows.
        replaced = sample_token(uid, whitelist="ALWAYS", last_updated="2026-03-03T00:00:00Z")
        assert Answer(peer.push_token(replaced, token_type="RFID")).status_code == 1000
        got = Answer(peer.get_token(uid))
        assert got.data == replaced, got.data
        schemas.validate("tokens.yaml", "TokenResponse", got.body)
    finally:
        peer.stop()


# == 2. what is refused ========================================================================

def _without(token, field):
    token = dict(token)
    del token[field]
    return token


def test_refusals_name_the_problem_and_change_nothing(standalone):
    peer, _, token_c = owner_peer(standalone)
    other, _, other_c = owner_peer(standalone, name="other-owner", party_id="OTH")
    uid = new_uid("REFU")
    try:
        good = pushed(peer, uid)
        problems = []

        def expect(answer, http, status_code, field, what):
            if answer.http != http or answer.status_code != status_code or (
                    field and field not in answer.message):
                problems.append(f"{what}: expected HTTP {http} / {status_code} naming "
                                f"{field!r}, got {answer!r}")

        # Another party's path: another registered partner's, ours, anybody's.
        for cc, party in (("NL", "OTH"), ("DE", "SWY"), ("BE", "XXX")):
            body = sample_token(uid, cc, party)
            url = token_url(standalone, uid, cc, party)
            expect(ocpi("PUT", url, token_c, body=body), 403, 2000, "", f"PUT {cc}/{party}")
            expect(ocpi("GET", url, token_c), 403, 2000, "", f"GET {cc}/{party}")
            expect(ocpi("PATCH", url, token_c,
                        body={"valid": False, "last_updated": "2026-03-02T00:00:00Z"}),
                   403, 2000, "", f"PATCH {cc}/{party}")
        # The other partner cannot read or change this partner's token either.
        mine = token_url(standalone, uid)
        expect(ocpi("GET", mine, other_c), 403, 2000, "", "GET by another partner")
        expect(ocpi("PUT", mine, other_c, body=good), 403, 2000, "", "PUT by another partner")

        invalid_puts = {
            "no contract_id": ("contract_id", _without(good, "contract_id")),
            "no issuer": ("issuer", _without(good, "issuer")),
            "no last_updated": ("last_updated", _without(good, "last_updated")),
            "no whitelist": ("whitelist", _without(good, "whitelist")),
            "whitelist SOMETIMES": ("whitelist", {**good, "whitelist": "SOMETIMES"}),
            "valid not a boolean": ("valid", {**good, "valid": "yes"}),
            "contract_id of 37": ("contract_id", {**good, "contract_id": "C" * 37}),
            "last_updated no time": ("last_updated", {**good, "last_updated": "yesterday"}),
            "uid unlike the path": ("uid", {**good, "uid": uid + "X"}),
            "country_code unlike the path": ("country_code", {**good, "country_code": "BE"}),
            "party_id unlike the path": ("party_id", {**good, "party_id": "OTH"}),
        }
        for what, (field, body) in invalid_puts.items():
            expect(ocpi("PUT", mine, token_c, body=body), 400, 2001, field, f"PUT {what}")
        expect(ocpi("PUT", token_url(standalone, uid, token_type="APP_USER"), token_c,
                    body=good), 400, 2001, "type", "PUT type unlike ?type=APP_USER")
        long_uid = "L" * 37
        expect(ocpi("PUT", token_url(standalone, long_uid), token_c,
                    body={**good, "uid": long_uid}), 400, 2001, "uid", "PUT uid of 37")
        for what, content in (("not JSON", b"{not json"), ("not an object", b"[1, 2]")):
            expect(ocpi("PUT", mine, token_c, content=content), 400, 2001, "", f"PUT {what}")

        invalid_patches = {
            "whitelist SOMETIMES": ("whitelist", {"whitelist": "SOMETIMES",
                                                  "last_updated": "2026-03-02T00:00:00Z"}),
            "no last_updated": ("last_updated", {"valid": False}),
            "valid not a boolean": ("valid", {"valid": "no",
                                              "last_updated": "2026-03-02T00:00:00Z"}),
            "uid unlike the path": ("uid", {"uid": "OTHER",
                                            "last_updated": "2026-03-02T00:00:00Z"}),
        }
        for what, (field, body) in invalid_patches.items():
            expect(ocpi("PATCH", mine, token_c, body=body), 400, 2001, field, f"PATCH {what}")

        unknown = new_uid("UNKN")
        expect(ocpi("GET", token_url(standalone, unknown), token_c), 404, 2004, "",
               "GET unknown")
        expect(ocpi("PATCH", token_url(standalone, unknown), token_c,
                    body={"valid": False, "last_updated": "2026-03-02T00:00:00Z"}),
               404, 2004, "", "PATCH unknown")
        deleted = ocpi("DELETE", mine, token_c)
        if deleted.http != 405 or not 2000 <= deleted.status_code < 3000:
            problems.append(f"DELETE: expected HTTP 405 / 2xxx, got {deleted!r}")
        assert not problems, "\n".join(problems)

        assert_401(ocpi("GET", mine))
        assert_401(ocpi("GET", mine, invite(standalone)["tokenA"]))
        assert_401(ocpi("PUT", mine, "no-such-token", body=good))

        # Nothing of it changed the token, and the refused PUTs stored nothing.
        got = Answer(peer.get_token(uid))
        assert got.status_code == 1000 and got.data == good, got
        never = ocpi("GET", token_url(standalone, long_uid), token_c)
        assert never.http in (400, 404), never
        assert_no_uid_in_logs({"standalone": standalone.process.log()}, [uid, unknown])
    finally:
        peer.stop()
        other.stop()


# == 3. roaming drivers at our chargers ========================================================

def test_a_16_charger_authorizes_roaming_tokens_by_whitelist_and_real_time_answer(standalone):
    charger_id = "cp-roam-auth"
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, _, _ = owner_peer(standalone)
    uids = {name: new_uid(name) for name in
            ("ALWS", "BLCK", "UNKN", "NVOK", "NVBL", "OFEX", "ALNC", "NVNA", "LOCL")}
    try:
        pushed(peer, uids["ALWS"], whitelist="ALWAYS")
        pushed(peer, uids["BLCK"], whitelist="ALWAYS")
        pushed(peer, uids["NVOK"], whitelist="NEVER")
        pushed(peer, uids["NVBL"], whitelist="NEVER")
        pushed(peer, uids["OFEX"], whitelist="ALLOWED_OFFLINE")
        pushed(peer, uids["ALNC"], whitelist="ALLOWED")
        pushed(peer, uids["NVNA"], whitelist="NEVER")
        pushed(peer, uids["LOCL"], whitelist="NEVER")  # but our own registry knows it
        standalone.ctl("tokens", "add", uids["LOCL"], "--type", "ISO14443")
        peer.authorize_answers.update({uids["NVOK"]: "ALLOWED", uids["NVBL"]: "BLOCKED",
                                       uids["OFEX"]: "EXPIRED", uids["ALNC"]: "NO_CREDIT",
                                       uids["NVNA"]: "NOT_ALLOWED", uids["LOCL"]: "BLOCKED"})
        before = roaming_decisions(standalone.process)

        first = authorize_all(standalone, charger_id, [uids["ALWS"], uids["BLCK"]])
        assert first == {uids["ALWS"]: "Accepted", uids["BLCK"]: "Accepted"}, first
        patched(peer, uids["BLCK"], valid=False)
        order = ["BLCK", "UNKN", "NVOK", "NVBL", "OFEX", "ALNC", "NVNA", "LOCL"]
        got = authorize_all(standalone, charger_id, [uids[n] for n in order])
        want = {"BLCK": "Blocked", "UNKN": "Invalid", "NVOK": "Accepted", "NVBL": "Blocked",
                "OFEX": "Expired", "ALNC": "Invalid", "NVNA": "Invalid", "LOCL": "Accepted"}
        assert {n: got[uids[n]] for n in order} == want, {n: got[uids[n]] for n in order}

        # Asked in real time exactly once per decision that needed it, never otherwise.
        asked = {n: len(peer.authorizations(uid)) for n, uid in uids.items()}
        assert asked == {"ALWS": 0, "BLCK": 0, "UNKN": 0, "NVOK": 1, "NVBL": 1, "OFEX": 1,
                         "ALNC": 1, "NVNA": 1, "LOCL": 0}, asked
        for name in ("NVOK", "NVBL", "OFEX", "ALNC", "NVNA"):
            check_authorization_request(peer, peer.authorizations(uids[name])[0], uids[name])

        after = roaming_decisions(standalone.process)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
        # ALWS, BLCK (twice Accepted, once Blocked), NVOK; NVBL; OFEX; ALNC, NVNA.
        for result, count in (("Accepted", 3), ("Blocked", 2), ("Expired", 1), ("Invalid", 2)):
            assert delta.get(result, 0) == count, (
                f'switchyard_auth_decisions_total{{kind="authorize_roaming",result="{result}"}} '
                f"grew by {delta.get(result, 0)}, not {count}: {delta}")

        lines = roaming_authorize_lines(standalone.process)
        assert len(lines) >= 8, lines
        for line in lines:
            assert line.get("token") and line["token"] not in uids.values(), line
        assert {line.get("status") for line in lines} >= {"Accepted", "Blocked", "Expired",
                                                          "Invalid"}, lines
        roaming_uids = [uid for name, uid in uids.items() if name != "LOCL"]
        assert_no_uid_in_logs({"standalone": standalone.process.log()}, roaming_uids)
    finally:
        peer.stop()


def test_an_unreachable_owner_or_one_without_a_sender_endpoint_falls_back_on_the_whitelist(
        standalone):
    charger_id = "cp-roam-down"
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, _, _ = owner_peer(standalone)
    mute, mute_id, _ = owner_peer(standalone, name="no-sender", party_id="MUT",
                                  send_tokens=False)
    uids = {name: new_uid(name) for name in
            ("DNEV", "DALW", "DOFF", "DALS", "MNEV", "MALW")}
    try:
        assert not [e for e in get_partner(standalone, mute_id)["endpoints"]
                    if e["identifier"] == "tokens"]
        pushed(peer, uids["DNEV"], whitelist="NEVER")
        pushed(peer, uids["DALW"], whitelist="ALLOWED")
        pushed(peer, uids["DOFF"], whitelist="ALLOWED_OFFLINE")
        pushed(peer, uids["DALS"], whitelist="ALWAYS")
        pushed(mute, uids["MNEV"], whitelist="NEVER")
        pushed(mute, uids["MALW"], whitelist="ALLOWED")
        peer.authorize_default = "BLOCKED"  # what it would say, were it up
        before = roaming_decisions(standalone.process)

        peer.stop_serving()
        down = [uids[n] for n in ("DNEV", "DALW", "DOFF", "DALS", "MNEV", "MALW")]
        got = authorize_all(standalone, charger_id, down)
        named = {n: got[uid] for n, uid in uids.items()}
        assert named == {"DNEV": "Invalid", "DALW": "Accepted", "DOFF": "Accepted",
                         "DALS": "Accepted", "MNEV": "Invalid", "MALW": "Accepted"}, named
        assert not mute.authorizations(), "the owner without a tokens SENDER endpoint was asked"

        # Back: the owner's answer counts again.
        peer.start_serving()
        start = len(peer.requests)
        got = authorize_all(standalone, charger_id, [uids["DALW"], uids["DNEV"]])
        assert got == {uids["DALW"]: "Blocked", uids["DNEV"]: "Blocked"}, got
        asked = [r for r in peer.since(start) if r["method"] == "POST"]
        assert len(asked) == 2, [(r["method"], r["path"]) for r in asked]
        for request, name in zip(asked, ("DALW", "DNEV")):
            check_authorization_request(peer, request, uids[name])

        after = roaming_decisions(standalone.process)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
        for result, count in (("Accepted", 4), ("Invalid", 2), ("Blocked", 2)):
            assert delta.get(result, 0) == count, (result, delta)

        # The owner answers with an OCPI error (2004, HTTP 200) or an HTTP 500 without an
        # envelope: a NEVER token is still never accepted without the owner's ALLOWED.
        peer.authorize_answers.update({uids["DNEV"]: 2004, uids["DALW"]: 500})
        got = authorize_all(standalone, charger_id, [uids["DNEV"], uids["DALW"]])
        assert got[uids["DNEV"]] != "Accepted", got
        assert len(peer.authorizations(uids["DNEV"])) == 2
        assert len(peer.authorizations(uids["DALW"])) == 2
        assert_no_uid_in_logs({"standalone": standalone.process.log()}, list(uids.values()))
    finally:
        peer.stop()
        mute.stop()


def test_a_roaming_driver_starts_and_stops_a_session(standalone):
    charger_id = "cp-roam-session"
    standalone.ctl(*TARIFF)
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, _, _ = owner_peer(standalone)
    driver, blocked, asked = new_uid("DRVR"), new_uid("BLKD"), new_uid("ASKD")
    try:
        pushed(peer, driver, whitelist="ALWAYS")
        pushed(peer, blocked, whitelist="ALWAYS", valid=False)
        pushed(peer, asked, whitelist="NEVER")
        _, sessions = authorize_all(standalone, charger_id, [],
                                    start_with=[driver, blocked, asked])
        assert sessions[driver][0] == "Accepted", sessions
        assert sessions[blocked][0] == "Blocked", sessions
        assert sessions[asked][0] == "Accepted", sessions
        assert sessions[driver][2] in (None, "Accepted"), sessions
        assert not peer.authorizations(driver) and not peer.authorizations(blocked)
        assert peer.authorizations(asked), "the NEVER token's start was not asked in real time"

        def ended():
            found = {t["idToken"]["id"]: t for t in standalone.ctl.transactions(charger_id)
                     if t["state"] == "TRANSACTION_STATE_ENDED"}
            return found if driver in found else None

        transactions = wait_until(ended, 30, "the roaming driver's transaction ended")
        assert transactions[driver]["transactionId"] == str(sessions[driver][1])
        assert transactions[driver]["energyWh"] == "500", transactions[driver]
        assert roaming_decisions(standalone.process).get("Accepted", 0) >= 2
        assert_no_uid_in_logs({"standalone": standalone.process.log()},
                              [driver, blocked, asked])
    finally:
        peer.stop()


# == 4. distributed: gateway -> auth -> switchyard-roaming (gRPC) ==============================

def test_distributed_auth_asks_the_roaming_service(stack_factory):
    stack = stack_factory
    roaming = stack.start_roaming()
    stack.start(auth_flags={"roaming-address": roaming.grpc_address})
    charger_id = "cp-roam-dist"
    stack.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, _, _ = owner_peer(stack)
    always, never, unknown = new_uid("DSAL"), new_uid("DSNV"), new_uid("DSUN")
    try:
        pushed(peer, always, whitelist="ALWAYS")
        pushed(peer, never, whitelist="NEVER")
        statuses, sessions = authorize_all(stack, charger_id, [always, never, unknown],
                                           start_with=[always])
        assert statuses == {always: "Accepted", never: "Accepted", unknown: "Invalid"}, statuses
        assert sessions[always][0] == "Accepted", sessions
        assert not peer.authorizations(always)
        assert len(peer.authorizations(never)) == 1, peer.authorizations(never)
        check_authorization_request(peer, peer.authorizations(never)[0], never)

        decisions = roaming_decisions(stack.auth)
        assert decisions.get("Accepted", 0) >= 3, decisions  # 2 Authorize + 1 StartTransaction
        lines = roaming_authorize_lines(stack.auth)
        assert len(lines) >= 3 and all(line.get("token") not in (always, never)
                                       for line in lines), lines
        logs = {p.name: p.log() for p in stack.services}
        logs.update({f"gateway-{g.pod_id}": g.log() for g in stack.deployment.gateways})
        assert_no_uid_in_logs(logs, [always, never, unknown])
    finally:
        peer.stop()

