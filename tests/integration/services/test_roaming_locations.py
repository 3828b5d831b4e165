"""Roaming slice 2: the OCPI 2.2.1 locations module in the SENDER role, against
switchyard-standalone (OCPI on its HTTP port, the Roaming gRPC API through switchyardctl) and once
against the distributed switchyard-roaming on PostgreSQL that follows the charger events on Kafka.

What it proves:

* The operator publishes locations with `switchyardctl locations put FILE` (the proto3 JSON of
  switchyard.v1.RoamingLocation); malformed ones are refused with INVALID_ARGUMENT naming the
  field, an OCPP charger EVSE can belong to one location only (ALREADY_EXISTS), and an EVSE left
  out of a new version of its location stays, as REMOVED (OCPI never deletes).
* A registered eMSP (the extrawest-ocpi peer of ocpi_peer.py, registered through the handshake of
  slice 1, calling with its token C) finds `locations` as SENDER in our version details and pulls
  the published locations page by page, following the `Link: <...>; rel="next"` headers, with
  `X-Total-Count` and `X-Limit` (our maximum page size, 100; larger limits are capped); unpublished locations never show. The
  date_from (inclusive) / date_to (exclusive) window selects on last_updated. One location, EVSE
  or connector can be read by path; unknown or unpublished ones are 404 / 2003, bad parameters
  400 / 2001 naming the parameter, other methods 405, and a token A or no token 401.
* Every EVSE status is live: UNKNOWN until its charger reports, then the OCPI status folded from
  the OCPP StatusNotifications of a real `ocpp` 1.6 charger (connector 0 for the whole charger),
  UNKNOWN again once the charger disconnects; each change moves the EVSE's and the location's
  last_updated and counts in switchyard_roaming_evse_status_changes_total. In the distributed
  stack the statuses come through Kafka from the gateway.
* Every payload (list, location, EVSE, connector, version details) validates against the OCPI
  2.2.1 OpenAPI description in ../shared/roaming/ocpi-2.2.1-openapi (read at test time), and
  every response is an OCPI envelope with X-Request-ID and X-Correlation-ID (test_roaming.Answer).
"""

import copy
import json
import re
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16

from ocpi_peer import OcpiEmsp
from servicekit import OcppCharger, at, eventually, run, wait_until
from test_roaming import assert_401, invite, ocpi, peer_registers, samples
from test_roaming import schemas  # noqa: F401  (the fixture, shared with test_roaming)

PARTY = {"country_code": "DE", "party_id": "SWY"}  # the contract's defaults


# -- locations as the operator writes them ---------------------------------------------------

def connector(cid="1", **changes):
    return {"id": cid, "standard": "IEC_62196_T2", "format": "SOCKET", "powerType": "AC_3_PHASE",
            "maxVoltage": 230, "maxAmperage": 32, "maxElectricPower": 22000, **changes}


def evse(uid, charger_id, ocpp_evse_id, connectors=None, **changes):
    """An EVSE with an eMI3 id of our party: DE*SWY*E<uid>*<n> ("E1" -> DE*SWY*E1*1)."""
    tail = re.sub(r"[^A-Z0-9]", "", uid.upper())
    evse_id = f"DE*SWY*{tail if tail.startswith('E') else 'E' + tail}*{ocpp_evse_id}"
    return {"uid": uid, "evseId": evse_id, "chargerId": charger_id,
            "ocppEvseId": ocpp_evse_id,
            "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
            "connectors": connectors or [connector()], **changes}


def location(location_id, evses=(), publish=True, **changes):
    return {"id": location_id, "publish": publish, "name": f"Depot {location_id}",
            "address": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "DEU",
            "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
            "timeZone": "Europe/Berlin", "parkingType": "PARKING_LOT", "evses": list(evses),
            **changes}


def write(tmp_path, body):
    """The file `locations put` reads: `body` as JSON, or a string as it is."""
    name = body if isinstance(body, str) else body.get("id", "location")
    path = tmp_path / f"{re.sub(r'[^A-Za-z0-9-]', '_', name)[:20]}-{time.monotonic_ns()}.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def put(csms, tmp_path, body):
    """`switchyardctl locations put`; the stored location (proto3 JSON, camelCase)."""
    return csms.ctl.json("locations", "put", write(tmp_path, body))["location"]


def put_fails(csms, tmp_path, body):
    done = csms.ctl.run("locations", "put", write(tmp_path, body))
    assert done.returncode != 0, f"accepted: {body}\n{done.stdout}"
    return done.stderr


def stored(csms, location_id):
    return csms.ctl.json("locations", "get", location_id)["location"]


def stored_ms(csms, location_id):
    """The location's last_updated as the Roaming API gives it (milliseconds), in ms since 1970."""
    return to_ms(stored(csms, location_id)["lastUpdated"])


def to_ms(stamp):
    return round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def from_ms(ms, millis=True):
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return t.isoformat(timespec="milliseconds" if millis else "seconds").replace("+00:00", "Z")


# -- the eMSP's side -------------------------------------------------------------------------

def registered_token(csms):
    """A registered partner's token C: the extrawest-ocpi eMSP registers with an invite."""
    with OcpiEmsp(country_code="NL", party_id="LOC") as peer:
        _, _, answer = peer_registers(csms, peer, name="nl-loc")
        endpoints = {(e["identifier"], e["role"], e["url"])
                     for e in peer.switchyard_endpoints["endpoints"]}
        # The package read our version details during the handshake: locations is in them.
        assert ("locations", "SENDER", locations_url(csms)) in endpoints, endpoints
    return answer.data["token"]


def locations_url(csms, *path, **params):
    url = "/".join([f"{csms.ocpi_base_url}/2.2.1/locations", *path])
    return f"{url}?{urlencode(params)}" if params else url


def ok(answer):
    assert answer.http == 200 and answer.status_code == 1000, answer
    return answer


def next_link(answer):
    """The URL of Link: <...>; rel="next", or None."""
    link = answer.headers.get("Link")
    if link is None:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', link.strip())
    assert m, f"Link header {link!r}"
    return m.group(1)


def pull_all(csms, token, schemas, **params):  # noqa: F811
    """Follows the Link headers from the first page: (ids in order, pages)."""
    url = locations_url(csms, **params)
    ids, pages = [], []
    while url is not None:
        answer = ok(ocpi("GET", url, token))
        schemas.validate("locations.yaml", "LocationListResponse", answer.body)
        for item in answer.data:
            schemas.validate("locations.yaml", "Location", item)
        pages.append(answer)
        ids += [item["id"] for item in answer.data]
        url = next_link(answer)
        assert len(pages) < 20, "the Link headers never end"
    return ids, pages


def ocpi_evse_status(csms, token, location_id, uid):
    answer = ocpi("GET", locations_url(csms, location_id, uid), token)
    return ok(answer).data["status"]


def evse_statuses(csms, location_id):
    """{uid: status} through the Roaming API."""
    return {e["uid"]: e.get("status", "") for e in stored(csms, location_id)["evses"]}


# == 1. paging =================================================================================

def test_a_registered_emsp_pulls_every_published_location_once_by_following_links(
        standalone, tmp_path, schemas):  # noqa: F811
    token = registered_token(standalone)
    details = ok(ocpi("GET", f"{standalone.ocpi_base_url}/2.2.1", token))
    schemas.validate("versions.yaml", "VersionDetailsResponse", details.body)
    assert {"identifier": "locations", "role": "SENDER",
            "url": locations_url(standalone)} in details.data["endpoints"], details.data

    published = [f"LOC-{i:02d}" for i in range(1, 8)]
    for i, location_id in enumerate(published, start=1):
        put(standalone, tmp_path, location(location_id, [evse(f"E{i}", f"CP{i}", 1)]))
        if i == 4:
            put(standalone, tmp_path, location("HIDDEN", [evse("H1", "CP-H", 1)], publish=False))

    ids, pages = pull_all(standalone, token, schemas, limit=3)
    assert ids == published, "each published location exactly once, by last_updated then id"
    assert [len(p.data) for p in pages] == [3, 3, 1]
    for page in pages:
        assert page.headers["X-Total-Count"] == "7", page.headers
        assert page.headers["X-Limit"] == "100", page.headers  # the server's maximum
    first_link = urlsplit(next_link(pages[0]))
    assert f"{first_link.scheme}://{first_link.netloc}{first_link.path}" == \
        locations_url(standalone)
    assert parse_qs(first_link.query) == {"offset": ["3"], "limit": ["3"]}
    assert next_link(pages[-1]) is None

    # What one location looks like to the eMSP.
    first = pages[0].data[0]
    assert first["country_code"] == "DE" and first["party_id"] == "SWY"
    assert first["id"] == "LOC-01" and first["publish"] is True
    assert first["country"] == "DEU" and first["time_zone"] == "Europe/Berlin"
    assert first["coordinates"] == {"latitude": "52.520008", "longitude": "13.404954"}
    [e1] = first["evses"]
    assert e1["uid"] == "E1" and e1["evse_id"] == "DE*SWY*E1*1" and e1["status"] == "UNKNOWN"
    assert e1["capabilities"] == ["RFID_READER", "REMOTE_START_STOP_CAPABLE"]
    assert [{k: v for k, v in c.items() if k != "last_updated"} for c in e1["connectors"]] == [
        {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
         "max_voltage": 230, "max_amperage": 32, "max_electric_power": 22000}]
    assert "chargerId" not in json.dumps(first) and "charger_id" not in json.dumps(first), \
        "the OCPP side of an EVSE is ours, not the partner's"

    # A limit above 100 is lowered to 100 (and says so); no limit is 50.
    capped = ok(ocpi("GET", locations_url(standalone, limit=1000), token))
    assert capped.headers["X-Limit"] == "100" and capped.headers["X-Total-Count"] == "7"
    assert [item["id"] for item in capped.data] == published and next_link(capped) is None
    default = ok(ocpi("GET", locations_url(standalone), token))
    assert default.headers["X-Limit"] == "100" and len(default.data) == 7
    # An offset past the end: an empty page, no next.
    beyond = ok(ocpi("GET", locations_url(standalone, offset=7, limit=3), token))
    assert beyond.data == [] and beyond.headers["X-Total-Count"] == "7"
    assert next_link(beyond) is None


# == 2. date_from / date_to ====================================================================

def test_date_from_and_date_to_select_on_last_updated(standalone, tmp_path, schemas):  # noqa: F811
    token = registered_token(standalone)
    batches = [["A1", "A2"], ["B1", "B2"], ["C1"]]
    for n, batch in enumerate(batches):
        if n:
            time.sleep(1.1)  # OCPI timestamps have whole seconds: a batch per second
        for location_id in batch:
            put(standalone, tmp_path, location(location_id, [evse(f"E{location_id}",
                                                                  f"CP-{location_id}", 1)]))
    everything = ok(ocpi("GET", locations_url(standalone), token)).data
    seconds = {item["id"]: to_ms(item["last_updated"]) for item in everything}
    exact = {location_id: stored_ms(standalone, location_id) for batch in batches
             for location_id in batch}
    for location_id, ms in exact.items():
        assert seconds[location_id] == ms // 1000 * 1000, (location_id, seconds, exact)

    def window(**params):
        ids, pages = pull_all(standalone, token, schemas, **params)
        totals = {p.headers["X-Total-Count"] for p in pages}
        assert totals == {str(len(ids))}, (params, totals, ids)
        return ids

    # Whole seconds, as a partner would take them from our last_updated values: every A is
    # before the second after the last A, every B before the second after the last B, and the
    # batches are more than a second apart.
    after_a = max(seconds["A1"], seconds["A2"]) + 1000
    after_b = max(seconds["B1"], seconds["B2"]) + 1000
    assert window(date_from=from_ms(after_a, False), date_to=from_ms(after_b, False)) == \
        ["B1", "B2"]
    assert window(date_from=from_ms(after_a, False)) == ["B1", "B2", "C1"]
    assert window(date_to=from_ms(after_a, False)) == ["A1", "A2"]
    # A time without a zone is UTC.
    assert window(date_from=from_ms(after_b, False).removesuffix("Z")) == ["C1"]
    # The bounds to the millisecond: date_from inclusive, date_to exclusive.
    assert window(date_from=from_ms(exact["B1"])) == ["B1", "B2", "C1"]
    assert window(date_to=from_ms(exact["B1"])) == ["A1", "A2"]
    assert window(date_from=from_ms(exact["B1"]), date_to=from_ms(exact["B1"] + 1)) == ["B1"]
    # The window is kept in the Link of every page.
    first = ok(ocpi("GET", locations_url(standalone, limit=1, date_from=from_ms(after_a, False),
                                         date_to=from_ms(after_b, False)), token))
    assert [item["id"] for item in first.data] == ["B1"] and first.headers["X-Total-Count"] == "2"
    query = parse_qs(urlsplit(next_link(first)).query)
    assert query["offset"] == ["1"] and query["limit"] == ["1"], query
    assert to_ms(query["date_from"][0]) == after_a and to_ms(query["date_to"][0]) == after_b
    assert window(limit=1, date_from=from_ms(after_a, False),
                  date_to=from_ms(after_b, False)) == ["B1", "B2"]
    # Nothing yet in the future.
    future = ok(ocpi("GET", locations_url(standalone, date_from=from_ms(
        exact["C1"] + 3_600_000)), token))
    assert future.data == [] and future.headers["X-Total-Count"] == "0"
    assert next_link(future) is None


# == 3. one object by path, and everything refused =============================================

def test_one_location_evse_and_connector_by_path_and_every_refusal(standalone, tmp_path,
                                                                   schemas):  # noqa: F811
    token = registered_token(standalone)
    put(standalone, tmp_path, location("LOC1", [
        evse("E1", "CP1", 1),
        evse("E2", "CP1", 2, [connector("1"), connector("2", standard="IEC_62196_T2_COMBO",
                                                        format="CABLE", powerType="DC",
                                                        maxVoltage=400, maxAmperage=125,
                                                        maxElectricPower=50000)],
             floorLevel="-1", physicalReference="P2")]))
    put(standalone, tmp_path, location("HIDDEN", [evse("H1", "CP9", 1)], publish=False))

    whole = ok(ocpi("GET", locations_url(standalone, "LOC1"), token))
    schemas.validate("locations.yaml", "LocationResponse", whole.body)
    schemas.validate("locations.yaml", "Location", whole.data)
    assert whole.data["id"] == "LOC1" and [e["uid"] for e in whole.data["evses"]] == ["E1", "E2"]
    one_evse = ok(ocpi("GET", locations_url(standalone, "LOC1", "E2"), token))
    schemas.validate("locations.yaml", "EvseResponse", one_evse.body)
    schemas.validate("locations.yaml", "EVSE", one_evse.data)
    assert one_evse.data == whole.data["evses"][1]
    assert one_evse.data["floor_level"] == "-1" and one_evse.data["physical_reference"] == "P2"
    one_connector = ok(ocpi("GET", locations_url(standalone, "LOC1", "E2", "2"), token))
    schemas.validate("locations.yaml", "ConnectorResponse", one_connector.body)
    schemas.validate("locations.yaml", "Connector", one_connector.data)
    assert one_connector.data == whole.data["evses"][1]["connectors"][1]
    assert one_connector.data["standard"] == "IEC_62196_T2_COMBO"
    assert one_connector.data["power_type"] == "DC" and one_connector.data["format"] == "CABLE"

    # Unknown, and unpublished (which does not exist for a partner): 404 / 2003.
    for path, words in ((("NOPE",), "NOPE"), (("LOC1", "E9"), "E9"),
                        (("LOC1", "E1", "9"), "9"), (("HIDDEN",), "HIDDEN"),
                        (("HIDDEN", "H1"), "HIDDEN"), (("HIDDEN", "H1", "1"), "HIDDEN")):
        answer = ocpi("GET", locations_url(standalone, *path), token)
        assert answer.http == 404 and answer.status_code == 2003, (path, answer)
        assert words in answer.message, (path, answer)
        assert answer.data is None or answer.data in ({}, []), answer

    # Bad parameters: 400 / 2001 naming the parameter.
    bad = [({"offset": "-1"}, "offset"), ({"offset": "x"}, "offset"), ({"limit": "0"}, "limit"),
           ({"limit": "abc"}, "limit"), ({"limit": "-5"}, "limit"),
           ({"date_from": "garbage"}, "date_from"),
           ({"date_to": "2025-13-45T00:00:00Z"}, "date_to"),
           ({"date_from": "2025-06-01T10:00:00Z", "date_to": "2025-06-01T10:00:00Z"}, "date_to"),
           ({"date_from": "2025-06-01T10:00:00Z", "date_to": "2025-06-01T09:00:00Z"}, "date_to")]
    for params, name in bad:
        answer = ocpi("GET", locations_url(standalone, **params), token)
        assert answer.http == 400 and answer.status_code == 2001, (params, answer)
        assert name in answer.message, (params, answer)

    # We are the SENDER: partners only GET.
    for method in ("PUT", "POST", "PATCH", "DELETE"):
        for path in ((), ("LOC1",), ("LOC1", "E1"), ("LOC1", "E1", "1")):
            body = {"id": "LOC1"} if method in ("PUT", "POST", "PATCH") else None
            answer = ocpi(method, locations_url(standalone, *path), token, body=body)
            assert answer.http == 405 and 2000 <= answer.status_code < 3000, \
                (method, path, answer)
    assert stored(standalone, "LOC1")["name"] == "Depot LOC1", "a refused PUT changed nothing"

    # Only a registered partner's token opens the module.
    token_a = invite(standalone)["tokenA"]
    for path in ((), ("LOC1",), ("LOC1", "E1"), ("LOC1", "E1", "1")):
        url = locations_url(standalone, *path)
        assert_401(ocpi("GET", url, token_a))
        assert_401(ocpi("GET", url))
        assert_401(ocpi("GET", url, "no-such-token"))

    echoed = ocpi("GET", locations_url(standalone, "LOC1"), token,
                  headers={"X-Request-ID": "req-loc", "X-Correlation-ID": "corr-loc"})
    assert echoed.headers["X-Request-ID"] == "req-loc"
    assert echoed.headers["X-Correlation-ID"] == "corr-loc"

    def count(**labels):
        return sum(value for found, value in samples(standalone.roaming_service,
                                                     "switchyard_roaming_requests_total")
                   if all(found.get(k) == v for k, v in labels.items()))

    assert count(direction="in", module="locations", method="GET", status="200") >= 3
    assert count(direction="in", module="locations", method="GET", status="404") >= 6
    assert count(direction="in", module="locations", method="GET", status="400") >= len(bad)
    assert count(direction="in", module="locations", status="405") >= 16


# == 4. live EVSE status from a real OCPP 1.6 charger ==========================================

def test_evse_status_follows_an_ocpp16_charger_on_standalone(standalone, tmp_path,
                                                             schemas):  # noqa: F811
    charger_id = "cp-live-16"
    token = registered_token(standalone)
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    put(standalone, tmp_path, location("LIVE", [evse("E1", charger_id, 1),
                                                evse("E2", charger_id, 2)]))
    assert ocpi_evse_status(standalone, token, "LIVE", "E1") == "UNKNOWN"
    assert evse_statuses(standalone, "LIVE") == {"E1": "UNKNOWN", "E2": "UNKNOWN"}
    process = standalone.roaming_service

    def changes(status):
        return process.metric("switchyard_roaming_evse_status_changes_total", status=status)

    def both(e1, e2):
        def check():
            got = (ocpi_evse_status(standalone, token, "LIVE", "E1"),
                   ocpi_evse_status(standalone, token, "LIVE", "E2"))
            return got == (e1, e2)
        return check

    times = {}

    async def scenario():
        async with OcppCharger(standalone.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            async def status(connector_id, value, seconds):
                await cp.call(call16.StatusNotification(connector_id=connector_id,
                                                        error_code="NoError", status=value,
                                                        timestamp=at(seconds)), suppress=False)

            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="Volt-16"),
                                 suppress=False)
            assert boot.status == "Accepted"
            await status(1, "Available", 0)
            await eventually(both("AVAILABLE", "UNKNOWN"), 15, "E1 AVAILABLE, E2 UNKNOWN",
                             interval=0.1)
            await status(2, "Available", 1)
            await eventually(both("AVAILABLE", "AVAILABLE"), 15, "both AVAILABLE", interval=0.1)
            times["available"] = stored(standalone, "LIVE")
            times["available_ocpi"] = ok(ocpi("GET", locations_url(standalone, "LIVE"),
                                              token)).data
            await status(1, "Charging", 2)
            await eventually(both("CHARGING", "AVAILABLE"), 15, "E1 CHARGING", interval=0.1)
            times["charging"] = stored(standalone, "LIVE")
            times["charging_ocpi"] = ok(ocpi("GET", locations_url(standalone, "LIVE"),
                                             token)).data
            # Connector 0 is the whole charger: it wins over every connector.
            await status(0, "Unavailable", 3)
            await eventually(both("INOPERATIVE", "INOPERATIVE"), 15, "both INOPERATIVE",
                             interval=0.1)
            await status(0, "Faulted", 4)
            await eventually(both("OUTOFORDER", "OUTOFORDER"), 15, "both OUTOFORDER",
                             interval=0.1)
            await status(0, "Available", 5)
            await eventually(both("CHARGING", "AVAILABLE"), 15, "the connectors' statuses back",
                             interval=0.1)
            for name in ("Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing"):
                await status(2, name, 6)
                await eventually(both("CHARGING", "CHARGING"), 15, f"{name}: E2 CHARGING",
                                 interval=0.1)
            await status(2, "Reserved", 7)
            await eventually(both("CHARGING", "RESERVED"), 15, "E2 RESERVED", interval=0.1)
            await status(2, "Unavailable", 8)
            await eventually(both("CHARGING", "INOPERATIVE"), 15, "E2 INOPERATIVE", interval=0.1)
            await status(2, "Faulted", 9)
            await eventually(both("CHARGING", "OUTOFORDER"), 15, "E2 OUTOFORDER", interval=0.1)

    run(scenario(), timeout=120)
    # Disconnected: nobody knows.
    wait_until(both("UNKNOWN", "UNKNOWN"), 15, "both UNKNOWN after the disconnect",
               interval=0.1)

    # A status change moves the EVSE's and the location's last_updated.
    before, after = times["available"], times["charging"]
    assert to_ms(after["lastUpdated"]) > to_ms(before["lastUpdated"]), (before, after)
    assert to_ms(after["evses"][0]["lastUpdated"]) > to_ms(before["evses"][0]["lastUpdated"])
    assert after["evses"][1]["lastUpdated"] == before["evses"][1]["lastUpdated"], \
        "E2 did not change"
    assert times["charging_ocpi"]["last_updated"] >= times["available_ocpi"]["last_updated"]
    assert to_ms(times["charging_ocpi"]["last_updated"]) == \
        to_ms(after["lastUpdated"]) // 1000 * 1000
    schemas.validate("locations.yaml", "Location", times["charging_ocpi"])
    final = ok(ocpi("GET", locations_url(standalone, "LIVE"), token)).data
    schemas.validate("locations.yaml", "Location", final)
    assert [e["status"] for e in final["evses"]] == ["UNKNOWN", "UNKNOWN"]
    assert evse_statuses(standalone, "LIVE") == {"E1": "UNKNOWN", "E2": "UNKNOWN"}
    # E1: AVAILABLE CHARGING INOPERATIVE OUTOFORDER CHARGING UNKNOWN;
    # E2: AVAILABLE INOPERATIVE OUTOFORDER AVAILABLE CHARGING RESERVED INOPERATIVE OUTOFORDER
    #     UNKNOWN.
    assert {s: changes(s) for s in ("AVAILABLE", "CHARGING", "RESERVED", "INOPERATIVE",
                                    "OUTOFORDER", "UNKNOWN")} == {
        "AVAILABLE": 3, "CHARGING": 3, "RESERVED": 1, "INOPERATIVE": 3, "OUTOFORDER": 3,
        "UNKNOWN": 2}


# == 5. the operator's side: validation, one location per EVSE, REMOVED ========================

INVALID = {
    "foreign evse_id": (lambda b: b["evses"][0].update(evseId="NL*ABC*E1*1"),
                        "location.evses[0].evse_id: 'NL*ABC*E1*1' is not an eMI3 EVSE id of "
                        "party DE*SWY"),
    "alpha-2 country": (lambda b: b.update(country="DE"), "location.country:"),
    "lower-case country": (lambda b: b.update(country="deu"), "location.country:"),
    "comma latitude": (lambda b: b["coordinates"].update(latitude="52,520008"),
                       "location.coordinates.latitude:"),
    "longitude out of range": (lambda b: b["coordinates"].update(longitude="181.0"),
                               "location.coordinates.longitude:"),
    "unknown standard": (lambda b: b["evses"][0]["connectors"][0].update(standard="TYPE_2"),
                         "location.evses[0].connectors[0].standard:"),
    "unknown format": (lambda b: b["evses"][0]["connectors"][0].update(format="PLUG"),
                       "location.evses[0].connectors[0].format:"),
    "unknown power type": (lambda b: b["evses"][0]["connectors"][0].update(powerType="AC"),
                           "location.evses[0].connectors[0].power_type:"),
    "duplicate uid": (lambda b: b["evses"].append(evse("E1", "CP1", 3)),
                      "location.evses[2].uid:"),
    "time zone without /": (lambda b: b.update(timeZone="CET"), "location.time_zone:"),
    "no address": (lambda b: b.pop("address"), "location.address:"),
    "no connectors": (lambda b: b["evses"][0].update(connectors=[]),
                      "location.evses[0].connectors:"),
}


def test_locations_cli_validates_keeps_one_location_per_evse_and_marks_left_out_evses_removed(
        standalone, tmp_path, schemas):  # noqa: F811
    good = location("LOC-A", [evse("E1", "CP1", 1), evse("E2", "CP1", 2)])
    for name, (change, field) in INVALID.items():
        body = copy.deepcopy(good)
        change(body)
        stderr = put_fails(standalone, tmp_path, body)
        assert "Roaming.PutLocation: INVALID_ARGUMENT" in stderr, (name, stderr)
        assert field in stderr, (name, stderr)
    assert "is not a switchyard.v1.RoamingLocation" in put_fails(standalone, tmp_path,
                                                                  "{not json")
    assert standalone.ctl.json("locations", "list").get("locations", []) == [], \
        "nothing refused was stored"
    missing = standalone.ctl.run("locations", "get", "LOC-A")
    assert missing.returncode != 0 and "NOT_FOUND" in missing.stderr, missing.stderr

    # snake_case is proto3 JSON too.
    snake = {"id": "LOC-A", "publish": True, "address": "Hauptstr. 1", "city": "Berlin",
             "postal_code": "10115", "country": "DEU", "time_zone": "Europe/Berlin",
             "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
             "evses": [{"uid": "E1", "evse_id": "DE*SWY*E1*1", "charger_id": "CP1",
                        "ocpp_evse_id": 1, "connectors": [{
                            "id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                            "power_type": "AC_3_PHASE", "max_voltage": 230,
                            "max_amperage": 32}]}]}
    first = put(standalone, tmp_path, snake)
    assert first["postalCode"] == "10115" and first["evses"][0]["chargerId"] == "CP1"
    assert first["evses"][0]["status"] == "UNKNOWN"
    both = put(standalone, tmp_path, good)
    assert [(e["uid"], e["status"]) for e in both["evses"]] == [("E1", "UNKNOWN"),
                                                              ("E2", "UNKNOWN")]

    # One OCPP EVSE is one OCPI EVSE, in one location.
    taken = put_fails(standalone, tmp_path, location("LOC-B", [evse("E9", "CP1", 1)]))
    assert "Roaming.PutLocation: ALREADY_EXISTS" in taken, taken
    assert "CP1" in taken and "LOC-A" in taken, taken
    assert standalone.ctl.run("locations", "get", "LOC-B").returncode != 0

    # Left out of a new version: kept, as REMOVED, for the CLI and for partners.
    before = stored_ms(standalone, "LOC-A")
    time.sleep(0.01)
    put(standalone, tmp_path, location("LOC-A", [evse("E1", "CP1", 1)]))
    got = stored(standalone, "LOC-A")
    assert [(e["uid"], e["status"]) for e in got["evses"]] == [("E1", "UNKNOWN"),
                                                             ("E2", "REMOVED")], got
    assert to_ms(got["lastUpdated"]) > before
    token = registered_token(standalone)
    removed = ok(ocpi("GET", locations_url(standalone, "LOC-A", "E2"), token))
    schemas.validate("locations.yaml", "EvseResponse", removed.body)
    assert removed.data["status"] == "REMOVED" and removed.data["evse_id"] == "DE*SWY*E2*2"
    whole = ok(ocpi("GET", locations_url(standalone, "LOC-A"), token)).data
    schemas.validate("locations.yaml", "Location", whole)
    assert [(e["uid"], e["status"]) for e in whole["evses"]] == [("E1", "UNKNOWN"),
                                                               ("E2", "REMOVED")]
    # A removed EVSE frees its charger EVSE for another location...
    put(standalone, tmp_path, location("LOC-B", [evse("E9", "CP1", 2)]))
    # ...and cannot come back to the first while the other holds it.
    again = put_fails(standalone, tmp_path, good)
    assert "ALREADY_EXISTS" in again, again
    listing = standalone.ctl.json("locations", "list")["locations"]
    assert [loc["id"] for loc in listing] == ["LOC-A", "LOC-B"], listing
    table = standalone.ctl("locations", "list")
    assert "LOC-A" in table and "LOC-B" in table and "REMOVED" in table, table


# == 6. distributed: switchyard-roaming on PostgreSQL, statuses through Kafka ==================

def test_distributed_roaming_follows_evse_status_through_kafka(stack_factory, tmp_path,
                                                               schemas):  # noqa: F811
    stack = stack_factory.start()
    roaming = stack.start_roaming()
    charger_id = "cp-dist-16"
    stack.ctl("chargers", "register", charger_id, "--security-profile", "0")
    put(stack, tmp_path, location("DIST", [evse("E1", charger_id, 1)]))
    token = registered_token(stack)
    assert ocpi_evse_status(stack, token, "DIST", "E1") == "UNKNOWN"

    async def scenario():
        async with OcppCharger(stack.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="Volt-16"),
                                 suppress=False)
            assert boot.status == "Accepted"
            await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError",
                                                    status="Available", timestamp=at(0)),
                          suppress=False)
            await eventually(
                lambda: ocpi_evse_status(stack, token, "DIST", "E1") == "AVAILABLE", 30,
                "E1 AVAILABLE through Kafka", interval=0.2)

    run(scenario())
    wait_until(lambda: ocpi_evse_status(stack, token, "DIST", "E1") == "UNKNOWN", 30,
               "E1 UNKNOWN after the disconnect", interval=0.2)
    ids, pages = pull_all(stack, token, schemas)
    assert ids == ["DIST"] and pages[0].headers["X-Total-Count"] == "1"
    assert roaming.metric("switchyard_roaming_evse_status_changes_total",
                          status="AVAILABLE") == 1
    assert evse_statuses(stack, "DIST") == {"E1": "UNKNOWN"}
