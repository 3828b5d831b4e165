"""kill -9 of the transactions service while chargers stream sessions (1.6 and 2.0.1): what the
chargers sent goes on into Kafka or is retried by them (as OCPP chargers retry transaction
messages), and once the service is back every transaction and CDR is there, once, with the
energy its meter counted."""

import asyncio
import time

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from servicekit import OcppCharger, eventually, run, session16, session201, wait_until

CHARGERS = 6           # half 1.6, half 2.0.1
SESSIONS = 5           # one after the other, per charger
METER_VALUES = 8       # per session, between start and stop
PACE_S = 0.03          # between two messages of a charger
RETRY_PAUSE_S = 0.2    # before a charger sends a refused message again
OUTAGE_S = 1.5         # how long the transactions service stays dead


class StreamingCharger:
    """Runs SESSIONS sessions; a message answered with a CALLERROR (the CSMS could not decide)
    or not at all is sent again after a pause, as a charger's transaction message queue does."""

    def __init__(self, stack, index):
        self.version = "ocpp1.6" if index % 2 == 0 else "ocpp2.0.1"
        self.charger_id = f"crash-{index:02d}"
        self.url = stack.ws_url(self.charger_id)
        self.index = index
        self.done = {}  # transaction id -> energy (Wh) its meter counted
        self.retries = 0
        self.answered = 0  # CALLs answered with a CALLRESULT

    def registers(self, session):
        step = 101 + 7 * self.index
        base = 1_000_000 * self.index + 100_000 * session
        return [base + step * k for k in range(METER_VALUES + 2)]

    def sender(self, cp):
        async def send(payload):
            deadline = time.monotonic() + 60
            while True:
                try:
                    answer = await cp.call(payload)  # None on a CALLERROR
                except asyncio.TimeoutError:
                    answer = None
                if answer is not None:
                    self.answered += 1
                    await asyncio.sleep(PACE_S)
                    return answer
                self.retries += 1
                assert time.monotonic() < deadline, f"{self.charger_id}: no answer to {payload}"
                await asyncio.sleep(RETRY_PAUSE_S)
        return send

    async def run(self):
        cls = ChargePoint16 if self.version == "ocpp1.6" else ChargePoint201
        async with OcppCharger(self.url, cls, self.version) as cp:
            send = self.sender(cp)
            if self.version == "ocpp1.6":
                await send(call16.BootNotification(charge_point_vendor="Acme",
                                                   charge_point_model="Volt-16"))
            else:
                await send(call201.BootNotification(
                    charging_station={"vendorName": "Acme", "model": "Volt-201"},
                    reason="PowerUp"))
            for s in range(SESSIONS):
                registers = self.registers(s)
                if self.version == "ocpp1.6":
                    tx = await session16(send, "CRASH-TOKEN", 1, 3600 * s, registers)
                else:
                    tx = await session201(send, "CRASH-TOKEN", 1, 3600 * s, registers,
                                          f"{self.charger_id}-tx-{s}")
                self.done[tx] = registers[-1] - registers[0]


async def warm_up(stack):
    async with OcppCharger(stack.ws_url("crash-warm-up"), ChargePoint16, "ocpp1.6") as cp:
        await cp.call(call16.Heartbeat(), suppress=False)


def test_kill_9_of_the_transactions_service_mid_stream_loses_nothing(stack_factory):
    stack = stack_factory.start(service_timeout=2000)
    ctl = stack.ctl
    ctl("tariffs", "put", "flat", "--currency", "EUR", "--energy-price", "0.30")
    ctl("tokens", "add", "CRASH-TOKEN", "--type", "ISO14443")
    chargers = [StreamingCharger(stack, i) for i in range(CHARGERS)]
    for charger_id in [c.charger_id for c in chargers] + ["crash-warm-up"]:
        ctl("chargers", "register", charger_id, "--security-profile", "0")
    timings = {}

    # The consumer group is joined and consuming before the chargers start: the kill hits a
    # service in the middle of its work, not one still joining.
    run(warm_up(stack))
    wait_until(lambda: stack.transactions.metric("switchyard_kafka_consumed_total") >= 1, 30,
               "the transactions service to consume")

    def consuming_mid_stream():
        return all(len(c.done) >= 1 for c in chargers) and \
            stack.transactions.metric("switchyard_cdrs_created_total") >= 1

    async def scenario():
        tasks = [asyncio.create_task(c.run()) for c in chargers]
        try:
            await eventually(lambda: consuming_mid_stream() or any(t.done() for t in tasks), 60,
                             "every charger through its first session, and CDRs being made")
            for t in tasks:
                if t.done():
                    t.result()  # a charger that failed says why
                    raise AssertionError("a charger finished all its sessions before the kill")
            stack.transactions.kill()
            killed = time.monotonic()
            timings["sessions done at the kill"] = sum(len(c.done) for c in chargers)
            answered_at_kill = sum(c.answered for c in chargers)
            await asyncio.sleep(OUTAGE_S)  # the outage itself: chargers keep sending meanwhile
            # 1.6 MeterValues need no decision of the service: they went on into Kafka.
            timings["answered during the outage"] = \
                sum(c.answered for c in chargers) - answered_at_kill
            await asyncio.to_thread(stack.transactions.start, same_ports=True)
            timings["restarted after (s)"] = round(time.monotonic() - killed, 2)
            await asyncio.wait_for(asyncio.gather(*tasks), 90)
            timings["chargers done after (s)"] = round(time.monotonic() - killed, 2)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    run(scenario(), timeout=180)
    assert timings["answered during the outage"] > 0

    expected = {(c.charger_id, tx): energy for c in chargers for tx, energy in c.done.items()}
    assert len(expected) == CHARGERS * SESSIONS

    def all_ended_with_cdrs():
        ended = [t for t in ctl.transactions()
                 if t["state"] == "TRANSACTION_STATE_ENDED" and t.get("cdrId")]
        return len(ended) >= len(expected)

    started = time.monotonic()
    wait_until(all_ended_with_cdrs, 90, f"{len(expected)} transactions ended with a CDR",
               interval=0.2)
    timings["projections complete after (s)"] = round(time.monotonic() - started, 2)
    transactions = ctl.transactions()
    cdrs = ctl.cdrs()
    print(f"\ncrash: {timings}, charger retries {sum(c.retries for c in chargers)}, "
          f"duplicates skipped after the restart "
          f"{stack.transactions.metric('switchyard_transactions_duplicate_events_total'):.0f}")

    # Every acknowledged transaction once, nothing else; each with its meter's energy.
    assert {(t["chargerId"], t["transactionId"]): int(t["energyWh"]) for t in transactions} == \
        expected
    assert len(transactions) == len(expected)
    assert all(t["state"] == "TRANSACTION_STATE_ENDED" and not t.get("startMissing")
               for t in transactions)
    # One CDR per transaction, priced at 0.30 EUR/kWh.
    assert len(cdrs) == len({c["cdrId"] for c in cdrs}) == len(expected)
    assert {(c["chargerId"], c["transactionId"]): int(c["energyWh"]) for c in cdrs} == expected
    for c in cdrs:
        energy = int(c["energyWh"])
        assert int(c["price"]["totalInclVatMinor"]) == (energy * 30 + 500) // 1000, c
