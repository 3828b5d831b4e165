"""Per-charger token bucket (frames are delayed, never dropped) and lenient decoding for the
chargers or vendors configured for it."""

import json
import time

from testkit import connect, raw_call, receive_for, run

GROUND_FAILURE = {"connectorId": 1, "errorCode": "groundFailure", "status": "Faulted"}


def test_frames_over_the_rate_are_delayed_not_dropped(deployment):
    gateway = deployment.start_gateway("a", rate_per_second=5, rate_burst=5)

    async def scenario():
        async with connect(gateway.ws_url("chatty")) as ws:
            started = time.monotonic()
            for i in range(30):
                await ws.send(json.dumps([2, f"hb-{i}", "Heartbeat", {}]))
            answers = [await receive_for(ws, f"hb-{i}", timeout=20) for i in range(30)]
            elapsed = time.monotonic() - started
            assert [a[0] for a in answers] == [3] * 30
            assert not ws.closed
            return elapsed

    elapsed = run(scenario())
    print(f"\nthrottling: 30 Heartbeats at 5/s with a burst of 5 took {elapsed:.2f} s")
    # 5 at once, the other 25 at 5 per second.
    assert 4.0 <= elapsed <= 10.0, elapsed
    assert gateway.metric("switchyard_gateway_throttled_total") > 0


def test_other_chargers_are_not_slowed_by_a_throttled_one(deployment):
    gateway = deployment.start_gateway("a", rate_per_second=5, rate_burst=5)

    async def scenario():
        async with connect(gateway.ws_url("chatty")) as chatty, \
                connect(gateway.ws_url("quiet")) as quiet:
            for i in range(30):
                await chatty.send(json.dumps([2, f"hb-{i}", "Heartbeat", {}]))
            started = time.monotonic()
            assert (await raw_call(quiet, "Heartbeat", {}))[0] == 3
            quiet_took = time.monotonic() - started
            for i in range(30):
                await receive_for(chatty, f"hb-{i}", timeout=20)
            return quiet_took

    assert run(scenario()) < 1.0


def test_lenient_charger_may_spell_enums_in_the_wrong_case(deployment):
    gateway = deployment.start_gateway("a", lenient_chargers="sloppy-1,sloppy-2")

    async def scenario():
        async with connect(gateway.ws_url("sloppy-2")) as sloppy, \
                connect(gateway.ws_url("strict")) as strict:
            accepted = await raw_call(sloppy, "StatusNotification", GROUND_FAILURE, "lenient")
            assert accepted[0] == 3, accepted
            refused = await raw_call(strict, "StatusNotification", GROUND_FAILURE, "strict")
            assert refused[0] == 4 and refused[2] == "PropertyConstraintViolation", refused
            assert "errorCode" in refused[3], refused

    run(scenario())
    event = next(e for e in deployment.events("sloppy-2", count=2) if e.get("message_id"))
    assert event["status_notification"]["error_code"] == "GroundFailure"
    assert event["quirks"] == ["enum_case"]
    assert [e.get("action") for e in deployment.events("strict", count=2)] == [None, None]


def test_lenient_vendor_is_decoded_leniently_after_its_boot(deployment):
    gateway = deployment.start_gateway("a", lenient_vendors="Sloppy Inc")

    async def scenario():
        async with connect(gateway.ws_url("vendor-sloppy")) as ws:
            before = await raw_call(ws, "StatusNotification", GROUND_FAILURE)
            assert before[0] == 4 and before[2] == "PropertyConstraintViolation", before
            boot = await raw_call(ws, "BootNotification", {"chargePointVendor": "Sloppy Inc",
                                                           "chargePointModel": "X"})
            assert boot[0] == 3 and boot[2]["status"] == "Accepted"
            after = await raw_call(ws, "StatusNotification", GROUND_FAILURE)
            assert after[0] == 3, after

    run(scenario())
