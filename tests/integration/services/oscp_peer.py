"""An OSCP 2.0 capacity provider (the grid operator's side) on pyoscp, for the smart-charging tests.

pyoscp 0.1.0 serves the capacity provider's endpoints (actor 'cp': register, handshake,
handshake_acknowledgment, heartbeat, update_group_measurements, adjust_group_capacity_forecast,
group_capacity_compliance_error under /oscp/cp/2.0) and, in its background job, acknowledges a
handshake and sends heartbeats. It keeps its registrations in a JSON file. This peer uses it as it
is, with four adjustments, each for a gap in pyoscp rather than in the protocol:

* pyoscp imports `dateutil` without declaring it (python-dateutil is in tests/requirements.txt).
* Its heartbeat handler reads `offline_mode_at` with strptime("%Y-%m-%d %H:%M:%S") and answers
  500 to an RFC 3339 time such as "2030-01-01T10:00:00.000Z" (what OSCP and Switchyard send): the
  handler is replaced by one that reads RFC 3339.
* Its own heartbeats send that zone-less local time: they are replaced by RFC 3339 UTC, so the
  tests do not depend on the machine's time zone.
* It has no client for UpdateGroupCapacityForecast (the message the capacity provider sends):
  `send_forecast()` posts it with pyoscp's own header builder (`createOscpHeader`).

Also: the first token must be known to pyoscp before anyone registers (it answers 403
otherwise), so it is seeded; and pyoscp answers a Register by sending its own Register back from
inside the request, with a fresh token that replaces the seeded one (OSCP's token exchange).

Use:
    peer = OscpCapacityProvider(initial_token="cp-token")
    peer.start()                      # peer.base_url: give it to smart-charging as the peer URL
    peer.wait_for("register"); peer.wait_for("handshake"); peer.wait_for("heartbeat")
    peer.send_forecast("group-1", [forecast_block(16, "A", start, end)])   # → 204
    peer.received("update_group_measurements")
    peer.stop()

Run alone (prints what it receives):  python oscp_peer.py --port 5000 --token cp-token
"""

import json
import logging
import os
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import requests
from dateutil import parser as dateparser
from flask import Flask, request
from werkzeug.serving import make_server

import oscp
from oscp import RegistrationManager as pyoscp_registrations
from oscp.RegistrationManager import RegistrationDictMan, RegistrationMan, createOscpHeader

OSCP_VERSION = "2.0"


def rfc3339(moment):
    """A datetime as RFC 3339 UTC with milliseconds, as OSCP wants its times."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def forecast_block(capacity, unit, start, end, phase="ALL"):
    """One ForecastedBlock; `start` and `end` are datetimes."""
    return {"capacity": capacity, "phase": phase, "unit": unit,
            "start_time": rfc3339(start), "end_time": rfc3339(end)}


class _Recorder:
    """What the flexibility provider sent us, in order."""

    def __init__(self):
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.messages = []

    def add(self, message, payload):
        entry = {"message": message, "at": time.time(), "body": payload,
                 "authorization": request.headers.get("Authorization", ""),
                 "request_id": request.headers.get("X-Request-ID", ""),
                 "correlation_id": request.headers.get("X-Correlation-ID", "")}
        with self._changed:
            self.messages.append(entry)
            self._changed.notify_all()

    def of(self, message):
        with self._lock:
            return [m for m in self.messages if m["message"] == message]

    def wait_for(self, message, count, timeout):
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in self.messages if m["message"] == message]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({m["message"] for m in self.messages})
                    raise TimeoutError(f"no {count} x {message} within {timeout} s (got {seen})")
                self._changed.wait(left)


class _Registrations(RegistrationDictMan):
    """pyoscp's file-backed registration manager, recording and with RFC 3339 heartbeats."""

    def __init__(self, version_urls, filename, interval, recorder):
        self.filename = filename
        self.recorder = recorder
        self.writeJson({})
        # RegistrationDictMan fixes the background job at 5 s; a test wants it quicker.
        RegistrationMan.__init__(self, version_urls, background_interval=interval)

    def handleRegister(self, payload):
        self.recorder.add("register", payload)
        return super().handleRegister(payload)

    def handleHandshake(self, payload):
        self.recorder.add("handshake", payload)
        return super().handleHandshake(payload)

    def handleHandshakeAck(self, payload):
        self.recorder.add("handshake_acknowledgement", payload)
        return super().handleHandshakeAck(payload)

    def handleHeartbeat(self, payload):
        # pyoscp's own handler reads only "%Y-%m-%d %H:%M:%S" (see the module doc).
        token = self._check_access_token()
        self.recorder.add("heartbeat", payload)
        offline_at = dateparser.isoparse(payload["offline_mode_at"])
        self._setOfflineAt(token, offline_at.astimezone(timezone.utc).replace(tzinfo=None))

    def _send_heartbeat(self, base_url, interval, token):
        offline_at = datetime.now(timezone.utc) + 3 * timedelta(seconds=interval)
        try:
            requests.post(base_url + "/heartbeat", headers=createOscpHeader(token),
                          json={"offline_mode_at": rfc3339(offline_at)}, timeout=5).raise_for_status()
        except Exception as error:  # noqa: BLE001 — pyoscp's own job logs and goes on too
            logging.getLogger("oscp_peer").warning("heartbeat to %s failed: %s", base_url, error)
        return datetime.now() + timedelta(seconds=interval)

    def flexibility_provider(self):
        """(base_url, token) of the registered flexibility provider, or (None, None)."""
        # pyoscp's getEndpoints() reads the file without its lock, racing its background job.
        with pyoscp_registrations.lock:
            endpoints = self.getEndpoints()
        for endpoint in endpoints.values():
            registered = endpoint.get("register", {})
            if registered.get("base_url"):
                return registered["base_url"].rstrip("/"), registered["token"]
        return None, None


class _CapacityProviderHandlers:
    """pyoscp's 'capacityprovider' role object: records what the flexibility provider reports."""

    def __init__(self, recorder):
        self.recorder = recorder

    def handleUpdateGroupMeasurements(self, payload, token):
        self.recorder.add("update_group_measurements", payload)

    def handleAdjustGroupCapacityForecast(self, payload, token):
        self.recorder.add("adjust_group_capacity_forecast", payload)

    def handleGroupCapacityComplianceError(self, payload, token):
        self.recorder.add("group_capacity_compliance_error", payload)


class OscpCapacityProvider:
    """A capacity provider on pyoscp, served by werkzeug in a thread on host:port (0: any)."""

    def __init__(self, initial_token="cp-initial-token", host="127.0.0.1", port=0,
                 background_interval=0.2, workdir=None):
        self.initial_token = initial_token
        self.recorder = _Recorder()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._app = Flask("oscp_peer")
        self._server = make_server(host, port, self._app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://{host}:{self.port}/oscp/cp/{OSCP_VERSION}"
        self._dir = workdir or tempfile.mkdtemp(prefix="oscp_peer_")
        self.registrations = _Registrations(
            [{"version": OSCP_VERSION, "base_url": self.base_url}],
            os.path.join(self._dir, "endpoints.json"), background_interval, self.recorder)
        # The token the flexibility provider was given out of band: pyoscp must know it.
        self.registrations._updateService(initial_token)
        self._app.register_blueprint(oscp.createBlueprint(
            {"registrationmanager": self.registrations,
             "capacityprovider": _CapacityProviderHandlers(self.recorder)}, "cp"))
        self._thread = threading.Thread(target=self._server.serve_forever, name="oscp-peer",
                                        daemon=True)

    def start(self):
        self._thread.start()
        self.registrations.start()
        return self

    def stop(self):
        self.registrations.stop()
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what came in ---------------------------------------------------------------------

    def received(self, message):
        """Messages of one kind ("register", "handshake", "heartbeat",
        "update_group_measurements", ...), each {message, at, body, authorization, request_id,
        correlation_id}."""
        return self.recorder.of(message)

    def wait_for(self, message, count=1, timeout=15.0):
        return self.recorder.wait_for(message, count, timeout)

    # -- what goes out --------------------------------------------------------------------

    def send_forecast(self, group_id, blocks, forecast_type="CONSUMPTION", token=None,
                      endpoint="update_group_capacity_forecast"):
        """UpdateGroupCapacityForecast to the registered flexibility provider; the response.
        `token` overrides the one it registered (to test a refusal)."""
        base_url, fp_token = self.registrations.flexibility_provider()
        if base_url is None:
            raise RuntimeError("no flexibility provider has registered")
        payload = {"group_id": group_id, "type": forecast_type, "forecasted_blocks": blocks}
        return requests.post(f"{base_url}/{endpoint}",
                             headers=createOscpHeader(token or fp_token), json=payload, timeout=10)


def main():
    import argparse
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--host", default="127.0.0.1")
    args.add_argument("--port", type=int, default=5000)
    args.add_argument("--token", default="cp-initial-token",
                      help="the token the flexibility provider registers with")
    opts = args.parse_args()
    logging.basicConfig(level=logging.INFO)
    with OscpCapacityProvider(opts.token, opts.host, opts.port, background_interval=1.0) as peer:
        print(f"capacity provider at {peer.base_url}, initial token {opts.token}", flush=True)
        seen = 0
        while True:
            time.sleep(0.5)
            for m in peer.recorder.messages[seen:]:
                print(m["message"], json.dumps(m["body"]), flush=True)
            seen = len(peer.recorder.messages)


if __name__ == "__main__":
    main()
