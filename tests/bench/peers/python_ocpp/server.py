"""Reference OCPP 1.6J CSMS for the benchmarks on the PyPI `ocpp` package.

A benchmark peer, never part of the product: it answers the charger CALLs
the load generator sends with fixed replies, so that the runner can compare
throughput and CPU per message against Switchyard. asyncio, one process,
`websockets` for the transport, the library's defaults otherwise (its JSON
schema validation of every CALL and CALLRESULT included).

    .venv/bin/python tests/bench/peers/python_ocpp/server.py --port 0

Prints `listening on HOST:PORT` once ready; exits on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import http
import itertools
import logging
import signal
import sys
from datetime import datetime, timezone

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

PATH_PREFIX = "/ocpp/"
SUBPROTOCOL = "ocpp1.6"
HEARTBEAT_INTERVAL = 300

_transaction_ids = itertools.count(1)


def _now():
    """Return the current UTC time as an OCPP dateTime string."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return now.replace("+00:00", "Z")


def _accepted():
    return IdTagInfo(status=AuthorizationStatus.accepted)


class Charger(ChargePoint):
    """One connected charger: fixed answers to the Core profile CALLs."""

    @on(Action.boot_notification)
    def on_boot_notification(self, **_):
        return call_result.BootNotification(
            current_time=_now(),
            interval=HEARTBEAT_INTERVAL,
            status=RegistrationStatus.accepted,
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_):
        return call_result.Heartbeat(current_time=_now())

    @on(Action.meter_values)
    def on_meter_values(self, **_):
        return call_result.MeterValues()

    @on(Action.status_notification)
    def on_status_notification(self, **_):
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, **_):
        return call_result.Authorize(id_tag_info=_accepted())

    @on(Action.start_transaction)
    def on_start_transaction(self, **_):
        return call_result.StartTransaction(
            transaction_id=next(_transaction_ids), id_tag_info=_accepted()
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(self, **_):
        return call_result.StopTransaction()


async def _check_path(path, _headers):
    """Refuse the upgrade of any path but /ocpp/<chargerId>."""
    charger_id = path[len(PATH_PREFIX):]
    if not path.startswith(PATH_PREFIX) or not charger_id or "/" in charger_id:
        return http.HTTPStatus.NOT_FOUND, [], b"not found\n"
    return None


async def _serve_charger(websocket):
    """Run one charger's connection until it closes."""
    if websocket.subprotocol != SUBPROTOCOL:
        await websocket.close(code=1002, reason="subprotocol ocpp1.6 required")
        return
    charger = Charger(websocket.path[len(PATH_PREFIX):], websocket)
    try:
        await charger.start()
    except websockets.exceptions.ConnectionClosed:
        pass


async def _main(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.cancel)
    async with websockets.serve(
        _serve_charger,
        host,
        port,
        subprotocols=[SUBPROTOCOL],
        process_request=_check_path,
    ) as server:
        bound = server.sockets[0].getsockname()
        print(f"listening on {host}:{bound[1]}", flush=True)
        try:
            await stop
        except asyncio.CancelledError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="default 0: a free port"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_main(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
