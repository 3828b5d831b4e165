"""A mock Hubject (the OICP 2.3 eRoaming hub) for the tests of the roaming service's OICP client.

Hubject publishes an OpenAPI description of its CPO interface; this peer reads it at run time from
../shared/roaming/oicp-2.3-cpo-openapi.yaml (SWITCHYARD_SHARED_DIR overrides ../shared; never
copied into the repository) and serves what a CPO calls there, as Hubject would:

* HTTPS with mutual TLS (TLS 1.2 or later) on 127.0.0.1 and a free port, at
  `https://127.0.0.1:<port>/api/oicp`. The peer makes its own PKI with the openssl CLI in
  `directory`: "hubject-ca" signs its server certificate (IP 127.0.0.1, DNS localhost) and
  "cpo-ca" signs the client certificates it accepts; a connection without one is refused in the
  TLS handshake (`handshake_failures`). The CPO's certificate has CN = `operator_id`;
  `client_files(cn)` makes one with another CN. `cpo_flags()` are the flags that point our
  server at the peer.
* POST on the CPO-to-Hubject operations, taken from the file: every POST path with an
  `{operatorID}` (authorize start/stop, charge detail record, EVSE data and status, pricing
  products, EVSE pricing). An operation is named by its request schema, e.g.
  "eRoamingPushEvseStatus". The OperatorID of the path may be URL-encoded ("DE%2ASWY").
  Another path: 404; another method: 405 (both with an eRoamingAcknowledgment, Result false).
* Hubject's security rule: the OperatorID of the path, the OperatorID in the body (where the
  request schema has one) and the CN of the client certificate must name the same operator
  ('*' and case aside), else HTTP 200 with Result false, StatusCode 017 "Unauthorized Access".
* Every body is validated against the operation's request schema (jsonschema, Draft 7 over the
  file's components; `maximum` on strings, which the file writes for maxLength, is ignored as
  jsonschema ignores it; date-time is RFC 3339 with an offset). Malformed JSON or an invalid body:
  HTTP 400 with Result false, StatusCode 022 "Data error" and the first errors as AdditionalInfo;
  the request is recorded with `valid=False` and its `errors`.
* What Hubject keeps, from the pushes (ActionType fullLoad replaces everything this operator
  pushed before, insert and update set, delete removes): `evses` (EvseID -> the last
  EvseDataRecord), `statuses` (EvseID -> EvseStatus), `products` (ProductID -> the last
  PricingProductDataRecord), `evse_pricing` (EvseID -> EvseIDProductList; `evse_pricing_items`
  keeps them per (EvseID, ProviderID)). In `evses`, an insert of a known EvseID or an update or
  delete of an unknown one is done anyway (as Hubject would) and noted in `anomalies`.
  `cdrs` lists the charge detail records as sent, `cdr_sessions` counts them per SessionID (a
  second CDR for a session, or one for a SessionID the peer never issued, is also an anomaly).
* Authorization: eRoamingAuthorizeStart gets an eRoamingAuthorizationStart with a new SessionID
  (or the one sent). Until `authorize()` names an identification, everyone is "Authorized" by
  provider DE-8EO; once one is named, only named ones are answered as configured and the others
  "NotAuthorized" with 102 (`authorize_unknown` True or False decides explicitly).
  eRoamingAuthorizeStop of a session the peer authorized: "Authorized" (unless `authorize()` named
  the identification as not authorized: "NotAuthorized" with its code); else "NotAuthorized" with
  400 "Session is invalid" (OICP: a SessionID not created by Hubject gets a negative answer).
  Refusals of these two operations (017, `fail()`) are eRoamingAuthorizationStart/Stop
  "NotAuthorized" with the StatusCode, the shape their response schema has.
* Hubject's sequential rule: pushes of one operation must never be sent in parallel. Every request
  takes at least `delay` seconds (0.02) before it is answered, and `overlaps()` lists the pairs of
  requests of one operation whose [start, end] (monotonic times) overlap.
* Control: `down()` closes the listening socket and open connections (connection refused),
  `up()` listens on the same port again with everything kept; `fail(operation, times, code)`
  answers the next requests of an operation with Result false and `code` (021 "System error":
  a transient error at Hubject); `stop()` ends it.
* Records: `requests` (one dict per request: operation, method, path, operator_id, body, valid,
  errors, client_cn, headers, status, result, code, answer, injected, start, end), `since()`,
  `wait_for()`, `wait_requests()`. Everything is guarded by one lock.

For the other direction (Hubject calls the CPO's OICP server, e.g. AuthorizeRemoteStart),
`hubject_client_context(server_ca)` presents a "hubject-client" certificate signed by
hubject-ca: our server must trust `hubject_ca` for client certificates.

Use:
    hub = Hubject(tmp_path)                   # serving at once
    flags = hub.cpo_flags()                   # --oicp-url, client certificate and key, --oicp-ca
    hub.wait_requests("eRoamingPushEvseData")
    assert hub.statuses["DE*SWY*E1*1"] == "Available" and not hub.overlaps()
    hub.fail("eRoamingPushEvseStatus", times=2)
    hub.down(); hub.up()
    hub.stop()

Run alone: `python hubject_peer.py --directory /tmp/hub --port 9320` serves until Ctrl-C and
prints the flags and each request.
"""

import argparse
import copy
import functools
import json
import os
import re
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from jsonschema import Draft7Validator, FormatChecker

OICP_OPENAPI = Path(os.environ.get("SWITCHYARD_SHARED_DIR",
                                   Path(__file__).resolve().parents[4] / "shared")) / \
    "roaming" / "oicp-2.3-cpo-openapi.yaml"
BASE_PATH = "/api/oicp"

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def missing_openapi():
    """None when the OICP OpenAPI file is there, else a message for a skip (or a failure in CI)."""
    if OICP_OPENAPI.exists():
        return None
    return f"the OICP 2.3 CPO OpenAPI description is not at {OICP_OPENAPI} (../shared)"


def same_operator(a, b):
    """Hubject's comparison of OperatorIDs: "DE*SWY" names the same operator as "deswy"."""
    return isinstance(a, str) and isinstance(b, str) and \
        a.replace("*", "").upper() == b.replace("*", "").upper()


# -- the OpenAPI description -------------------------------------------------------------------

Operation = namedtuple("Operation", "name operation_id template pattern request response "
                                    "operator_fields")
Operation.__doc__ = """One CPO-to-Hubject operation: `name` is its request schema, `pattern` the
regex of its path (below BASE_PATH), `response` the schema of its 200 answer, `operator_fields`
where its body names the operator (paths of keys, e.g. ("OperatorEvseData", "OperatorID"))."""


def _format_checker():
    """jsonschema's format checks; date-time with our own regex when rfc3339-validator is
    missing (jsonschema then skips it silently)."""
    checker = FormatChecker()
    if "date-time" not in checker.checkers:
        checker.checks("date-time")(
            lambda value: not isinstance(value, str) or bool(_DATE_TIME.fullmatch(value)))
    return checker


class OicpSchemas:
    """The OpenAPI file: the CPO-to-Hubject operations (`operations`, `match(path)`), the code
    table of StatusCode (`status_codes`) and `errors(name, payload)` against a component schema
    (for the peer's checks and for tests that check what our server answers Hubject)."""

    def __init__(self, path=OICP_OPENAPI):
        self.path = Path(path)
        self.document = yaml.safe_load(self.path.read_text())
        self.components = self.document["components"]
        self.format_checker = _format_checker()
        self._validators = {}
        self.operations = self._operations()
        table = self.components["schemas"]["StatusCode"]["properties"]["Code"]
        self.status_codes = dict(re.findall(r"\|\s*(\d{3})\s*\|\s*([^|]*?)\.?\s*\|",
                                            table.get("description", "")))

    def _schema(self, ref_or_schema):
        """A schema with a top-level $ref to a component followed."""
        ref = ref_or_schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return self.components["schemas"][ref.rsplit("/", 1)[1]]
        return ref_or_schema

    def _operator_fields(self, schema):
        """Where a request body names the operator: "OperatorID" at its top or in one of its
        object properties (HubOperatorID is another operator: not compared)."""
        fields = []
        for name, prop in self._schema(schema).get("properties", {}).items():
            if name == "OperatorID":
                fields.append((name,))
            elif "OperatorID" in self._schema(prop).get("properties", {}):
                fields.append((name, "OperatorID"))
        return tuple(fields)

    def _operations(self):
        found = []
        for template, item in self.document["paths"].items():
            post = item.get("post")
            if post is None or "{operatorID}" not in template:
                continue  # the operations Hubject calls at a CPO are under /providers/
            request = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            response = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            regex = re.escape(template).replace(re.escape("{operatorID}"), "(?P<operator>[^/]+)")
            found.append(Operation(
                name=request.rsplit("/", 1)[1], operation_id=post.get("operationId"),
                template=template, pattern=re.compile(regex),
                request=request.rsplit("/", 1)[1], response=response.rsplit("/", 1)[1],
                operator_fields=self._operator_fields({"$ref": request})))
        return found

    def operation(self, name):
        for operation in self.operations:
            if operation.name == name:
                return operation
        raise ValueError(f"no CPO operation {name!r} in {self.path.name} "
                         f"(there are {', '.join(o.name for o in self.operations)})")

    def match(self, path):
        """(Operation, OperatorID URL-decoded) of a request path (with BASE_PATH), else
        (None, None)."""
        if not path.startswith(BASE_PATH + "/"):
            return None, None
        for operation in self.operations:
            m = operation.pattern.fullmatch(path[len(BASE_PATH):])
            if m:
                return operation, unquote(m.group("operator"))
        return None, None

    def errors(self, name, payload):
        """What is wrong with `payload` as `#/components/schemas/<name>`: ["path: message"]."""
        validator = self._validators.get(name)
        if validator is None:
            schema = {"$ref": f"#/components/schemas/{name}", "components": self.components}
            validator = Draft7Validator(schema, format_checker=self.format_checker)
            self._validators[name] = validator
        found = sorted(validator.iter_errors(payload), key=lambda e: [str(p) for p in e.path])
        return [f"{'/'.join(str(p) for p in e.path) or '(body)'}: {e.message}" for e in found]

    def validate(self, name, payload):
        """AssertionError naming every error when `payload` is not a valid `name`."""
        errors = self.errors(name, payload)
        assert not errors, f"not an OICP 2.3 {name}: " + "; ".join(errors) + f"\n{payload}"


@functools.lru_cache(maxsize=4)
def oicp_schemas(path=OICP_OPENAPI):
    """The parsed file, once per process (it takes a moment to read)."""
    return OicpSchemas(path)


# -- certificates ------------------------------------------------------------------------------

_OPENSSL_CONFIG = """[req]
distinguished_name = dn
x509_extensions = ca
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

_LEAF = ("basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")


class _Pki:
    """CAs and certificates made with the openssl CLI (P-256, two days), as
    ../gateway/testkit.py's TlsMaterial makes them, but with any number of CAs and its own openssl
    config (so the extensions do not depend on the system's openssl.cnf)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config = self.directory / "openssl.cnf"
        self.config.write_text(_OPENSSL_CONFIG)

    def _openssl(self, *args):
        done = subprocess.run(["openssl", *args], capture_output=True, text=True,
                              cwd=self.directory)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.strip()}")

    def ca(self, name):
        """The certificate (PEM) of a new self-signed CA called `name`."""
        self._openssl("req", "-config", str(self.config), "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                      "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}")
        return self.directory / f"{name}.pem"

    def signed(self, name, cn, ca, extensions):
        """(certificate, key) of a certificate with CN=cn signed by the CA called `ca`."""
        (self.directory / f"{name}.ext").write_text(_LEAF + extensions)
        self._openssl("req", "-config", str(self.config), "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                      "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        self._openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                      f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                      "-extfile", f"{name}.ext")
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"


# -- the server --------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    """The HTTP server of one up() of the peer: TLS handshakes in the connection's thread (a
    client that fails one never holds up the others)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, hub):
        super().__init__(("127.0.0.1", hub.port), _Handler, bind_and_activate=False)
        self.hub = hub

    def server_bind(self):
        # HTTPServer's own looks up the host's FQDN, which can take seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone, or down(): not news
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        try:
            request.settimeout(10)
            connection = self.hub._server_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as error:
            self.hub._handshake_failed(client_address, error)
            return
        self.hub._connection(connection, True)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            self.hub._connection(connection, False)
            try:
                connection.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as Hubject; every request goes to Hubject._handle."""

    protocol_version = "HTTP/1.1"
    server_version = "HubjectMock/2.3"
    timeout = 10  # an idle keep-alive connection is closed after that

    def log_message(self, format, *args):
        pass  # the tests read the records, not a log

    def do_POST(self):
        self.server.hub._handle(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def client_cn(self):
        certificate = self.connection.getpeercert() or {}
        for rdn in certificate.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    def answer(self, status, body):
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
        self.wfile.flush()


class Hubject:
    """The mock hub: serving from construction until stop() (see the module's docstring)."""

    def __init__(self, directory, operator_id="DE*SWY", delay=0.02, port=0,
                 openapi=OICP_OPENAPI):
        self.operator_id = operator_id
        self.delay = delay
        self.port = port
        self.schemas = oicp_schemas(Path(openapi))
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.requests = []
        self.handshake_failures = []        # {"address", "error", "at"} of refused handshakes
        self.evses = {}                     # EvseID -> last EvseDataRecord
        self.statuses = {}                  # EvseID -> EvseStatus
        self.products = {}                  # ProductID -> last PricingProductDataRecord
        self.evse_pricing = {}              # EvseID -> EvseIDProductList (the last one)
        self.evse_pricing_items = {}        # (EvseID, ProviderID) -> EvseIDProductList
        self.cdrs = []                      # eRoamingChargeDetailRecord bodies, as sent
        self.cdr_sessions = Counter()       # SessionID -> CDRs received
        self.sessions = {}                  # SessionID -> what authorize/start and stop did
        self.anomalies = []                 # what Hubject would store but a test may not expect
        self.authorize_unknown = None       # None: authorized while authorize() named nobody
        self._authorizations = {}           # normalized UID/EvcoID -> answer
        self._failures = {}                 # operation -> [times, code, http_status]
        self._owners = {}                   # (store, key) -> operator that pushed it
        self._connections = set()
        self._server = None
        self._thread = None
        self._pki = _Pki(directory)
        self.hubject_ca = self._pki.ca("hubject-ca")
        self.client_ca = self._pki.ca("cpo-ca")
        self.server_certificate, self.server_key = self._pki.signed(
            "hubject-server", "localhost", "hubject-ca",
            "subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n")
        self._clients = {}
        self._hubject_client = None
        self.client_certificate, self.client_key = self.client_files(operator_id)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.server_certificate), str(self.server_key))
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(self.client_ca))
        self._server_context = context
        self.up()

    # -- addresses and certificates -----------------------------------------------------------

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}{BASE_PATH}"

    def cpo_flags(self):
        """The flags of our roaming server that make it the CPO of this hub."""
        return {"oicp-url": self.url, "oicp-operator-id": self.operator_id,
                "oicp-client-certificate": str(self.client_certificate),
                "oicp-client-key": str(self.client_key), "oicp-ca": str(self.hubject_ca)}

    def client_files(self, cn=None):
        """(certificate, key) of a CPO client certificate with CN=cn (default: operator_id),
        signed by cpo-ca: accepted in the handshake, compared with the OperatorIDs."""
        cn = self.operator_id if cn is None else cn
        with self._lock:
            if cn not in self._clients:
                self._clients[cn] = self._pki.signed(f"cpo-client-{len(self._clients)}", cn,
                                                     "cpo-ca", "extendedKeyUsage = clientAuth\n")
            return self._clients[cn]

    def client_context(self, cn=None):
        """An SSL context for calling this hub as a CPO: trusts hubject-ca, presents
        client_files(cn)."""
        context = ssl.create_default_context(cafile=str(self.hubject_ca))
        context.load_cert_chain(*(str(p) for p in self.client_files(cn)))
        return context

    def hubject_client_files(self):
        """(certificate, key) with which Hubject calls a CPO: CN=Hubject, signed by
        hubject-ca."""
        if self._hubject_client is None:
            self._hubject_client = self._pki.signed("hubject-client", "Hubject", "hubject-ca",
                                                    "extendedKeyUsage = clientAuth\n")
        return self._hubject_client

    def hubject_client_context(self, server_ca):
        """An SSL context for Hubject calling our OICP server: trusts `server_ca` and presents
        hubject_client_files() (our server must trust hubject_ca for client certificates)."""
        context = ssl.create_default_context(cafile=str(server_ca))
        context.load_cert_chain(*(str(p) for p in self.hubject_client_files()))
        return context

    # -- serving ------------------------------------------------------------------------------

    @property
    def serving(self):
        return self._server is not None

    def up(self):
        """Listens (again) on self.port (any free port the first time); state is kept. The bind
        is retried for a while: SO_REUSEADDR covers TIME_WAIT, not a port someone else took."""
        if self._server is not None:
            return self
        server = _Server(self)
        deadline = time.monotonic() + 10
        while True:
            try:
                server.server_bind()
                server.server_activate()
                break
            except OSError:
                server.socket.close()
                if not self.port or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                server = _Server(self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"hubject-{self.port}", daemon=True)
        self._thread.start()
        return self

    def down(self):
        """Hubject is unreachable: the listening socket and every open connection are closed
        (connection refused), a request in progress gets no answer."""
        server, self._server = self._server, None
        if server is None:
            return self
        server.shutdown()
        server.server_close()
        self._thread.join(5)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return self

    def stop(self):
        self.down()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _connection(self, connection, open_):
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def _handshake_failed(self, address, error):
        with self._changed:
            self.handshake_failures.append({"address": address, "error": str(error),
                                            "at": time.monotonic()})
            self._changed.notify_all()

    # -- test control --------------------------------------------------------------------------

    def fail(self, operation, times=1, code="021", http_status=200):
        """The next `times` valid requests of `operation` (e.g. "eRoamingPushEvseStatus") are
        answered with Result false and StatusCode `code` (with `http_status`), not applied."""
        self.schemas.operation(operation)  # a typo fails here, not as a test that never fails
        with self._lock:
            self._failures[operation] = [times, code, http_status]
        return self

    def authorize(self, uid_or_evco, provider="DE*8EO", authorized=True, code=None):
        """How eRoamingAuthorizeStart answers an identification (a UID or an EvcoID, '*' and '-'
        aside): Authorized by `provider`, or NotAuthorized with `code` (default 102)."""
        with self._lock:
            self._authorizations[_identifier(uid_or_evco)] = {
                "provider": provider, "authorized": authorized,
                "code": code or ("000" if authorized else "102")}
        return self

    # -- records -------------------------------------------------------------------------------

    def since(self, index=0, operation=None):
        """The requests recorded from `index` on (a len(hub.requests) taken before), of
        `operation` when given."""
        with self._lock:
            return [r for r in self.requests[index:]
                    if operation is None or r["operation"] == operation]

    def overlaps(self, operation=None):
        """Pairs of answered requests of one operation (of `operation` when given) that were in
        progress at the same time: what Hubject's sequential rule forbids."""
        with self._lock:
            done = [r for r in self.requests if r["operation"] is not None and
                    r["end"] is not None and operation in (None, r["operation"])]
        return [(a, b) for i, a in enumerate(done) for b in done[i + 1:]
                if a["operation"] == b["operation"] and a["start"] < b["end"] and
                b["start"] < a["end"]]

    def wait_for(self, predicate, timeout=10, what="the expected requests"):
        """predicate(hub) once it is truthy (evaluated under the lock whenever a request has been
        answered); AssertionError naming what the hub received at the deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate(self)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout} s for {what} in vain; Hubject "
                                         f"received {self.summary()}")
                self._changed.wait(min(left, 0.5))

    def wait_requests(self, operation, count=1, timeout=10, index=0):
        """The first `count` answered requests of `operation` from `index` on."""
        def answered(hub):
            found = [r for r in hub.since(index, operation) if r["end"] is not None]
            return found[:count] if len(found) >= count else None
        return self.wait_for(answered, timeout, f"{count} x {operation} (from #{index})")

    def summary(self, last=20):
        """(operation or method and path, HTTP status, StatusCode) of the last requests."""
        with self._lock:
            return [(r["operation"] or f"{r['method']} {r['path']}", r["status"], r["code"])
                    for r in self.requests[-last:]]

    # -- answering -----------------------------------------------------------------------------

    def _handle(self, handler):
        entry = {"operation": None, "method": handler.command, "path": handler.path,
                 "operator_id": None, "body": None, "valid": None, "errors": [],
                 "client_cn": handler.client_cn(), "headers": dict(handler.headers.items()),
                 "status": None, "result": None, "code": None, "answer": None,
                 "injected": False, "start": time.monotonic(), "end": None}
        raw = handler.read_body()
        with self._changed:
            self.requests.append(entry)  # recorded while in progress: overlaps are visible
        time.sleep(max(0.0, self.delay - (time.monotonic() - entry["start"])))
        with self._changed:
            status, answer = self._answer(entry, raw)
            code = (answer.get("StatusCode") or {}).get("Code")
            result = answer.get("Result", answer.get("AuthorizationStatus") == "Authorized")
            entry.update(status=status, answer=answer, code=code, result=result,
                         end=time.monotonic())
            self._changed.notify_all()
        handler.answer(status, answer)

    def _answer(self, entry, raw):
        """(HTTP status, body) of a request; applies it. Called under the lock."""
        path = urlsplit(entry["path"]).path
        operation, operator = self.schemas.match(path)
        if operation is None:
            return 404, self._acknowledgment("022", f"no OICP CPO operation at {path}")
        entry.update(operation=operation.name, operator_id=operator)
        if entry["method"] != "POST":
            return 405, self._acknowledgment("022", f"{entry['method']} {path}: only POST")
        try:
            body = json.loads(raw)
        except ValueError as error:
            body = None
            entry.update(valid=False, errors=[f"malformed JSON: {error}"])
        else:
            entry["body"] = body
            entry["errors"] = self.schemas.errors(operation.request, body)
            entry["valid"] = not entry["errors"]
        cn = entry["client_cn"]
        if not same_operator(operator, cn):
            return 200, self._refusal(operation, "017",
                                      f"OperatorID {operator} of the path is not {cn}")
        for field in operation.operator_fields:
            named = _dig(body, field)
            if named is not None and not same_operator(named, cn):
                return 200, self._refusal(operation, "017",
                                          f"{'.'.join(field)} {named} is not {cn}")
        if not entry["valid"]:
            return 400, self._acknowledgment("022", "; ".join(entry["errors"][:3]))
        failure = self._failures.get(operation.name)
        if failure and failure[0] > 0:
            failure[0] -= 1
            entry["injected"] = True
            return failure[2], self._refusal(operation, failure[1], "failure made by the test")
        apply = getattr(self, "_" + operation.name)
        return 200, apply(body, operator)

    def _status(self, code, info=None):
        status = {"Code": code, "Description": self.schemas.status_codes.get(code, "")}
        if info:
            status["AdditionalInfo"] = info[:1000]
        return status

    def _refusal(self, operation, code, info):
        if operation.response.startswith("eRoamingAuthorization"):
            return {"AuthorizationStatus": "NotAuthorized", "StatusCode": self._status(code, info)}
        return self._acknowledgment(code, info)

    def _acknowledgment(self, code, info=None):
        """An eRoamingAcknowledgment with Result false."""
        return {"Result": False, "StatusCode": self._status(code, info)}

    def _ok(self, **extra):
        return {"Result": True, "StatusCode": self._status("000"), **extra}

    def _anomaly(self, text):
        self.anomalies.append(text)

    def _store(self, store_name, action, operator, items, key, value, note=False):
        """Applies an ActionType to one of the stores: fullLoad drops what `operator` pushed
        there before, then each item is set (insert, update) or removed (delete). With `note`,
        an insert of a known key or an update or delete of an unknown one is an anomaly."""
        store = getattr(self, store_name)
        if action == "fullLoad":
            for k in [k for (s, k), o in self._owners.items() if s == store_name and
                      same_operator(o, operator)]:
                store.pop(k, None)
                del self._owners[(store_name, k)]
        for item in items:
            k = key(item)
            if action == "delete":
                if note and k not in store:
                    self._anomaly(f"{store_name}: delete of unknown {k}")
                store.pop(k, None)
                self._owners.pop((store_name, k), None)
                continue
            if note and action == "insert" and k in store:
                self._anomaly(f"{store_name}: insert of known {k}")
            elif note and action == "update" and k not in store:
                self._anomaly(f"{store_name}: update of unknown {k}")
            store[k] = value(item)
            self._owners[(store_name, k)] = operator

    def _eRoamingPushEvseData(self, body, operator):
        self._store("evses", body["ActionType"], operator,
                    body["OperatorEvseData"]["EvseDataRecord"], lambda r: r["EvseID"],
                    copy.deepcopy, note=True)
        return self._ok()

    def _eRoamingPushEvseStatus(self, body, operator):
        self._store("statuses", body["ActionType"], operator,
                    body["OperatorEvseStatus"]["EvseStatusRecord"], lambda r: r["EvseID"],
                    lambda r: r["EvseStatus"])
        return self._ok()

    def _eRoamingPushPricingProductData(self, body, operator):
        self._store("products", body["ActionType"], operator,
                    body["PricingProductData"]["PricingProductDataRecords"],
                    lambda r: r["ProductID"], copy.deepcopy)
        return self._ok()

    def _eRoamingPushEVSEPricing(self, body, operator):
        items, action = body["EVSEPricing"], body["ActionType"]

        def products(item):
            return list(item["EvseIDProductList"])

        self._store("evse_pricing_items", action, operator, items,
                    lambda i: (i["EvseID"], i["ProviderID"]), products)
        self._store("evse_pricing", action, operator, items, lambda i: i["EvseID"], products)
        return self._ok()

    def _eRoamingChargeDetailRecord(self, body, operator):
        session_id = body["SessionID"]
        if session_id not in self.sessions:
            self._anomaly(f"cdrs: CDR of session {session_id}, which the hub did not issue")
        if self.cdr_sessions[session_id]:
            self._anomaly(f"cdrs: CDR number {self.cdr_sessions[session_id] + 1} of session "
                          f"{session_id}")
        self.cdrs.append(copy.deepcopy(body))
        self.cdr_sessions[session_id] += 1
        return self._ok(**_partner_ids(body, SessionID=session_id))

    def _eRoamingAuthorizeStart(self, body, operator):
        session_id = body.get("SessionID") or str(uuid.uuid4())
        ids = _identifiers(body["Identification"])
        rule = next((self._authorizations[i] for i in ids if i in self._authorizations), None)
        if rule is None:
            known = self.authorize_unknown
            if known is None:
                known = not self._authorizations
            rule = {"provider": "DE-8EO", "authorized": True, "code": "000"} if known else \
                {"provider": None, "authorized": False, "code": "102"}
        self.sessions[session_id] = {"authorized": rule["authorized"], "operator": operator,
                                     "provider": rule["provider"], "evse_id": body.get("EvseID"),
                                     "identification": body["Identification"], "stopped": 0}
        answer = _partner_ids(body, SessionID=session_id)
        if rule["provider"]:
            answer["ProviderID"] = rule["provider"]
        answer["AuthorizationStatus"] = "Authorized" if rule["authorized"] else "NotAuthorized"
        answer["StatusCode"] = self._status(rule["code"])
        return answer

    def _eRoamingAuthorizeStop(self, body, operator):
        session = self.sessions.get(body["SessionID"])
        answer = _partner_ids(body, SessionID=body["SessionID"])
        if session is None or not session["authorized"]:
            answer.update(AuthorizationStatus="NotAuthorized", StatusCode=self._status(
                "400", "the hub authorized no session with this SessionID"))
            return answer
        # The EMP may refuse the card: one authorize() named as not authorized.
        ids = _identifiers(body["Identification"])
        rule = next((self._authorizations[i] for i in ids if i in self._authorizations), None)
        if rule is not None and not rule["authorized"]:
            answer.update(AuthorizationStatus="NotAuthorized", StatusCode=self._status(
                rule["code"]))
            return answer
        session["stopped"] += 1
        if session["stopped"] > 1:
            self._anomaly(f"sessions: session {body['SessionID']} stopped "
                          f"{session['stopped']} times")
        answer.update(ProviderID=session["provider"], AuthorizationStatus="Authorized",
                      StatusCode=self._status("000"))
        return answer


def _partner_ids(body, **first):
    """The answer's SessionID etc. and the partner session ids of the request, echoed."""
    answer = dict(first)
    for key in ("CPOPartnerSessionID", "EMPPartnerSessionID"):
        if body.get(key):
            answer[key] = body[key]
    return answer


def _dig(body, keys):
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body if isinstance(body, str) else None


def _identifier(text):
    return text.replace("*", "").replace("-", "").upper()


def _identifiers(identification):
    """The UIDs and EvcoIDs of an Identification, normalized."""
    found = []
    for value in (identification or {}).values():
        if isinstance(value, dict):
            found += [_identifier(value[k]) for k in ("UID", "EvcoID")
                      if isinstance(value.get(k), str)]
    return found


def sample_evse_data_record(evse_id="DE*SWY*E1*1", **overrides):
    """An EvseDataRecord with every field the schema requires (and a few optional ones)."""
    record = {
        "EvseID": evse_id,
        "ChargingStationNames": [{"lang": "en", "value": "Depot Hauptstr."}],
        "Address": {"Country": "DEU", "City": "Berlin", "Street": "Hauptstr.",
                    "PostalCode": "10115", "HouseNum": "1", "TimeZone": "UTC+01:00"},
        "GeoCoordinates": {"DecimalDegree": {"Longitude": "13.404954", "Latitude": "52.520008"}},
        "Plugs": ["Type 2 Outlet"],
        "ChargingFacilities": [{"PowerType": "AC_3_PHASE", "Voltage": 400, "Amperage": 32,
                                "Power": 22, "ChargingModes": ["Mode_3"]}],
        "RenewableEnergy": False,
        "CalibrationLawDataAvailability": "Not Available",
        "AuthenticationModes": ["NFC RFID Classic", "REMOTE"],
        "PaymentOptions": ["Contract"],
        "ValueAddedServices": ["None"],
        "Accessibility": "Paying publicly accessible",
        "HotlinePhoneNumber": "+4930123456",
        "IsOpen24Hours": True,
        "IsHubjectCompatible": True,
        "DynamicInfoAvailable": "true",
    }
    record.update(overrides)
    return record


# -- run alone ---------------------------------------------------------------------------------

def serve(directory, port, operator_id):
    hub = Hubject(directory, operator_id=operator_id, port=port)
    print(json.dumps(hub.cpo_flags(), indent=2), "\n(Ctrl-C stops)", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for r in hub.since(seen):
                if r["end"] is None:
                    break
                print(f"{r['operation'] or r['path']} {r['client_cn']} -> {r['status']} "
                      f"{r['code']} {r['errors'][:2]}", flush=True)
                seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default=None,
                        help="for the certificates (default: a temporary one)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--operator-id", default="DE*SWY")
    args = parser.parse_args()
    sys.exit(serve(args.directory or tempfile.mkdtemp(prefix="hubject-"), args.port,
                   args.operator_id))
