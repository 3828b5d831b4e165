"""A whole charging session with the `ocpp` package as charger, in OCPP 1.6 and in 2.0.1, against
switchyard-standalone and against the distributed stack: boot, authorize, start, meter values
(Energy.Active.Import.Register in Wh and in kWh), stop. The operator then reads, through
switchyardctl -o json, exactly one transaction with the energy the meter counted and one CDR
priced by the tariff. The standalone refuses a bad event-log setting before it touches a file."""

import json
import subprocess

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from servicekit import (TARIFF, OcppCharger, at, energy_sample16, energy_sample201,
                        eventually, rfc3339, run, wait_until)
from testkit import BIN_DIR


def prepare(csms, charger_id, token, token_type):
    csms.ctl(*TARIFF)
    csms.ctl("tokens", "add", token, "--type", token_type)
    csms.ctl("chargers", "register", charger_id, "--security-profile", "0")


def live_energy(csms, charger_id, transaction_id, energy_wh):
    """Polls until the running transaction shows `energy_wh` (the projection is asynchronous)."""
    def check():
        done = csms.ctl.run("transactions", "get", charger_id, transaction_id, output="json")
        if done.returncode != 0:  # NOT_FOUND until the start is projected
            return None
        t = json.loads(done.stdout)["transaction"]
        return t if t.get("energyWh") == str(energy_wh) else None
    return check


def one_ended_transaction_with_cdr(csms, charger_id):
    def check():
        transactions = csms.ctl.transactions(charger_id)
        ended = [t for t in transactions if t["state"] == "TRANSACTION_STATE_ENDED"
                 and t.get("cdrId")]
        return transactions if ended else None
    transactions = wait_until(check, 30, f"the transaction of {charger_id} ended with a CDR",
                              interval=0.1)
    cdrs = csms.ctl.cdrs(charger_id)
    assert len(transactions) == 1, transactions
    assert len(cdrs) == 1, cdrs
    assert cdrs[0]["cdrId"] == transactions[0]["cdrId"]
    assert csms.ctl.json("cdrs", "get", cdrs[0]["cdrId"]) == {"cdr": cdrs[0]}
    return transactions[0], cdrs[0]


def test_ocpp16_session_gives_one_transaction_with_its_energy_and_a_priced_cdr(csms):
    charger_id, token = "sess-16", "RFID-16-0001"
    prepare(csms, charger_id, token, "ISO14443")
    started = {}

    async def scenario():
        async with OcppCharger(csms.ws_url(charger_id), ChargePoint16, "ocpp1.6") as cp:
            boot = await cp.call(call16.BootNotification(
                charge_point_vendor="Acme", charge_point_model="Volt-16"), suppress=False)
            assert boot.status == "Accepted"
            authorize = await cp.call(call16.Authorize(id_tag=token), suppress=False)
            assert authorize.id_tag_info["status"] == "Accepted"
            await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError",
                                                    status="Preparing", timestamp=at(-5)),
                          suppress=False)
            start = await cp.call(call16.StartTransaction(
                connector_id=1, id_tag=token, meter_start=1000, timestamp=at(0)), suppress=False)
            assert start.id_tag_info["status"] == "Accepted"
            assert start.transaction_id > 0
            tx = started["id"] = start.transaction_id
            await cp.call(call16.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
                {"timestamp": at(60), "sampledValue": [energy_sample16(2500)]}]), suppress=False)
            # kWh, beside a power sample that is not energy.
            await cp.call(call16.MeterValues(connector_id=1, transaction_id=tx, meter_value=[
                {"timestamp": at(120), "sampledValue": [
                    energy_sample16("4.2", "kWh"),
                    {"value": "11000", "unit": "W", "measurand": "Power.Active.Import"}]}]),
                suppress=False)
            # The running session shows the energy so far: 4.2 kWh - 1000 Wh.
            await eventually(live_energy(csms, charger_id, str(tx), 3200), 30,
                             "3200 Wh on the running transaction", interval=0.1)
            # What the sessions dashboard shows: one session running, no energy counted yet
            # (energy is counted once, from the CDR).
            await eventually(lambda: tx_metric("switchyard_transactions_active_sessions") == 1,
                             15, "switchyard_transactions_active_sessions 1", interval=0.2)
            assert tx_metric("switchyard_transactions_energy_wh_total") == 0
            stop = await cp.call(call16.StopTransaction(
                meter_stop=11500, timestamp=at(300), transaction_id=tx, reason="EVDisconnected",
                id_tag=token, transaction_data=[{"timestamp": at(300), "sampledValue": [
                    energy_sample16(11500, context="Transaction.End")]}]), suppress=False)
            assert stop.id_tag_info["status"] == "Accepted"

    def tx_metric(name):
        return csms.transactions_service.metric(name)

    run(scenario())
    transaction, cdr = one_ended_transaction_with_cdr(csms, charger_id)
    assert tx_metric("switchyard_transactions_energy_wh_total") == 10500
    wait_until(lambda: tx_metric("switchyard_transactions_active_sessions") == 0, 15,
               "switchyard_transactions_active_sessions back to 0", interval=0.2)
    # Everything committed reached Kafka: the outbox is empty, so its oldest entry has no age.
    wait_until(lambda: tx_metric("switchyard_transactions_outbox_pending") == 0, 15,
               "the outbox emptied", interval=0.2)
    wait_until(lambda: tx_metric("switchyard_transactions_outbox_oldest_age_seconds") == 0, 15,
               "switchyard_transactions_outbox_oldest_age_seconds 0", interval=0.2)
    assert transaction["transactionId"] == str(started["id"])
    assert transaction["idToken"]["id"] == token
    assert transaction["location"] == {"evseId": 1, "connectorId": 1}
    assert transaction["ocppVersion"] == "OCPP_VERSION_1_6"
    assert transaction["meterStartWh"] == "1000"
    assert transaction["meterStopWh"] == "11500"
    assert transaction["energyWh"] == "10500"
    assert transaction["stoppedReason"] == "EVDisconnected"
    assert transaction["startedAt"] == rfc3339(0)
    assert transaction["endedAt"] == rfc3339(300)
    assert transaction.get("startMissing", False) is False

    assert cdr["transactionId"] == str(started["id"])
    assert cdr["chargerId"] == charger_id
    assert cdr["idToken"]["id"] == token
    assert cdr["energyWh"] == "10500"
    assert cdr["durationS"] == "300"
    assert cdr["tariffId"] == "ac-standard"
    assert cdr["productId"] == "AC1"
    assert cdr["price"] == {
        "currency": "EUR",
        "energyMinor": "410",         # 10.5 kWh x 0.39 = 4.095 -> 4.10
        "timeMinor": "10",            # 5 min x 1.20/h = 0.10
        "sessionFeeMinor": "50",
        "totalExclVatMinor": "470",
        "vatMinor": "89",             # 19 % of 4.70 = 0.893 -> 0.89
        "totalInclVatMinor": "559",
        "vatBasisPoints": 1900,
    }


def test_ocpp201_session_gives_one_transaction_with_its_energy_and_a_priced_cdr(csms):
    charger_id, token, tx = "sess-201", "RFID-201-0001", "9b1f3c52-201-a"
    prepare(csms, charger_id, token, "ISO14443")
    id_token = {"idToken": token, "type": "ISO14443"}

    def event(kind, seconds, seq_no, trigger, samples, **fields):
        info = {"transactionId": tx, **fields.pop("info", {})}
        return call201.TransactionEvent(
            event_type=kind, timestamp=at(seconds), trigger_reason=trigger, seq_no=seq_no,
            transaction_info=info, meter_value=[{"timestamp": at(seconds),
                                                 "sampledValue": samples}], **fields)

    async def scenario():
        async with OcppCharger(csms.ws_url(charger_id), ChargePoint201, "ocpp2.0.1") as cp:
            boot = await cp.call(call201.BootNotification(
                charging_station={"vendorName": "Acme", "model": "Volt-201"}, reason="PowerUp"),
                suppress=False)
            assert boot.status == "Accepted"
            authorize = await cp.call(call201.Authorize(id_token=id_token), suppress=False)
            assert authorize.id_token_info["status"] == "Accepted"
            started = await cp.call(event(
                "Started", 0, 0, "Authorized",
                [energy_sample201(2000, context="Transaction.Begin")],
                id_token=id_token, evse={"id": 1, "connectorId": 1},
                info={"chargingState": "Charging"}), suppress=False)
            assert started.id_token_info["status"] == "Accepted"
            await cp.call(event("Updated", 60, 1, "MeterValuePeriodic",
                                [energy_sample201(3.5, "kWh")]), suppress=False)
            await eventually(live_energy(csms, charger_id, tx, 1500), 30,
                             "1500 Wh on the running transaction", interval=0.1)
            await cp.call(event("Updated", 120, 2, "MeterValuePeriodic",
                                [energy_sample201(5000)]), suppress=False)
            await cp.call(event("Ended", 240, 3, "EVCommunicationLost",
                                [energy_sample201(12.25, "kWh", "Transaction.End")],
                                info={"stoppedReason": "EVDisconnected"}), suppress=False)

    run(scenario())
    transaction, cdr = one_ended_transaction_with_cdr(csms, charger_id)
    assert transaction["transactionId"] == tx
    assert transaction["idToken"] == {"id": token, "type": "ISO14443"}
    assert transaction["location"] == {"evseId": 1, "connectorId": 1}
    assert transaction["ocppVersion"] == "OCPP_VERSION_2_0_1"
    assert transaction["meterStartWh"] == "2000"
    assert transaction["meterStopWh"] == "12250"
    assert transaction["energyWh"] == "10250"
    assert transaction["stoppedReason"] == "EVDisconnected"
    assert transaction["seqNo"] == "3"
    assert transaction["startedAt"] == rfc3339(0)
    assert transaction["endedAt"] == rfc3339(240)

    assert cdr["transactionId"] == tx
    assert cdr["energyWh"] == "10250"
    assert cdr["durationS"] == "240"
    assert cdr["tariffId"] == "ac-standard"
    assert cdr["productId"] == "AC1"
    assert cdr["price"] == {
        "currency": "EUR",
        "energyMinor": "400",         # 10.25 kWh x 0.39 = 3.9975 -> 4.00
        "timeMinor": "8",             # 4 min x 1.20/h = 0.08
        "sessionFeeMinor": "50",
        "totalExclVatMinor": "458",
        "vatMinor": "87",             # 19 % of 4.58 = 0.8702 -> 0.87
        "totalInclVatMinor": "545",
        "vatBasisPoints": 1900,
    }


def test_standalone_refuses_a_negative_event_log_retention_before_touching_anything(tmp_path):
    database = tmp_path / "refused.db"
    done = subprocess.run([str(BIN_DIR / "switchyard-standalone"), "--database", str(database),
                           "--event-log-retention-hours=-1", "--ws-port", "0", "--grpc-port", "0",
                           "--http-port", "0"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert ("--event-log-retention-hours must be 0 (keep every event) to 876000 (100 years), "
            "not -1" in done.stdout + done.stderr)
    assert not database.exists()
