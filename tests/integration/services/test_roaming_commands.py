"""Roaming slice: OCPI 2.2.1 commands as a CPO (RECEIVER), against switchyard-standalone: an eMSP
starts and stops its driver's session, unlocks a connector, and is told when a charger cannot.

The eMSP is the extrawest-ocpi peer of ocpi_peer.py (`send_command`, and its own URL as the
response_url where we POST the CommandResult); the charger an OCPP 1.6 client of the `ocpp`
package that accepts RemoteStartTransaction / RemoteStopTransaction (and then starts / stops
the transaction) and UnlockConnector.

What it proves:

* Our version details list `commands` as RECEIVER. START_SESSION at a published EVSE is answered
  at once with a CommandResponse (ACCEPTED, timeout 30); the charger gets RemoteStartTransaction
  with the driver's uid on that EVSE's connector; the CommandResult (ACCEPTED) reaches the
  response_url; the session the charger starts is PUT to the eMSP with auth_method COMMAND and the
  command's authorization_reference. STOP_SESSION with that session id stops it (RemoteStop-
  Transaction), and the CDR follows, with auth_method COMMAND. UNLOCK_CONNECTOR reaches the
  charger's connector (Unlocked: ACCEPTED). Every payload validates against the OCPI 2.2.1
  OpenAPI description.
* A charger that is not connected: the command is accepted, and the result is FAILED with the
  reason. An unknown session is UNKNOWN_SESSION, an unknown location 404 / 2003, a body without
  response_url 400 / 2001 naming it; none of them reaches a charger.
* switchyard_roaming_commands_total{command,result} counts them.

And chargingprofiles as RECEIVER, against the smart-charging service inside standalone: the eMSP
PUTs a 10 A profile on its driver's running session; it is ACCEPTED at once, the
ChargingProfileResult ACCEPTED reaches the response_url, and the charger receives a TxProfile of
at most 10 A for that transaction (the site would give it 32 A). GET answers an
ActiveChargingProfile of the planned 10 A; DELETE takes the limit off and the charger gets its
32 A back. A session that is not the eMSP's is UNKNOWN_SESSION, a profile that is not valid 2001
naming the field; every payload validates against the OCPI 2.2.1 OpenAPI description.
"""

import asyncio
import time

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16

from ocpi_peer import _endpoint_url, sample_token
from servicekit import OcppCharger, at, run, wait_until
from test_roaming import Answer
from test_roaming import schemas  # noqa: F401  (the fixture, shared with test_roaming)
from test_roaming_sessions import new_uid, push_token, session_id, session_peer, setup_site
from test_smart_charging import Charger16, node, write_json
from test_smart_charging import evse as site_evse


class RemoteCharger(ChargePoint16):
    """Accepts remote start / stop and unlock; starts and stops the transaction itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests = []
        self.transactions = []

    @on(Action16.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, **_):
        self.requests.append(("start", id_tag, connector_id))
        return result16.RemoteStartTransaction(status="Accepted")

    @after(Action16.remote_start_transaction)
    async def after_remote_start(self, id_tag, connector_id=None, **_):
        start = await self.call(call16.StartTransaction(
            connector_id=connector_id or 1, id_tag=id_tag, meter_start=1000, timestamp=at(0)))
        self.transactions.append(start.transaction_id)

    @on(Action16.remote_stop_transaction)
    def on_remote_stop(self, transaction_id):
        self.requests.append(("stop", transaction_id))
        return result16.RemoteStopTransaction(status="Accepted")

    @after(Action16.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id):
        await self.call(call16.StopTransaction(meter_stop=11500, timestamp=at(5400),
                                               transaction_id=transaction_id, reason="Remote"))

    @on(Action16.unlock_connector)
    def on_unlock(self, connector_id):
        self.requests.append(("unlock", connector_id))
        return result16.UnlockConnector(status="Unlocked")


def command(peer, name, body, schemas):
    answer = Answer(peer.send_command(name, body))
    if answer.http == 200 and answer.status_code == 1000:
        schemas.validate("commands.yaml", "CommandResponse", answer.data)
    return answer


def result_of(peer, n, schemas, timeout=40):
    [result] = wait_until(lambda: peer.command_results(n), timeout, f"the result of command {n}")
    schemas.validate("commands.yaml", "CommandResult", result)
    return result


def test_an_emsp_starts_stops_and_unlocks_at_our_charger(standalone, schemas, tmp_path):
    charger_id, location_id = "cp-roam-cmd", "LOC-CMD"
    setup_site(standalone, tmp_path, charger_id, location_id)
    peer, partner_id, _ = session_peer(standalone, "commanding-emsp", party_id="CMD")
    driver = new_uid("RCMD")
    try:
        assert _endpoint_url(peer.switchyard_endpoints, "commands", "RECEIVER") == \
            f"{standalone.ocpi_base_url}/2.2.1/commands"

        async def scenario():
            async with OcppCharger(standalone.ws_url(charger_id), RemoteCharger,
                                   "ocpp1.6") as cp:
                boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                             charge_point_model="Volt-16"))
                assert boot.status == "Accepted", boot
                loop = asyncio.get_running_loop()

                def blocking(fn, *args):
                    return loop.run_in_executor(None, fn, *args)

                started = await blocking(command, peer, "START_SESSION", {
                    "response_url": peer.command_response_url(1),
                    "token": sample_token(driver, peer.country_code, peer.party_id),
                    "location_id": location_id, "evse_uid": "E1",
                    "authorization_reference": "CMD-REF-1"}, schemas)
                assert started.http == 200 and started.data == {"result": "ACCEPTED",
                                                                "timeout": 30}, started
                assert (await blocking(result_of, peer, 1, schemas))["result"] == "ACCEPTED"
                deadline = time.monotonic() + 20
                while not cp.transactions and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert cp.requests[0] == ("start", driver, 1), cp.requests
                [transaction_id] = cp.transactions
                sid = session_id(charger_id, transaction_id)
                active = await blocking(wait_until, lambda: (peer.session(sid) or {}).get(
                    "status") == "ACTIVE" and peer.session(sid), 20, "the ACTIVE session")
                assert active["auth_method"] == "COMMAND", active
                assert active["authorization_reference"] == "CMD-REF-1", active

                stopped = await blocking(command, peer, "STOP_SESSION", {
                    "response_url": peer.command_response_url(2), "session_id": sid}, schemas)
                assert stopped.data["result"] == "ACCEPTED", stopped
                assert (await blocking(result_of, peer, 2, schemas))["result"] == "ACCEPTED"
                cdr = await blocking(wait_until, lambda: peer.cdrs_received(sid), 20, "the CDR")
                assert cdr[0]["auth_method"] == "COMMAND" and cdr[0]["total_energy"] == 10.5

                unlocked = await blocking(command, peer, "UNLOCK_CONNECTOR", {
                    "response_url": peer.command_response_url(3), "location_id": location_id,
                    "evse_uid": "E1", "connector_id": "1"}, schemas)
                assert unlocked.data["result"] == "ACCEPTED", unlocked
                assert (await blocking(result_of, peer, 3, schemas))["result"] == "ACCEPTED"
                assert cp.requests == [("start", driver, 1), ("stop", transaction_id),
                                       ("unlock", 1)], cp.requests

        run(scenario(), timeout=120)
        process = standalone.process
        for name in ("START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR"):
            assert process.metric("switchyard_roaming_commands_total", command=name,
                                  result="ACCEPTED") == 1, name
    finally:
        peer.stop()


def test_commands_that_cannot_reach_a_charger_say_why(standalone, schemas, tmp_path):
    charger_id, location_id = "cp-roam-offline", "LOC-OFF"
    setup_site(standalone, tmp_path, charger_id, location_id)
    peer, _, _ = session_peer(standalone, "refused-emsp", party_id="REF")
    driver = new_uid("ROFF")
    start = {"response_url": peer.command_response_url(1),
             "token": sample_token(driver, peer.country_code, peer.party_id),
             "location_id": location_id}
    try:
        # The charger never connected: accepted, then FAILED with the reason.
        accepted = command(peer, "START_SESSION", start, schemas)
        assert accepted.data["result"] == "ACCEPTED", accepted
        failed = result_of(peer, 1, schemas)
        assert failed["result"] == "FAILED", failed
        assert charger_id in failed["message"][0]["text"], failed

        unknown = command(peer, "STOP_SESSION", {"response_url": peer.command_response_url(2),
                                                 "session_id": "no-such-session"}, schemas)
        assert unknown.data["result"] == "UNKNOWN_SESSION", unknown
        nowhere = command(peer, "START_SESSION", {**start, "location_id": "LOC-NONE"}, schemas)
        assert nowhere.http == 404 and nowhere.status_code == 2003, nowhere
        no_url = command(peer, "START_SESSION", {k: v for k, v in start.items()
                                                  if k != "response_url"}, schemas)
        assert no_url.http == 400 and no_url.status_code == 2001, no_url
        assert no_url.message == "response_url: missing", no_url
        time.sleep(1)
        assert not peer.command_results(2), "a refused command got a result"
        assert standalone.process.metric("switchyard_roaming_commands_total",
                                         command="START_SESSION", result="FAILED") == 1
    finally:
        peer.stop()


def test_an_emsp_limits_its_drivers_session_through_charging_profiles(standalone, schemas,
                                                                       tmp_path):
    charger_id, location_id = "cp-roam-limit", "LOC-LIM"
    setup_site(standalone, tmp_path, charger_id, location_id)
    standalone.ctl("sites", "put", write_json(tmp_path / "limited.json", {
        "id": "limited", "nodes": [node("grid", "NODE_KIND_GRID_CONNECTION", 63),
                                   node(charger_id, "NODE_KIND_CHARGER", 32, "grid")],
        "evses": [site_evse(charger_id)]}))
    peer, _, _ = session_peer(standalone, "limiting-emsp", party_id="LIM")
    driver = new_uid("RLIM")
    push_token(peer, driver)
    url = _endpoint_url(peer.switchyard_endpoints, "chargingprofiles", "RECEIVER")
    seen = {}

    def ask(method, sid, query="", body=None):
        answer = Answer(peer.request(method, f"{url}/{sid}" + (f"?{query}" if query else ""),
                                     token=peer.token_to_switchyard, json_body=body))
        if answer.http == 200:
            schemas.validate("charging-profiles.yaml", "ChargingProfileResponse", answer.data)
        return answer

    def result(n, name):
        [posted] = wait_until(lambda: peer.command_results(n), 40, f"charging profile result {n}")
        schemas.validate("charging-profiles.yaml", name, posted)
        return posted

    try:
        assert url == f"{standalone.ocpi_base_url}/2.2.1/chargingprofiles"

        async def scenario():
            async with OcppCharger(standalone.ws_url(charger_id), Charger16, "ocpp1.6") as cp:
                boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                             charge_point_model="Volt-16"))
                assert boot.status == "Accepted", boot
                start = await cp.call(call16.StartTransaction(
                    connector_id=1, id_tag=driver, meter_start=0, timestamp=at(0)))
                assert start.id_tag_info["status"] == "Accepted", start
                tx = start.transaction_id
                sid = session_id(charger_id, tx)
                loop = asyncio.get_running_loop()

                def blocking(fn, *args):
                    return loop.run_in_executor(None, fn, *args)

                def tx_limit():
                    profiles = cp.of("TxProfile", tx)
                    return profiles[-1].limit_a if profiles else None

                await blocking(wait_until, lambda: (peer.session(sid) or {}).get(
                    "status") == "ACTIVE", 20, "the ACTIVE session")
                await blocking(wait_until, lambda: tx_limit() == 32, 20, "the 32 A TxProfile")

                body = {"charging_profile": {"charging_rate_unit": "A", "charging_profile_period":
                                             [{"start_period": 0, "limit": 10}]},
                        "response_url": peer.command_response_url(1)}
                schemas.validate("charging-profiles.yaml", "SetChargingProfile", body)
                put = await blocking(ask, "PUT", sid, "", body)
                assert put.http == 200 and put.data == {"result": "ACCEPTED", "timeout": 30}, put
                seen["set"] = (await blocking(result, 1, "ChargingProfileResult"))["result"]
                await blocking(wait_until, lambda: tx_limit() == 10, 20, "the 10 A TxProfile")

                got = await blocking(ask, "GET", sid, "duration=900&response_url=" +
                                     peer.command_response_url(2))
                assert got.data["result"] == "ACCEPTED", got
                seen["active"] = await blocking(result, 2, "ActiveChargingProfileResult")

                cleared = await blocking(ask, "DELETE", sid,
                                         "response_url=" + peer.command_response_url(3))
                assert cleared.data["result"] == "ACCEPTED", cleared
                seen["clear"] = (await blocking(result, 3, "ClearProfileResult"))["result"]
                await blocking(wait_until, lambda: tx_limit() == 32, 20, "32 A again")

                seen["unknown"] = (await blocking(ask, "PUT", "no-such-session", "", body)).data
                bad = {**body, "charging_profile": {"charging_rate_unit": "kW",
                                                    "charging_profile_period": []}}
                seen["bad"] = await blocking(ask, "PUT", sid, "", bad)
                await cp.call(call16.StopTransaction(meter_stop=5000, timestamp=at(600),
                                                     transaction_id=tx, reason="Local"))

        run(scenario(), timeout=120)
        assert seen["set"] == "ACCEPTED" and seen["clear"] == "ACCEPTED", seen
        assert seen["active"]["result"] == "ACCEPTED", seen
        profile = seen["active"]["profile"]["charging_profile"]
        assert profile["charging_rate_unit"] == "A" and profile["duration"] == 900, profile
        assert profile["charging_profile_period"] == [{"start_period": 0, "limit": 10.0}], profile
        assert seen["unknown"]["result"] == "UNKNOWN_SESSION", seen
        assert seen["bad"].http == 400 and seen["bad"].status_code == 2001, seen["bad"]
        assert seen["bad"].message.startswith("charging_profile.charging_rate_unit"), seen["bad"]
        process = standalone.process
        assert process.metric("switchyard_roaming_charging_profiles_total", operation="set",
                              result="ACCEPTED") == 1
        assert process.metric("switchyard_smart_charging_session_limits_total", event="set") == 1
        assert process.metric("switchyard_smart_charging_session_limits_total",
                              event="cleared") == 1
    finally:
        peer.stop()
