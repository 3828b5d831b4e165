"""The owner registry in Redis: `<prefix>owner:{<charger>}` = `epoch|pod|address|protocol`,
claimed on connect, refreshed while connected, released on disconnect."""

import re

import pytest

from testkit import connect, eventually, raw_call, run

def opened_epoch(deployment, charger_id):
    events = deployment.events(charger_id, count=1)
    return int(events[0]["connection_opened"]["owner_epoch"])


def test_owner_value_holds_the_connections_epoch_as_an_integer(gateway, deployment, redis):
    async def scenario():
        async with connect(gateway.ws_url("claimer"), ["ocpp2.0.1"]) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            return redis.command("GET", f"{deployment.redis_prefix}owner:{{claimer}}")

    value = run(scenario())
    assert re.fullmatch(rf"\d+\|a\|127\.0\.0\.1:{gateway.grpc_port}\|ocpp2\.0\.1", value), value
    assert int(value.split("|")[0]) == opened_epoch(deployment, "claimer")


def test_owner_value_names_pod_address_and_protocol(gateway, deployment, redis):
    async def scenario():
        async with connect(gateway.ws_url("claimer"), ["ocpp2.0.1"]) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            return deployment.owner(redis, "claimer")

    owner = run(scenario())
    assert owner["pod"] == "a"
    assert owner["address"] == gateway.grpc_address
    assert owner["protocol"] == "ocpp2.0.1"


def test_owner_claim_is_released_when_the_charger_disconnects(gateway, deployment, redis):
    key = f"{deployment.redis_prefix}owner:{{leaver}}"

    async def scenario():
        async with connect(gateway.ws_url("leaver")) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            assert redis.command("EXISTS", key) == 1
        # The default TTL is 30 s: a key gone within 5 s was released, not expired.
        await eventually(lambda: redis.command("EXISTS", key) == 0, 5, "release of the claim")

    run(scenario())


def test_connection_survives_owner_refreshes(deployment, redis):
    gateway = deployment.start_gateway("a", owner_refresh=300, owner_ttl=5000)
    key = f"{deployment.redis_prefix}owner:{{stayer}}"

    async def scenario():
        async with connect(gateway.ws_url("stayer")) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            # A refresh sets the TTL back to --owner-ttl: lift it far above to see one happen.
            assert redis.command("PEXPIRE", key, 600_000) == 1
            # Either the refresh renews the claim, or it decides the claim is lost and closes us.
            await eventually(lambda: ws.closed or redis.command("PTTL", key) <= 5000, 5,
                             "an owner refresh")
            assert not ws.closed, f"closed by the refresh: {ws.close_code} {ws.close_reason}"
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3

    run(scenario())
    assert gateway.metric("switchyard_gateway_ownership_total", event="lost") == 0
