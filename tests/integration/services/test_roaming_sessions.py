"""Roaming slice: OCPI 2.2.1 sessions and cdrs as a CPO, for other networks' drivers at our
chargers, against switchyard-standalone and once against the distributed stack (gateway ->
transactions -> Kafka -> switchyard-roaming).

The other party is the extrawest-ocpi eMSP of ocpi_peer.py with `receive_sessions=True`: its
2.2.1 details list `sessions` and `cdrs` as RECEIVER, and the package's own eMSP routes validate
what we PUT / POST against its Session and Cdr models (422 otherwise). The driver's token is one
the eMSP pushed to us (tokens RECEIVER, slice 4); the charger is an OCPP 1.6 client of the `ocpp`
package; the location is put by the operator (slice 2).

What it proves:

* A roaming driver's session is PUT to the token's owner at
  `<its sessions url>/DE/SWY/<session id>` (ACTIVE when it starts, COMPLETED with kWh and the
  total cost when it ends), and its CDR is POSTed to `<its cdrs url>` exactly once; both validate
  against the OCPI 2.2.1 OpenAPI description in ../shared/roaming/ocpi-2.2.1-openapi. The CDR adds
  up: total_energy is the session's kWh, total_time its duration, total_cost.excl_vat the sum of
  the energy, time and fixed costs of the tariff, incl_vat with 19 % VAT on top.
* The eMSP pulls its own sessions and CDRs (GET sessions / cdrs with paging headers); another
  eMSP sees none of them. The CDR carries the tariff it was priced with (the transactions
  service's, as an OCPI Tariff: ENERGY 0.39 / kWh, TIME 1.20 / h, FLAT 0.50, VAT 19), the same
  the eMSP pulls from GET tariffs.
* An eMSP that is down while 50 of its drivers' sessions run and end gets, when it is back, each
  CDR exactly once and one PUT per session with its final state (never the history); the outbox
  shows the backlog meanwhile and is empty after; failed pushes are counted.
* Our own drivers' sessions are never sent to anyone.
"""

import asyncio
import hashlib
import secrets
import time

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16

from ocpi_peer import OcpiEmsp, _endpoint_url, sample_token
from servicekit import TARIFF, OcppCharger, at, run, wait_until
from test_roaming import Answer, ocpi, peer_registers
from test_roaming import schemas  # noqa: F401  (the fixture, shared with test_roaming)
from test_roaming_locations import evse, location, put
from test_roaming_push import outbox

PEER_CC, PEER_PARTY = "NL", "EMS"


def session_id(charger_id, transaction_id):
    """Our OCPI session id (and CDR id) of a charger's transaction."""
    return hashlib.sha256(f"{charger_id}\n{transaction_id}".encode()).hexdigest()[:32]


def new_uid(tag):
    return f"{tag}{secrets.token_hex(6).upper()}"


def session_peer(csms, name, party_id=PEER_PARTY, receive_sessions=True):
    """A registered eMSP receiving sessions and CDRs. Returns (peer, partner id, token C)."""
    peer = OcpiEmsp(country_code=PEER_CC, party_id=party_id,
                    receive_sessions=receive_sessions).start()
    try:
        partner_id, _, answer = peer_registers(csms, peer, name=name)
    except BaseException:
        peer.stop()
        raise
    return peer, partner_id, answer.data["token"]


def push_token(peer, uid):
    answer = Answer(peer.push_token(sample_token(uid, peer.country_code, peer.party_id,
                                                 whitelist="ALWAYS")))
    assert answer.http == 200 and answer.status_code == 1000, answer


def setup_site(csms, tmp_path, charger_id, location_id):
    csms.ctl(*TARIFF)
    csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
    put(csms, tmp_path, location(location_id, [evse("E1", charger_id, 1)]))


def sessions(csms, charger_id, id_tag, count=1, on_started=None):
    """Runs `count` sessions of 10.5 kWh and 90 minutes each on connector 1 of a 1.6 charger;
    the transaction ids. `on_started(transaction_id)` (async) runs while the first one is on."""
    ids = []

    async def scenario():
        async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="Volt-16"),
                                 suppress=False)
            assert boot.status == "Accepted", boot
            for n in range(count):
                start = await cp.call(call16.StartTransaction(
                    connector_id=1, id_tag=id_tag, meter_start=1000, timestamp=at(7200 * n)),
                    suppress=False)
                assert start.id_tag_info["status"] == "Accepted", start
                ids.append(start.transaction_id)
                if n == 0 and on_started is not None:
                    await on_started(start.transaction_id)
                await cp.call(call16.StopTransaction(
                    meter_stop=11500, timestamp=at(7200 * n + 5400),
                    transaction_id=start.transaction_id, reason="Local", id_tag=id_tag),
                    suppress=False)

    run(scenario(), timeout=120)
    return ids


def session_puts(peer, sid=None, start=0):
    return [r for r in peer.since(start, "PUT", "/emsp/2.2.1/sessions/DE/SWY/")
            if sid is None or r["path"].endswith("/" + sid.upper()) or r["path"].endswith("/" + sid)]


def completed_session(peer, sid, timeout=20):
    """The session once the eMSP has it COMPLETED with its total cost (the CDR and the session's
    last update come on different topics: the cost may follow the COMPLETED state)."""
    def done():
        found = peer.session(sid) or {}
        return found if found.get("status") == "COMPLETED" and found.get("total_cost") else None
    return wait_until(done, timeout, f"the COMPLETED session {sid} with its cost")


def check_cdr_adds_up(cdr, session):
    assert cdr["total_energy"] == 10.5 and session["kwh"] == 10.5, (cdr, session)
    assert cdr["total_time"] == 1.5, cdr
    parts = [cdr[k]["excl_vat"] for k in ("total_energy_cost", "total_time_cost",
                                          "total_fixed_cost")]
    assert abs(sum(parts) - cdr["total_cost"]["excl_vat"]) < 0.005, cdr
    # The TARIFF: EUR 0.39 / kWh, 1.20 / h, 0.50 a session, 19 % VAT.
    assert abs(cdr["total_energy_cost"]["excl_vat"] - 0.39 * 10.5) <= 0.01, cdr
    assert abs(cdr["total_time_cost"]["excl_vat"] - 1.80) <= 0.01, cdr
    assert cdr["total_fixed_cost"]["excl_vat"] == 0.5, cdr
    assert abs(cdr["total_cost"]["incl_vat"] - cdr["total_cost"]["excl_vat"] * 1.19) <= 0.01, cdr
    assert session["total_cost"] == cdr["total_cost"], (session, cdr)
    assert session["currency"] == cdr["currency"] == "EUR"


def test_a_roaming_drivers_session_and_cdr_reach_its_emsp_once_and_validate(
        standalone, schemas, tmp_path):  # noqa: F811
    charger_id, location_id = "cp-roam-cdr", "LOC-CDR"
    setup_site(standalone, tmp_path, charger_id, location_id)
    peer, partner_id, token_c = session_peer(standalone, "session-owner")
    other, _, other_token = session_peer(standalone, "other-emsp", party_id="OTH")
    driver = new_uid("RSES")
    before = standalone.process.metric("switchyard_roaming_pushes_total", module="cdrs",
                                       result="delivered")
    try:
        for module in ("sessions", "cdrs"):
            assert _endpoint_url(peer.switchyard_endpoints, module, "SENDER") == \
                f"{standalone.ocpi_base_url}/2.2.1/{module}", peer.switchyard_endpoints
        push_token(peer, driver)
        active = {}

        async def while_active(transaction_id):
            sid = session_id(charger_id, transaction_id)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not active:
                found = peer.session(sid)
                if found and found["status"] == "ACTIVE":
                    active.update(found)
                await asyncio.sleep(0.05)

        [transaction_id] = sessions(standalone, charger_id, driver, on_started=while_active)
        sid = session_id(charger_id, transaction_id)
        assert active, f"no ACTIVE session {sid} reached the eMSP: {peer.since(0)}"
        assert active["kwh"] == 0 and active["auth_method"] == "WHITELIST", active
        assert active["cdr_token"]["uid"] == driver and active["location_id"] == location_id

        wait_until(lambda: peer.cdrs_received(sid), 20, "the CDR at the eMSP")
        completed = completed_session(peer, sid)
        puts = peer.answered(session_puts(peer, sid))
        posts = peer.answered(peer.since(0, "POST", "/emsp/2.2.1/cdrs"))
        assert all(r["status"] == 200 for r in puts + posts), [
            (r["path"], r["status"]) + ((r["body"],) if r["status"] != 200 else ())
            for r in puts + posts]
        for r in puts:
            schemas.validate("sessions.yaml", "Session", r["body"])
        [cdr] = [r["body"] for r in posts]
        schemas.validate("cdrs.yaml", "CDR", cdr)
        assert cdr["id"] == sid and cdr["session_id"] == sid, cdr
        assert cdr["cdr_token"]["uid"] == driver and cdr["cdr_token"]["contract_id"], cdr
        assert cdr["cdr_location"]["id"] == location_id, cdr
        assert cdr["cdr_location"]["evse_uid"] == "E1", cdr
        assert cdr["cdr_location"]["evse_id"] == "DE*SWY*E1*1", cdr
        assert cdr["start_date_time"] == at(0).replace(".000", ""), cdr
        assert cdr["end_date_time"] == at(5400).replace(".000", ""), cdr
        assert completed["end_date_time"] == cdr["end_date_time"], completed
        check_cdr_adds_up(cdr, completed)
        # The tariff it was priced with travels with it, and the eMSP can pull it.
        assert [t["id"] for t in cdr["tariffs"]] == ["ac-standard"], cdr
        assert cdr["charging_periods"][0]["tariff_id"] == "ac-standard", cdr
        tariffs = ocpi("GET", f"{standalone.ocpi_base_url}/2.2.1/tariffs", token_c)
        assert tariffs.http == 200 and [t["id"] for t in tariffs.data] == ["ac-standard"], tariffs
        schemas.validate("tariffs.yaml", "Tariff", tariffs.data[0])
        assert tariffs.data[0] == cdr["tariffs"][0], (tariffs.data[0], cdr["tariffs"][0])
        components = {c["type"]: c for c in tariffs.data[0]["elements"][0]["price_components"]}
        assert {k: (c["price"], c["vat"]) for k, c in components.items()} == {
            "ENERGY": (0.39, 19), "TIME": (1.2, 19), "FLAT": (0.5, 19)}, components

        # The eMSP pulls what is its own; the other eMSP sees nothing of it.
        for module, schema in (("sessions", ("sessions.yaml", "Session")),
                               ("cdrs", ("cdrs.yaml", "CDR"))):
            url = f"{standalone.ocpi_base_url}/2.2.1/{module}"
            mine = ocpi("GET", url, token_c)
            assert mine.http == 200 and mine.status_code == 1000, mine
            assert [o["id"] for o in mine.data] == [sid], mine.data
            assert mine.response.headers["X-Total-Count"] == "1"
            assert mine.response.headers["X-Limit"] == "100"
            schemas.validate(*schema, mine.data[0])
            theirs = ocpi("GET", url, other_token)
            assert theirs.http == 200 and theirs.data == [], theirs
            bad = ocpi("GET", url + "?offset=-1", token_c)
            assert bad.http == 400 and bad.status_code == 2001, bad
        assert not other.since(0, "PUT", "/sessions/") and not other.cdrs_received()

        # Delivered once, never again (the pusher keeps running).
        time.sleep(2)
        assert len(peer.cdrs_received(sid)) == 1, peer.cdrs_received(sid)
        assert outbox(standalone, partner_id)["pending"] == 0
        assert standalone.process.metric("switchyard_roaming_pushes_total", module="cdrs",
                                         result="delivered") == before + 1
        assert standalone.process.metric("switchyard_roaming_recorded_total",
                                         module="sessions") >= 1
        lines = [line for line in standalone.process.log().splitlines()
                 if '"roaming CDR accepted"' in line and sid in line]
        assert len(lines) == 1, lines
    finally:
        peer.stop()
        other.stop()


def test_our_own_drivers_sessions_are_sent_to_no_one(standalone, tmp_path):
    charger_id = "cp-own-driver"
    setup_site(standalone, tmp_path, charger_id, "LOC-OWN")
    standalone.ctl("tokens", "add", "OWN-DRIVER-1")
    peer, _, _ = session_peer(standalone, "bystander")
    try:
        [transaction_id] = sessions(standalone, charger_id, "OWN-DRIVER-1")
        time.sleep(3)
        assert not peer.since(0, "PUT", "/sessions/") and not peer.cdrs_received(), \
            peer.since(0)
        assert peer.session(session_id(charger_id, transaction_id)) is None
    finally:
        peer.stop()


def test_an_emsp_that_was_down_gets_each_cdr_once_and_each_session_once(standalone, tmp_path):
    charger_id, count = "cp-roam-outage", 50
    setup_site(standalone, tmp_path, charger_id, "LOC-OUT")
    peer, partner_id, _ = session_peer(standalone, "outage-emsp", party_id="OUT")
    driver = new_uid("ROUT")
    process = standalone.process
    failed_before = process.metric("switchyard_roaming_pushes_total", result="failed")
    try:
        push_token(peer, driver)
        peer.stop_serving()
        ids = sessions(standalone, charger_id, driver, count=count)
        assert len(set(ids)) == count
        # Both objects of every session wait in the outbox while the eMSP is down.
        wait_until(lambda: outbox(standalone, partner_id)["pending"] == 2 * count, 30,
                   f"{2 * count} outbox entries")
        # Asked once per back-off (its oldest entry), not once per object.
        wait_until(lambda: process.metric("switchyard_roaming_pushes_total",
                                          result="failed") > failed_before, 20,
                   "a failed push counted")
        mark = len(peer.requests)
        back = time.monotonic()
        peer.start_serving()
        wait_until(lambda: len(peer.cdrs_received()) >= count and
                   outbox(standalone, partner_id)["pending"] == 0, 60,
                   "every CDR delivered and the outbox empty")
        recovered = time.monotonic() - back
        time.sleep(2)
        sids = {session_id(charger_id, t).upper() for t in ids}
        cdrs = peer.cdrs_received()
        assert sorted(c["id"].upper() for c in cdrs) == sorted(sids), "a CDR twice or missing"
        puts = session_puts(peer, start=mark)
        assert len(puts) == count, f"{len(puts)} session PUTs for {count} sessions"
        assert {r["path"].rsplit("/", 1)[1].upper() for r in puts} == sids
        assert all(r["body"]["status"] == "COMPLETED" and r["body"]["kwh"] == 10.5
                   for r in puts), [r["body"] for r in puts if r["body"]["status"] != "COMPLETED"]
        print(f"\n{count} sessions while the eMSP was down: {len(cdrs)} CDRs and {len(puts)} "
              f"session PUTs after it came back, delivered in {recovered:.1f} s")
    finally:
        peer.stop()


# == distributed: transactions -> Kafka -> switchyard-roaming ===================================

def test_distributed_roaming_service_follows_the_transaction_topics(stack_factory, tmp_path):
    stack = stack_factory
    roaming = stack.start_roaming()
    stack.start(auth_flags={"roaming-address": roaming.grpc_address})
    charger_id = "cp-roam-kafka"
    setup_site(stack, tmp_path, charger_id, "LOC-KAFKA")
    peer, partner_id, _ = session_peer(stack, "kafka-emsp", party_id="KFK")
    driver = new_uid("RKFK")
    try:
        push_token(peer, driver)
        [transaction_id] = sessions(stack, charger_id, driver)
        sid = session_id(charger_id, transaction_id)
        wait_until(lambda: peer.cdrs_received(sid), 45, "the CDR through Kafka")
        completed = completed_session(peer, sid)
        [cdr] = peer.cdrs_received(sid)
        check_cdr_adds_up(cdr, completed)
        wait_until(lambda: outbox(stack, partner_id)["pending"] == 0, 20, "an empty outbox")
        assert roaming.metric("switchyard_roaming_recorded_total", module="cdrs") == 1
    finally:
        peer.stop()
