"""kill -9 of a pod while chargers stream MeterValues: nothing a charger saw acknowledged is lost,
and every charger ends up connected to, and owned by, the surviving pod."""

import asyncio
import json
import time
from datetime import datetime, timezone

import websockets

from testkit import connect, eventually, run

CHARGERS = 100
SEND_INTERVAL_S = 0.1  # pacing of each charger's stream (up to 10 MeterValues/s)
BEFORE_KILL = AFTER_KILL = 15  # acknowledged MeterValues per charger on each pod


def meter_values(version, seq):
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if version == "ocpp1.6":
        return {"connectorId": 1, "meterValue": [
            {"timestamp": now, "sampledValue": [{"value": str(1000 + seq), "unit": "Wh"}]}]}
    return {"evseId": 1, "meterValue": [
        {"timestamp": now, "sampledValue": [{"value": 1000 + seq}]}]}


class StreamingCharger:
    """Sends MeterValues one after another; when its connection drops it reconnects to the
    fallback pod, as a load balancer would send it."""

    def __init__(self, charger_id, version, first_url, fallback_url):
        self.charger_id = charger_id
        self.version = version
        self.url = first_url
        self.fallback_url = fallback_url
        self.acknowledged = []  # message ids answered with a CALLRESULT
        self.other_answers = []
        self.sent = 0
        self.connections = 0
        self.connected_to = None
        self.stopping = False

    async def run(self):
        while not self.stopping:
            try:
                async with connect(self.url, [self.version]) as ws:
                    self.connections += 1
                    self.connected_to = self.url
                    await self._stream(ws)
            except (websockets.ConnectionClosed, OSError, asyncio.TimeoutError,
                    websockets.InvalidHandshake):
                pass
            self.connected_to = None
            self.url = self.fallback_url

    async def _stream(self, ws):
        while not self.stopping:
            self.sent += 1
            message_id = f"{self.charger_id}-{self.sent}"
            await ws.send(json.dumps([2, message_id, "MeterValues",
                                      meter_values(self.version, self.sent)]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
            if answer[0] == 3 and answer[1] == message_id:
                self.acknowledged.append(message_id)
            else:
                self.other_answers.append(answer)
            await asyncio.sleep(SEND_INTERVAL_S)


def test_acknowledged_messages_survive_kill_9_and_chargers_move_to_the_other_pod(
        deployment, redis):
    a = deployment.start_gateway("a")
    b = deployment.start_gateway("b")
    chargers = [StreamingCharger(f"fo-{i:03d}", "ocpp1.6" if i % 2 else "ocpp2.0.1",
                                 a.ws_url(f"fo-{i:03d}"), b.ws_url(f"fo-{i:03d}"))
                for i in range(CHARGERS)]
    timings = {}

    async def scenario():
        tasks = [asyncio.create_task(c.run()) for c in chargers]
        try:
            await eventually(lambda: all(len(c.acknowledged) >= BEFORE_KILL for c in chargers), 60,
                             "every charger streaming through pod A")
            acked_before_kill = sum(len(c.acknowledged) for c in chargers)
            killed_at = time.monotonic()
            a.kill()
            await eventually(lambda: all(c.connected_to == c.fallback_url and
                                         len(c.acknowledged) >= BEFORE_KILL + AFTER_KILL
                                         for c in chargers),
                             60, "every charger streaming through pod B")
            timings["all back on B (s)"] = round(time.monotonic() - killed_at, 2)
            timings["acknowledged before the kill"] = acked_before_kill
            # Connected to B, owned by B.
            assert b.metric("switchyard_gateway_connections") == CHARGERS
            owners = {c.charger_id: deployment.owner(redis, c.charger_id) for c in chargers}
            assert {cid: (o or {}).get("pod") for cid, o in owners.items()} == \
                {c.charger_id: "b" for c in chargers}
        finally:
            for c in chargers:
                c.stopping = True
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)

    run(scenario(), timeout=150)

    acknowledged = {(c.charger_id, m) for c in chargers for m in c.acknowledged}
    published = {(e["charger_id"], e["message_id"])
                 for e in deployment.events(idle_ms=5000) if e.get("action") == "MeterValues"}
    missing = acknowledged - published
    print(f"\nfailover: {CHARGERS} chargers, sent {sum(c.sent for c in chargers)}, "
          f"acknowledged {len(acknowledged)}, found in Kafka {len(acknowledged & published)}, "
          f"MeterValues events {len(published)}, missing {len(missing)}, "
          f"connections {sum(c.connections for c in chargers)}, {timings}")
    assert not missing, f"acknowledged but not in Kafka: {sorted(missing)[:20]}"
    assert all(c.connections >= 2 for c in chargers)
    assert not [a for c in chargers for a in c.other_answers], "every MeterValues got a CALLRESULT"
