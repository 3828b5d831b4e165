"""Every OCPP 1.6 ChargePointErrorCode a charger reports in a StatusNotification (and a vendor's
own code) lands in the status service's connector history, in its error counts, and in the
metric switchyard_connector_errors_total{error_code} (standalone and distributed).

SecurityEventNotifications (1.6 security extension and 2.0.1) are stored, listed by
`switchyardctl status security-events` and counted in switchyard_security_events_total{type}, a
vendor's own type as "other"."""

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16.enums import ChargePointErrorCode
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from servicekit import OcppCharger, at, rfc3339, run, wait_until

CHARGER = "faulty-16"
ERROR_CODES = [c.value for c in ChargePointErrorCode if c.value != "NoError"]
VENDOR = {"vendor_id": "com.acme.volt", "vendor_error_code": "E-4711", "info": "relay K2 welded"}


def notifications():
    """(connector, seconds, fields) of every StatusNotification the charger sends, in order: each
    error code on connector 1, cleared with NoError after each, then a vendor code on connector 2.
    `seconds` is its timestamp after T0."""
    out = []
    for i, code in enumerate(ERROR_CODES):
        out.append((1, 10 * i, {"error_code": code, "status": "Faulted", "info": f"report {i}"}))
        out.append((1, 10 * i + 5, {"error_code": "NoError", "status": "Available"}))
    out.append((2, 1000, {"error_code": "OtherError", "status": "Faulted", **VENDOR}))
    return out


def test_every_ocpp16_error_code_and_a_vendor_code_show_in_history_counts_and_metric(csms):
    csms.ctl("chargers", "register", CHARGER, "--security-profile", "0")
    sent = notifications()

    async def scenario():
        async with OcppCharger(csms.ws_url(CHARGER), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="Acme",
                                                         charge_point_model="Volt-16"),
                                 suppress=False)
            assert boot.status == "Accepted"
            for connector, seconds, fields in sent:
                await cp.call(call16.StatusNotification(connector_id=connector,
                                                        timestamp=at(seconds), **fields),
                              suppress=False)

    run(scenario())
    history = wait_until(
        lambda: (lambda r: r if len(r) >= len(sent) else None)(
            csms.ctl.status_history("--charger", CHARGER)),
        30, f"{len(sent)} status records", interval=0.1)

    # The whole history, in the order the charger reported it, as it reported it.
    assert [(r["state"]["location"]["connectorId"], r["state"]["status"],
             r["state"]["errorCode"], r["state"]["info"], r["state"]["vendorId"],
             r["state"]["vendorErrorCode"], r["state"]["since"]) for r in history] == [
        (connector, f["status"], f["error_code"], f.get("info", ""), f.get("vendor_id", ""),
         f.get("vendor_error_code", ""), rfc3339(seconds))
        for connector, seconds, f in sent]
    assert all(r["chargerId"] == CHARGER and r["eventId"] for r in history)
    assert len({r["eventId"] for r in history}) == len(sent)

    # Filters: errors only, by error code, by vendor code.
    errors = csms.ctl.status_history("--charger", CHARGER, "--errors-only")
    assert [r["state"]["errorCode"] for r in errors] == ERROR_CODES + ["OtherError"]
    ground = csms.ctl.status_history("--error-code", "GroundFailure")
    assert [(r["chargerId"], r["state"]["info"]) for r in ground] == [
        (CHARGER, f"report {ERROR_CODES.index('GroundFailure')}")]
    vendor = csms.ctl.status_history("--vendor-error-code", "E-4711")
    assert [(r["state"]["location"]["connectorId"], r["state"]["errorCode"],
             r["state"]["vendorId"], r["state"]["info"]) for r in vendor] == [
        (2, "OtherError", "com.acme.volt", "relay K2 welded")]

    # Counts by code and by vendor code.
    counts = csms.ctl.json("status", "errors", "--charger", CHARGER)
    by_code = {c["errorCode"]: int(c["count"]) for c in counts["byErrorCode"]}
    assert by_code == {**{code: 1 for code in ERROR_CODES}, "OtherError": 2}
    assert [(c["vendorId"], c["vendorErrorCode"], int(c["count"]))
            for c in counts["byVendorErrorCode"]] == [("com.acme.volt", "E-4711", 1)]

    # The metric, on the process that runs the status service.
    status = csms.status_service
    wait_until(lambda: status.metric("switchyard_connector_errors_total") == len(ERROR_CODES) + 1,
               10, "the error metric to count every error")
    for code in ERROR_CODES:
        assert status.metric("switchyard_connector_errors_total", error_code=code) == \
            (2 if code == "OtherError" else 1), code
    assert status.metric("switchyard_connector_errors_total", error_code="NoError") == 0

    # The table view an operator reads shows the codes too.
    table = csms.ctl("status", "errors", "--charger", CHARGER)
    for code in ERROR_CODES + ["E-4711"]:
        assert code in table


def test_security_events_are_stored_listed_and_counted(csms):
    for charger in ("sec-16", "sec-201"):
        csms.ctl("chargers", "register", charger, "--security-profile", "0")

    async def scenario():
        async with OcppCharger(csms.ws_url("sec-16"), ChargePoint16, "ocpp1.6") as a, \
                OcppCharger(csms.ws_url("sec-201"), ChargePoint201, "ocpp2.0.1") as b:
            await a.call(call16.BootNotification(charge_point_vendor="Acme",
                                                 charge_point_model="Volt-16"), suppress=False)
            await b.call(call201.BootNotification(
                charging_station={"vendorName": "Acme", "model": "Volt-201"}, reason="PowerUp"),
                suppress=False)
            await a.call(call16.SecurityEventNotification(
                type="InvalidCentralSystemCertificate", timestamp=at(1),
                tech_info="chain does not end in the installed root"), suppress=False)
            await b.call(call201.SecurityEventNotification(
                type="InvalidTLSVersion", timestamp=at(2), tech_info="TLS 1.0 offered"),
                suppress=False)
            await b.call(call201.SecurityEventNotification(
                type="AcmeEnclosureOpened", timestamp=at(3)), suppress=False)

    run(scenario())

    def listed():
        events = csms.ctl.json("status", "security-events").get("events", [])
        return events if len(events) >= 3 else None
    events = wait_until(listed, 30, "three security events", interval=0.1)
    assert sorted((e["chargerId"], e["type"], e.get("techInfo", ""), e["occurredAt"])
                  for e in events) == sorted([
        ("sec-16", "InvalidCentralSystemCertificate", "chain does not end in the installed root",
         rfc3339(1)),
        ("sec-201", "InvalidTLSVersion", "TLS 1.0 offered", rfc3339(2)),
        ("sec-201", "AcmeEnclosureOpened", "", rfc3339(3))])
    only = csms.ctl.json("status", "security-events", "--charger", "sec-16")["events"]
    assert [e["type"] for e in only] == ["InvalidCentralSystemCertificate"]
    tls = csms.ctl.json("status", "security-events", "--type", "InvalidTLSVersion")["events"]
    assert [e["chargerId"] for e in tls] == ["sec-201"]
    table = csms.ctl("status", "security-events", "--charger", "sec-201")
    assert "InvalidTLSVersion" in table and "AcmeEnclosureOpened" in table

    status = csms.status_service
    wait_until(lambda: status.metric("switchyard_security_events_total") == 3, 10,
               "three security events counted")
    assert status.metric("switchyard_security_events_total", type="InvalidTLSVersion") == 1
    assert status.metric("switchyard_security_events_total", type="other") == 1
