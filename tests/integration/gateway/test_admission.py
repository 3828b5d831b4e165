"""Admission control (gateway/connection_admission.h): a pod takes at most --admission-rate new connections a
second. A storm beyond it is refused with 503 and a Retry-After that grows with the storm, the
chargers already connected keep being answered meanwhile, and every charger of the storm gets in
eventually; the refusals show in switchyard_gateway_handshakes_refused_total{reason="overloaded"}
(and in the log only at debug level: a storm would write a line per charger)."""

import base64
import http.client
import json
import os
import subprocess

from testkit import BIN_DIR, connect, raw_call, run


def upgrade(port, charger_id, source="127.0.0.1"):
    """A WebSocket upgrade request from `source`: (status, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", f"/ocpp/{charger_id}", headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Protocol": "ocpp1.6"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def test_a_storm_beyond_the_rate_is_refused_with_a_retry_after(deployment):
    pod = deployment.start_gateway("a", admission_rate=2, admission_burst=5,
                                   admission_retry_after_max=8000)

    async def storm():
        # A charger connected before the storm keeps being answered through it.
        async with connect(pod.ws_url("settled")) as ws:
            results = []
            for i in range(60):
                results.append(upgrade(pod.ws_port, f"storm-{i:02d}"))
                if i % 20 == 0:
                    assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            return results
    results = run(storm())
    statuses = [status for status, _ in results]
    refused = [headers for status, headers in results if status == 503]
    assert statuses.count(101) >= 4, statuses  # the burst (less the settled charger)
    assert len(refused) >= 30, statuses        # 60 in a few seconds is far beyond 2 a second
    assert set(statuses) <= {101, 503}, statuses
    for headers in refused:
        assert 1 <= int(headers["retry-after"]) <= 8, headers
    # The crowd grew during the storm: the later refusals are told to wait longer.
    assert max(int(h["retry-after"]) for h in refused) >= 3
    assert pod.metric("switchyard_gateway_handshakes_refused_total",
                      reason="overloaded") == len(refused)
    assert not [line for line in pod.log().splitlines()
                if '"reason":"overloaded"' in line and '"level":"debug"' not in line]


def test_every_charger_of_a_storm_gets_in_eventually(deployment, tmp_path):
    pod = deployment.start_gateway("a", admission_rate=100, admission_burst=100,
                                   admission_retry_after_max=5000)
    report = tmp_path / "storm.json"
    done = subprocess.run(
        [str(BIN_DIR / "switchyard-loadgen"), "--profile", "idle", "--chargers", "600",
         "--ramp", "100000", "--duration", "12000", "--reconnect-delay", "500",
         "--id-prefix", "adm-", "--url", f"ws://127.0.0.1:{pod.ws_port}/ocpp",
         "--report", str(report)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    r = json.loads(report.read_text())
    refused = r["errors"]["http_status"].get("503", 0)
    assert refused > 0, r["errors"]  # 600 at once against 100 a second
    assert r["connections"]["open_at_end"] == 600, r["connections"]
    # The loadgen, like a well-behaved charger, came back when the Retry-After said.
    assert r["connections"]["retry_after_honored"] == refused, r["connections"]
    assert 1 <= r["connections"]["retry_after_seconds"] / refused <= 5, r["connections"]
    assert pod.metric("switchyard_gateway_connects_total") == 600  # each got in once
    assert pod.metric("switchyard_gateway_handshakes_refused_total",
                      reason="overloaded") == refused


def test_a_flood_from_one_address_cannot_starve_the_others(deployment):
    """One address (a misbehaving site controller, an attacker) floods upgrades: it gets its
    share of the pod's rate (--admission-address-share) and no more, refused with 503 and
    Retry-After; chargers from other addresses still get in from the same bucket."""
    pod = deployment.start_gateway("a", admission_rate=10, admission_burst=10,
                                   admission_address_share=0.2)
    flood = [upgrade(pod.ws_port, f"flood-{i:02d}", source="127.0.0.2")[0] for i in range(40)]
    others = [upgrade(pod.ws_port, f"other-{i}", source=f"127.0.0.{3 + i}")[0]
              for i in range(5)]
    assert flood.count(101) <= 3, flood  # its share: 2 at once, 2 a second
    assert set(flood) <= {101, 503}, flood
    assert others == [101] * 5, others
    assert pod.metric("switchyard_gateway_handshakes_refused_total",
                      reason="overloaded_address") == flood.count(503)
    assert pod.metric("switchyard_gateway_handshakes_refused_total", reason="overloaded") == 0
    # The operator sees the address once (not a line per refused request).
    warned = [line for line in pod.log().splitlines()
              if "over its share of new connections" in line]
    assert len(warned) == 1 and '"remote_address":"127.0.0.2"' in warned[0], warned
