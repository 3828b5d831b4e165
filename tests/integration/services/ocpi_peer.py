"""An OCPI 2.2.1 eMSP on the `extrawest-ocpi` package (import name `py_ocpi`) for the roaming tests.

extrawest-ocpi builds a FastAPI application of an OCPI party from a version list, a role and the
modules it supports, with the business logic in a `Crud` class and the token check in an
`Authenticator`. For the eMSP role and the credentials module it serves, as the package wrote it:

* `GET /ocpi/versions` and `GET /ocpi/2.2.1/details` (token A or a registered token; 401 else),
* `/ocpi/emsp/2.2.1/credentials/` (the trailing slash is the package's): POST with token A
  (GETs the caller's versions and version details with the token in the body, then `Crud.create`;
  3002 when the caller has no 2.2.1, 3001 when it cannot be reached; 405 when the token is already
  registered), PUT (same, `Crud.update`), GET and DELETE with a registered token.

So when Switchyard registers with the eMSP (ConnectPartner: GET versions with token A, POST its
credentials), the package itself answers every request. This peer only supplies what the package
leaves to its user (a Crud that stores the partner and issues token C, an Authenticator over this
peer's tokens), and adjusts four things, each a gap of the package rather than of OCPI:

* It has no client side of the handshake: nothing that GETs a CPO's versions with token A and
  POSTs its own credentials, nor PUT (update) or DELETE (unregister) towards the CPO.
  `register_with()`, `update_with_us()` and `unregister_from_us()` do that here with httpx (the
  package's own HTTP client), Base64 tokens as 2.2.1 requires.
* It builds its URLs from process-wide settings (`OCPI_HOST`, `PROTOCOL`) read at import, so two
  peers in one process would advertise the same host: each peer overrides the package's
  `get_versions` / `get_endpoints` dependencies with its own base URL (127.0.0.1 and its port).
* Its `CiString` lower-cases country codes and party ids by default
  (`CI_STRING_LOWERCASE_PREFERENCE`); OCPI compares them case-insensitively, but the tests read
  them back, so the setting is switched to upper case (process-wide, as the package keeps it).
* It records nothing: an ASGI wrapper records every request it receives (method, path, headers,
  body, answer status) for the tests' assertions (`received()`, `wait_for()`).

Its 401/403/405 answers are FastAPI's `{"detail": ...}`, not OCPI envelopes (the package's choice;
the tests check Switchyard's envelopes, not the peer's).

`receive_locations=True` makes the peer a locations RECEIVER (off by default, so the peers of the
other tests advertise only credentials): its 2.2.1 details list `locations` as RECEIVER at
`{base}/emsp/2.2.1/locations`, and the package's own eMSP routes of that module answer a CPO's
pushes (`PUT .../{country_code}/{party_id}/{location_id}` with a whole Location, `PATCH
.../{location_id}/{evse_uid}` with some fields of an EVSE, and the other PUT/PATCH/GET forms) with
OCPI envelopes, status_code 1000; a body the package's model refuses is its FastAPI 422. The
`_PeerCrud` keeps the latest Location per (country_code, party_id, id) as plain JSON (the package
applies EVSE PATCHes onto it; the peer keeps the EVSEs in their first order): `location()`,
`evse_status()`. The package upper-cases CiStrings here (see above): ids in upper case read back as
sent. `locations_answer` makes the peer refuse pushes without storing them: an OCPI error
status_code (HTTP 200) or an HTTP status; such requests are recorded with `"refused": <it>`.

`send_tokens=True` makes the peer the owner of tokens that a CPO authorizes in real time (off by
default): its 2.2.1 details list `tokens` as SENDER at `{base}/emsp/2.2.1/tokens`, and it answers
`POST {base}/emsp/2.2.1/tokens/{uid}/authorize[?type=...]` (with a token the peer accepts; 401
else) with an OCPI envelope whose data is an AuthorizationInfo: `allowed` from
`authorize_answers[uid]` (default `authorize_default`, "ALLOWED"), the Token as the peer pushed
it (`push_token`) or a made-up one, and a fresh `authorization_reference`. An int in
`authorize_answers` refuses instead (an OCPI status_code >= 2000 with HTTP 200, or an HTTP status).
These requests are answered by this module, not the package (whose eMSP route reads the type from
a `token_type` query parameter and needs a Crud for tokens); they are recorded like any other,
with `"answered": <allowed or the refusal>`. `authorizations(uid)` lists them.
`push_token(token)` PUTs a Token to the CPO's tokens RECEIVER endpoint (from its version details,
read when the peer registered), `patch_token(uid, fields)` PATCHes it (with `last_updated` now
unless given), `get_token(uid)` GETs it, each with the token the CPO gave us; the httpx.Response.
`sample_token(uid, ...)` makes a complete OCPI Token.

`receive_tariffs=True` makes the peer a tariffs RECEIVER at `{base}/emsp/2.2.1/tariffs` (the
package's routes validate each PUT against its Tariff model); `tariff(id)` is the latest Tariff
as sent, None when none came or the CPO DELETEd it.

`receive_sessions=True` makes the peer a sessions and cdrs RECEIVER (off by default): its details
list `sessions` at `{base}/emsp/2.2.1/sessions` and `cdrs` at `{base}/emsp/2.2.1/cdrs/` (the
trailing slash is the package's POST route), and the package's eMSP routes answer a CPO's `PUT
.../sessions/{country_code}/{party_id}/{session_id}` and `POST .../cdrs/` after validating them
against its Session and Cdr models (422 when they do not fit). `session(id)` is the latest Session
as sent, `cdrs_received(id)` every CDR POSTed with that id (a CPO that sends a CDR twice shows
two). `cdrs_answer` (like `locations_answer`) refuses CDR POSTs without storing them.

Commands: `send_command(command, body)` POSTs `body` to the CPO's commands RECEIVER endpoint
(`.../commands/{command}`, from its version details) with the token the CPO gave us; the
httpx.Response. `command_response_url(n)` is a URL of this peer where a CPO POSTs the
CommandResult of command n: the peer answers it with an OCPI envelope (1000) itself, and
`command_results(n)` lists what came there.

`stop_serving()` closes the listening socket (callers get connection refused) and
`start_serving()` listens again on the same port; tokens, registration and stored locations are
kept, so a partner that was down comes back as it was. `versions=("2.1.1",)` makes a peer that
offers no 2.2.1 (its version list names a 2.1.1 URL that it does not serve);
`advertise_credentials=False` one whose 2.2.1 details list no credentials endpoint.

Use:
    peer = OcpiEmsp(country_code="NL", party_id="EMS").start()
    # (a) Switchyard registers with the peer:  switchyardctl partners connect \
    #         peer.versions_url peer.token_a
    # (b) the peer registers with Switchyard:
    answer = peer.register_with(our_versions_url, token_a_from_invite)
    peer.received("POST", "/credentials")           # what Switchyard sent
    peer.stop()

Run alone: `python ocpi_peer.py` registers two peers with each other (one as the package's
server side, one through this peer's client side), updates and unregisters; exit 0 when all of
it worked. `python ocpi_peer.py --serve --port 9310` keeps one peer running and prints its
requests.
"""

import argparse
import base64
import json
import logging
import re
import secrets
import socket
import sys
import threading
import time
import uuid

import httpx
import uvicorn
from py_ocpi import get_application
from py_ocpi.core.adapter import BaseAdapter
from py_ocpi.core.authentication.authenticator import Authenticator
from py_ocpi.core.config import logger as ocpi_logger
from py_ocpi.core.config import settings as ocpi_settings
from py_ocpi.core.crud import Crud
from py_ocpi.core.data_types import URL
from py_ocpi.core.dependencies import get_endpoints, get_versions
from py_ocpi.core.enums import ModuleID, RoleEnum
from py_ocpi.modules.versions.enums import VersionNumber
from py_ocpi.modules.versions.v_2_2_1.schemas import Endpoint, InterfaceRole

ocpi_settings.CI_STRING_LOWERCASE_PREFERENCE = False  # "NL"/"EMS" as given (see above)
ocpi_logger.setLevel(logging.WARNING)  # its INFO lines name every request; pytest shows ours


def b64(token):
    """OCPI 2.2.1's Authorization: the token Base64-encoded."""
    return base64.b64encode(token.encode()).decode()


def new_token():
    return secrets.token_urlsafe(24)


def ocpi_headers(token=None, encode=True, request_id=None, correlation_id=None):
    """Authorization (Base64 unless `encode` is False) and fresh X-Request-ID/X-Correlation-ID."""
    headers = {"X-Request-ID": request_id or str(uuid.uuid4()),
               "X-Correlation-ID": correlation_id or str(uuid.uuid4())}
    if token is not None:
        headers["Authorization"] = f"Token {b64(token) if encode else token}"
    return headers


class HandshakeError(Exception):
    """A step of the peer's own side of the handshake failed; `response` is the last answer."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class _PeerCrud(Crud):
    """The package's storage port for the credentials module: one CPO partner, in memory."""

    def __init__(self, peer):
        self.peer = peer

    async def get(self, module, role, id, *args, **kwargs):
        token = kwargs.get("auth_token")
        if module == ModuleID.locations:
            return self.peer._stored_location(kwargs, id)
        if module == ModuleID.sessions:
            return self.peer.session(id)
        if module == ModuleID.tariffs:
            return self.peer.tariff(id)
        if module != ModuleID.credentials_and_registration or token not in self.peer.valid_tokens:
            return None
        return self.peer.own_credentials(token)

    async def list(self, module, role, filters, *args, **kwargs):
        return [], 0, True

    async def create(self, module, role, data, *args, **kwargs):
        if module == ModuleID.locations:  # a PUT of a location we did not have
            return self.peer._store_location(kwargs, data.get("id"), data)
        if module == ModuleID.sessions:
            return self.peer._store_session(id=data.get("id"), data=data)
        if module == ModuleID.cdrs:
            return self.peer._store_cdr(data)
        if module == ModuleID.tariffs:
            return self.peer._store_tariff(data.get("id"), data)
        # Switchyard POSTed with our token A: keep its token B, make token C, A is spent.
        return self.peer._registered(data, used_token=kwargs.get("auth_token"), token_a=True)

    async def update(self, module, role, data, id, *args, **kwargs):
        if module == ModuleID.locations:  # a PUT or PATCH onto a location we had
            return self.peer._store_location(kwargs, id, data)
        if module == ModuleID.sessions:
            return self.peer._store_session(id=id, data=data)
        if module == ModuleID.tariffs:
            return self.peer._store_tariff(id, data)
        return self.peer._registered(data, used_token=kwargs.get("auth_token"), token_a=False)

    async def delete(self, module, role, id, *args, **kwargs):
        if module == ModuleID.tariffs:
            return self.peer._store_tariff(id, None)
        self.peer._unregistered(kwargs.get("auth_token"))

    async def do(self, module, role, action, *args, data=None, **kwargs):
        return None


class _Recording:
    """ASGI wrapper: records each request (with its body) and the status it was answered with."""

    def __init__(self, app, peer):
        self.app = app
        self.peer = peer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        entry = {"method": scope["method"], "path": scope["path"],
                 "query": scope.get("query_string", b"").decode(),
                 "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
                 "raw_body": body, "status": None, "at": time.time()}
        try:
            entry["body"] = json.loads(body) if body else None
        except ValueError:
            entry["body"] = None

        async def recording_send(message):
            if message["type"] == "http.response.start":
                with self.peer._changed:
                    entry["status"] = message["status"]
                    self.peer._changed.notify_all()
            await send(message)

        # Recorded before it is answered: whoever got the answer finds the request recorded.
        self.peer._record(entry)
        if scope["method"] == "POST" and scope["path"].startswith("/ocpi/emsp/2.2.1/results/"):
            await _answer_json(recording_send, 200, {"status_code": 1000,
                                                     "timestamp": _ocpi_stamp()})
            return
        if self.peer.send_tokens and scope["method"] == "POST":
            uid = _authorize_uid(scope["path"])
            if uid is not None:
                await self.peer._answer_authorize(entry, uid, recording_send)
                return
        refusal = self.peer.locations_answer
        if not (scope["method"] in ("PUT", "PATCH") and "/locations/" in scope["path"]):
            refusal = None
        if scope["method"] == "POST" and "/emsp/2.2.1/cdrs" in scope["path"]:
            refusal = self.peer.cdrs_answer
        if refusal is not None:
            entry["refused"] = refusal  # answered by the test's refusal, not the package
            await _answer_refusal(refusal, recording_send)
            return
        await self.app(scope, replay, recording_send)


def _authorize_uid(path):
    """The uid of `/ocpi/emsp/2.2.1/tokens/{uid}/authorize` (a trailing slash allowed), or None."""
    m = re.fullmatch(r"/ocpi/emsp/2\.2\.1/tokens/([^/]+)/authorize/?", path)
    return m.group(1) if m else None


def _ocpi_stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def _answer_json(send, status, body):
    content = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


async def _answer_refusal(refusal, send):
    """An OCPI error (status_code >= 2000, HTTP 200) or a bare HTTP status (< 1000)."""
    if refusal < 1000:
        status, body = refusal, {"detail": "refused by the test"}
    else:
        status, body = 200, {"status_code": refusal, "status_message": "refused by the test",
                             "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    content = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})


class OcpiEmsp:
    """An eMSP party: the package's FastAPI app under uvicorn in a thread, on 127.0.0.1."""

    def __init__(self, country_code="NL", party_id="EMS", business_name="Peer eMSP",
                 versions=("2.2.1",), advertise_credentials=True, port=0, timeout=10.0,
                 receive_locations=False, send_tokens=False, receive_sessions=False,
                 receive_tariffs=False):
        self.country_code = country_code
        self.party_id = party_id
        self.business_name = business_name
        self.offered_versions = tuple(versions)
        self.advertise_credentials = advertise_credentials
        self.timeout = timeout
        self.token_a = new_token()           # what Switchyard registers with (ConnectPartner)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._valid_a = {self.token_a}
        self.valid_tokens = set()            # tokens Switchyard may call us with (C, or our B)
        self.token_to_switchyard = None      # what we call Switchyard with (its B, or its C)
        self.switchyard_credentials = None   # the last credentials object Switchyard gave us
        self.switchyard_endpoints = None     # its version details, as the package fetched them
        self.switchyard_credentials_url = None
        self.registered = False
        self.events = []                     # ("registered"|"updated"|"unregistered", token)
        self.requests = []
        self.receive_locations = receive_locations
        self.locations = {}                  # (country_code, party_id, id) -> Location (JSON)
        self.locations_answer = None         # None, or an OCPI status_code / HTTP status to refuse
        self.send_tokens = send_tokens
        self.receive_sessions = receive_sessions
        self.receive_tariffs = receive_tariffs
        self.tariffs = {}                    # tariff id -> the latest Tariff (JSON)
        self.sessions = {}                   # session id -> the latest Session (JSON)
        self.cdrs = {}                       # CDR id -> [every CDR POSTed with that id]
        self.cdrs_answer = None              # None, or a status_code / HTTP status to refuse
        self.tokens = {}                     # uid -> the Token as we pushed / patched it (JSON)
        self.authorize_answers = {}          # uid -> AllowedType, or a status_code / HTTP status
        self.authorize_default = "ALLOWED"
        self._socket = None
        self._server = None
        self._thread = None
        self.port = port

    # -- URLs --------------------------------------------------------------------------------

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/ocpi"

    @property
    def versions_url(self):
        return f"{self.base_url}/versions"

    @property
    def credentials_url(self):
        return f"{self.base_url}/emsp/2.2.1/credentials/"

    @property
    def locations_url(self):
        """Where a CPO pushes locations (advertised when `receive_locations`)."""
        return f"{self.base_url}/emsp/2.2.1/locations"

    @property
    def tariffs_url(self):
        return f"{self.base_url}/emsp/2.2.1/tariffs"

    @property
    def sessions_url(self):
        return f"{self.base_url}/emsp/2.2.1/sessions"

    @property
    def cdrs_url(self):
        return f"{self.base_url}/emsp/2.2.1/cdrs/"

    @property
    def tokens_url(self):
        """Where a CPO asks for real-time authorization (advertised when `send_tokens`)."""
        return f"{self.base_url}/emsp/2.2.1/tokens"

    @property
    def switchyard_tokens_url(self):
        """The CPO's tokens RECEIVER endpoint from its version details (None when it has none)."""
        return _endpoint_url(self.switchyard_endpoints, "tokens", "RECEIVER")

    def own_credentials(self, token):
        return {"token": token, "url": self.versions_url,
                "roles": [{"role": "EMSP", "business_details": {"name": self.business_name},
                           "party_id": self.party_id, "country_code": self.country_code}]}

    # -- the server --------------------------------------------------------------------------

    def _application(self):
        peer = self

        class _PeerAuthenticator(Authenticator):
            @classmethod
            async def get_valid_token_c(cls):
                with peer._lock:
                    return list(peer.valid_tokens)

            @classmethod
            async def get_valid_token_a(cls):
                with peer._lock:
                    return list(peer._valid_a)

        modules = [ModuleID.credentials_and_registration]
        if self.receive_locations:
            modules.append(ModuleID.locations)
        if self.receive_sessions:
            modules += [ModuleID.sessions, ModuleID.cdrs]
        if self.receive_tariffs:
            modules.append(ModuleID.tariffs)
        app = get_application(version_numbers=[VersionNumber.v_2_2_1], roles=[RoleEnum.emsp],
                              crud=_PeerCrud(self), modules=modules,
                              authenticator=_PeerAuthenticator, adapter=BaseAdapter)
        # Per-peer URLs instead of the package's process-wide OCPI_HOST (see the docstring).
        app.dependency_overrides[get_versions] = lambda: [
            {"version": v, "url": f"{self.base_url}/{v}/details"} for v in self.offered_versions]
        app.dependency_overrides[get_endpoints] = lambda: {VersionNumber.v_2_2_1: self._endpoints()}
        return _Recording(app, self)

    def _endpoints(self):
        endpoints = []
        if self.advertise_credentials:
            endpoints.append(Endpoint(identifier=ModuleID.credentials_and_registration,
                                      role=InterfaceRole.receiver, url=URL(self.credentials_url)))
        if self.receive_locations:
            endpoints.append(Endpoint(identifier=ModuleID.locations, role=InterfaceRole.receiver,
                                      url=URL(self.locations_url)))
        if self.send_tokens:
            endpoints.append(Endpoint(identifier=ModuleID.tokens, role=InterfaceRole.sender,
                                      url=URL(self.tokens_url)))
        if self.receive_tariffs:
            endpoints.append(Endpoint(identifier=ModuleID.tariffs, role=InterfaceRole.receiver,
                                      url=URL(self.tariffs_url)))
        if self.receive_sessions:
            endpoints.append(Endpoint(identifier=ModuleID.sessions, role=InterfaceRole.receiver,
                                      url=URL(self.sessions_url)))
            endpoints.append(Endpoint(identifier=ModuleID.cdrs, role=InterfaceRole.receiver,
                                      url=URL(self.cdrs_url)))
        return endpoints

    def start(self):
        self._socket = self._bind()
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self._application(), log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name=f"ocpi-peer-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"OCPI peer on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def _bind(self):
        """A listening socket on self.port (0: any); the same port again after stop_serving()
        (retried for a while: SO_REUSEADDR covers TIME_WAIT, not a port someone took)."""
        deadline = time.monotonic() + 10
        while True:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
                return sock
            except OSError:
                sock.close()
                if not self.port or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def serving(self):
        return self._server is not None

    def stop_serving(self):
        """The partner goes down: nothing listens on its port any more (connection refused).
        Everything it knows (tokens, registration, locations, recorded requests) is kept."""
        self.stop()
        return self

    def start_serving(self):
        """The partner comes back on the same port, as it was."""
        if self.serving:
            return self
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the package's handlers call ----------------------------------------------------

    def _registered(self, data, used_token, token_a):
        credentials = data["credentials"]
        details = data.get("endpoints") or {}
        token_c = new_token()
        with self._changed:
            if token_a:
                self._valid_a.discard(used_token)
            else:
                self.valid_tokens.discard(used_token)
            self.valid_tokens.add(token_c)
            self.token_to_switchyard = credentials["token"]
            self.switchyard_credentials = json.loads(json.dumps(credentials, default=str))
            self.switchyard_endpoints = details
            self.switchyard_credentials_url = _credentials_endpoint(details)
            self.registered = True
            self.events.append(("registered" if token_a else "updated", used_token))
            self._changed.notify_all()
        return self.own_credentials(token_c)

    def _unregistered(self, used_token):
        with self._changed:
            self.valid_tokens.discard(used_token)
            self.token_to_switchyard = None
            self.registered = False
            self.events.append(("unregistered", used_token))
            self._changed.notify_all()

    def _stored_location(self, where, location_id):
        key = _location_key(where, location_id)
        with self._lock:
            found = self.locations.get(key)
            return json.loads(json.dumps(found)) if found is not None else None

    def _store_location(self, where, location_id, data):
        key = _location_key(where, location_id)
        plain = json.loads(json.dumps(data, default=str))
        with self._changed:
            old = self.locations.get(key)
            if old is not None and plain.get("evses"):
                # The package's EVSE PATCH appends the patched EVSE: keep the first order.
                order = {e.get("uid"): i for i, e in enumerate(old.get("evses") or [])}
                plain["evses"].sort(key=lambda e: order.get(e.get("uid"), len(order)))
            self.locations[key] = plain
            self._changed.notify_all()
        return json.loads(json.dumps(plain))

    def _store_session(self, id, data):
        plain = json.loads(json.dumps(data, default=str))
        with self._changed:
            self.sessions[str(id).upper()] = plain
            self._changed.notify_all()
        return json.loads(json.dumps(plain))

    def _store_tariff(self, tariff_id, data):
        plain = json.loads(json.dumps(data, default=str)) if data is not None else None
        with self._changed:
            self.tariffs[str(tariff_id).upper()] = plain
            self._changed.notify_all()
        return json.loads(json.dumps(plain))

    def tariff(self, tariff_id):
        """The latest Tariff pushed to us with that id (plain JSON), None if none or deleted."""
        with self._lock:
            found = self.tariffs.get(str(tariff_id).upper())
            return json.loads(json.dumps(found)) if found is not None else None

    def _store_cdr(self, data):
        plain = json.loads(json.dumps(data, default=str))
        with self._changed:
            self.cdrs.setdefault(str(plain.get("id")).upper(), []).append(plain)
            self._changed.notify_all()
        return json.loads(json.dumps(plain))

    async def _answer_authorize(self, entry, uid, send):
        """A CPO asks whether `uid` may charge: AuthorizationInfo, a refusal, or 401."""
        authorization = entry["headers"].get("authorization", "")
        presented = authorization.removeprefix("Token ").strip()
        with self._lock:
            known = set(self.valid_tokens)
            answer = self.authorize_answers.get(uid, self.authorize_default)
            token = json.loads(json.dumps(self.tokens.get(uid) or sample_token(
                uid, self.country_code, self.party_id, whitelist="NEVER")))
        if not authorization.startswith("Token ") or not (
                presented in known or _b64decode(presented) in known):
            entry["answered"] = 401
            await _answer_json(send, 401, {"detail": "unknown token"})
            return
        entry["answered"] = answer
        if isinstance(answer, int):
            await _answer_refusal(answer, send)
            return
        await _answer_json(send, 200, {
            "data": {"allowed": answer, "token": token,
                     "authorization_reference": uuid.uuid4().hex[:20]},
            "status_code": 1000, "status_message": "Success", "timestamp": _ocpi_stamp()})

    def _record(self, entry):
        with self._changed:
            self.requests.append(entry)
            self._changed.notify_all()

    # -- what the tests read -----------------------------------------------------------------

    def received(self, method=None, path_part=""):
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r["method"] == method) and path_part in r["path"]]

    def wait_for(self, method, path_part="", count=1, timeout=10):
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.requests
                         if r["method"] == method and path_part in r["path"]]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r["method"], r["path"]) for r in self.requests]
                    raise TimeoutError(f"no {count} x {method} {path_part} within {timeout} s "
                                       f"(got {seen})")
                self._changed.wait(left)

    def location(self, location_id, country_code="DE", party_id="SWY"):
        """The Location pushed to us (plain JSON, EVSE PATCHes applied), or None."""
        with self._lock:
            found = self.locations.get((country_code.upper(), party_id.upper(),
                                        location_id.upper()))
            return json.loads(json.dumps(found)) if found is not None else None

    def evse_status(self, location_id, uid, country_code="DE", party_id="SWY"):
        """{uid: status} of one stored location when uid is None, else that EVSE's status."""
        found = self.location(location_id, country_code, party_id) or {}
        statuses = {e.get("uid"): e.get("status") for e in found.get("evses") or []}
        return statuses if uid is None else statuses.get(uid.upper())

    def command_response_url(self, n):
        return f"{self.base_url}/emsp/2.2.1/results/{n}"

    def command_results(self, n):
        """The CommandResults POSTed to command_response_url(n), in arrival order."""
        with self._lock:
            return [r["body"] for r in self.requests if r["method"] == "POST" and
                    r["path"] == f"/ocpi/emsp/2.2.1/results/{n}"]

    def send_command(self, command, body):
        url = _endpoint_url(self.switchyard_endpoints, "commands", "RECEIVER")
        return self.request("POST", f"{url}/{command}", token=self.token_to_switchyard,
                            json_body=body)

    def session(self, session_id):
        """The latest Session pushed to us with that id (plain JSON), or None."""
        with self._lock:
            found = self.sessions.get(str(session_id).upper())
            return json.loads(json.dumps(found)) if found is not None else None

    def cdrs_received(self, cdr_id=None):
        """Every CDR POSTed to us with that id (or all of them), in arrival order."""
        with self._lock:
            if cdr_id is None:
                return [json.loads(json.dumps(c)) for cs in self.cdrs.values() for c in cs]
            return json.loads(json.dumps(self.cdrs.get(str(cdr_id).upper(), [])))

    def authorizations(self, uid=None):
        """The real-time authorization requests we got (for `uid`, or all)."""
        with self._lock:
            return [r for r in self.requests if r["method"] == "POST" and
                    (_authorize_uid(r["path"]) is not None) and
                    (uid is None or _authorize_uid(r["path"]) == uid)]

    def answered(self, requests, timeout=10):
        """`requests` (recorded entries) once each has been answered: a request is recorded
        before the package handles it, so what it stored (a session, a CDR) can be seen a moment
        before its status is set. Raises TimeoutError naming those still unanswered."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                waiting = [(r["method"], r["path"]) for r in requests if r["status"] is None]
                if not waiting:
                    return list(requests)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"unanswered within {timeout} s: {waiting}")
                self._changed.wait(left)

    def since(self, index, method=None, path_part=""):
        """The requests recorded from `index` on (index: a len(peer.requests) taken before)."""
        with self._lock:
            return [r for r in self.requests[index:]
                    if (method is None or r["method"] == method) and path_part in r["path"]]

    # -- the client side the package lacks ---------------------------------------------------

    def request(self, method, url, token=None, encode=True, json_body=None, content=None,
                headers=None):
        """One HTTP request to Switchyard (or anyone) with OCPI headers; the httpx.Response."""
        all_headers = ocpi_headers(token, encode)
        all_headers.update(headers or {})
        if json_body is not None:
            content = json.dumps(json_body)
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        with httpx.Client(timeout=self.timeout) as client:
            return client.request(method, url, headers=all_headers, content=content)

    def discover(self, versions_url, token):
        """GET versions, pick 2.2.1, GET its details: (details, credentials URL)."""
        versions = self.request("GET", versions_url, token)
        if versions.status_code != 200 or versions.json().get("status_code") != 1000:
            raise HandshakeError(f"GET {versions_url}: HTTP {versions.status_code}", versions)
        urls = [v["url"] for v in versions.json()["data"] if v.get("version") == "2.2.1"]
        if not urls:
            raise HandshakeError(f"{versions_url} offers no 2.2.1", versions)
        details = self.request("GET", urls[0], token)
        if details.status_code != 200 or details.json().get("status_code") != 1000:
            raise HandshakeError(f"GET {urls[0]}: HTTP {details.status_code}", details)
        data = details.json()["data"]
        url = _credentials_endpoint(data)
        if url is None:
            raise HandshakeError(f"{urls[0]} has no credentials endpoint", details)
        return data, url

    def register_with(self, versions_url, token_a, token_b=None):
        """The eMSP's side of registration: GET the CPO's versions and details with token A,
        then POST our credentials (a fresh token B, which we accept from then on) with token A.
        Returns the POST's httpx.Response; on success the CPO's token C is kept."""
        details, credentials_url = self.discover(versions_url, token_a)
        token_b = token_b or new_token()
        with self._lock:
            self.valid_tokens.add(token_b)  # the CPO GETs our versions with it during the POST
        answer = self.request("POST", credentials_url, token_a,
                              json_body=self.own_credentials(token_b))
        self._took(answer, details, credentials_url, "registered", token_a)
        return answer

    def update_with_us(self, token_b=None):
        """PUT new credentials (a fresh token B') to the CPO with the token it gave us."""
        token_b = token_b or new_token()
        old = self.token_to_switchyard
        with self._lock:
            self.valid_tokens.add(token_b)
        answer = self.request("PUT", self.switchyard_credentials_url, old,
                              json_body=self.own_credentials(token_b))
        if _ocpi_ok(answer):
            with self._lock:
                self.valid_tokens = {token_b}
        self._took(answer, self.switchyard_endpoints, self.switchyard_credentials_url, "updated",
                   old)
        return answer

    def unregister_from_us(self):
        """DELETE our credentials at the CPO; on success neither side may call the other."""
        old = self.token_to_switchyard
        answer = self.request("DELETE", self.switchyard_credentials_url, old)
        if _ocpi_ok(answer):
            self._unregistered(None)
            with self._lock:
                self.valid_tokens.clear()
        return answer

    def token_url(self, uid, country_code=None, party_id=None, token_type=None, url=None):
        """`{their tokens endpoint}/{cc}/{party}/{uid}[?type=...]`, our party by default."""
        base = url or self.switchyard_tokens_url
        if base is None:
            raise HandshakeError("the CPO's version details list no tokens RECEIVER endpoint")
        where = (f"{base.rstrip('/')}/{country_code or self.country_code}/"
                 f"{party_id or self.party_id}/{uid}")
        return where + (f"?type={token_type}" if token_type else "")

    def push_token(self, token, token_type=None, url=None):
        """PUT a whole Token at the CPO (its own country_code/party_id/uid in the path); kept as
        ours when the CPO took it."""
        answer = self.request("PUT", self.token_url(token["uid"], token.get("country_code"),
                                                    token.get("party_id"), token_type, url),
                              self.token_to_switchyard, json_body=token)
        if _ocpi_ok(answer):
            with self._lock:
                self.tokens[token["uid"]] = json.loads(json.dumps(token))
        return answer

    def patch_token(self, uid, fields, country_code=None, party_id=None, token_type=None,
                    url=None, stamp=True):
        """PATCH some fields of a Token at the CPO, with `last_updated` (now) unless given or
        `stamp` is False."""
        body = dict(fields)
        if stamp:
            body.setdefault("last_updated", _ocpi_stamp())
        answer = self.request("PATCH", self.token_url(uid, country_code, party_id, token_type,
                                                      url),
                              self.token_to_switchyard, json_body=body)
        if _ocpi_ok(answer):
            with self._lock:
                if uid in self.tokens:
                    self.tokens[uid].update(json.loads(json.dumps(body)))
        return answer

    def get_token(self, uid, country_code=None, party_id=None, token_type=None, url=None):
        return self.request("GET", self.token_url(uid, country_code, party_id, token_type, url),
                            self.token_to_switchyard)

    def _took(self, answer, details, credentials_url, event, used_token):
        if not _ocpi_ok(answer):
            return
        credentials = answer.json()["data"]
        with self._changed:
            self.token_to_switchyard = credentials["token"]
            self.switchyard_credentials = credentials
            self.switchyard_endpoints = details
            self.switchyard_credentials_url = credentials_url
            self.registered = True
            self.events.append((event, used_token))
            self._changed.notify_all()


def _ocpi_ok(answer):
    try:
        return answer.status_code == 200 and answer.json().get("status_code") == 1000
    except ValueError:
        return False


def _location_key(where, location_id):
    """(country_code, party_id, id) of the package's path parameters, upper case (its CiString)."""
    return (str(where.get("country_code", "")).upper(), str(where.get("party_id", "")).upper(),
            str(location_id or "").upper())


def _b64decode(text):
    try:
        return base64.b64decode(text, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _endpoint_url(details, identifier, role=None):
    """The URL of the `identifier` endpoint (of `role`, when given) of version details: a dict
    with `endpoints`, or the list itself."""
    endpoints = details.get("endpoints", []) if isinstance(details, dict) else details or []
    for endpoint in endpoints:
        if not isinstance(endpoint, dict):
            endpoint = json.loads(endpoint.json()) if hasattr(endpoint, "json") else {}
        if endpoint.get("identifier") == identifier and role in (None, endpoint.get("role")):
            return endpoint.get("url")
    return None


def sample_token(uid, country_code="NL", party_id="EMS", whitelist="ALWAYS", valid=True,
                 token_type="RFID", **extra):
    """A complete OCPI 2.2.1 Token of the eMSP `country_code`/`party_id`."""
    token = {"country_code": country_code, "party_id": party_id, "uid": uid, "type": token_type,
             "contract_id": f"{country_code}-{party_id}-C{uid[-8:]}", "visual_number": uid[-8:],
             "issuer": "Peer eMSP", "valid": valid, "whitelist": whitelist, "language": "nl",
             "last_updated": "2026-03-01T10:00:00Z"}
    token.update(extra)
    return token


def _credentials_endpoint(details):
    """The credentials URL of version details (any role: OCPI lists it as SENDER, RECEIVER or
    both)."""
    for endpoint in (details or {}).get("endpoints", []):
        if endpoint.get("identifier") == "credentials":
            return endpoint.get("url")
    return None


# -- run alone -------------------------------------------------------------------------------

def self_test():
    """Two peers register with each other: `server` answers with the package's handlers,
    `client` drives the handshake with this module's client side. Then update and unregister."""
    with OcpiEmsp(country_code="NL", party_id="SRV", business_name="Server eMSP") as server, \
            OcpiEmsp(country_code="BE", party_id="CLI", business_name="Client eMSP") as client:
        answer = client.register_with(server.versions_url, server.token_a)
        assert _ocpi_ok(answer), answer.text
        assert server.registered and client.registered
        assert server.switchyard_credentials["roles"][0]["party_id"] == "CLI", \
            server.switchyard_credentials
        token_c = client.token_to_switchyard
        assert token_c in server.valid_tokens
        assert client.request("GET", server.versions_url, server.token_a).status_code == 401, \
            "token A must be spent after registration"
        assert client.request("POST", server.credentials_url, token_c,
                              json_body=client.own_credentials("x")).status_code == 405
        # The server GOT the client's versions and details with the client's token B.
        gets = client.received("GET")
        assert [r["path"] for r in gets] == ["/ocpi/versions", "/ocpi/2.2.1/details"], gets
        assert all(r["headers"]["authorization"].startswith("Token ") for r in gets)
        answer = client.update_with_us()
        assert _ocpi_ok(answer), answer.text
        assert token_c not in server.valid_tokens and client.token_to_switchyard != token_c
        answer = client.unregister_from_us()
        assert _ocpi_ok(answer), answer.text
        assert not server.registered and not server.valid_tokens
        print(f"self-test passed: {len(server.requests)} requests served, "
              f"{len(client.requests)} received by the registering peer")
    with OcpiEmsp(versions=("2.1.1",)) as old, OcpiEmsp() as client:
        try:
            client.register_with(old.versions_url, old.token_a)
            raise AssertionError("a peer without 2.2.1 must be refused")
        except HandshakeError as error:
            assert "2.2.1" in str(error)
    locations_self_test()
    tokens_self_test()
    return 0


def sample_location(location_id="LOC1", name="Depot", statuses=("UNKNOWN", "UNKNOWN")):
    """A Location as a CPO of party DE/SWY pushes it."""
    stamp = "2026-03-01T10:00:00Z"
    return {"country_code": "DE", "party_id": "SWY", "id": location_id, "publish": True,
            "name": name, "address": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115",
            "country": "DEU", "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
            "parking_type": "PARKING_LOT", "time_zone": "Europe/Berlin",
            "evses": [{"uid": f"E{n}", "evse_id": f"DE*SWY*E{n}*1", "status": status,
                       "capabilities": ["RFID_READER"],
                       "connectors": [{"id": "1", "standard": "IEC_62196_T2",
                                       "format": "SOCKET", "power_type": "AC_3_PHASE",
                                       "max_voltage": 230, "max_amperage": 32,
                                       "last_updated": stamp}],
                       "last_updated": stamp} for n, status in enumerate(statuses, start=1)],
            "last_updated": stamp}


def locations_self_test():
    """A CPO (this module's client side) pushes a location and EVSE statuses to a receiving
    peer; the peer goes down (connection refused) and comes back on its port with its state."""
    with OcpiEmsp(receive_locations=True) as receiver, OcpiEmsp(country_code="DE",
                                                                  party_id="SWY") as cpo:
        assert _ocpi_ok(cpo.register_with(receiver.versions_url, receiver.token_a))
        listed = {(e["identifier"], e["role"], e["url"])
                  for e in cpo.switchyard_endpoints["endpoints"]}
        assert ("locations", "RECEIVER", receiver.locations_url) in listed, listed
        token = cpo.token_to_switchyard
        url = f"{receiver.locations_url}/DE/SWY/LOC1"
        answer = cpo.request("PUT", url, token, json_body=sample_location())
        assert _ocpi_ok(answer), answer.text
        assert receiver.evse_status("LOC1", None) == {"E1": "UNKNOWN", "E2": "UNKNOWN"}
        for uid, status in (("E1", "CHARGING"), ("E2", "AVAILABLE"), ("E1", "OUTOFORDER")):
            answer = cpo.request("PATCH", f"{url}/{uid}", token,
                                 json_body={"status": status,
                                            "last_updated": "2026-03-01T10:00:01Z"})
            assert _ocpi_ok(answer), answer.text
        assert receiver.evse_status("LOC1", None) == {"E1": "OUTOFORDER", "E2": "AVAILABLE"}
        assert [e["uid"] for e in receiver.location("LOC1")["evses"]] == ["E1", "E2"]
        assert cpo.request("PUT", url, "not-a-token",
                           json_body=sample_location()).status_code in (401, 403)
        got = cpo.request("GET", url, token)
        assert _ocpi_ok(got) and got.json()["data"][0]["evses"][0]["status"] == "OUTOFORDER"

        port, before = receiver.port, len(receiver.requests)
        receiver.stop_serving()
        try:
            cpo.request("PATCH", f"{url}/E1", token, json_body={"status": "AVAILABLE"})
            raise AssertionError("a stopped peer answered")
        except httpx.ConnectError:
            pass
        receiver.start_serving()
        assert receiver.port == port and len(receiver.requests) == before
        answer = cpo.request("PUT", url, token, json_body=sample_location(name="Renamed"))
        assert _ocpi_ok(answer), answer.text
        assert receiver.location("LOC1")["name"] == "Renamed"
        assert receiver.since(before, "PUT") and receiver.registered

        receiver.locations_answer = 2001
        answer = cpo.request("PATCH", f"{url}/E1", token, json_body={"status": "AVAILABLE"})
        assert answer.status_code == 200 and answer.json()["status_code"] == 2001
        receiver.locations_answer = 503
        assert cpo.request("PATCH", f"{url}/E1", token,
                           json_body={"status": "AVAILABLE"}).status_code == 503
        assert receiver.evse_status("LOC1", "E1") == "UNKNOWN", "a refused push is not stored"
    print("locations self-test passed")


def tokens_self_test():
    """A CPO (this module's client side) asks a token-sending peer for real-time authorization."""
    with OcpiEmsp(send_tokens=True) as owner, OcpiEmsp(country_code="DE", party_id="SWY") as cpo:
        assert _ocpi_ok(cpo.register_with(owner.versions_url, owner.token_a))
        assert _endpoint_url(cpo.switchyard_endpoints, "tokens", "SENDER") == owner.tokens_url
        assert _endpoint_url(cpo.switchyard_endpoints, "tokens", "RECEIVER") is None
        token = cpo.token_to_switchyard
        owner.tokens["T1"] = sample_token("T1", whitelist="NEVER")
        answer = cpo.request("POST", f"{owner.tokens_url}/T1/authorize?type=RFID", token)
        assert _ocpi_ok(answer), answer.text
        data = answer.json()["data"]
        assert data["allowed"] == "ALLOWED" and data["token"]["uid"] == "T1", data
        assert data["authorization_reference"]
        owner.authorize_answers["T1"] = "BLOCKED"
        answer = cpo.request("POST", f"{owner.tokens_url}/T1/authorize", token, encode=False)
        assert answer.json()["data"]["allowed"] == "BLOCKED", answer.text
        owner.authorize_answers["T2"] = 2004
        answer = cpo.request("POST", f"{owner.tokens_url}/T2/authorize", token)
        assert answer.status_code == 200 and answer.json()["status_code"] == 2004, answer.text
        assert cpo.request("POST", f"{owner.tokens_url}/T1/authorize",
                           "wrong").status_code == 401
        assert [r["answered"] for r in owner.authorizations("T1")] == ["ALLOWED", "BLOCKED", 401]
        assert len(owner.authorizations()) == 4
        assert owner.authorizations("T1")[0]["query"] == "type=RFID"
        try:
            cpo.push_token(sample_token("T3"))
            raise AssertionError("pushed to a peer without a tokens RECEIVER endpoint")
        except HandshakeError:
            pass
    with OcpiEmsp() as plain, OcpiEmsp(country_code="DE", party_id="SWY") as cpo:
        assert _ocpi_ok(cpo.register_with(plain.versions_url, plain.token_a))
        assert _endpoint_url(cpo.switchyard_endpoints, "tokens") is None
        # Without send_tokens the path is the package's: not found, not answered by the peer.
        answer = cpo.request("POST", f"{plain.tokens_url}/T1/authorize",
                             cpo.token_to_switchyard)
        assert answer.status_code == 404 and "answered" not in plain.requests[-1]
    print("tokens self-test passed")


def serve(port):
    peer = OcpiEmsp(port=port).start()
    print(f"eMSP at {peer.versions_url}, token A {peer.token_a} (Ctrl-C stops)", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for r in peer.requests[seen:]:
                print(f"{r['method']} {r['path']} -> {r['status']} {r['raw_body'][:300]!r}",
                      flush=True)
            seen = len(peer.requests)
    except KeyboardInterrupt:
        pass
    finally:
        peer.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="run one peer until Ctrl-C")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sys.exit(serve(args.port) if args.serve else self_test())
