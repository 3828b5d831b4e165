"""Brute-force protection of charger authentication (gateway/auth_throttle.h): repeated failed
Basic-auth attempts lock the charger id, then the source address, out with 429 and Retry-After
(before any password is hashed), other chargers and other addresses are unaffected, the lock
lifts after its time, and the lockout shows in the metrics and the log, never with a password."""

import base64
import http.client
import os
import time

import pytest

from testkit import basic_auth, connect, hash_password, raw_call, run

PASSWORD = "correct horse battery staple"
WRONG = "Tr0ub4dor&3-guess"


@pytest.fixture
def guarded(deployment, tmp_path):
    """A pod with profile 1 chargers, 3 failures per charger id and 5 per address in a minute,
    lockouts of 2 s."""
    hashed = hash_password(PASSWORD)
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("\n".join(
        ["# charger_id,security_profile,password_hash"] +
        [f"{c},1,{hashed}" for c in ("victim", "neighbour", "bystander")] + [""]))
    return deployment.start_gateway("a", credentials_file=credentials, unknown_charger_profile=-1,
                                    auth_charger_failures=3, auth_address_failures=5,
                                    auth_failure_window=60000, auth_lockout=2000)


def upgrade(port, charger_id, password, source="127.0.0.1"):
    """A WebSocket upgrade request from `source`: (status, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", f"/ocpp/{charger_id}", headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Protocol": "ocpp1.6", **basic_auth(charger_id, password)})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_a_guessed_charger_id_is_locked_out_and_lifted_after_its_time(guarded):
    for _ in range(3):
        assert upgrade(guarded.ws_port, "victim", WRONG)[0] == 401
    # Locked: even the right password is refused, without being checked, and told when to retry.
    status, headers = upgrade(guarded.ws_port, "victim", PASSWORD, source="127.0.0.3")
    assert status == 429
    assert 1 <= int(headers["retry-after"]) <= 2
    # Another charger on the same address still gets in.
    assert upgrade(guarded.ws_port, "neighbour", PASSWORD)[0] == 101
    assert guarded.metric("switchyard_gateway_auth_lockouts_total", key="charger") == 1
    assert guarded.metric("switchyard_gateway_handshakes_refused_total",
                          reason="auth_throttled") == 1
    time.sleep(2.2)

    async def charges():
        async with connect(guarded.ws_url("victim"),
                           extra_headers=basic_auth("victim", PASSWORD)) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
    run(charges())
    log = guarded.log()
    assert '"msg":"authentication locked out after repeated failures"' in log
    assert '"key":"charger"' in log and '"charger_id":"victim"' in log
    assert WRONG not in log and PASSWORD not in log


def test_an_address_guessing_many_ids_is_locked_out_and_others_are_not(guarded):
    # Three ids, two wrong passwords each: no charger reaches its limit, the address does (5).
    statuses = [upgrade(guarded.ws_port, charger, WRONG, source="127.0.0.2")[0]
                for charger in ("victim", "neighbour", "bystander") for _ in range(2)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429, statuses
    status, headers = upgrade(guarded.ws_port, "bystander", PASSWORD, source="127.0.0.2")
    assert status == 429 and int(headers["retry-after"]) >= 1
    # The same charger from another address is not locked.
    assert upgrade(guarded.ws_port, "bystander", PASSWORD, source="127.0.0.4")[0] == 101
    assert guarded.metric("switchyard_gateway_auth_lockouts_total", key="address") == 1
    log = guarded.log()
    assert '"key":"address"' in log and '"remote_address":"127.0.0.2"' in log
    assert WRONG not in log


def test_a_success_clears_the_chargers_count(guarded):
    for _ in range(2):
        assert upgrade(guarded.ws_port, "victim", WRONG, source="127.0.0.5")[0] == 401
    assert upgrade(guarded.ws_port, "victim", PASSWORD, source="127.0.0.6")[0] == 101
    # Two more failures do not lock it: the count started over at the success.
    for _ in range(2):
        assert upgrade(guarded.ws_port, "victim", WRONG, source="127.0.0.7")[0] == 401
    assert upgrade(guarded.ws_port, "victim", PASSWORD, source="127.0.0.8")[0] == 101
