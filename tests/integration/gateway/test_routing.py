"""Commands through ChargerControl reach the charger on whichever pod holds it, by the owner and
epoch in Redis, and fail with the documented gRPC status when they cannot."""

import asyncio
import json
import time

import grpc
import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action

from testkit import OcppCharger, connect, eventually, raw_call, run


class AnsweringCharger(ChargePoint16):
    """A 1.6 charger that answers Reset and GetConfiguration and records what it received."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = []

    @on(Action.reset)
    def on_reset(self, type):
        self.received.append(("Reset", type))
        return result16.Reset(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None):
        self.received.append(("GetConfiguration", key))
        known = {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60"}
        return result16.GetConfiguration(
            configuration_key=[{"key": k, "readonly": k == "HeartbeatInterval", "value": known[k]}
                               for k in (key or known) if k in known],
            unknown_key=[k for k in (key or []) if k not in known] or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value):
        raise ValueError("this charger breaks on ChangeConfiguration")  # -> InternalError


async def boot(cp):
    answer = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                   charge_point_model="Router"))
    assert answer.status == "Accepted"


async def rpc_error(call):
    """The gRPC status code and message of a call expected to fail."""
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    return failed.value.code(), failed.value.details()


def opened_epochs(deployment, charger_id, connections):
    """The owner epochs of the charger's first `connections` ConnectionOpened events."""
    events = deployment.events(charger_id, count=connections * 2, idle_ms=5000)
    epochs = [int(e["connection_opened"]["owner_epoch"]) for e in events
              if "connection_opened" in e]
    assert len(epochs) >= connections, events
    return epochs[:connections]


def test_commands_follow_the_charger_from_pod_to_pod(deployment, redis, stubs):
    a = deployment.start_gateway("a")
    b = deployment.start_gateway("b")
    pb, internal_pb = stubs.charger_control_pb2, stubs.gateway_internal_pb2
    charger_id = "roamer"

    async def scenario():
        async with grpc.aio.insecure_channel(a.grpc_address) as channel_a, \
                grpc.aio.insecure_channel(b.grpc_address) as channel_b:
            control_a = stubs.charger_control_pb2_grpc.ChargerControlStub(channel_a)
            control_b = stubs.charger_control_pb2_grpc.ChargerControlStub(channel_b)

            async with OcppCharger(a.ws_url(charger_id), AnsweringCharger) as cp:
                await boot(cp)  # answered once the claim is settled
                first = deployment.owner(redis, charger_id)
                assert first["pod"] == "a" and first["address"] == a.grpc_address
                assert first["protocol"] == "ocpp1.6"

                # Through B, which does not hold the charger.
                reset = await control_b.Reset(pb.ResetRequest(charger_id=charger_id, hard=True),
                                              timeout=10)
                assert reset.outcome.status == "Accepted"
                assert reset.outcome.action == "Reset"
                assert reset.outcome.ocpp_version == stubs.events_pb2.OCPP_VERSION_1_6
                assert json.loads(reset.outcome.payload_json) == {"status": "Accepted"}
                config = await control_b.GetConfiguration(pb.GetConfigurationRequest(
                    charger_id=charger_id, keys=["HeartbeatInterval", "NoSuchKey"]), timeout=10)
                assert [(e.key, e.value, e.readonly) for e in config.entries] == \
                    [("HeartbeatInterval", "300", True)]
                assert list(config.unknown_keys) == ["NoSuchKey"]
                assert cp.received == [("Reset", "Hard"),
                                       ("GetConfiguration", ["HeartbeatInterval", "NoSuchKey"])]

            # The charger comes back through the load balancer, this time to B.
            async with OcppCharger(b.ws_url(charger_id), AnsweringCharger) as cp:
                await boot(cp)
                second = deployment.owner(redis, charger_id)
                assert second["pod"] == "b" and second["address"] == b.grpc_address
                assert int(second["epoch"]) > int(first["epoch"])

                resets_sent_by_a = a.metric("switchyard_gateway_messages_total", action="Reset",
                                            direction="out")
                reset = await control_a.Reset(pb.ResetRequest(charger_id=charger_id, hard=False),
                                              timeout=10)
                assert reset.outcome.status == "Accepted"
                assert cp.received == [("Reset", "Soft")]
                # B sent it; A's old connection (gone) was not used.
                assert a.metric("switchyard_gateway_messages_total", action="Reset",
                                direction="out") == resets_sent_by_a
                assert b.metric("switchyard_gateway_messages_total", action="Reset",
                                direction="out") == 1

                connection = await control_a.GetConnection(
                    pb.GetConnectionRequest(charger_id=charger_id), timeout=10)
                assert connection.online and connection.pod_id == "b"
                assert connection.owner_epoch == int(second["epoch"])
                assert connection.ocpp_version == stubs.events_pb2.OCPP_VERSION_1_6

                # A forged pod-to-pod delivery with the stale epoch is refused...
                internal_b = stubs.gateway_internal_pb2_grpc.GatewayInternalStub(channel_b)
                code, message = await rpc_error(internal_b.Deliver(internal_pb.DeliverRequest(
                    charger_id=charger_id, epoch=int(first["epoch"]), action="Reset",
                    payload_json='{"type": "Hard"}', origin_pod="a"), timeout=10))
                assert code == grpc.StatusCode.FAILED_PRECONDITION, message
                assert cp.received == [("Reset", "Soft")]
                # ...and one with the current epoch goes through.
                delivered = await internal_b.Deliver(internal_pb.DeliverRequest(
                    charger_id=charger_id, epoch=int(second["epoch"]), action="Reset",
                    payload_json='{"type": "Hard"}', origin_pod="a"), timeout=10)
                assert json.loads(delivered.payload_json) == {"status": "Accepted"}
                assert cp.received == [("Reset", "Soft"), ("Reset", "Hard")]

    run(scenario())


def test_charger_reconnecting_elsewhere_while_old_connection_is_open_takes_over(
        deployment, redis, stubs):
    """The old pod closes its connection when the new pod claims the charger, and commands
    never go to the old connection."""
    a = deployment.start_gateway("a")
    b = deployment.start_gateway("b")
    charger_id = "half-open"

    async def scenario():
        async with grpc.aio.insecure_channel(a.grpc_address) as channel_a:
            control_a = stubs.charger_control_pb2_grpc.ChargerControlStub(channel_a)
            async with connect(a.ws_url(charger_id)) as old:
                assert (await raw_call(old, "Heartbeat", {}))[0] == 3
                await eventually(lambda: deployment.owner(redis, charger_id), 5, "claim by A")
                async with OcppCharger(b.ws_url(charger_id), AnsweringCharger) as cp:
                    await boot(cp)
                    assert deployment.owner(redis, charger_id)["pod"] == "b"
                    # A was told to let go (Evict): the old connection closes promptly.
                    await asyncio.wait_for(old.wait_closed(), 5)
                    assert old.close_code == 1000
                    reset = await control_a.Reset(stubs.charger_control_pb2.ResetRequest(
                        charger_id=charger_id, hard=True), timeout=10)
                    assert reset.outcome.status == "Accepted"
                    assert cp.received == [("Reset", "Hard")]

    run(scenario())
    closed_on_a = [e["connection_closed"]["reason"] for e in deployment.events(charger_id, count=4)
                   if "connection_closed" in e and e["pod_id"] == "a"]
    assert closed_on_a == ["CLOSE_REASON_TAKEN_OVER"]


def test_command_to_unknown_charger_is_unavailable(deployment, stubs):
    a = deployment.start_gateway("a")

    async def scenario():
        async with grpc.aio.insecure_channel(a.grpc_address) as channel:
            control = stubs.charger_control_pb2_grpc.ChargerControlStub(channel)
            code, message = await rpc_error(control.Reset(
                stubs.charger_control_pb2.ResetRequest(charger_id="nobody"), timeout=10))
            assert code == grpc.StatusCode.UNAVAILABLE, message
            connection = await control.GetConnection(
                stubs.charger_control_pb2.GetConnectionRequest(charger_id="nobody"), timeout=10)
            assert not connection.online

    run(scenario())
    # Operators see both on /metrics: refused before any routing, answered from the registry.
    assert a.metric("switchyard_gateway_control_calls_total", rpc="Reset", route="unrouted",
                    code="UNAVAILABLE") == 1
    assert a.metric("switchyard_gateway_control_calls_total", rpc="GetConnection",
                    route="unrouted", code="OK") == 1


@pytest.mark.parametrize("through", ["owner", "other_pod"])
def test_command_errors_map_to_grpc_status(deployment, stubs, through):
    a = deployment.start_gateway("a")
    b = deployment.start_gateway("b")
    pb = stubs.charger_control_pb2
    charger_id = "picky"

    async def scenario():
        target = a if through == "owner" else b
        async with grpc.aio.insecure_channel(target.grpc_address) as channel, \
                OcppCharger(a.ws_url(charger_id), AnsweringCharger) as cp:
            await boot(cp)
            control = stubs.charger_control_pb2_grpc.ChargerControlStub(channel)

            # A payload that does not validate against the 1.6 schema, naming the field.
            code, message = await rpc_error(control.Call(pb.CallRequest(
                charger_id=charger_id, action="Reset", payload_json='{"type": "Sideways"}'),
                timeout=10))
            assert code == grpc.StatusCode.INVALID_ARGUMENT, message
            assert "type" in message and "Sideways" in message, message
            code, message = await rpc_error(control.ChangeConfiguration(
                pb.ChangeConfigurationRequest(charger_id=charger_id, key="k" * 51, value="1"),
                timeout=10))
            assert code == grpc.StatusCode.INVALID_ARGUMENT, message
            assert "key" in message, message

            # Commands that do not exist in 1.6.
            code, message = await rpc_error(control.GetVariables(pb.GetVariablesRequest(
                charger_id=charger_id, variables=[pb.VariableSelector(
                    component="OCPPCommCtrlr", variable="HeartbeatInterval")]), timeout=10))
            assert code == grpc.StatusCode.UNIMPLEMENTED, message
            code, message = await rpc_error(control.Call(pb.CallRequest(
                charger_id=charger_id, action="GetVariables", payload_json="{}"), timeout=10))
            assert code == grpc.StatusCode.UNIMPLEMENTED, message

            # The charger has no handler: it answers NotImplemented.
            code, message = await rpc_error(control.ChangeAvailability(
                pb.ChangeAvailabilityRequest(charger_id=charger_id, evse_id=1, operative=False),
                timeout=10))
            assert code == grpc.StatusCode.UNIMPLEMENTED, message
            # Any other CALLERROR: FAILED_PRECONDITION with the code in the message.
            code, message = await rpc_error(control.ChangeConfiguration(
                pb.ChangeConfigurationRequest(charger_id=charger_id, key="k", value="1"),
                timeout=10))
            assert code == grpc.StatusCode.FAILED_PRECONDITION, message
            assert "InternalError" in message, message

            # Nothing of the above broke the connection.
            reset = await control.Reset(pb.ResetRequest(charger_id=charger_id), timeout=10)
            assert reset.outcome.status == "Accepted"
            assert [r for r in cp.received if r[0] == "Reset"] == [("Reset", "Soft")]

    run(scenario())
    # The pod asked counts every answer by route and code: the typed command 1.6 lacks was
    # refused before routing; the owner's connection checks payloads against the schema, so the
    # rest counts as local on the owner, forwarded on the other pod.
    target = a if through == "owner" else b
    route = "local" if through == "owner" else "forwarded"

    def calls(rpc, route, code):
        return target.metric("switchyard_gateway_control_calls_total", rpc=rpc, route=route,
                             code=code)
    assert calls("GetVariables", "unrouted", "UNIMPLEMENTED") == 1
    assert calls("Call", route, "INVALID_ARGUMENT") == 1
    assert calls("ChangeConfiguration", route, "INVALID_ARGUMENT") == 1
    assert calls("Call", route, "UNIMPLEMENTED") == 1
    assert calls("ChangeAvailability", route, "UNIMPLEMENTED") == 1
    assert calls("ChangeConfiguration", route, "FAILED_PRECONDITION") == 1
    assert calls("Reset", route, "OK") == 1
    assert target.metric("switchyard_gateway_control_call_seconds_count", route=route) == 6
    assert target.metric("switchyard_gateway_control_call_seconds_count", route="unrouted") == 1
    if through == "other_pod":  # the owner delivered them (GatewayInternal), counted nothing
        assert a.metric("switchyard_gateway_control_calls_total") == 0


@pytest.mark.parametrize("through", ["owner", "other_pod"])
def test_charger_that_never_answers_gives_deadline_exceeded(deployment, stubs, through):
    a = deployment.start_gateway("a", call_timeout=1500)
    b = deployment.start_gateway("b", call_timeout=1500)
    pb = stubs.charger_control_pb2
    charger_id = "mute"

    async def scenario():
        target = a if through == "owner" else b
        async with grpc.aio.insecure_channel(target.grpc_address) as channel, \
                connect(a.ws_url(charger_id)) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            control = stubs.charger_control_pb2_grpc.ChargerControlStub(channel)
            started = time.monotonic()
            code, message = await rpc_error(control.Reset(pb.ResetRequest(charger_id=charger_id),
                                                          timeout=10))
            elapsed = time.monotonic() - started
            assert code == grpc.StatusCode.DEADLINE_EXCEEDED, message
            assert 1.4 <= elapsed < 4, elapsed
            late = json.loads(await ws.recv())
            assert late[0] == 2 and late[2] == "Reset"
            # A late answer is ignored; the next command is sent and answered.
            await ws.send(json.dumps([3, late[1], {"status": "Accepted"}]))
            next_command = asyncio.ensure_future(control.GetConfiguration(
                pb.GetConfigurationRequest(charger_id=charger_id), timeout=10))
            call = json.loads(await ws.recv())
            assert call[0] == 2 and call[2] == "GetConfiguration"
            await ws.send(json.dumps([3, call[1], {"configurationKey": []}]))
            assert (await next_command).outcome.action == "GetConfiguration"

    run(scenario())


# -- delivery on the owner pod (GatewayInternal.Deliver needs no owner lookup) ---------------

def test_delivery_is_accepted_only_with_the_connections_epoch(deployment, stubs):
    a = deployment.start_gateway("a")
    b = deployment.start_gateway("b")
    internal_pb = stubs.gateway_internal_pb2
    charger_id = "epoch-keeper"

    def deliver(stub, epoch, payload='{"type": "Hard"}'):
        return stub.Deliver(internal_pb.DeliverRequest(
            charger_id=charger_id, epoch=epoch, action="Reset", payload_json=payload,
            origin_pod="test"), timeout=10)

    async def scenario():
        async with OcppCharger(a.ws_url(charger_id), AnsweringCharger) as cp:
            await boot(cp)
        async with OcppCharger(b.ws_url(charger_id), AnsweringCharger) as cp:
            await boot(cp)
            first, second = await asyncio.to_thread(opened_epochs, deployment, charger_id, 2)
            assert second > first
            async with grpc.aio.insecure_channel(a.grpc_address) as channel_a, \
                    grpc.aio.insecure_channel(b.grpc_address) as channel_b:
                internal_a = stubs.gateway_internal_pb2_grpc.GatewayInternalStub(channel_a)
                internal_b = stubs.gateway_internal_pb2_grpc.GatewayInternalStub(channel_b)
                code, message = await rpc_error(deliver(internal_b, first))
                assert code == grpc.StatusCode.FAILED_PRECONDITION, message
                code, message = await rpc_error(deliver(internal_a, second))
                assert code == grpc.StatusCode.UNAVAILABLE, message  # A holds no connection
                assert cp.received == []
                delivered = await deliver(internal_b, second)
                assert json.loads(delivered.payload_json) == {"status": "Accepted"}
                assert delivered.error_code == ""
                assert cp.received == [("Reset", "Hard")]

    run(scenario())


def test_delivery_errors_map_to_grpc_status(deployment, stubs):
    a = deployment.start_gateway("a", call_timeout=1500)
    internal_pb = stubs.gateway_internal_pb2
    charger_id = "deliver-errors"

    async def scenario():
        async with connect(a.ws_url(charger_id)) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            (epoch,) = await asyncio.to_thread(opened_epochs, deployment, charger_id, 1)
            async with grpc.aio.insecure_channel(a.grpc_address) as channel:
                internal = stubs.gateway_internal_pb2_grpc.GatewayInternalStub(channel)

                def deliver(action, payload):
                    return internal.Deliver(internal_pb.DeliverRequest(
                        charger_id=charger_id, epoch=epoch, action=action, payload_json=payload),
                        timeout=10)

                code, message = await rpc_error(deliver("Reset", '{"type": "Sideways"}'))
                assert code == grpc.StatusCode.INVALID_ARGUMENT, message
                assert "type" in message and "Sideways" in message, message
                code, message = await rpc_error(deliver("GetVariables", "{}"))
                assert code == grpc.StatusCode.UNIMPLEMENTED, message

                started = time.monotonic()
                code, message = await rpc_error(deliver("Reset", '{"type": "Soft"}'))
                elapsed = time.monotonic() - started
                assert code == grpc.StatusCode.DEADLINE_EXCEEDED, message
                assert 1.4 <= elapsed < 4, elapsed
                late = json.loads(await ws.recv())
                assert late[0] == 2 and late[2] == "Reset"
                await ws.send(json.dumps([3, late[1], {"status": "Accepted"}]))  # ignored

                # A CALLERROR from the charger comes back as code and description.
                pending = asyncio.ensure_future(deliver("Reset", '{"type": "Hard"}'))
                call = json.loads(await ws.recv())
                await ws.send(json.dumps([4, call[1], "InternalError", "relay stuck", {}]))
                refused = await pending
                assert (refused.error_code, refused.error_description) == \
                    ("InternalError", "relay stuck")

    run(scenario())


def test_command_answers_are_published_with_their_status(deployment, stubs):
    a = deployment.start_gateway("a")
    charger_id = "published"

    async def scenario():
        async with OcppCharger(a.ws_url(charger_id), AnsweringCharger) as cp:
            await boot(cp)
            (epoch,) = await asyncio.to_thread(opened_epochs, deployment, charger_id, 1)
            async with grpc.aio.insecure_channel(a.grpc_address) as channel:
                internal = stubs.gateway_internal_pb2_grpc.GatewayInternalStub(channel)
                await internal.Deliver(stubs.gateway_internal_pb2.DeliverRequest(
                    charger_id=charger_id, epoch=epoch, action="Reset",
                    payload_json='{"type": "Soft"}'), timeout=10)

    run(scenario())
    results = [e for e in deployment.events(charger_id, count=4) if "command_result" in e]
    assert len(results) == 1
    result = results[0]
    assert result["action"] == "Reset"
    assert result["pod_id"] == "a"
    assert json.loads(result["command_result"]["payload_json"]) == {"status": "Accepted"}
    # events.proto: CommandResult.status is "the payload's status member when there is one".
    assert result["command_result"].get("status") == "Accepted"
