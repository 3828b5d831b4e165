"""The mobilityhouse `ocpp` package as a 1.6 and a 2.0.1 charger: every CALL is answered, and its
normalized event is on the events topic."""

from datetime import datetime, timezone

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from testkit import OcppCharger, run


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def by_message_id(events):
    return {e["message_id"]: e for e in events if e.get("message_id")}


def test_ocpp16_charger_messages_are_answered_and_published_normalized(gateway, deployment):
    charger_id = "interop-16"
    ids = {}

    async def scenario():
        async with OcppCharger(gateway.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            cp._unique_id_generator = iter(f"c16-{i}" for i in range(100)).__next__
            boot = await cp.call(call16.BootNotification(
                charge_point_vendor="Acme", charge_point_model="Volt-16",
                charge_point_serial_number="SN-16", firmware_version="1.2.3"))
            assert boot.status == "Accepted"
            assert boot.interval == 300
            ids["boot"] = "c16-0"

            heartbeat = await cp.call(call16.Heartbeat())
            assert heartbeat.current_time
            ids["heartbeat"] = "c16-1"

            status = await cp.call(call16.StatusNotification(
                connector_id=1, error_code="GroundFailure", status="Faulted",
                info="earth leak", vendor_id="Acme", vendor_error_code="E42", timestamp=now()))
            assert status is not None  # an empty StatusNotification.conf, not a CALLERROR
            ids["status"] = "c16-2"

            samples = [
                {"value": "12.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register",
                 "context": "Sample.Periodic"},
                {"value": "7.4", "unit": "kW", "measurand": "Power.Active.Import", "phase": "L1"},
                {"value": "1234"},  # the defaults: Energy.Active.Import.Register in Wh
            ]
            meter = await cp.call(call16.MeterValues(
                connector_id=2, transaction_id=17,
                meter_value=[{"timestamp": now(), "sampledValue": samples}]))
            assert meter is not None
            ids["meter"] = "c16-3"

    run(scenario())
    events = by_message_id(deployment.events(charger_id, count=4))

    boot = events[ids["boot"]]
    assert boot["action"] == "BootNotification"
    assert boot["protocol_version"] == "OCPP_VERSION_1_6"
    assert boot["pod_id"] == "a"
    assert boot["boot_notification"]["vendor"] == "Acme"
    assert boot["boot_notification"]["model"] == "Volt-16"
    assert boot["boot_notification"]["serial_number"] == "SN-16"
    assert boot["boot_notification"]["firmware_version"] == "1.2.3"
    assert boot["boot_notification"]["registration_status"] == "Accepted"
    assert boot["boot_notification"]["interval_s"] == 300

    # Heartbeat is answered at once and published without waiting (it feeds "last seen").
    assert events[ids["heartbeat"]]["action"] == "Heartbeat"

    status = events[ids["status"]]["status_notification"]
    assert status["status"] == "Faulted"
    assert status["error_code"] == "GroundFailure"
    assert status["info"] == "earth leak"
    assert status["vendor_error_code"] == "E42"
    assert status["location"] == {"evse_id": 1, "connector_id": 1}

    meter = events[ids["meter"]]["meter_values"]
    assert meter["location"] == {"evse_id": 2, "connector_id": 2}
    assert meter["transaction_id"] == "17"
    energy, power, default = meter["samples"]
    assert energy["measurand"] == "Energy.Active.Import.Register"
    assert energy["unit"] == "kWh"
    assert energy["raw_value"] == "12.5"
    assert energy["value"] == 12.5
    assert energy["normalized_value"] == 12500
    assert energy["normalized_unit"] == "Wh"
    assert energy["context"] == "Sample.Periodic"
    assert power["measurand"] == "Power.Active.Import"
    assert power["phase"] == "L1"
    assert power["normalized_value"] == 7400
    assert power["normalized_unit"] == "W"
    assert default["measurand"] == "Energy.Active.Import.Register"
    assert default["normalized_value"] == 1234
    assert default["normalized_unit"] == "Wh"


def test_ocpp201_charger_messages_are_answered_and_published_normalized(gateway, deployment):
    charger_id = "interop-201"
    ids = {}

    async def scenario():
        async with OcppCharger(gateway.ws_url(charger_id), ChargePoint201, "ocpp2.0.1") as cp:
            cp._unique_id_generator = iter(f"c201-{i}" for i in range(100)).__next__
            boot = await cp.call(call201.BootNotification(
                charging_station={"vendorName": "Acme", "model": "Volt-201",
                                  "serialNumber": "SN-201", "firmwareVersion": "2.0"},
                reason="PowerUp"))
            assert boot.status == "Accepted"
            assert boot.interval == 300
            ids["boot"] = "c201-0"

            heartbeat = await cp.call(call201.Heartbeat())
            assert heartbeat.current_time
            ids["heartbeat"] = "c201-1"

            status = await cp.call(call201.StatusNotification(
                timestamp=now(), connector_status="Occupied", evse_id=1, connector_id=2))
            assert status is not None
            ids["status"] = "c201-2"

            meter = await cp.call(call201.MeterValues(evse_id=1, meter_value=[{
                "timestamp": now(),
                "sampledValue": [
                    {"value": 12.5, "unitOfMeasure": {"unit": "kWh"},
                     "measurand": "Energy.Active.Import.Register"},
                    # 2.x: the multiplier is a power of ten applied to the value.
                    {"value": 74, "unitOfMeasure": {"unit": "W", "multiplier": 2},
                     "measurand": "Power.Active.Import"},
                ],
            }]))
            assert meter is not None
            ids["meter"] = "c201-3"

    run(scenario())
    events = by_message_id(deployment.events(charger_id, count=4))

    boot = events[ids["boot"]]
    assert boot["protocol_version"] == "OCPP_VERSION_2_0_1"
    assert boot["boot_notification"]["vendor"] == "Acme"
    assert boot["boot_notification"]["model"] == "Volt-201"
    assert boot["boot_notification"]["serial_number"] == "SN-201"
    assert boot["boot_notification"]["reason"] == "PowerUp"
    assert boot["boot_notification"]["registration_status"] == "Accepted"

    # Heartbeat is answered at once and published without waiting (it feeds "last seen").
    assert events[ids["heartbeat"]]["action"] == "Heartbeat"

    status = events[ids["status"]]["status_notification"]
    assert status["status"] == "Occupied"
    assert status.get("error_code", "") == ""
    assert status["location"] == {"evse_id": 1, "connector_id": 2}

    meter = events[ids["meter"]]["meter_values"]
    assert meter["location"]["evse_id"] == 1
    energy, power = meter["samples"]
    assert energy["value"] == 12.5
    assert energy["normalized_value"] == 12500
    assert energy["normalized_unit"] == "Wh"
    assert power["value"] == 7400
    assert power["normalized_value"] == 7400
    assert power["normalized_unit"] == "W"


def test_connection_open_and_close_are_published(gateway, deployment):
    charger_id = "interop-conn"

    async def scenario():
        async with OcppCharger(gateway.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            await cp.call(call16.Heartbeat())

    run(scenario())
    # Between them the Heartbeat's own event.
    events = [e for e in deployment.events(charger_id, count=3)
              if "connection_opened" in e or "connection_closed" in e]
    kinds = [next(k for k in ("connection_opened", "connection_closed") if k in e) for e in events]
    assert kinds == ["connection_opened", "connection_closed"]
    opened, closed = events
    assert opened["connection_opened"].get("security_profile", 0) == 0
    assert int(opened["connection_opened"]["owner_epoch"]) > 0
    assert opened["connection_opened"]["remote_address"].startswith("127.0.0.1:")
    assert closed["connection_closed"]["reason"] == "CLOSE_REASON_CHARGER_CLOSED"
