"""Who may charge and who may connect, decided by the auth service (standalone and distributed):
unknown, blocked and expired ID tokens are refused with the status each OCPP version has for
them, and a charger registered for security profile 1 gets in with its password only."""

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from servicekit import OcppCharger, Stack, at, basic_auth, psql, run, upgrade_status

PASSWORD = "Tr0ub4dor&3-charger"


def add_tokens(ctl):
    """One token per refusal: the status the operator set, and what each version answers."""
    ctl("tokens", "add", "TOK-OK", "--type", "ISO14443")
    ctl("tokens", "add", "TOK-BLOCKED", "--type", "ISO14443")
    ctl("tokens", "block", "TOK-BLOCKED")
    ctl("tokens", "add", "TOK-EXPIRED", "--type", "ISO14443", "--expires", "2024-01-01T00:00:00Z")
    ctl("tokens", "add", "TOK-EXPIRED-STATUS", "--type", "ISO14443", "--status", "expired")
    for charger_id in ("tok-16", "tok-201"):
        ctl("chargers", "register", charger_id, "--security-profile", "0")
    assert ctl.json("tokens", "get", "TOK-BLOCKED")["token"]["status"] == "TOKEN_STATUS_BLOCKED"


def test_ocpp16_refuses_unknown_blocked_and_expired_tokens_with_their_id_tag_status(csms):
    add_tokens(csms.ctl)
    expected = {"TOK-OK": "Accepted", "NEVER-SEEN": "Invalid", "TOK-BLOCKED": "Blocked",
                "TOK-EXPIRED": "Expired", "TOK-EXPIRED-STATUS": "Expired"}
    answers, starts = {}, {}

    async def scenario():
        async with OcppCharger(csms.ws_url("tok-16"), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="M"), suppress=False)
            assert boot.status == "Accepted"
            for token in expected:
                answers[token] = (await cp.call(call16.Authorize(id_tag=token),
                                                suppress=False)).id_tag_info
            # A charger that starts offline-authorized hears the verdict in the answer to
            # StartTransaction (and still gets a transaction id, which it must stop).
            for connector, token in enumerate(("NEVER-SEEN", "TOK-BLOCKED"), start=1):
                start = await cp.call(call16.StartTransaction(
                    connector_id=connector, id_tag=token, meter_start=0, timestamp=at(connector)),
                    suppress=False)
                starts[token] = start
                await cp.call(call16.StopTransaction(
                    meter_stop=0, timestamp=at(connector + 10), transaction_id=start.transaction_id,
                    reason="DeAuthorized"), suppress=False)

    run(scenario())
    assert {token: info["status"] for token, info in answers.items()} == expected
    assert answers["TOK-EXPIRED"]["expiry_date"].startswith("2024-01-01T00:00:00")
    assert starts["NEVER-SEEN"].id_tag_info["status"] == "Invalid"
    assert starts["TOK-BLOCKED"].id_tag_info["status"] == "Blocked"
    assert starts["NEVER-SEEN"].transaction_id != starts["TOK-BLOCKED"].transaction_id
    # Each decision the gateway asked for is timed where an operator looks for a slow one.
    decisions = csms.gateway.metric if hasattr(csms, "gateway") else csms.process.metric
    name = "switchyard_gateway_decision_seconds_count"
    assert decisions(name, decision="boot", outcome="ok") == 1
    assert decisions(name, decision="authorize", outcome="ok") == len(expected)
    assert decisions(name, decision="authorize", outcome="failed") == 0


def test_ocpp201_refuses_unknown_blocked_and_expired_tokens_with_their_id_token_status(csms):
    add_tokens(csms.ctl)
    expected = {"TOK-OK": "Accepted", "NEVER-SEEN": "Unknown", "TOK-BLOCKED": "Blocked",
                "TOK-EXPIRED": "Expired", "TOK-EXPIRED-STATUS": "Expired"}
    answers, started = {}, {}

    async def scenario():
        async with OcppCharger(csms.ws_url("tok-201"), ChargePoint201, "ocpp2.0.1") as cp:
            boot = await cp.call(call201.BootNotification(
                charging_station={"vendorName": "Acme", "model": "M"}, reason="PowerUp"),
                suppress=False)
            assert boot.status == "Accepted"
            for token in expected:
                answers[token] = (await cp.call(call201.Authorize(
                    id_token={"idToken": token, "type": "ISO14443"}), suppress=False)).id_token_info
            for evse, token in enumerate(("NEVER-SEEN", "TOK-BLOCKED"), start=1):
                started[token] = (await cp.call(call201.TransactionEvent(
                    event_type="Started", timestamp=at(evse), trigger_reason="Authorized",
                    seq_no=0, transaction_info={"transactionId": f"tx-{token}"},
                    id_token={"idToken": token, "type": "ISO14443"},
                    evse={"id": evse, "connectorId": 1}), suppress=False)).id_token_info

    run(scenario())
    assert {token: info["status"] for token, info in answers.items()} == expected
    assert answers["TOK-EXPIRED"]["cache_expiry_date_time"].startswith("2024-01-01T00:00:00")
    assert started == {"NEVER-SEEN": {"status": "Unknown"}, "TOK-BLOCKED": {"status": "Blocked"}}


def test_charger_registered_with_a_password_connects_with_it_and_not_with_another(
        csms, tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    csms.ctl("chargers", "register", "pw-1", "--security-profile", "1",
             "--password-file", password_file)
    registration = csms.ctl.json("chargers", "registrations")["chargers"]
    assert [(c["chargerId"], c["securityProfile"], c["hasPassword"]) for c in registration
            if c["chargerId"] == "pw-1"] == [("pw-1", 1, True)]

    path = "/ocpp/pw-1"
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", "wrong-password")) == 401
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", PASSWORD.upper())) == 401
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", "")) == 401
    assert upgrade_status(csms.ws_port, path, {}) == 401
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", PASSWORD)) == 101

    async def boot():
        async with OcppCharger(csms.ws_url("pw-1"), ChargePoint16, "ocpp1.6",
                               extra_headers=basic_auth("pw-1", PASSWORD)) as cp:
            answer = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                           charge_point_model="M"), suppress=False)
            assert answer.status == "Accepted"

    run(boot())

    # The operator rotates the password: the old one stops working at once.
    csms.ctl("chargers", "register", "pw-1", "--security-profile", "1", "--password",
             PASSWORD + "-2")
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", PASSWORD)) == 401
    assert upgrade_status(csms.ws_port, path, basic_auth("pw-1", PASSWORD + "-2")) == 101

    # Stored hashed, never in clear.
    if isinstance(csms, Stack):
        rows = psql(csms.servers.postgres_url,
                    f'SELECT password_hash FROM "{csms.name}_auth".auth_chargers '
                    f"WHERE charger_id = 'pw-1'")
        assert len(rows) == 1 and rows[0][0] and PASSWORD not in rows[0][0]
    else:
        stored = csms.stored_files
        assert any(p.suffix == ".log" for p in stored), stored  # the event log's segments too
        for f in stored:
            assert PASSWORD.encode() not in f.read_bytes(), f"password in clear in {f.name}"
