"""Shared fixtures of the gateway integration tests: real Kafka and Redis, gateway processes with
their own topic and Redis prefix, events read back with switchyard-events, gRPC stubs generated
from proto/, TLS material made with the openssl CLI, and polling with a deadline."""

import asyncio
import base64
import http.client
import importlib
import itertools
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websockets

SOURCE_DIR = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("SWITCHYARD_BUILD_DIR", SOURCE_DIR / "build"))
BIN_DIR = BUILD_DIR / "bin"
PYTHON = sys.executable

_names = itertools.count(1)


# -- polling ------------------------------------------------------------------------------

def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns something truthy; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def eventually(predicate, timeout, what, interval=0.05):
    """wait_until for asyncio code: `predicate` may be a plain or an async function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def run(coroutine, timeout=90):
    """Runs one async scenario with an overall deadline."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


# -- HTTP side port ---------------------------------------------------------------------

def http_get(port, path, http_host="127.0.0.1"):
    """(status, body) of GET http://http_host:port/path; (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{http_host}:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric(port, name, http_host="127.0.0.1", **labels):
    """Sum of the samples of `name` on port's /metrics whose labels include `labels`."""
    status, text = http_get(port, "/metrics", http_host)
    assert status == 200, f"/metrics on {port} answered {status}"
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(found.get(k) == str(v) for k, v in labels.items()):
            total += float(m.group(4))
    return total


# -- the real servers -------------------------------------------------------------------

@dataclass(frozen=True)
class Servers:
    kafka_brokers: str
    redis_address: str


def in_ci():
    return os.environ.get("CI") == "true"


def missing_servers():
    """Names of the servers whose address deploy/local/env did not export."""
    return [name for name, variable in (("Kafka", "SWITCHYARD_KAFKA_BROKERS"),
                                        ("Redis", "SWITCHYARD_REDIS_ADDRESS"))
            if not os.environ.get(variable)]


@pytest.fixture(scope="session")
def servers():
    """Kafka and Redis from deploy/local/env. Missing: a loud skip (see conftest.py's header), or
    a failure when CI=true."""
    missing = missing_servers()
    if missing:
        message = (f"{' and '.join(missing)} not running: deploy/local/up, then "
                   f'eval "$(deploy/local/env)"')
        if in_ci():
            pytest.fail(message + " (CI=true makes this a failure)")
        pytest.skip(message)
    return Servers(os.environ["SWITCHYARD_KAFKA_BROKERS"], os.environ["SWITCHYARD_REDIS_ADDRESS"])


def unique_name(request):
    """[a-z0-9_] name unique to this test and process, for a Kafka topic or a Redis prefix."""
    test = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:60]
    return f"gw_{test}_{os.getpid()}_{next(_names)}"


_HANDED_OUT = set()


def free_port():
    """A TCP port free on 127.0.0.1 now and never handed out before in this process: callers
    bind it later, and the kernel may give the same ephemeral port to two bind(0) calls in a
    row (a gateway was once started with --ws-port and --grpc-port both on one port)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class Redis:
    """A minimal RESP client: enough to read the owner registry."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self._sock = socket.create_connection((host, int(port)), timeout=5)
        self._file = self._sock.makefile("rb")

    def close(self):
        self._file.close()
        self._sock.close()

    def command(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self._sock.sendall(b"".join(out))
        return self._reply()

    def _reply(self):
        line = self._file.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._file.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"bad RESP reply {line!r}")


@pytest.fixture
def redis(servers):
    client = Redis(servers.redis_address)
    yield client
    client.close()


# -- gateway processes ------------------------------------------------------------------

class Gateway:
    """One switchyard-gateway process on 127.0.0.1 with its own ports; stderr goes to a file.
    With another `host` it listens on every address and is reached (and advertises its gRPC)
    at `host`; `prefix` goes before its command line (`ip netns exec NAME`)."""

    def __init__(self, deployment, pod_id, flags, log_dir, host="127.0.0.1", prefix=()):
        self.deployment = deployment
        self.pod_id = pod_id
        self.host = host
        self.prefix = list(prefix)
        self.flags = dict(flags)
        self.log_path = log_dir / f"gateway-{pod_id}.log"
        self.process = None
        self.ws_port = self.wss_port = self.grpc_port = self.http_port = 0

    # addresses
    def ws_url(self, charger_id, tls=False):
        if tls:
            return f"wss://{self.host}:{self.wss_port}/ocpp/{charger_id}"
        return f"ws://{self.host}:{self.ws_port}/ocpp/{charger_id}"

    @property
    def grpc_address(self):
        return f"{self.host}:{self.grpc_port}"

    def start(self, wait_ready=True, same_ports=False):
        """Starts the process; with `wait_ready`, returns once it serves (retrying on a port
        taken meanwhile), else at once. `same_ports` restarts it where it was (its chargers
        reconnect to the same URL)."""
        for attempt in range(3):  # a port picked free may be taken by the time we bind it
            if not same_ports or not self.ws_port:
                self.ws_port, self.grpc_port, self.http_port = (free_port(), free_port(),
                                                                free_port())
                self.wss_port = free_port() if "tls-certificate" in self.flags else 0
            args = {
                "pod-id": self.pod_id,
                "listen-address": "127.0.0.1",
                "ws-port": self.ws_port,
                "wss-port": self.wss_port,
                "grpc-port": self.grpc_port,
                "http-port": self.http_port,
                "threads": 2,
                "unknown-charger-profile": 0,
                "kafka-brokers": self.deployment.servers.kafka_brokers,
                "events-topic": self.deployment.topic,
                "events-topic-partitions": 2,
                "redis-address": self.deployment.servers.redis_address,
                "redis-prefix": self.deployment.redis_prefix,
                "drain-window": 1000,
                "log-level": "debug",
                **self.flags,
            }
            if self.host != "127.0.0.1":
                args["listen-address"] = "0.0.0.0"
                args["advertise-address"] = self.grpc_address
            argv = [*self.prefix, str(BIN_DIR / "switchyard-gateway")]
            for name, value in args.items():
                argv += [f"--{name}", str(value)]
            before = self.log()
            with open(self.log_path, "ab") as log:
                log.write(f"### start attempt {attempt + 1}: {' '.join(argv)}\n".encode())
                log.flush()
                self.process = subprocess.Popen(argv, stdout=log, stderr=log,
                                                stdin=subprocess.DEVNULL)
            if not wait_ready or self._wait_ready(timeout=30, skip=len(before)):
                return self
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            if "address already in use" not in self.log()[len(before):].lower():
                break
        raise AssertionError(f"gateway {self.pod_id} did not become ready:\n{self.log()}")

    def _wait_ready(self, timeout, skip=0):
        """Ready once /readyz answers 200 and this start (the log after `skip` characters: a
        restart appends to the same log) logged "gateway started"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            # /readyz answers 200 before the OCPP listener is bound (see test_health.py), so the
            # "gateway started" log line is waited for as well.
            if (self.http_status("/readyz") == 200 and
                    '"msg":"gateway started"' in self.log()[skip:]):
                return True
            time.sleep(0.02)
        return False

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self):
        """SIGTERM: the gateway drains."""
        self.process.send_signal(signal.SIGTERM)

    def kill(self):
        """kill -9: no drain, no release of claims."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait(self, timeout):
        return self.process.wait(timeout)

    def stop(self):
        """SIGTERM, then the process must exit 0 within 20 s: a crash or a hang while it shuts
        down (its consumers saving their positions, its producer flushing) fails the test that
        stops it instead of going unseen. A process that already exited is left as it is."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"gateway {self.pod_id} did not exit within 20 s of SIGTERM; "
                                 f"its log ends:\n{self.log()[-2000:]}")
        assert code == 0, (f"gateway {self.pod_id} exited {code} after SIGTERM; its log ends:\n"
                           f"{self.log()[-2000:]}")

    # HTTP side port
    def http_status(self, path):
        return self.http_get(path)[0]

    def http_get(self, path):
        return http_get(self.http_port, path, self.host)

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        return metric(self.http_port, name, self.host, **labels)


class Deployment:
    """Gateway pods sharing one events topic and one Redis prefix (unique to the test)."""

    def __init__(self, servers, name, log_dir):
        self.servers = servers
        self.topic = name
        self.redis_prefix = name + ":"
        self.log_dir = log_dir
        self.gateways = []

    def start_gateway(self, pod_id="a", wait_ready=True, host="127.0.0.1", prefix=(), **flags):
        """Starts a pod; `flags` are gateway settings with '_' for '-' (call_timeout=1500);
        `host` and `prefix` as for Gateway."""
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        gateway = Gateway(self, pod_id, flags, self.log_dir, host, prefix)
        self.gateways.append(gateway)
        return gateway.start(wait_ready)

    def owner(self, redis, charger_id):
        """The owner registry entry `epoch|pod|address|protocol` as a dict (epoch as its text),
        or None."""
        value = redis.command("GET", f"{self.redis_prefix}owner:{{{charger_id}}}")
        if value is None:
            return None
        epoch, pod, address, protocol = value.split("|", 3)
        return {"epoch": epoch, "pod": pod, "address": address, "protocol": protocol}

    def events(self, charger_id=None, count=None, idle_ms=3000, timeout=120):
        """Events on the topic as dicts (proto3 JSON). With `count`, stops once that many came."""
        argv = [str(BIN_DIR / "switchyard-events"), "--kafka-brokers", self.servers.kafka_brokers,
                "--events-topic", self.topic, "--idle-ms", str(idle_ms)]
        if charger_id:
            argv += ["--charger-id", charger_id]
        if count:
            argv += ["--max", str(count)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"switchyard-events failed: {done.stderr}"
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    def stop_all(self):
        for gateway in self.gateways:
            gateway.stop()

    def delete_redis_keys(self):
        """The epoch counters never expire: leave no key of this test behind."""
        client = Redis(self.servers.redis_address)
        try:
            cursor = "0"
            while True:
                cursor, keys = client.command("SCAN", cursor, "MATCH", self.redis_prefix + "*",
                                              "COUNT", 1000)
                if keys:
                    client.command("DEL", *keys)
                if cursor == "0":
                    break
        finally:
            client.close()


@pytest.fixture
def deployment(servers, request, tmp_path):
    """Start pods with deployment.start_gateway(); all are stopped after the test, and their logs
    printed (pytest shows them when the test failed)."""
    d = Deployment(servers, unique_name(request), tmp_path)
    yield d
    d.stop_all()
    d.delete_redis_keys()
    for gateway in d.gateways:
        lines = gateway.log().splitlines()
        print(f"\n===== log of gateway {gateway.pod_id} (last 150 of {len(lines)} lines) =====")
        print("\n".join(lines[-150:]))


@pytest.fixture
def gateway(deployment):
    """One pod with default settings (unknown chargers allowed, profile 0)."""
    return deployment.start_gateway("a")


def hash_password(password):
    done = subprocess.run([str(BIN_DIR / "switchyard-gateway"), "hash-password"], input=password,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def basic_auth(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- gRPC stubs -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    """switchyard.v1 Python modules generated from proto/ once per session, as a namespace:
    stubs.events_pb2, stubs.charger_control_pb2(_grpc), stubs.gateway_internal_pb2(_grpc)."""
    out = tmp_path_factory.mktemp("stubs")
    protos = sorted(str(p.relative_to(SOURCE_DIR / "proto"))
                    for p in (SOURCE_DIR / "proto/switchyard/v1").glob("*.proto"))
    subprocess.run([PYTHON, "-m", "grpc_tools.protoc", "-I", str(SOURCE_DIR / "proto"),
                    f"--python_out={out}", f"--grpc_python_out={out}", *protos],
                   check=True, cwd=SOURCE_DIR)
    sys.path.insert(0, str(out))
    modules = {}
    for name in ("events_pb2", "charger_control_pb2", "charger_control_pb2_grpc",
                 "gateway_internal_pb2", "gateway_internal_pb2_grpc"):
        modules[name] = importlib.import_module(f"switchyard.v1.{name}")
    return type("Stubs", (), modules)


# -- TLS material -----------------------------------------------------------------------

@dataclass
class TlsMaterial:
    """A CA, a server certificate for 127.0.0.1/localhost, and client certificates on demand."""
    directory: Path
    ca: Path = None
    server_certificate: Path = None
    server_key: Path = None
    untrusted_ca: Path = None
    _clients: dict = field(default_factory=dict)

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.directory)

    def _ca(self, name):
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                      "-subj", f"/CN={name}")
        return self.directory / f"{name}.pem"

    def _signed(self, name, subject, ca, extensions, key="ec"):
        ext = self.directory / f"{name}.ext"
        ext.write_text(extensions)
        new_key = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else
                   ["-newkey", "rsa:2048"])
        self._openssl("req", *new_key, "-nodes",
                      "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        self._openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                      f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                      "-extfile", str(ext))
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"

    def make(self):
        self.ca = self._ca("ca")
        self.untrusted_ca = self._ca("untrusted-ca")
        self.server_certificate, self.server_key = self.server("server")
        return self

    def server(self, name, key="ec"):
        """(certificate, key) of a server certificate for 127.0.0.1 / localhost signed by "ca"
        (another one than the gateways use: a renewal), on an ECDSA P-256 or an RSA 2048 key."""
        return self._signed(
            name, "/CN=localhost", "ca",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", key)

    def client(self, cn, signed_by="ca"):
        """(certificate, key) of a charger certificate with CN=cn, signed by "ca" or
        "untrusted-ca"."""
        key = (cn, signed_by)
        if key not in self._clients:
            name = f"client-{len(self._clients)}"
            self._clients[key] = self._signed(name, f"/CN={cn}", signed_by,
                                              "extendedKeyUsage=clientAuth\n")
        return self._clients[key]

    def client_context(self, cn=None, signed_by="ca"):
        """An SSL context that trusts the CA and, with `cn`, presents a client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca))
        if cn is not None:
            certificate, key = self.client(cn, signed_by)
            context.load_cert_chain(str(certificate), str(key))
        return context

    def gateway_flags(self):
        return {"tls-certificate": self.server_certificate, "tls-private-key": self.server_key,
                "tls-client-ca": self.ca}


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    return TlsMaterial(tmp_path_factory.mktemp("tls")).make()


# -- chargers ---------------------------------------------------------------------------

def connect(url, protocols=("ocpp1.6",), **kwargs):
    """A raw WebSocket connection offering `protocols` (websockets' client)."""
    return websockets.connect(url, subprotocols=list(protocols), open_timeout=10,
                              close_timeout=5, max_size=None, ping_interval=None, **kwargs)


async def raw_call(ws, action, payload, message_id=None, timeout=10):
    """Sends a CALL and returns the answer frame (as a list) for its id."""
    message_id = message_id or f"m{next(_names)}"
    await ws.send(json.dumps([2, message_id, action, payload]))
    return await receive_for(ws, message_id, timeout)


async def receive_for(ws, message_id, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame[1] == message_id:
            return frame


class OcppCharger:
    """The mobilityhouse `ocpp` package as charger: `async with OcppCharger(url, ChargePoint)`
    connects, runs the ChargePoint's receive loop, and yields the ChargePoint."""

    def __init__(self, url, charge_point_class, protocol="ocpp1.6", **connect_kwargs):
        self.url = url
        self.cls = charge_point_class
        self.protocol = protocol
        self.connect_kwargs = connect_kwargs

    async def __aenter__(self):
        self.ws = await connect(self.url, (self.protocol,), **self.connect_kwargs)
        assert self.ws.subprotocol == self.protocol
        self.cp = self.cls(self.url.rsplit("/", 1)[1], self.ws, response_timeout=15)
        self.task = asyncio.create_task(self.cp.start())
        return self.cp

    async def __aexit__(self, *exc):
        self.task.cancel()
        await self.ws.close()
        try:
            await self.task
        except (asyncio.CancelledError, websockets.ConnectionClosed):
            pass


def upgrade_status(port, path, headers=None, protocols=("ocpp1.6",), tls_context=None):
    """Sends a WebSocket upgrade request and returns the HTTP status (101 when accepted)."""
    if tls_context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls_context)
    try:
        conn.request("GET", path, headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Protocol": ",".join(protocols), **(headers or {})})
        return conn.getresponse().status
    finally:
        conn.close()
