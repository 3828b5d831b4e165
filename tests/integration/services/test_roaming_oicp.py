"""Roaming slice: Hubject OICP 2.3 as a CPO, EVSE data and live statuses, against
switchyard-standalone and the mock Hubject of hubject_peer.py (mutual TLS; every request checked
against Hubject's OpenAPI description of the CPO interface in ../shared/roaming).

What it proves:

* With `--oicp-url` and the client certificate Hubject issued for our OperatorID, the roaming
  service sends a fullLoad first, then every published EVSE as an EvseDataRecord
  (eRoamingPushEvseData insert / update / delete) and its live status (eRoamingPushEvseStatus);
  every request validates, carries our OperatorID in the path and body, and comes over mutual TLS
  with the CN Hubject checks; pushes of one operation are never sent in parallel.
* An EVSE that leaves its location, or a location that is unpublished, is deleted at Hubject.
* Hubject down while 1,000 status changes and a location change happen: when it is back it holds
  the latest status of every EVSE and the new EVSE within 60 s, having received at most one status
  record per changed EVSE (never the history) and one insert.
* A certificate of another operator: Hubject answers 017 Unauthorized Access; the push is counted
  as refused, logged, and kept (nothing is dropped). Flags that cannot work stop the start with a
  message naming the flag.
* Hubject starts a session remotely on our --oicp-port (mutual TLS, its client certificate):
  answered within its 10 s with an eRoamingAcknowledgment, the `ocpp` charger gets
  RemoteStartTransaction with the EvcoID, whose authorization is Accepted (the session's token);
  Hubject's retry of the same start is answered the same without a second start; the remote stop
  reaches the charger with the transaction; the eRoamingChargeDetailRecord (the session's
  SessionID, EvseID, identification, kWh, the tariff's product as PartnerProductID) reaches Hubject
  exactly once in effect, although Hubject refused the first attempt.
* `switchyardctl partners list` shows Hubject as "@hubject" with its outbox; `partners resend
  @hubject` sends it a fullLoad of EVSE data, statuses and pricing at once.
* Dynamic pricing: the tariff becomes a pricing product (eRoamingPushPricingProductData: the
  energy price per kWh without VAT, the time price as PARKING FEE per hour, the session fee as
  START FEE) and the EVSE's product list (eRoamingPushEVSEPricing) names the same product the CDR
  carries; both validate against Hubject's schemas.
* Calls that cannot work get OICP's codes: 603 unknown EVSE, 022 malformed (HTTP 400 when not
  JSON), 400 unknown session, 501 a charger that never reported; a client without a certificate
  from Hubject's CA does not get past the TLS handshake, and one from that CA with another CN than
  --oicp-client-name is answered 403 / 017.
* A card only Hubject knows: eRoamingAuthorizeStart, Accepted with the session's group
  (parentIdTag); while that session runs, the driver's own card is Accepted without asking
  Hubject, another card is asked about as a stop of the session (eRoamingAuthorizeStop:
  Authorized -> Accepted with the same group, so the charger lets it stop; NotAuthorized -> asked
  as a start), and the CDR reaches Hubject once.
"""

import asyncio
import json
import subprocess
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from ocpp.routing import after
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16.enums import Action as Action16

from hubject_peer import Hubject, missing_openapi
from servicekit import (BIN_DIR, TARIFF, OcppCharger, Standalone, at, clean_environment,
                        free_port, in_ci, run)
from test_roaming_commands import RemoteCharger
from test_roaming_locations import evse, location, put
from testkit import TlsMaterial

STATUS = "eRoamingPushEvseStatus"
DATA = "eRoamingPushEvseData"


@pytest.fixture
def hubject(tmp_path):
    missing = missing_openapi()
    if missing:
        if in_ci():
            pytest.fail(missing)
        pytest.skip(missing)
    hub = Hubject(tmp_path / "hubject")
    try:
        yield hub
    finally:
        hub.stop()


def start_csms(tmp_path, flags):
    directory = tmp_path / "csms"
    directory.mkdir(exist_ok=True)
    return Standalone(directory, **flags).start()


def settled(check, timeout=10):
    """Waits for `check()` (a metric counted just after Hubject's answer, say)."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)


def records(request):
    body = request["body"]
    if request["operation"] == STATUS:
        return body["OperatorEvseStatus"]["EvseStatusRecord"]
    return body["OperatorEvseData"]["EvseDataRecord"]


def check_all_valid(hub):
    bad = [(r["operation"], r["status"], r["code"], r["errors"][:3]) for r in hub.requests
           if not r["valid"] or r["status"] != 200]
    assert not bad, bad
    assert not hub.overlaps(), hub.overlaps()
    assert {r["client_cn"] for r in hub.requests} == {"DE*SWY"}
    assert {r["operator_id"] for r in hub.requests} == {"DE*SWY"}


async def statuses(cp, changes):
    """Sends StatusNotifications [(connector, status, seconds)] one after the other."""
    for connector_id, value, seconds in changes:
        await cp.call(call16.StatusNotification(connector_id=connector_id, error_code="NoError",
                                                status=value, timestamp=at(seconds)),
                      suppress=False)


async def boot(cp):
    answer = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                   charge_point_model="Volt-16"), suppress=False)
    assert answer.status == "Accepted", answer


def test_evse_data_and_live_statuses_reach_hubject_over_mutual_tls(hubject, tmp_path):
    csms = start_csms(tmp_path, hubject.cpo_flags())
    try:
        charger_id = "cp-oicp-live"
        csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
        hubject.wait_requests(DATA)  # the first fullLoad (of nothing yet)
        site = location("LOC-OICP", [evse("E1", charger_id, 1), evse("E2", charger_id, 2)])
        put(csms, tmp_path, site)
        hubject.wait_for(lambda h: set(h.evses) == {"DE*SWY*E1*1", "DE*SWY*E2*2"}, 20,
                         "both EVSEs at Hubject")
        first = hubject.requests[0]
        assert (first["operation"], first["body"]["ActionType"]) == (DATA, "fullLoad"), first
        inserts = [r for r in hubject.since(0, DATA) if r["body"]["ActionType"] == "insert"]
        assert [[x["EvseID"] for x in records(r)] for r in inserts] == [
            ["DE*SWY*E1*1", "DE*SWY*E2*2"]], inserts
        record = hubject.evses["DE*SWY*E1*1"]
        assert record["Plugs"] and record["ChargingFacilities"], record
        assert record["Address"]["City"] == "Berlin" and record["ChargingStationId"] == charger_id
        hubject.wait_for(lambda h: h.statuses.get("DE*SWY*E1*1") == "Unknown", 20,
                         "the new EVSEs' statuses (Unknown: the charger never reported)")

        async def scenario():
            async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
                await boot(cp)
                await statuses(cp, [(1, "Charging", 0), (2, "Available", 1)])
                await asyncio.to_thread(hubject.wait_for, lambda h: h.statuses == {
                    "DE*SWY*E1*1": "Occupied", "DE*SWY*E2*2": "Available"}, 20,
                    "E1 Occupied, E2 Available")
                # Connector 0 is the whole charger.
                await statuses(cp, [(0, "Faulted", 2)])
                await asyncio.to_thread(hubject.wait_for, lambda h: set(h.statuses.values()) == {
                    "OutOfService"}, 20, "both OutOfService")

        run(scenario(), timeout=90)
        # E2 leaves the location: deleted at Hubject, with the record it holds.
        site["evses"] = site["evses"][:1]
        put(csms, tmp_path, site)
        hubject.wait_for(lambda h: set(h.evses) == {"DE*SWY*E1*1"}, 20, "E2 deleted")
        # Unpublished: nothing of it stays at Hubject.
        site["publish"] = False
        put(csms, tmp_path, site)
        hubject.wait_for(lambda h: not h.evses, 20, "every EVSE deleted")
        check_all_valid(hubject)
        assert not hubject.anomalies, hubject.anomalies

        process = csms.process
        settled(lambda: process.metric("switchyard_roaming_requests_total", protocol="oicp")
                == len(hubject.requests))
        assert process.metric("switchyard_roaming_oicp_pushes_total", operation="evse-status",
                              result="accepted") >= 3
        assert process.metric("switchyard_roaming_oicp_pushes_total", operation="evse-data",
                              action="delete", result="accepted") == 2
        assert process.metric("switchyard_roaming_requests_total", protocol="oicp",
                              direction="out", status="200") == len(hubject.requests)
        assert process.metric("switchyard_roaming_oicp_last_full_load_timestamp_seconds") > 0
        assert process.metric("switchyard_roaming_oicp_evses") == 0
        assert '"msg":"OICP fullLoad accepted"' in process.log()
    finally:
        csms.stop()
        csms.print_logs()


def test_hubject_down_during_1000_status_changes_gets_the_latest_states_once_back(
        hubject, tmp_path):
    csms = start_csms(tmp_path, hubject.cpo_flags())
    try:
        chargers = [f"cp-oicp-{n}" for n in range(5)]
        for charger_id in chargers:
            csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
        sites = {
            "LOC-A": location("LOC-A", [evse(f"E{n}{c}", chargers[n], c)
                                        for n in range(3) for c in (1, 2)]),
            "LOC-B": location("LOC-B", [evse(f"E{n}{c}", chargers[n], c)
                                        for n in (3, 4) for c in (1, 2)]),
        }
        hubject.wait_requests(DATA)  # the first fullLoad (of nothing yet)
        for site in sites.values():
            put(csms, tmp_path, site)
        evse_ids = {e["evseId"] for site in sites.values() for e in site["evses"]}
        hubject.wait_for(lambda h: set(h.statuses) == evse_ids and set(h.evses) == evse_ids, 20,
                         "10 EVSEs and their statuses at Hubject")
        hubject.down()
        cycle = ["Available", "Charging", "Reserved", "Faulted", "Preparing"]
        # The chargers stay connected until Hubject has the state (a disconnected charger's EVSEs
        # are Unknown).
        sent = []
        figures = {}

        async def charger(n, charger_id, finished):
            async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
                await boot(cp)
                changes = []
                for i in range(100):  # 200 changes per charger, 1,000 in all
                    changes += [(1, cycle[(i + n) % 5], 2 * i), (2, cycle[(i + n + 2) % 5],
                                                                 2 * i + 1)]
                changes[-2:] = [(1, "Charging", 198), (2, "Available", 199)]
                await statuses(cp, changes)
                sent.append(len(changes))
                await finished.wait()

        def hubject_back():
            # A location change while Hubject is down: a new EVSE (its charger never reports it).
            sites["LOC-B"]["evses"].append(evse("E43", chargers[4], 3))
            put(csms, tmp_path, sites["LOC-B"])
            # The backlog shows where an operator looks: Hubject's outbox (one entry per EVSE).
            settled(lambda: pending() >= 11, 15)
            figures["pending"] = pending()
            figures["mark"] = len(hubject.requests)
            back = time.monotonic()
            hubject.up()
            hubject.wait_for(lambda h: h.statuses == expected and "DE*SWY*E43*3" in h.evses, 60,
                             "the latest status of every EVSE and the new EVSE")
            figures["recovered_in"] = time.monotonic() - back

        expected = {e: ("Occupied" if e.endswith("*1") else "Available") for e in evse_ids}
        expected["DE*SWY*E43*3"] = "Unknown"

        def pending():
            return csms.process.metric("switchyard_roaming_outbox_pending", partner="@hubject")

        async def scenario():
            finished = asyncio.Event()
            started = time.monotonic()
            tasks = [asyncio.create_task(charger(n, c, finished)) for n, c in enumerate(chargers)]
            while len(sent) < len(chargers):
                if any(t.done() for t in tasks):
                    await asyncio.gather(*tasks)  # raises what failed
                await asyncio.sleep(0.05)
            figures["changed_in"] = time.monotonic() - started
            try:
                await asyncio.to_thread(hubject_back)
            finally:
                finished.set()
                await asyncio.gather(*tasks)

        run(scenario(), timeout=300)
        assert sum(sent) == 1000, sent
        changed_in, recovered_in, mark = (figures["changed_in"], figures["recovered_in"],
                                          figures["mark"])
        after = hubject.since(mark)
        status_records = [x["EvseID"] for r in after if r["operation"] == STATUS
                          for x in records(r)]
        data = [(r["body"]["ActionType"], [x["EvseID"] for x in records(r)])
                for r in after if r["operation"] == DATA]
        print(f"1,000 status changes in {changed_in:.1f} s while Hubject was down; back: latest "
              f"state in {recovered_in:.1f} s with {len(after)} requests, "
              f"{len(status_records)} status records, data {data}")
        assert figures["pending"] == 11, figures  # 10 EVSEs' statuses and LOC-B's data
        settled(lambda: pending() == 0, 15)
        assert pending() == 0
        assert len(status_records) == len(set(status_records)) <= 11, status_records
        assert data == [("insert", ["DE*SWY*E43*3"])], data
        check_all_valid(hubject)
        assert not hubject.anomalies, hubject.anomalies
        assert csms.process.metric("switchyard_roaming_oicp_pushes_total",
                                   result="unreachable") >= 1
        assert '"msg":"OICP push failed; kept and retried"' in csms.process.log()
    finally:
        csms.stop()
        csms.print_logs()


def test_a_certificate_of_another_operator_is_refused_with_017_and_kept(hubject, tmp_path):
    flags = hubject.cpo_flags()
    certificate, key = hubject.client_files("DE*XYZ")
    flags.update({"oicp-client-certificate": certificate, "oicp-client-key": key})
    csms = start_csms(tmp_path, flags)
    try:
        hubject.wait_for(lambda h: any(r["code"] == "017" for r in h.requests), 20,
                         "a request refused with 017")
        assert not hubject.evses and all(r["result"] is False for r in hubject.requests)
        settled(lambda: csms.process.metric("switchyard_roaming_oicp_pushes_total",
                                            result="refused") >= 1)
        assert csms.process.metric("switchyard_roaming_oicp_pushes_total",
                                   result="refused") >= 1
        assert "StatusCode 017 Unauthorized Access" in csms.process.log()
        assert csms.process.metric("switchyard_roaming_oicp_last_full_load_timestamp_seconds") == 0
    finally:
        csms.stop()
        csms.print_logs()


@pytest.mark.parametrize("flags, message", [
    ({"oicp-url": "http://127.0.0.1:1/api/oicp", "oicp-operator-id": "DE*SWY"},
     "--oicp-url: 'http://127.0.0.1:1/api/oicp' is not an https URL"),
    ({"oicp-url": "https://127.0.0.1:1/api/oicp", "oicp-operator-id": "SWY"},
     "--oicp-operator-id: 'SWY' is not an OICP OperatorID"),
    ({"oicp-url": "https://127.0.0.1:1/api/oicp", "oicp-operator-id": "DE*SWY",
      "oicp-client-certificate": "/nonexistent/cert.pem", "oicp-client-key": "/nonexistent/k"},
     "--oicp-client-certificate / --oicp-client-key / --oicp-ca"),
    ({"oicp-url": "https://127.0.0.1:1/api/oicp", "oicp-operator-id": "DE*SWY",
      "oicp-hotline-phone": "030 123"}, "--oicp-hotline-phone"),
    ({"oicp-url": "https://127.0.0.1:1/api/oicp", "oicp-operator-id": "DE*SWY",
      "oicp-port": "8096"}, "--oicp-port: needs --oicp-server-certificate, --oicp-server-key and "
                            "--oicp-client-ca"),
    ({"oicp-port": "8096"}, "--oicp-port: needs --oicp-url"),
])
def test_oicp_flags_that_cannot_work_stop_the_start_with_a_message(tmp_path, flags, message):
    argv = [str(BIN_DIR / "switchyard-standalone"), "--listen-address", "127.0.0.1",
            "--database", str(tmp_path / "db.sqlite")]
    for port in ("ws-port", "wss-port", "grpc-port", "http-port"):
        argv += [f"--{port}", str(free_port())]
    for flag, value in flags.items():
        argv += [f"--{flag}", value]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env=clean_environment())
    assert done.returncode != 0, done
    assert message in done.stdout + done.stderr, done.stdout[-2000:] + done.stderr[-2000:]


# -- Hubject's remote start / stop and the CDR ------------------------------------------------

EVCO = "DE*8EO*Aet5e4*3"
OICP_SESSION = "eRoamingChargeDetailRecord"


class HubjectCharger(RemoteCharger):
    """RemoteCharger (test_roaming_commands) that also keeps the authorization of each start."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.authorizations = []

    @after(Action16.remote_start_transaction)
    async def after_remote_start(self, id_tag, connector_id=None, **_):
        start = await self.call(call16.StartTransaction(
            connector_id=connector_id or 1, id_tag=id_tag, meter_start=1000, timestamp=at(0)))
        self.authorizations.append(start.id_tag_info["status"])
        self.transactions.append(start.transaction_id)


class OicpListener:
    """Our --oicp-port, called as Hubject calls it (its client certificate, mutual TLS)."""

    def __init__(self, hub, tls, port):
        self.hub, self.tls, self.port = hub, tls, port
        self.base = f"https://127.0.0.1:{port}/api/oicp/charging/v21/providers"

    def flags(self):
        return {"oicp-port": self.port, "oicp-server-certificate": self.tls.server_certificate,
                "oicp-server-key": self.tls.server_key, "oicp-client-ca": self.hub.hubject_ca,
                "oicp-client-name": "Hubject"}

    def post(self, operation, body, provider="DE*8EO", cert=None, raw=None):
        """(HTTP status, answer); the answer validated as an eRoamingAcknowledgment."""
        response = requests.post(
            f"{self.base}/{provider}/authorize-remote/{operation}",
            data=raw if raw is not None else json.dumps(body),
            headers={"Content-Type": "application/json"},
            cert=cert or tuple(str(p) for p in self.hub.hubject_client_files()),
            verify=str(self.tls.ca), timeout=20)
        answer = response.json()
        self.hub.schemas.validate("eRoamingAcknowledgment", answer)
        return response.status_code, answer


def remote_start(sid, evse_id="DE*SWY*E1*1", evco=EVCO, **extra):
    return {"SessionID": sid, "ProviderID": "DE*8EO", "EvseID": evse_id,
            "Identification": {"RemoteIdentification": {"EvcoID": evco}}, **extra}


def code(answer):
    return answer[1]["StatusCode"]["Code"]


def remote_session(csms, hubject, listener, charger_id, sid):
    """Hubject starts a session at E1 of `charger_id` (an `ocpp` 1.6 charger that accepts and
    starts it), then stops it; the answers (and how long the start took), once the CDR is at
    Hubject."""
    answers = {}

    async def scenario():
        async with OcppCharger(csms.ws_url(charger_id), HubjectCharger, "ocpp1.6") as cp:
            await boot(cp)
            # Offline or never reported: Hubject is told why it cannot start (501).
            answers["unknown_status"] = await asyncio.to_thread(
                listener.post, "start", remote_start(str(uuid.uuid4())))
            await statuses(cp, [(1, "Available", 0)])
            await asyncio.to_thread(hubject.wait_for, lambda h: h.statuses.get(
                "DE*SWY*E1*1") == "Available", 30, "E1 Available")
            started = time.monotonic()
            answers["start"] = await asyncio.to_thread(
                listener.post, "start", remote_start(sid, EMPPartnerSessionID="emp-7"))
            answers["start_seconds"] = time.monotonic() - started
            # Hubject's retry of the same request: the same answer, no second start.
            answers["again"] = await asyncio.to_thread(listener.post, "start", remote_start(sid))
            deadline = time.monotonic() + 20
            while not cp.transactions and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert cp.requests == [("start", EVCO, 1)], cp.requests
            assert cp.authorizations == ["Accepted"], cp.authorizations
            await statuses(cp, [(1, "Charging", 1)])
            # Refused (400) only until the transaction reaches roaming.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                answers["stop"] = await asyncio.to_thread(listener.post, "stop", {
                    "SessionID": sid, "ProviderID": "DE*8EO", "EvseID": "DE*SWY*E1*1"})
                if code(answers["stop"]) != "400":
                    break
                await asyncio.sleep(0.2)
            [transaction_id] = cp.transactions
            assert cp.requests[1] == ("stop", transaction_id), cp.requests
            await asyncio.to_thread(hubject.wait_for, lambda h: h.cdr_sessions.get(sid), 45,
                                    "the CDR at Hubject")

    run(scenario(), timeout=180)
    print(f"remote start answered in {answers['start_seconds'] * 1000:.0f} ms")
    assert code(answers["unknown_status"]) == "501", answers["unknown_status"]
    assert answers["start"] == (200, {
        "Result": True, "StatusCode": {"Code": "000", "Description": "Success"},
        "SessionID": sid, "EMPPartnerSessionID": "emp-7"}), answers["start"]
    assert answers["start_seconds"] < 10, answers  # Hubject's limit, network included
    assert code(answers["again"]) == "000", answers["again"]
    assert code(answers["stop"]) == "000", answers["stop"]
    return answers


def berlin(iso):
    """An RFC 3339 UTC time in Europe/Berlin's offset at that instant, with milliseconds."""
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))
    return t.isoformat(timespec="milliseconds")


def check_cdr(hubject, sid, codes):
    """The session's CDR requests answered with `codes`; the accepted one as it should be."""
    time.sleep(2)  # nothing more comes
    cdr_requests = hubject.since(0, OICP_SESSION)
    assert [r["code"] for r in cdr_requests] == codes, hubject.summary()
    assert hubject.cdr_sessions[sid] == 1
    [cdr] = [r["body"] for r in cdr_requests if r["code"] == "000"]
    assert cdr["SessionID"] == sid and cdr["EvseID"] == "DE*SWY*E1*1", cdr
    assert cdr["Identification"] == {"RemoteIdentification": {"EvcoID": EVCO}}, cdr
    assert cdr["ConsumedEnergy"] == 10.5 and cdr["PartnerProductID"] == "AC1", cdr
    assert cdr["EMPPartnerSessionID"] == "emp-7" and cdr["CPOPartnerSessionID"], cdr
    # In the charge point's local offset (the location is in Europe/Berlin), as Hubject requires.
    assert cdr["ChargingStart"] == berlin(at(0)), cdr
    assert cdr["ChargingEnd"] == berlin(at(5400)), cdr
    check_pricing(hubject)
    check_all_valid(hubject)


def check_pricing(hubject):
    """TARIFF as Hubject holds it: product AC1 (prices without VAT) on the EVSE of the CDR."""
    hubject.wait_for(lambda h: h.evse_pricing.get("DE*SWY*E1*1") == ["AC1"], 30,
                     "the EVSE's pricing at Hubject")
    product = hubject.products["AC1"]
    assert product["ReferenceUnit"] == "KILOWATT_HOUR", product
    assert product["PricePerReferenceUnit"] == 0.39 and product["ProductPriceCurrency"] == "EUR"
    assert product["MaximumProductChargingPower"] == 22, product
    assert product["AdditionalReferences"] == [
        {"AdditionalReference": "PARKING FEE", "AdditionalReferenceUnit": "HOUR",
         "PricePerAdditionalReferenceUnit": 1.2},
        {"AdditionalReference": "START FEE", "AdditionalReferenceUnit": "KILOWATT_HOUR",
         "PricePerAdditionalReferenceUnit": 0.5}], product
    [item] = hubject.evse_pricing_items.values()
    assert item == ["AC1"]


def listener_for(hubject, tmp_path):
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    return OicpListener(hubject, TlsMaterial(tls_dir).make(), free_port())


def test_hubject_starts_and_stops_a_session_remotely_and_gets_its_cdr_once(hubject, tmp_path):
    listener = listener_for(hubject, tmp_path)
    csms = start_csms(tmp_path, {**hubject.cpo_flags(), **listener.flags()})
    try:
        charger_id = "cp-oicp-remote"
        csms.ctl(*TARIFF)
        csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
        put(csms, tmp_path, location("LOC-REMOTE", [evse("E1", charger_id, 1)]))
        hubject.wait_for(lambda h: "DE*SWY*E1*1" in h.evses, 20, "the EVSE at Hubject")
        # Hubject refuses the first CDR (a transient error at Hubject): it comes again.
        hubject.fail(OICP_SESSION, times=1, code="021")
        sid = str(uuid.uuid4())
        remote_session(csms, hubject, listener, charger_id, sid)
        check_cdr(hubject, sid, ["021", "000"])

        # The operator sees Hubject among the partners, and can send it everything again: a
        # fullLoad of EVSE data, statuses and pricing at once (the accepted CDR is not resent).
        listed = {p["id"]: p for p in csms.ctl.json("partners", "list")["partners"]}
        assert listed["@hubject"]["state"] == "PARTNER_STATE_REGISTERED", listed
        assert listed["@hubject"].get("outbox", {}).get("pending", "0") == "0", listed
        mark = len(hubject.requests)
        resent = csms.ctl.json("partners", "resend", "@hubject")
        assert resent["partner"]["id"] == "@hubject", resent
        full = {(DATA, "fullLoad"), (STATUS, "fullLoad"),
                ("eRoamingPushPricingProductData", "fullLoad"),
                ("eRoamingPushEVSEPricing", "fullLoad")}
        hubject.wait_for(lambda h: full <= {(r["operation"], (r["body"] or {}).get("ActionType"))
                                            for r in h.since(mark)}, 20, "the resent fullLoad")
        print("after the resend:", [(r["operation"], r["status"], r["valid"])
                                    for r in hubject.since(mark)])
        assert set(hubject.evses) == {"DE*SWY*E1*1"}, hubject.evses
        assert hubject.evse_pricing == {"DE*SWY*E1*1": ["AC1"]}, hubject.evse_pricing
        assert hubject.cdr_sessions[sid] == 1
        check_all_valid(hubject)

        process = csms.process
        assert process.metric("switchyard_roaming_oicp_remote_total", operation="start",
                              code="000") == 2
        assert process.metric("switchyard_roaming_oicp_remote_total", operation="stop",
                              code="000") == 1
        assert process.metric("switchyard_roaming_oicp_pushes_total",
                              operation="charge-detail-record", result="accepted") == 1
        assert process.metric("switchyard_roaming_oicp_pushes_total",
                              operation="charge-detail-record", result="refused") == 1
        assert process.metric("switchyard_roaming_requests_total", protocol="oicp",
                              direction="in", module="remote-start", status="200") >= 3
        assert process.log().count('"msg":"OICP CDR accepted"') == 1
    finally:
        csms.stop()
        csms.print_logs()


def test_distributed_hubject_session_through_auth_kafka_and_switchyard_roaming(
        stack_factory, hubject, tmp_path):
    """The same through the distributed stack: the remote start reaches the charger through a
    gateway pod's ChargerControl, the charger's authorization goes gateway -> auth -> roaming
    (gRPC), the transaction and its CDR come to switchyard-roaming over Kafka."""
    listener = listener_for(hubject, tmp_path)
    stack = stack_factory
    roaming = stack.start_roaming(**hubject.cpo_flags(), **listener.flags())
    stack.start(auth_flags={"roaming-address": roaming.grpc_address})
    # Roaming reaches the chargers through any gateway pod (known now): restarted where it was.
    roaming.stop()
    roaming.flags["gateway-address"] = stack.deployment.gateways[0].grpc_address
    roaming.flags["transactions-address"] = stack.transactions.grpc_address
    roaming.start(same_ports=True)
    charger_id = "cp-oicp-kafka"
    stack.ctl(*TARIFF)
    stack.ctl("chargers", "register", charger_id, "--security-profile", "0")
    put(stack, tmp_path, location("LOC-KAFKA", [evse("E1", charger_id, 1)]))
    hubject.wait_for(lambda h: "DE*SWY*E1*1" in h.evses, 30, "the EVSE at Hubject")
    sid = str(uuid.uuid4())
    remote_session(stack, hubject, listener, charger_id, sid)
    check_cdr(hubject, sid, ["000"])
    assert roaming.metric("switchyard_roaming_oicp_pushes_total",
                          operation="charge-detail-record", result="accepted") == 1


def test_hubject_calls_that_cannot_work_are_answered_with_oicp_codes(hubject, tmp_path):
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    tls = TlsMaterial(tls_dir).make()
    listener = OicpListener(hubject, tls, free_port())
    csms = start_csms(tmp_path, {**hubject.cpo_flags(), **listener.flags()})
    try:
        charger_id = "cp-oicp-bad"
        csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
        put(csms, tmp_path, location("LOC-BAD", [evse("E1", charger_id, 1)]))
        hubject.wait_for(lambda h: "DE*SWY*E1*1" in h.evses, 20, "the EVSE at Hubject")
        sid = str(uuid.uuid4())
        cases = [
            ("unknown EVSE", "start", remote_start(sid, evse_id="DE*SWY*E9*9"), None, 200, "603"),
            ("SessionID no GUID", "start", remote_start("nope"), None, 200, "022"),
            ("no identification", "start", {**remote_start(sid), "Identification": {}}, None,
             200, "022"),
            ("EvcoID not OICP's", "start", remote_start(sid, evco="not an evco"), None, 200,
             "022"),
            ("another provider in the URL", "start", remote_start(sid), "DE*XYZ", 200, "022"),
            ("unknown session stopped", "stop", {"SessionID": sid, "ProviderID": "DE*8EO",
                                                 "EvseID": "DE*SWY*E1*1"}, None, 200, "400"),
        ]
        for what, operation, body, provider, status, expected in cases:
            answer = listener.post(operation, body, provider=provider or "DE*8EO")
            assert (answer[0], code(answer)) == (status, expected), (what, answer)
            assert answer[1]["Result"] is False and answer[1]["StatusCode"].get(
                "AdditionalInfo"), (what, answer)
        answer = listener.post("start", None, raw="{not json")
        assert (answer[0], code(answer)) == (400, "022"), answer
        # A certificate from Hubject's CA that is not Hubject's own (--oicp-client-name).
        intruder = hubject._pki.signed("intruder", "Intruder", "hubject-ca",
                                       "extendedKeyUsage = clientAuth\n")
        answer = listener.post("start", remote_start(sid),
                               cert=tuple(str(p) for p in intruder))
        assert (answer[0], code(answer)) == (403, "017"), answer
        # Only Hubject (a client certificate from its CA) gets in.
        for cert in (hubject.client_files(), ()):
            with pytest.raises(requests.exceptions.RequestException):
                requests.post(f"{listener.base}/DE*8EO/authorize-remote/start",
                              json=remote_start(sid), verify=str(tls.ca), timeout=10,
                              cert=tuple(str(p) for p in cert) or None)
        # Nothing of it reached a charger or the session store: a real start still works after.
        assert csms.process.metric("switchyard_roaming_oicp_remote_total", code="000") == 0
        assert csms.process.metric("switchyard_roaming_oicp_remote_total", operation="start",
                                   code="603") == 1
        assert '"msg":"OICP remote start refused"' in csms.process.log()
    finally:
        csms.stop()
        csms.print_logs()


def test_a_card_only_hubject_knows_is_authorized_in_real_time_and_billed_through_it(
        hubject, tmp_path):
    csms = start_csms(tmp_path, hubject.cpo_flags())
    try:
        charger_id = "cp-oicp-card"
        csms.ctl(*TARIFF)
        csms.ctl("chargers", "register", charger_id, "--security-profile", "0")
        put(csms, tmp_path, location("LOC-CARD", [evse("E1", charger_id, 1)]))
        hubject.wait_for(lambda h: "DE*SWY*E1*1" in h.evses, 20, "the EVSE at Hubject")
        card, refused_card, companion = "04A1B2C3", "04A1B2C4", "04A1B2C5"
        hubject.authorize(card).authorize(refused_card, authorized=False).authorize(companion)
        results, groups = {}, {}

        async def tap(cp, uid, key):
            answer = await cp.call(call16.Authorize(id_tag=uid), suppress=False)
            results[key] = answer.id_tag_info["status"]
            groups[key] = answer.id_tag_info.get("parent_id_tag")

        async def scenario():
            async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
                await boot(cp)
                for uid in (card, refused_card, "NOT-A-UID"):
                    await tap(cp, uid, uid)
                start = await cp.call(call16.StartTransaction(
                    connector_id=1, id_tag=card, meter_start=1000, timestamp=at(0)),
                    suppress=False)
                results["start"] = start.id_tag_info["status"]
                groups["start"] = start.id_tag_info.get("parent_id_tag")
                deadline = time.monotonic() + 20
                while '"msg":"OICP session started"' not in csms.process.log():
                    assert time.monotonic() < deadline, "roaming never saw the transaction"
                    await asyncio.sleep(0.1)
                # While it runs: the driver's own card (no question to Hubject), a card the EMP
                # lets stop it (eRoamingAuthorizeStop: Authorized), one it refuses (NotAuthorized,
                # then asked as a start, refused again).
                await tap(cp, card, "own card to stop")
                await tap(cp, companion, "companion to stop")
                await tap(cp, refused_card, "refused to stop")
                await cp.call(call16.StopTransaction(
                    meter_stop=11500, timestamp=at(5400), transaction_id=start.transaction_id,
                    reason="Local", id_tag=companion), suppress=False)

        run(scenario(), timeout=90)
        assert results == {card: "Accepted", refused_card: "Invalid", "NOT-A-UID": "Invalid",
                           "start": "Accepted", "own card to stop": "Accepted",
                           "companion to stop": "Accepted", "refused to stop": "Invalid"}, results
        asked = hubject.since(0, "eRoamingAuthorizeStart")
        # Once per card: the StartTransaction found the session Hubject named; "NOT-A-UID" is no
        # identification Hubject could know and was not sent.
        assert [r["body"]["Identification"]["RFIDMifareFamilyIdentification"]["UID"]
                for r in asked] == [card, refused_card, refused_card], asked
        sid = asked[0]["answer"]["SessionID"]
        # One group for the session (parentIdTag), so the charger lets the companion card stop.
        group = groups[card]
        assert group and group.startswith("HBS-") and len(group) == 20, groups
        assert {groups[k] for k in (card, "start", "own card to stop", "companion to stop")} == \
            {group}, groups
        assert groups[refused_card] is None and groups["refused to stop"] is None, groups
        stops = hubject.since(0, "eRoamingAuthorizeStop")
        assert [(r["body"]["SessionID"],
                 r["body"]["Identification"]["RFIDMifareFamilyIdentification"]["UID"],
                 r["answer"]["AuthorizationStatus"]) for r in stops] == [
            (sid, companion, "Authorized"), (sid, refused_card, "NotAuthorized")], stops
        hubject.wait_for(lambda h: h.cdr_sessions.get(sid), 30, "the card's CDR at Hubject")
        time.sleep(1)
        [cdr] = [r["body"] for r in hubject.since(0, OICP_SESSION)]
        assert cdr["SessionID"] == sid and cdr["EvseID"] == "DE*SWY*E1*1", cdr
        assert cdr["Identification"] == {"RFIDMifareFamilyIdentification": {"UID": card}}, cdr
        assert cdr["ConsumedEnergy"] == 10.5, cdr
        check_all_valid(hubject)
        assert not hubject.anomalies, hubject.anomalies
        process = csms.process
        for operation, result, count in (("start", "authorized", 1),
                                         ("start", "not_authorized", 2),
                                         ("stop", "authorized", 1), ("stop", "not_authorized", 1)):
            assert process.metric("switchyard_roaming_oicp_authorizations_total",
                                  operation=operation, result=result) == count, (operation, result)
        assert process.log().count('"msg":"OICP stop authorization"') == 2
        for uid in (card, refused_card, companion):
            assert uid not in process.log()
    finally:
        csms.stop()
        csms.print_logs()
