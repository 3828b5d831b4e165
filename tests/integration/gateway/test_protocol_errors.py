"""Bad frames get the RPC error of the charger's OCPP version and leave the connection (and every
other charger) working; bad upgrades get the right HTTP status or close code."""

import json

import pytest
import websockets

from testkit import connect, raw_call, receive_for, run, upgrade_status

V16, V201 = "ocpp1.6", "ocpp2.0.1"

# (case, frame, {version: (CALLERROR code, echoed message id) or None for "ignored"})
BAD_FRAMES = [
    ("not_json", "this is not JSON",
     {V16: ("FormationViolation", "-1"), V201: ("RpcFrameworkError", "-1")}),
    ("frame_not_an_array", '{"a": 1}',
     {V16: ("FormationViolation", "-1"), V201: ("RpcFrameworkError", "-1")}),
    ("payload_json_broken", '[2, "e1", "Heartbeat", {',
     {V16: ("FormationViolation", "e1"), V201: ("FormatViolation", "e1")}),
    ("message_type_id_a_string", '["2", "e2", "Heartbeat", {}]',
     {V16: ("FormationViolation", "-1"), V201: ("RpcFrameworkError", "-1")}),
    ("message_type_id_7", '[7, "e3", "Heartbeat", {}]',
     {V16: None, V201: ("MessageTypeNotSupported", "e3")}),
    ("unknown_action", '[2, "e4", "BrewCoffee", {}]',
     {V16: ("NotImplemented", "e4"), V201: ("NotImplemented", "e4")}),
    ("unknown_member", '[2, "e5", "Heartbeat", {"extra": 1}]',
     {V16: ("FormationViolation", "e5"), V201: ("FormatViolation", "e5")}),
    ("required_member_missing", '[2, "e6", "StatusNotification", {}]',
     {V16: ("OccurenceConstraintViolation", "e6"), V201: ("OccurrenceConstraintViolation", "e6")}),
    ("enum_value_unknown", {
        V16: '[2, "e7", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", '
             '"status": "Exploded"}]',
        V201: '[2, "e7", "StatusNotification", {"timestamp": "2025-01-01T00:00:00Z", '
              '"connectorStatus": "Exploded", "evseId": 1, "connectorId": 1}]'},
     {V16: ("PropertyConstraintViolation", "e7"), V201: ("PropertyConstraintViolation", "e7")}),
    ("wrong_json_type", {
        V16: '[2, "e8", "Authorize", {"idTag": 5}]',
        V201: '[2, "e8", "Authorize", {"idToken": {"idToken": 5, "type": "ISO14443"}}]'},
     {V16: ("TypeConstraintViolation", "e8"), V201: ("TypeConstraintViolation", "e8")}),
    ("string_too_long", {
        V16: '[2, "e9", "Authorize", {"idTag": "' + "x" * 21 + '"}]',
        V201: '[2, "e9", "Authorize", {"idToken": {"idToken": "' + "x" * 37 +
              '", "type": "ISO14443"}}]'},
     {V16: ("PropertyConstraintViolation", "e9"), V201: ("PropertyConstraintViolation", "e9")}),
    ("callresult_for_unknown_id", '[3, "never-sent", {}]', {V16: None, V201: None}),
    ("callerror_for_unknown_id", '[4, "never-sent", "GenericError", "", {}]',
     {V16: None, V201: None}),
]


@pytest.mark.parametrize("version", [V16, V201])
@pytest.mark.parametrize("case,frame,expected", BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_frame_gets_the_versions_error_and_the_connection_goes_on(
        gateway, version, case, frame, expected):
    frame = frame[version] if isinstance(frame, dict) else frame
    expected = expected[version]

    async def scenario():
        async with connect(gateway.ws_url("bystander"), [version]) as bystander, \
                connect(gateway.ws_url("sender"), [version]) as ws:
            assert ws.subprotocol == version
            await ws.send(frame)
            # Frames of one connection are handled in order: an answer to the bad frame, if any,
            # comes before the Heartbeat's.
            await ws.send(json.dumps([2, "hb-after", "Heartbeat", {}]))
            first = json.loads(await ws.recv())
            if expected is None:
                assert first[:2] == [3, "hb-after"], f"expected no answer to {frame}, got {first}"
            else:
                code, message_id = expected
                assert first[0] == 4, first
                assert first[1] == message_id, first
                assert first[2] == code, first
                assert isinstance(first[3], str) and first[3], "a description is expected"
                assert first[4] == {}
                heartbeat = await receive_for(ws, "hb-after")
                assert heartbeat[0] == 3
            assert (await raw_call(bystander, "Heartbeat", {}))[0] == 3

    run(scenario())


@pytest.mark.parametrize("version", [V16, V201])
def test_frame_over_max_frame_bytes_closes_with_1009_and_spares_others(deployment, version):
    gateway = deployment.start_gateway("a", max_frame_bytes=4096)
    # DataTransfer.data has no maxLength in either version: only the frame limit applies.
    def data_transfer(message_id, total_bytes):
        head = f'[2, "{message_id}", "DataTransfer", {{"vendorId": "acme", "data": "'
        tail = '"}]'
        return head + "x" * (total_bytes - len(head) - len(tail)) + tail

    async def scenario():
        async with connect(gateway.ws_url("bystander"), [version]) as bystander, \
                connect(gateway.ws_url("big"), [version]) as ws:
            at_limit = data_transfer("at-limit", 4096)
            assert len(at_limit) == 4096
            await ws.send(at_limit)
            assert (await receive_for(ws, "at-limit"))[0] == 3
            await ws.send(data_transfer("over", 4097))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            assert (await raw_call(bystander, "Heartbeat", {}))[0] == 3

    run(scenario())


def test_no_common_subprotocol_completes_upgrade_without_protocol_then_closes_1002(gateway):
    async def scenario():
        async with connect(gateway.ws_url("old-charger"), ["ocpp1.5", "ocpp1.2"]) as ws:
            assert ws.subprotocol is None
            assert "Sec-WebSocket-Protocol" not in ws.response_headers
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002

    run(scenario())
    assert gateway.metric("switchyard_gateway_handshakes_refused_total",
                          reason="no_common_subprotocol") == 1


@pytest.mark.parametrize("offered,pod_protocols,chosen", [
    (["ocpp1.6", "ocpp2.0.1"], None, "ocpp2.0.1"),
    (["ocpp2.0.1", "ocpp2.1", "ocpp1.6"], None, "ocpp2.1"),
    (["ocpp2.1", "ocpp1.6"], "ocpp2.0.1,ocpp1.6", "ocpp1.6"),
])
def test_subprotocol_is_the_highest_version_both_sides_speak(deployment, offered, pod_protocols,
                                                             chosen):
    flags = {"protocols": pod_protocols} if pod_protocols else {}
    gateway = deployment.start_gateway("a", **flags)

    async def scenario():
        async with connect(gateway.ws_url("negotiator"), offered) as ws:
            assert ws.subprotocol == chosen
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3

    run(scenario())


@pytest.mark.parametrize("path,status", [
    ("/ocpp/good-charger", 101),
    ("/ocpp/" + "c" * 48, 101),
    ("/ocpp/CP%2D7", 101),  # percent-decoded to CP-7
    ("/elsewhere/good-charger", 404),
    ("/ocpp/good-charger/extra", 404),
    ("/ocpp/", 400),
    ("/ocpp/" + "c" * 49, 400),
    ("/ocpp/bad:charger", 400),
    ("/ocpp/bad%3Acharger", 400),
    ("/ocpp/bad%01charger", 400),
    ("/ocpp/bad%zzcharger", 400),
])
def test_upgrade_path_is_checked(gateway, path, status):
    assert upgrade_status(gateway.ws_port, path) == status


def test_unknown_charger_is_refused_with_404_when_unknown_chargers_are_refused(deployment,
                                                                             tmp_path):
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("known-charger,0,\n")
    gateway = deployment.start_gateway("a", unknown_charger_profile=-1,
                                       credentials_file=credentials)
    assert upgrade_status(gateway.ws_port, "/ocpp/stranger") == 404
    assert upgrade_status(gateway.ws_port, "/ocpp/known-charger") == 101
    assert gateway.metric("switchyard_gateway_handshakes_refused_total",
                          reason="unknown_charger") == 1


def test_plain_http_request_without_upgrade_is_refused(gateway):
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{gateway.ws_port}/ocpp/some-charger", timeout=5)
    assert refused.value.code == 426
