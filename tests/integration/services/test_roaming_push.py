"""Roaming slice 3: OCPI 2.2.1 locations pushed to partners (we are the SENDER, they RECEIVE),
against switchyard-standalone and once against the distributed switchyard-roaming on PostgreSQL
that follows the charger events on Kafka.

The other party is the extrawest-ocpi eMSP of ocpi_peer.py with `receive_locations=True`: its
version details list `locations` as RECEIVER and the package's own receiver routes store what we
push (a PUT of a whole Location, a PATCH of an EVSE's status). It registers with us through the
handshake of slice 1 (an invite's token A), so we call it with the token B it gave us.

What it proves:

* An operator's change of a published location (`switchyardctl locations put`, unpublishing too)
  reaches every registered RECEIVER as `PUT .../locations/DE/SWY/{id}` with the whole Location,
  and an EVSE status change of a real `ocpp` 1.6 charger as `PATCH .../{id}/{evse_uid}` with
  status and last_updated; both validate against the OCPI 2.2.1 OpenAPI description in
  ../shared/roaming/ocpi-2.2.1-openapi, carry `Authorization: Token <base64>` and the
  correlation headers, and count in the push and request metrics.
* A partner that was down gets, once it is back, each object that changed ONCE with its state at
  send time: after 1,000 StatusNotifications of 10 chargers and a rename, its copy equals our
  state with at most one request per changed object, never one per change; meanwhile the
  operator sees the outbox (pending, oldest change, last error) in `partners get` and the
  metrics. An unreachable partner is asked once per back-off, not once per object: objects that
  change while its first failed push waits are not tried before that push's back-off ends.
* A push answered with an OCPI error is retried with back-off until the partner accepts it.
* A partner that unregistered gets nothing more, and its outbox is emptied.
* A partner that registers after locations exist gets each published one (PUT) without pulling
  first; unpublished ones stay ours. The operator's `partners resend` sends each published one
  again (once), an unknown partner is NOT_FOUND and an unregistered one FAILED_PRECONDITION.
* A tariffs RECEIVER gets each tariff (PUT, valid per the OpenAPI and the package's model) and
  again when the operator changes its price.
"""

import asyncio
import json
import random
import time
from datetime import datetime

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16

from ocpi_peer import OcpiEmsp, b64
from servicekit import TARIFF, OcppCharger, at, eventually, run, wait_until
from test_roaming import Answer, get_partner, peer_registers, samples
from test_roaming import schemas  # noqa: F401  (the fixture, shared with test_roaming)
from test_roaming_locations import evse, location, put

# OCPP 1.6 ChargePointStatus -> OCPI 2.2.1 EVSE status (of a connector = an EVSE).
OCPI_STATUS = {"Available": "AVAILABLE", "Preparing": "CHARGING", "Charging": "CHARGING",
               "SuspendedEV": "CHARGING", "SuspendedEVSE": "CHARGING", "Finishing": "CHARGING",
               "Reserved": "RESERVED", "Faulted": "OUTOFORDER", "Unavailable": "INOPERATIVE"}
STORM_STATUSES = ("Available", "Preparing", "Charging", "SuspendedEV", "Finishing", "Faulted",
                  "Unavailable")


# -- the receiving partner ---------------------------------------------------------------------

def receiving_peer(csms, name="push-peer", party_id="PSH"):
    """An eMSP that receives locations, registered with us (it used an invite). Returns
    (peer, partner id); stop() the peer."""
    peer = OcpiEmsp(country_code="NL", party_id=party_id, receive_locations=True).start()
    try:
        partner_id, _, _ = peer_registers(csms, peer, name=name)
        endpoints = get_partner(csms, partner_id)["endpoints"]
        assert {"identifier": "locations", "role": "RECEIVER", "url": peer.locations_url} in \
            endpoints, endpoints
    except BaseException:
        peer.stop()
        raise
    return peer, partner_id


def pushes(peer, method, location_id, uid=None, start=0):
    """Requests of `method` on exactly .../locations/DE/SWY/{location_id}[/{uid}] from `start`."""
    path = f"/ocpi/emsp/2.2.1/locations/DE/SWY/{location_id}" + (f"/{uid}" if uid else "")
    return [r for r in peer.since(start, method) if r["path"] == path]


def wait_for_push(peer, method, location_id, uid=None, start=0, timeout=15, where=None):
    """The first push (from `start`) of `method` on that object that the peer accepted (HTTP 200,
    not refused by `locations_answer`) whose body satisfies `where`; fails with what the peer got
    at the deadline."""
    def found():
        return [r for r in pushes(peer, method, location_id, uid, start)
                if r["status"] == 200 and not r.get("refused") and
                (where is None or where(r["body"] or {}))]

    try:
        return wait_until(found, timeout, f"{method} of {location_id}/{uid or ''}",
                          interval=0.05)[0]
    except AssertionError as error:
        got = [(r["method"], r["path"], r["status"], r["raw_body"][:200])
               for r in peer.since(start)]
        raise AssertionError(f"{error}; the peer got {got}") from None


def check_push_headers(peer, request):
    token_b = next(iter(peer.valid_tokens))  # what it gave us in its credentials
    assert request["headers"].get("authorization") == f"Token {b64(token_b)}", \
        request["headers"]
    assert request["headers"].get("x-request-id"), request["headers"]
    assert request["headers"].get("x-correlation-id"), request["headers"]
    assert request["headers"].get("content-type", "").startswith("application/json")
    # Hub routing headers of a functional module: from us, to the partner's party.
    routing = {k: request["headers"].get(k) for k in (
        "ocpi-from-country-code", "ocpi-from-party-id", "ocpi-to-country-code", "ocpi-to-party-id")}
    assert routing == {"ocpi-from-country-code": "DE", "ocpi-from-party-id": "SWY",
                       "ocpi-to-country-code": peer.country_code,
                       "ocpi-to-party-id": peer.party_id}, routing


def outbox(csms, partner_id):
    """partner.outbox of `partners get -o json` with pending as an int (0 when absent)."""
    box = dict(get_partner(csms, partner_id).get("outbox") or {})
    box["pending"] = int(box.get("pending", "0"))
    return box


def partner_gauge(process, name, partner_id):
    """The value of `name`{partner=<id>}, None when there is no such sample."""
    found = [value for labels, value in samples(process, name)
             if labels.get("partner") == partner_id]
    return sum(found) if found else None


def metric_sum(process, name, **labels):
    return sum(value for found, value in samples(process, name)
               if all(found.get(k) == v for k, v in labels.items()))


def parse_time(stamp):
    assert isinstance(stamp, str) and stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def boot(cp):
    answer = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                   charge_point_model="Volt-16"), suppress=False)
    assert answer.status == "Accepted"


async def status(cp, connector_id, value, seconds):
    await cp.call(call16.StatusNotification(connector_id=connector_id, error_code="NoError",
                                            status=value, timestamp=at(seconds)),
                  suppress=False)


def log_entries(process):
    """The JSON lines of a process's log, parsed."""
    out = []
    for line in process.log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def blocking(fn, *args, **kwargs):
    """Runs a blocking step (switchyardctl, polling the peer) off the chargers' event loop."""
    return asyncio.to_thread(fn, *args, **kwargs)


class Chargers:
    """`async with` several OcppChargers at once: the list of their ChargePoints."""

    def __init__(self, csms, charger_ids):
        self.chargers = [OcppCharger(csms.ws_url(c), ChargePoint16, "ocpp1.6")
                         for c in charger_ids]
        self.entered = []

    async def __aenter__(self):
        cps = []
        for charger in self.chargers:
            cps.append(await charger.__aenter__())
            self.entered.append(charger)
        return cps

    async def __aexit__(self, *exc):
        for charger in reversed(self.entered):
            await charger.__aexit__(*exc)


# == 1. what a partner receives ================================================================

def test_location_and_status_changes_are_pushed_and_validate(standalone, tmp_path,
                                                             schemas):  # noqa: F811
    charger_id = "cp-push-16"
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, partner_id = receiving_peer(standalone)
    process = standalone.roaming_service
    try:
        put(standalone, tmp_path, location("PUSH", [evse("E1", charger_id, 1),
                                                    evse("E2", charger_id, 2)]))
        first = wait_for_push(peer, "PUT", "PUSH")
        check_push_headers(peer, first)
        schemas.validate("locations.yaml", "Location", first["body"])
        assert first["body"]["country_code"] == "DE" and first["body"]["party_id"] == "SWY"
        assert first["body"]["id"] == "PUSH" and first["body"]["publish"] is True
        assert first["body"]["name"] == "Depot PUSH"
        assert [(e["uid"], e["status"]) for e in first["body"]["evses"]] == [
            ("E1", "UNKNOWN"), ("E2", "UNKNOWN")]
        assert "charger_id" not in str(first["body"]) and "chargerId" not in str(first["body"])
        assert peer.evse_status("PUSH", None) == {"E1": "UNKNOWN", "E2": "UNKNOWN"}

        async def scenario():
            async with OcppCharger(standalone.ws_url(charger_id), ChargePoint16,
                                   "ocpp1.6") as cp:
                await boot(cp)
                await status(cp, 1, "Available", 0)
                await eventually(lambda: peer.evse_status("PUSH", "E1") == "AVAILABLE", 15,
                                 "the peer's E1 AVAILABLE", interval=0.05)
                await status(cp, 1, "Charging", 1)
                await eventually(lambda: peer.evse_status("PUSH", "E1") == "CHARGING", 15,
                                 "the peer's E1 CHARGING", interval=0.05)
                await status(cp, 2, "Faulted", 2)
                await eventually(lambda: peer.evse_status("PUSH", "E2") == "OUTOFORDER", 15,
                                 "the peer's E2 OUTOFORDER", interval=0.05)

        run(scenario(), timeout=60)
        patches = pushes(peer, "PATCH", "PUSH", "E1")
        assert [p["body"]["status"] for p in patches][:2] == ["AVAILABLE", "CHARGING"], \
            [p["body"] for p in patches]
        for patch in peer.answered(patches[:2] + pushes(peer, "PATCH", "PUSH", "E2")[:1]):
            check_push_headers(peer, patch)
            assert patch["status"] == 200
            schemas.validate("locations.yaml", "EvsePatch", patch["body"])
            assert set(patch["body"]) == {"status", "last_updated"}, patch["body"]
            parse_time(patch["body"]["last_updated"])
        stamps = [parse_time(p["body"]["last_updated"]) for p in patches[:2]]
        assert stamps[1] >= stamps[0], stamps

        # The charger is gone: nobody knows its EVSEs' statuses, the partner neither.
        wait_until(lambda: peer.evse_status("PUSH", None) == {"E1": "UNKNOWN", "E2": "UNKNOWN"},
                   15, "the peer's EVSEs UNKNOWN after the disconnect", interval=0.05)

        # Unpublishing is a change of the location too: the partner learns publish=false.
        start = len(peer.requests)
        put(standalone, tmp_path, location("PUSH", [evse("E1", charger_id, 1),
                                                    evse("E2", charger_id, 2)], publish=False))
        hidden = wait_for_push(peer, "PUT", "PUSH", start=start)
        schemas.validate("locations.yaml", "Location", hidden["body"])
        assert hidden["body"]["publish"] is False and peer.location("PUSH")["publish"] is False

        wait_until(lambda: outbox(standalone, partner_id)["pending"] == 0, 10,
                   "an empty outbox")
        assert metric_sum(process, "switchyard_roaming_pushes_total", module="locations",
                          result="delivered") >= 7  # 2 PUT, 5 PATCH (2 from the disconnect)
        for method in ("PUT", "PATCH"):
            assert metric_sum(process, "switchyard_roaming_requests_total", direction="out",
                              module="locations", method=method, status="200") >= 2, method
        answered = peer.answered(peer.since(0))
        assert not [r for r in answered if r["status"] != 200], \
            [(r["method"], r["path"], r["status"]) for r in answered if r["status"] != 200]
    finally:
        peer.stop()


# == 2. a partner that was down ================================================================

def test_a_partner_that_was_down_gets_the_latest_state_once_per_changed_object(
        standalone, tmp_path, schemas):  # noqa: F811
    chargers = [f"cp-storm-{i:02d}" for i in range(10)]
    for charger_id in chargers:
        standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    # EVSE E<2i+c> is connector c of charger i.
    uid_of = {(i, c): f"E{2 * i + c}" for i in range(10) for c in (1, 2)}
    evses = [evse(uid_of[i, c], chargers[i], c) for i in range(10) for c in (1, 2)]
    peer, partner_id = receiving_peer(standalone, name="storm-peer", party_id="STM")
    process = standalone.roaming_service
    seed = random.randrange(1 << 30)
    per_charger, total = 100, 1000
    truth = {}                      # (charger index, connector) -> last OCPP status
    ocpi_changes = [0]              # OCPI-level changes of the EVSEs while the peer was down
    figures = {}

    def pending():
        return outbox(standalone, partner_id)["pending"]

    def attempts():
        return metric_sum(process, "switchyard_roaming_requests_total", direction="out",
                          module="locations")

    def expected():
        return {uid_of[key]: OCPI_STATUS[value] for key, value in truth.items()}

    try:
        put(standalone, tmp_path, location("STORM", evses))
        wait_for_push(peer, "PUT", "STORM")
        assert set(peer.evse_status("STORM", None).values()) == {"UNKNOWN"}
        wait_until(lambda: pending() == 0, 10, "the first PUT delivered")

        async def storm(i, cp, sent):
            rng = random.Random(seed * 31 + i)
            last = {1: "UNKNOWN", 2: "UNKNOWN"}
            for k in range(per_charger):
                connector_id = k + 1 if k < 2 else rng.choice((1, 2))  # both at least once
                value = rng.choice(STORM_STATUSES)
                await status(cp, connector_id, value, 10 + k)
                truth[i, connector_id] = value
                if OCPI_STATUS[value] != last[connector_id]:
                    last[connector_id] = OCPI_STATUS[value]
                    ocpi_changes[0] += 1
                sent[0] += 1

        async def rename(sent):
            while sent[0] < total // 2:
                await asyncio.sleep(0.01)
            await blocking(put, standalone, tmp_path,
                           location("STORM", evses, name="Storm depot, renamed"))

        async def scenario():
            async with Chargers(standalone, chargers) as cps:
                for cp in cps:
                    await boot(cp)
                # -- the partner goes down; 1,000 status changes and a rename meanwhile
                before_down = attempts()
                peer.stop_serving()
                down_at = time.monotonic()
                sent = [0]
                await asyncio.gather(*(storm(i, cp, sent) for i, cp in enumerate(cps)),
                                     rename(sent))
                assert sent[0] == total
                figures["storm_s"] = time.monotonic() - down_at

                # The operator sees the backlog: pending objects, the oldest change, the error.
                def backlog():
                    box = outbox(standalone, partner_id)
                    return box if box["pending"] > 0 and box.get("lastError") else None

                def gauges_show_it():
                    return all((partner_gauge(process, name, partner_id) or 0) > 0 for name in (
                        "switchyard_roaming_outbox_pending",
                        "switchyard_roaming_outbox_oldest_age_seconds"))

                box = await blocking(wait_until, backlog, 15, "a pending outbox and its error")
                assert box["pending"] <= 21, box
                parse_time(box["oldestChange"])
                figures["pending"] = box["pending"]
                figures["last_error"] = box["lastError"]
                await blocking(wait_until, gauges_show_it, 12,
                               "switchyard_roaming_outbox_pending and _oldest_age_seconds > 0")
                # Unreachable: never asked once per change (1,001). Once per back-off (1 s
                # doubling to 15 s) is what test 3 checks exactly; here an object that changes
                # for the first time while the partner is down may be tried once more.
                figures["down_s"] = time.monotonic() - down_at
                figures["attempts"] = attempts() - before_down
                assert figures["attempts"] <= 21 + 4 + figures["down_s"], figures

                # -- the partner is back
                back = len(peer.requests)
                peer.start_serving()
                back_at = time.monotonic()
                want = expected()
                assert len(want) == 20

                def converged():
                    got = peer.location("STORM") or {}
                    return (got.get("name") == "Storm depot, renamed" and
                            peer.evse_status("STORM", None) == want)

                try:
                    await eventually(converged, 60, "the peer's copy to equal our state",
                                     interval=0.1)
                except AssertionError:
                    got = peer.evse_status("STORM", None)
                    wrong = {u: (got.get(u), s) for u, s in want.items() if got.get(u) != s}
                    seen = [(r["method"], r["path"], r["status"]) for r in peer.since(back)]
                    raise AssertionError(
                        f"not converged in 60 s: (got, want) {wrong}, name "
                        f"{(peer.location('STORM') or {}).get('name')!r}, requests after the "
                        f"return {seen}") from None
                figures["converge_s"] = time.monotonic() - back_at
                await blocking(wait_until, lambda: pending() == 0, 10, "an empty outbox")
                await blocking(wait_until, lambda: (partner_gauge(
                    process, "switchyard_roaming_outbox_pending", partner_id) or 0) == 0, 12,
                    "switchyard_roaming_outbox_pending of the partner back at 0")
                await asyncio.sleep(1)  # anything sent twice would come now
                figures["after"] = peer.since(back)
                # Still connected here: the final statuses are the truth (a disconnect would
                # make them UNKNOWN).
                assert peer.evse_status("STORM", None) == want

        run(scenario(), timeout=150)

        after = peer.answered(figures["after"])
        described = [(r["method"], r["path"].rsplit("/", 1)[-1], r["status"]) for r in after]
        puts = [r for r in after if r["method"] == "PUT"]
        patches = [r for r in after if r["method"] == "PATCH"]
        print(f"\npush summary: {total} StatusNotifications ({ocpi_changes[0]} OCPI status "
              f"changes of 20 EVSEs) + 1 rename while the partner was down for "
              f"{figures['down_s']:.1f} s ({figures['attempts']:.0f} push attempts, "
              f"{figures['pending']} objects pending, last error {figures['last_error']!r}); "
              f"{len(after)} requests after its return ({len(puts)} PUT, {len(patches)} PATCH); "
              f"converged {figures['converge_s']:.1f} s after the return (seed {seed})")
        assert len(after) <= 20 + 1, described
        assert len(puts) <= 1 and all(r["path"].endswith("/STORM") for r in puts), described
        uids = [r["path"].rsplit("/", 1)[-1] for r in patches]
        assert len(uids) == len(set(uids)), f"an EVSE sent twice: {described}"
        assert all(r["status"] == 200 for r in after), described
        for request in puts:
            schemas.validate("locations.yaml", "Location", request["body"])
            assert request["body"]["name"] == "Storm depot, renamed"
        for request in patches:
            schemas.validate("locations.yaml", "EvsePatch", request["body"])
            # The state at send time, never a step of the history.
            assert request["body"]["status"] == expected()[request["path"].rsplit("/", 1)[-1]]
    finally:
        peer.stop()


# == 3. an unreachable partner is asked once per back-off =====================================

def test_an_unreachable_partner_is_asked_once_per_back_off_not_once_per_object(standalone,
                                                                               tmp_path):
    """A partner whose first push failed with connection refused is not asked again before that
    push's back-off (1 s), however many other objects change meanwhile."""
    charger_id = "cp-backoff-16"
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, partner_id = receiving_peer(standalone, name="down-peer", party_id="DWN")
    process = standalone.roaming_service

    def attempts():
        return metric_sum(process, "switchyard_roaming_requests_total", direction="out",
                          module="locations")

    try:
        put(standalone, tmp_path, location("BACKOFF", [evse(f"E{n}", charger_id, n)
                                                       for n in range(1, 7)]))
        wait_for_push(peer, "PUT", "BACKOFF")
        wait_until(lambda: outbox(standalone, partner_id)["pending"] == 0, 10, "the PUT delivered")

        async def scenario():
            async with OcppCharger(standalone.ws_url(charger_id), ChargePoint16,
                                   "ocpp1.6") as cp:
                await boot(cp)
                peer.stop_serving()
                before = attempts()
                await status(cp, 1, "Available", 0)
                await eventually(lambda: attempts() > before, 10, "the first refused PATCH",
                                 interval=0.01)
                failed_at = time.monotonic()
                for n in range(2, 7):  # five more objects change while E1's push waits 1 s
                    await status(cp, n, "Charging", n)
                await asyncio.sleep(max(0.0, failed_at + 0.5 - time.monotonic()))
                made = attempts() - before
                tried = [(e["ts"], e.get("method"), e.get("url", "").rsplit("/", 1)[-1])
                         for e in log_entries(standalone.process)
                         if e.get("msg") == "ocpi call failed"]
                assert made == 1, (
                    f"{made:.0f} push attempts within 0.5 s of the first connection refused "
                    f"(the partner's back-off is 1 s): {tried}")
                peer.start_serving()
                want = {"E1": "AVAILABLE", **{f"E{n}": "CHARGING" for n in range(2, 7)}}
                await eventually(lambda: peer.evse_status("BACKOFF", None) == want, 20,
                                 "every status once the partner is back", interval=0.05)

        run(scenario(), timeout=60)
    finally:
        peer.stop()


# == 4. an OCPI error is retried with back-off =================================================

def test_a_push_answered_with_an_ocpi_error_is_retried_with_back_off(standalone, tmp_path):
    peer, partner_id = receiving_peer(standalone, name="refusing-peer", party_id="REF")
    process = standalone.roaming_service
    try:
        peer.locations_answer = 2001  # "invalid or missing parameters", HTTP 200
        put(standalone, tmp_path, location("REFUSED", [evse("E1", "cp-refused", 1)]))
        def three_tries():
            found = pushes(peer, "PUT", "REFUSED")
            return found[:3] if len(found) >= 3 else None

        tries = wait_until(three_tries, 15, "three PUTs answered with 2001")
        gaps = [later["at"] - earlier["at"] for earlier, later in zip(tries, tries[1:])]
        assert gaps[0] >= 0.7 and gaps[1] >= 1.5, f"back-off 1 s doubling: gaps {gaps}"
        box = outbox(standalone, partner_id)
        assert box["pending"] == 1 and box.get("lastError"), box
        assert "2001" in box["lastError"], box
        assert metric_sum(process, "switchyard_roaming_pushes_total", module="locations",
                          result="failed") >= 3
        assert peer.location("REFUSED") is None
        peer.locations_answer = None
        accepting = len(peer.requests)
        delivered = wait_for_push(peer, "PUT", "REFUSED", start=accepting, timeout=15)
        assert delivered["body"]["id"] == "REFUSED" and peer.location("REFUSED")
        wait_until(lambda: outbox(standalone, partner_id)["pending"] == 0, 10, "an empty outbox")
        assert metric_sum(process, "switchyard_roaming_pushes_total", module="locations",
                          result="delivered") >= 1
    finally:
        peer.stop()


# == 5. an unregistered partner ================================================================

def test_a_partner_that_registers_later_gets_every_published_location(standalone, tmp_path,
                                                                      schemas):  # noqa: F811
    put(standalone, tmp_path, location("EARLY-1", [evse("E1", "cp-early-1", 1)]))
    put(standalone, tmp_path, location("EARLY-2", [evse("E1", "cp-early-2", 1)]))
    put(standalone, tmp_path, location("HIDDEN", [evse("E1", "cp-hidden", 1)], publish=False))
    peer, _ = receiving_peer(standalone, name="late-peer", party_id="LTE")
    try:
        for location_id in ("EARLY-1", "EARLY-2"):
            schemas.validate("locations.yaml", "Location",
                             wait_for_push(peer, "PUT", location_id)["body"])
        time.sleep(1.5)
        assert not pushes(peer, "PUT", "HIDDEN"), "an unpublished location was sent"
        assert [len(pushes(peer, "PUT", i)) for i in ("EARLY-1", "EARLY-2")] == [1, 1]
        assert any('"existing locations queued for the new partner"' in line and
                   '"locations":2' in line for line in standalone.process.log().splitlines())
        # The operator's resend (say the partner lost its copy): every published location once
        # more, the unpublished one still not.
        partner_id = next(p["id"] for p in standalone.ctl.json("partners", "list")["partners"]
                          if p["name"] == "late-peer")
        resent = standalone.ctl.json("partners", "resend", partner_id)
        assert resent["queued"] == "2" and resent["partner"]["id"] == partner_id, resent
        wait_until(lambda: [len(pushes(peer, "PUT", i)) for i in ("EARLY-1", "EARLY-2")] ==
                   [2, 2], 15, "every published location PUT again")
        time.sleep(1.5)
        assert [len(pushes(peer, "PUT", i)) for i in ("EARLY-1", "EARLY-2", "HIDDEN")] == \
            [2, 2, 0]
        assert '"msg":"partner resend"' in standalone.process.log()
        # Nobody by that id: NOT_FOUND, and nothing sent.
        unknown = standalone.ctl.run("partners", "resend", "ptr-000000000000")
        assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr, unknown.stderr
    finally:
        peer.stop()


def test_tariffs_reach_a_tariffs_receiver_and_follow_price_changes(standalone,
                                                                  schemas):  # noqa: F811
    standalone.ctl(*TARIFF)  # EUR 0.39 / kWh
    peer = OcpiEmsp(country_code="NL", party_id="TRF", receive_tariffs=True).start()
    try:
        peer_registers(standalone, peer, name="tariff-peer")

        def put_of(price):
            found = [r for r in peer.since(0, "PUT", "/emsp/2.2.1/tariffs/DE/SWY/")
                     if r["status"] == 200 and r["body"]["elements"][0]["price_components"][0][
                         "price"] == price]
            return found[-1] if found else None

        first = wait_until(lambda: put_of(0.39), 20, "the tariff PUT at the eMSP")
        assert first["path"].upper().endswith("/AC-STANDARD"), first["path"]
        schemas.validate("tariffs.yaml", "Tariff", first["body"])
        standalone.ctl(*[("0.45" if a == "0.39" else a) for a in TARIFF])
        changed = wait_until(lambda: put_of(0.45), 20, "the changed tariff PUT")
        assert changed["body"]["last_updated"] >= first["body"]["last_updated"]
        assert (peer.tariff("ac-standard") or {}).get("id", "").upper() == "AC-STANDARD"
    finally:
        peer.stop()


def test_an_unregistered_partner_gets_nothing_more(standalone, tmp_path):
    charger_id = "cp-gone-16"
    standalone.ctl("chargers", "register", charger_id, "--security-profile", "0")
    gone, gone_id = receiving_peer(standalone, name="gone-peer", party_id="GON")
    stays, _ = receiving_peer(standalone, name="staying-peer", party_id="STY")
    try:
        put(standalone, tmp_path, location("GONE", [evse("E1", charger_id, 1)]))
        for peer in (gone, stays):
            wait_for_push(peer, "PUT", "GONE")

        async def scenario():
            async with OcppCharger(standalone.ws_url(charger_id), ChargePoint16,
                                   "ocpp1.6") as cp:
                await boot(cp)
                await status(cp, 1, "Available", 0)
                for peer in (gone, stays):
                    await eventually(lambda: peer.evse_status("GONE", "E1") == "AVAILABLE", 15,
                                     "E1 AVAILABLE at both partners", interval=0.05)
                # A push the partner refuses stays pending: the refused PATCH becomes a PUT of
                # the whole location, which is refused and retried too...
                gone.locations_answer = 2001
                refused_from = len(gone.requests)
                await status(cp, 1, "Charging", 1)
                await eventually(lambda: len(pushes(gone, "PATCH", "GONE", "E1",
                                                    refused_from)) >= 1 and
                                 len(pushes(gone, "PUT", "GONE", None, refused_from)) >= 2, 15,
                                 "a refused PATCH, then refused PUTs of the location")
                assert (await blocking(outbox, standalone, gone_id))["pending"] == 1
                # ...until the partner unregisters: from then on it gets nothing.
                answer = Answer(await blocking(gone.unregister_from_us))
                assert answer.status_code == 1000, answer
                after = len(gone.requests)
                gone.locations_answer = None
                await blocking(wait_until, lambda: outbox(standalone, gone_id)["pending"] == 0,
                               10, "the unregistered partner's outbox emptied")
                await status(cp, 1, "Faulted", 2)
                await blocking(put, standalone, tmp_path,
                               location("GONE", [evse("E1", charger_id, 1)], name="Renamed"))
                await eventually(lambda: stays.evse_status("GONE", "E1") == "OUTOFORDER" and
                                 stays.location("GONE")["name"] == "Renamed", 15,
                                 "the staying partner gets the changes")
                await asyncio.sleep(2.5)  # past the first back-offs of anything queued
                return after

        after = run(scenario(), timeout=90)
        assert get_partner(standalone, gone_id)["state"] == "PARTNER_STATE_UNREGISTERED"
        # Sending it everything again is refused: it is no longer registered.
        refused = standalone.ctl.run("partners", "resend", gone_id)
        assert refused.returncode == 1 and "FAILED_PRECONDITION" in refused.stderr, \
            refused.stderr
        assert gone.since(after) == [], [(r["method"], r["path"]) for r in gone.since(after)]
        assert outbox(standalone, gone_id)["pending"] == 0
        assert partner_gauge(standalone.roaming_service, "switchyard_roaming_outbox_pending",
                             gone_id) in (None, 0)
    finally:
        gone.stop()
        stays.stop()


# == 6. distributed: gateway -> Kafka -> switchyard-roaming -> partner =========================

def test_distributed_roaming_pushes_a_status_change_from_kafka(stack_factory, tmp_path,
                                                               schemas):  # noqa: F811
    stack = stack_factory.start()
    roaming = stack.start_roaming()
    charger_id = "cp-dist-push"
    stack.ctl("chargers", "register", charger_id, "--security-profile", "0")
    peer, partner_id = receiving_peer(stack, name="dist-peer", party_id="DPS")
    try:
        put(stack, tmp_path, location("DPUSH", [evse("E1", charger_id, 1)]))
        first = wait_for_push(peer, "PUT", "DPUSH")
        check_push_headers(peer, first)
        schemas.validate("locations.yaml", "Location", first["body"])

        async def scenario():
            async with OcppCharger(stack.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
                await boot(cp)
                await status(cp, 1, "Charging", 0)
                await eventually(lambda: peer.evse_status("DPUSH", "E1") == "CHARGING", 30,
                                 "the peer's E1 CHARGING through Kafka", interval=0.1)

        run(scenario(), timeout=60)
        patch = [p for p in pushes(peer, "PATCH", "DPUSH", "E1")
                 if p["body"]["status"] == "CHARGING"][0]
        check_push_headers(peer, patch)
        schemas.validate("locations.yaml", "EvsePatch", patch["body"])
        wait_until(lambda: outbox(stack, partner_id)["pending"] == 0, 10, "an empty outbox")
        assert metric_sum(roaming, "switchyard_roaming_requests_total", direction="out",
                          module="locations", method="PATCH", status="200") >= 1
        assert metric_sum(roaming, "switchyard_roaming_pushes_total", module="locations",
                          result="delivered") >= 2
    finally:
        peer.stop()
