"""The events topic is the source of truth: fresh transactions and status consumers (new
processes, empty PostgreSQL schemas, new consumer groups) that read it from offset 0 rebuild the
same tables, and replaying it once more into those tables changes nothing (idempotency on the
event id)."""

import asyncio

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from servicekit import (TARIFF, Ctl, OcppCharger, answered_once, at, caught_up, dump_schema,
                        run, session16, session201, wait_until)


def charger_traffic(stack):
    """Three chargers at once (events of both partitions interleave): sessions in 1.6 and
    2.0.1, status reports with error and vendor codes, a stop for a transaction the CSMS never
    saw start, heartbeats."""
    async def ocpp16_a():
        async with OcppCharger(stack.ws_url("rpl-16-a"), ChargePoint16, "ocpp1.6") as cp:
            send = answered_once(cp)
            await send(call16.BootNotification(charge_point_vendor="Acme",
                                               charge_point_model="Volt-16"))
            await send(call16.StatusNotification(connector_id=1, error_code="NoError",
                                                 status="Charging", timestamp=at(0)))
            await session16(send, "RPL-1", 1, 0, [1000, 2200, 3500])
            await send(call16.StatusNotification(
                connector_id=2, error_code="GroundFailure", status="Faulted", timestamp=at(200),
                info="RCD tripped", vendor_id="com.acme", vendor_error_code="RCD-30"))
            await session16(send, "RPL-1", 1, 600, [3500, 5000, 7250, 9000])
            await send(call16.Heartbeat())

    async def ocpp16_b():
        async with OcppCharger(stack.ws_url("rpl-16-b"), ChargePoint16, "ocpp1.6") as cp:
            send = answered_once(cp)
            await send(call16.BootNotification(charge_point_vendor="Acme",
                                               charge_point_model="Volt-16"))
            await session16(send, "RPL-1", 2, 30, [500, 4500])
            # Stopped offline long ago: recorded although its start is unknown.
            await send(call16.StopTransaction(meter_stop=777, timestamp=at(-3600),
                                              transaction_id=424242, reason="PowerLoss"))
            await send(call16.StatusNotification(connector_id=1, error_code="HighTemperature",
                                                 status="SuspendedEVSE", timestamp=at(900)))

    async def ocpp201():
        async with OcppCharger(stack.ws_url("rpl-201"), ChargePoint201, "ocpp2.0.1") as cp:
            send = answered_once(cp)
            await send(call201.BootNotification(
                charging_station={"vendorName": "Acme", "model": "Volt-201"}, reason="PowerUp"))
            await send(call201.StatusNotification(timestamp=at(0), connector_status="Occupied",
                                                  evse_id=1, connector_id=1))
            await session201(send, "RPL-2", 1, 10, [20000, 21000, 23500], "rpl-201-tx-1")
            await session201(send, "RPL-2", 1, 400, [23500, 24000, 26000, 30000], "rpl-201-tx-2")
            await send(call201.StatusNotification(timestamp=at(700), connector_status="Available",
                                                  evse_id=1, connector_id=1))

    async def all_chargers():
        await asyncio.gather(ocpp16_a(), ocpp16_b(), ocpp201())

    run(all_chargers())


def views(ctl):
    """What an operator reads through switchyardctl -o json."""
    return {
        "transactions": ctl.json("transactions", "list"),
        "cdrs": ctl.json("cdrs", "list"),
        "status": ctl.json("status", "list"),
        "errors": ctl.json("status", "errors"),
        "chargers": ctl.json("chargers", "list"),
    }


def is_migration_history(table):
    return table.endswith("schema_migrations")  # applied_at: when the process started


def tables(stack, tx_schema, status_schema):
    url = stack.servers.postgres_url
    tx = dump_schema(url, tx_schema)
    status = dump_schema(url, status_schema)
    return {
        # The outbox holds what is not published yet: empty once caught up, never compared.
        **{f"tx.{t}": rows for t, rows in tx.items()
           if not is_migration_history(t) and t != "tx_outbox"},
        **{f"status.{t}": rows for t, rows in status.items() if not is_migration_history(t)},
    }


def test_replay_from_offset_0_rebuilds_the_same_tables_and_a_second_replay_changes_nothing(
        stack):
    ctl = stack.ctl
    ctl(*TARIFF)
    ctl("tokens", "add", "RPL-1", "--type", "ISO14443")
    ctl("tokens", "add", "RPL-2", "--type", "ISO14443")
    for charger_id in ("rpl-16-a", "rpl-16-b", "rpl-201"):
        ctl("chargers", "register", charger_id, "--security-profile", "0")

    charger_traffic(stack)
    gateways = [stack.gateway]
    wait_until(lambda: caught_up(gateways, [stack.transactions, stack.status]), 30,
               "the first consumers to handle every event", interval=0.1)
    wait_until(lambda: not any(c.get("online") for c in ctl.json("chargers", "list")["chargers"]),
               10, "every charger offline")
    events = stack.gateway.metric("switchyard_kafka_produced_total", result="ok")
    original_views = views(ctl)
    original = tables(stack, f"{stack.name}_tx", f"{stack.name}_status")

    # What there is to rebuild: 5 ended transactions with CDRs, and the stop without a start.
    transactions = original_views["transactions"]["transactions"]
    assert len(transactions) == 6
    assert sorted(int(t["energyWh"]) for t in transactions if t.get("cdrId")) == \
        [2500, 3500, 4000, 5500, 6500]
    assert [t["startMissing"] for t in transactions if t["transactionId"] == "424242"] == [True]
    assert len(original_views["cdrs"]["cdrs"]) == 5
    assert len(original_views["status"]["records"]) == 5
    assert original["tx.tx_processed_events"] and original["status.st_processed_events"]

    # Fresh consumers: empty schemas, new groups, the topic from offset 0. The tariff is
    # reference data, not an event: the operator restores it before the replay starts (the
    # service migrates its schema on a topic with no events, gets the tariff, stops).
    replay_tx, replay_status = f"{stack.name}_tx_replay", f"{stack.name}_status_replay"
    preparing = stack.start_transactions(schema=replay_tx, group=f"{stack.name}_prep",
                                         events_topic=f"{stack.topic}_none")
    Ctl(transactions=preparing.grpc_address)(*TARIFF)
    preparing.stop()

    def replay(group_suffix):
        tx = stack.start_transactions(schema=replay_tx, group=f"{stack.name}_tx_{group_suffix}")
        status = stack.start_status(schema=replay_status,
                                    group=f"{stack.name}_status_{group_suffix}")
        wait_until(lambda: min(tx.metric("switchyard_kafka_consumed_total"),
                               status.metric("switchyard_kafka_consumed_total")) >= events,
                   30, f"the {group_suffix} consumers to handle all {events:.0f} events",
                   interval=0.1)
        return tx, status

    tx, status = replay("replay")
    replay_ctl = Ctl(transactions=tx.grpc_address, status=status.grpc_address)
    assert tables(stack, replay_tx, replay_status) == original
    assert views(replay_ctl) == original_views
    assert tx.metric("switchyard_transactions_duplicate_events_total") == 0
    assert tx.metric("switchyard_cdrs_created_total") == 5
    tx.stop()
    status.stop()

    # Again, into the same tables: every event is a duplicate, nothing changes, nothing is
    # published again.
    tx, status = replay("again")
    again_ctl = Ctl(transactions=tx.grpc_address, status=status.grpc_address)
    assert tables(stack, replay_tx, replay_status) == original
    assert views(again_ctl) == original_views
    assert tx.metric("switchyard_transactions_duplicate_events_total") > 0
    assert tx.metric("switchyard_transactions_events_total") == 0
    assert tx.metric("switchyard_cdrs_created_total") == 0
    assert tx.metric("switchyard_transactions_outbox_published_total") == 0
    assert status.metric("switchyard_status_duplicate_events_total") > 0
    assert status.metric("switchyard_status_events_total") == 0
    assert status.metric("switchyard_connector_errors_total") == 0
