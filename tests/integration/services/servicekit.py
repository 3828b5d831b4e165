"""Shared fixtures of the services integration tests: switchyard-standalone on a SQLite file, and
the distributed stack (gateway pod + auth + transactions + status) on the Kafka, Redis and
PostgreSQL of deploy/local with a Kafka topic, consumer groups, a Redis prefix and PostgreSQL
schemas of its own; switchyardctl as the operator's view; `ocpp` chargers that run whole
sessions. The gateway processes, polling and chargers come from ../gateway/testkit.py."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

import testkit  # noqa: E402
from testkit import BIN_DIR, Deployment, free_port, in_ci, missing_servers  # noqa: E402
from testkit import (OcppCharger, basic_auth, eventually, run, upgrade_status,  # noqa: E402,F401
                     wait_until)


# -- the real servers -------------------------------------------------------------------

@dataclass(frozen=True)
class Servers:
    kafka_brokers: str
    redis_address: str
    postgres_url: str


def missing_distributed_servers():
    """What the distributed stack needs and deploy/local/env did not export."""
    missing = missing_servers()
    if not os.environ.get("SWITCHYARD_POSTGRES_URL"):
        missing.append("PostgreSQL")
    return missing


@pytest.fixture(scope="session")
def servers():
    """Kafka, Redis and PostgreSQL from deploy/local/env. Missing: a loud skip (see conftest.py),
    or a failure when CI=true. Standalone tests do not need them."""
    missing = missing_distributed_servers()
    if not missing and shutil.which("psql") is None:
        missing.append("psql (the PostgreSQL client)")
    if missing:
        message = (f"{' and '.join(missing)} not running: deploy/local/up, then "
                   f'eval "$(deploy/local/env)"')
        if in_ci():
            pytest.fail(message + " (CI=true makes this a failure)")
        pytest.skip(message)
    return Servers(os.environ["SWITCHYARD_KAFKA_BROKERS"], os.environ["SWITCHYARD_REDIS_ADDRESS"],
                   os.environ["SWITCHYARD_POSTGRES_URL"])


def short_name(request, prefix):
    """[a-z0-9_] name unique to this test and process, short enough for a PostgreSQL schema (63)
    once a suffix is added."""
    test = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")
    return f"{prefix}_{test[:28]}_{os.getpid()}_{int(time.monotonic() * 1000) % 100000}"


def clean_environment():
    """The environment of the processes the tests start: without SWITCHYARD_* settings (every
    setting a test wants is a flag), so deploy/local/env's SWITCHYARD_AUTH_SERVER and friends
    never point a test's switchyardctl at the local stack."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}


def psql(url, sql):
    """Runs SQL with the psql client; returns its rows as lists of strings (unaligned, '|')."""
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"psql failed: {done.stderr}"
    return [line.split("|") for line in done.stdout.splitlines()]


def dump_schema(url, schema):
    """Every table of `schema` as {table: sorted rows}: what "the same tables" means. Rows are
    compared whole, as text."""
    tables = [r[0] for r in psql(url, f"SELECT table_name FROM information_schema.tables "
                                      f"WHERE table_schema = '{schema}' ORDER BY 1")]
    out = {}
    for table in tables:
        out[table] = sorted(psql(url, f'SELECT t.*::text FROM "{schema}"."{table}" t'))
    return out


# -- processes --------------------------------------------------------------------------

class ServiceProcess:
    """One Switchyard service binary on 127.0.0.1 with ports of its own; output goes to a file.
    Ready when /readyz answers 200 and the process logged `ready_line`."""

    def __init__(self, name, binary, flags, log_dir, ready_line, port_flags=("grpc-port",
                                                                             "http-port"),
                 host="127.0.0.1"):
        self.name = name
        self.host = host  # another: it listens on every address and is reached there
        self.binary = binary
        self.flags = dict(flags)
        self.log_path = log_dir / f"{name}.log"
        self.ready_line = ready_line
        self.port_flags = port_flags
        self.ports = {}
        self.process = None

    @property
    def grpc_address(self):
        return f"{self.host}:{self.ports['grpc-port']}"

    @property
    def http_port(self):
        return self.ports["http-port"]

    def _pick_ports(self):
        """A free port per port flag, none twice and none a port the flags already give (a
        fixture's wss-port): two listeners on one port (the gateway's sockets and gRPC's both
        set SO_REUSEPORT) would split the connections between them."""
        taken = {int(v) for k, v in self.flags.items()
                 if k.endswith("-port") and str(v).isdigit() and int(v) > 0}
        ports = {}
        for flag in self.port_flags:
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            ports[flag] = port
        return ports

    def start(self, same_ports=False):
        """Starts the process and waits until it serves; `same_ports` restarts it where it was
        (the other processes know its address)."""
        for attempt in range(3):  # a port picked free may be taken by the time it is bound
            if not same_ports or not self.ports:
                self.ports = self._pick_ports()
            listen = "127.0.0.1" if self.host == "127.0.0.1" else "0.0.0.0"
            argv = [str(BIN_DIR / self.binary), "--listen-address", listen]
            for flag, value in {**self.flags, **self.ports}.items():
                argv += [f"--{flag}", str(value)]
            with open(self.log_path, "ab") as log:
                log.write(f"### start attempt {attempt + 1}: {' '.join(argv)}\n".encode())
                log.flush()
                self.process = subprocess.Popen(argv, stdout=log, stderr=log,
                                                stdin=subprocess.DEVNULL,
                                                env=clean_environment())
            if self._wait_ready(timeout=30):
                return self
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            if "address already in use" not in self.log().lower():
                break
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log()[-5000:]}")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        seen = self.log().count(self.ready_line)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.log().count(self.ready_line) > seen and self.http_get("/readyz")[0] == 200:
                return True
            time.sleep(0.02)
        return False

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self):
        """kill -9: no shutdown of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

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
            raise AssertionError(f"{self.name} did not exit within 20 s of SIGTERM; its log "
                                 f"ends:\n{self.log()[-2000:]}")
        assert code == 0, (f"{self.name} exited {code} after SIGTERM; its log ends:\n"
                           f"{self.log()[-2000:]}")

    def http_get(self, path):
        return testkit.http_get(self.http_port, path)

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels`."""
        return testkit.metric(self.http_port, name, **labels)

    def print_log(self, lines=150):
        text = self.log().splitlines()
        print(f"\n===== log of {self.name} (last {lines} of {len(text)} lines) =====")
        print("\n".join(text[-lines:]))


class Ctl:
    """switchyardctl against one CSMS: `ctl("tokens", "add", "T1")` runs it (failing the test on a
    non-zero exit), `ctl.json("transactions", "list")` parses its `-o json` output."""

    def __init__(self, server=None, auth=None, transactions=None, status=None, gateway=None,
                 smart_charging=None, roaming=None):
        self.addresses = {"--server": server, "--auth-server": auth,
                          "--transactions-server": transactions, "--status-server": status,
                          "--gateway-server": gateway, "--smart-charging-server": smart_charging,
                          "--roaming-server": roaming}

    def run(self, *args, output="table"):
        argv = [str(BIN_DIR / "switchyardctl"), "-o", output, "--timeout", "10s"]
        for flag, address in self.addresses.items():
            if address:
                argv += [flag, address]
        return subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True,
                              timeout=60, env=clean_environment())

    def __call__(self, *args):
        done = self.run(*args)
        assert done.returncode == 0, (f"switchyardctl {' '.join(map(str, args))} exited "
                                      f"{done.returncode}: {done.stderr}")
        return done.stdout

    def json(self, *args):
        done = self.run(*args, output="json")
        assert done.returncode == 0, (f"switchyardctl -o json {' '.join(map(str, args))} exited "
                                      f"{done.returncode}: {done.stderr}")
        return json.loads(done.stdout)

    # the views the tests read
    def transactions(self, charger_id=None):
        extra = ["--charger", charger_id] if charger_id else []
        return self.json("transactions", "list", *extra).get("transactions", [])

    def cdrs(self, charger_id=None):
        extra = ["--charger", charger_id] if charger_id else []
        return self.json("cdrs", "list", *extra).get("cdrs", [])

    def status_history(self, *args):
        return self.json("status", "list", *args).get("records", [])


class Standalone:
    """switchyard-standalone on a SQLite file in the test's directory."""

    def __init__(self, directory, **flags):
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        self.process = ServiceProcess(
            "standalone", "switchyard-standalone",
            {"database": directory / "switchyard.db", "wss-port": 0, "threads": 2,
             "log-level": "debug", "drain-window": 500, **flags},
            directory, '"msg":"standalone started"', ("ws-port", "grpc-port", "http-port"))
        self.ctl = None

    def start(self):
        self.process.start()
        self.ctl = Ctl(server=self.process.grpc_address)
        return self

    def ws_url(self, charger_id):
        return f"ws://127.0.0.1:{self.process.ports['ws-port']}/ocpp/{charger_id}"

    @property
    def ws_port(self):
        return self.process.ports["ws-port"]

    @property
    def status_service(self):
        """The process whose /metrics carries the status service's metrics."""
        return self.process

    @property
    def transactions_service(self):
        """The process whose /metrics carries the transactions service's metrics."""
        return self.process

    @property
    def roaming_service(self):
        """The process that serves OCPI (on its HTTP port) and carries the roaming metrics."""
        return self.process

    @property
    def ocpi_base_url(self):
        """Our OCPI root: the default of --ocpi-base-url on a 127.0.0.1 listener."""
        return f"http://127.0.0.1:{self.process.http_port}/ocpi"

    def stop(self):
        self.process.stop()

    def print_logs(self):
        self.process.print_log()

    @property
    def stored_files(self):
        """Every file the standalone keeps its data in: the database, its WAL, the event log's
        positions and its segment files."""
        directory = Path(self.process.flags["database"]).parent
        return [p for f in directory.glob("switchyard.db*")
                for p in ([f] if f.is_file() else f.rglob("*")) if p.is_file()]


class Stack:
    """The distributed stack of one test: gateway pods on the test's events topic and Redis prefix
    (testkit.Deployment), and auth, transactions and status services, each in a PostgreSQL schema
    of its own (`<name>_auth`, `<name>_tx`, `<name>_status`) and with its own consumer groups and
    output topics. Schemas are dropped after the test. The smart-charging and roaming services are
    started on demand (start_smart_charging() after start(), start_roaming() at any time), so the
    tests that do not need them stay as fast as they were."""

    def __init__(self, servers, name, log_dir):
        self.servers = servers
        self.name = name
        self.log_dir = log_dir
        self.deployment = Deployment(servers, name, log_dir)
        self.services = []
        self.schemas = set()
        self.auth = self.transactions = self.status = self.gateway = None
        self.smart_charging = None
        self.roaming = None
        self.ctl = None

    @property
    def topic(self):
        return self.deployment.topic

    def _postgres(self, schema):
        self.schemas.add(schema)
        return {"postgres-url": self.servers.postgres_url, "postgres-schema": schema,
                "postgres-pool-size": 4, "threads": 2, "log-level": "debug"}

    def start_auth(self, schema=None, host="127.0.0.1", **flags):
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        process = ServiceProcess(f"auth-{len(self.services)}", "switchyard-auth",
                                 {**self._postgres(schema or f"{self.name}_auth"), **flags},
                                 self.log_dir, '"msg":"auth started"', host=host)
        self.services.append(process)
        return process.start()

    def start_transactions(self, schema=None, group=None, events_topic=None, host="127.0.0.1",
                           **flags):
        """A transactions service; by default the stack's schema and consumer group. Its output
        topics are the stack's (`<topic>_transactions`, `<topic>_cdrs`)."""
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        process = ServiceProcess(
            f"transactions-{len(self.services)}", "switchyard-transactions",
            {**self._postgres(schema or f"{self.name}_tx"),
             "kafka-brokers": self.servers.kafka_brokers,
             "events-topic": events_topic or self.topic,
             "consumer-group": group or f"{self.name}_transactions",
             "transactions-topic": f"{self.topic}_transactions",
             "cdr-topic": f"{self.topic}_cdrs",
             "auth-address": self.auth.grpc_address, **flags},
            self.log_dir, '"msg":"transactions started"', host=host)
        self.services.append(process)
        return process.start()

    def start_status(self, schema=None, group=None, **flags):
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        process = ServiceProcess(
            f"status-{len(self.services)}", "switchyard-status",
            {**self._postgres(schema or f"{self.name}_status"),
             "kafka-brokers": self.servers.kafka_brokers, "events-topic": self.topic,
             "consumer-group": group or f"{self.name}_status", **flags},
            self.log_dir, '"msg":"status started"')
        self.services.append(process)
        return process.start()

    def _fact_sources(self):
        """Where a (re)started smart-charging service reads the facts at start."""
        sources = {}
        if self.status is not None:
            sources["status-address"] = self.status.grpc_address
        if self.transactions is not None:
            sources["transactions-address"] = self.transactions.grpc_address
        return sources

    def start_smart_charging(self, schema=None, group=None, gateway_address=None, **flags):
        """A smart-charging service on the stack's events topic with its own schema
        (`<name>_smart`) and consumer group, sending its profiles through the stack's first
        gateway pod (start() the stack first); the stack's switchyardctl then reaches it."""
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        if gateway_address is None:
            assert self.deployment.gateways, "start the stack (a gateway pod) first"
            gateway_address = self.deployment.gateways[0].grpc_address
        process = ServiceProcess(
            f"smart-charging-{len(self.services)}", "switchyard-smart-charging",
            {**self._postgres(schema or f"{self.name}_smart"),
             "kafka-brokers": self.servers.kafka_brokers, "events-topic": self.topic,
             "consumer-group": group or f"{self.name}_smart_charging",
             "gateway-address": gateway_address, **self._fact_sources(), **flags},
            self.log_dir, '"msg":"smart-charging started"')
        self.services.append(process)
        process.start()
        if self.smart_charging is None:
            self.smart_charging = process
            if self.ctl is not None:
                self.ctl.addresses["--smart-charging-server"] = process.grpc_address
        return process

    def start_roaming(self, schema=None, group=None, **flags):
        """A roaming service (OCPI on its HTTP port) in its own schema (`<name>_roaming`),
        following the stack's events topic (EVSE statuses) and its transactions service's topics
        (roaming drivers' sessions and CDRs) with its own consumer group; the
        stack's switchyardctl then reaches it. Works before start() too."""
        flags = {k.replace("_", "-"): v for k, v in flags.items()}
        process = ServiceProcess(f"roaming-{len(self.services)}", "switchyard-roaming",
                                 {**self._postgres(schema or f"{self.name}_roaming"),
                                  "kafka-brokers": self.servers.kafka_brokers,
                                  "events-topic": self.topic,
                                  "transactions-topic": f"{self.topic}_transactions",
                                  "cdr-topic": f"{self.topic}_cdrs",
                                  "consumer-group": group or f"{self.name}_roaming", **flags},
                                 self.log_dir, '"msg":"roaming started"')
        self.services.append(process)
        process.start()
        if self.roaming is None:
            self.roaming = process
            if self.ctl is None:
                self.ctl = Ctl(roaming=process.grpc_address)
            else:
                self.ctl.addresses["--roaming-server"] = process.grpc_address
        return process

    @property
    def roaming_service(self):
        return self.roaming

    @property
    def ocpi_base_url(self):
        return f"http://127.0.0.1:{self.roaming.http_port}/ocpi"

    def start(self, auth_flags=None, **gateway_flags):
        """auth, transactions and status, then a gateway pod that uses auth and transactions.
        `auth_flags`: more flags of the auth service, e.g. {"roaming-address": ...} (start the
        roaming service first: `start_roaming()` works before start())."""
        self.auth = self.start_auth(**(auth_flags or {}))
        self.transactions = self.start_transactions()
        self.status = self.start_status()
        self.gateway = self.deployment.start_gateway(
            "a", auth_address=self.auth.grpc_address,
            transactions_address=self.transactions.grpc_address, **gateway_flags)
        self.ctl = Ctl(auth=self.auth.grpc_address, transactions=self.transactions.grpc_address,
                       status=self.status.grpc_address, gateway=self.gateway.grpc_address,
                       roaming=self.roaming.grpc_address if self.roaming else None)
        return self

    def ws_url(self, charger_id):
        return self.gateway.ws_url(charger_id)

    @property
    def ws_port(self):
        return self.gateway.ws_port

    @property
    def status_service(self):
        return self.status

    @property
    def transactions_service(self):
        return self.transactions

    def stop(self):
        self.deployment.stop_all()
        for process in reversed(self.services):
            process.stop()

    def cleanup(self):
        self.deployment.delete_redis_keys()
        for schema in self.schemas:
            psql(self.servers.postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def print_logs(self):
        for gateway in self.deployment.gateways:
            lines = gateway.log().splitlines()
            print(f"\n===== log of gateway {gateway.pod_id} (last 150 of {len(lines)} lines) =====")
            print("\n".join(lines[-150:]))
        for process in self.services:
            process.print_log()


@pytest.fixture
def standalone(tmp_path):
    s = Standalone(tmp_path)
    try:
        yield s.start()
    finally:
        s.stop()
        s.print_logs()


@pytest.fixture
def stack_factory(servers, request, tmp_path):
    """A Stack that is not started yet (start() it, or start its parts one by one)."""
    s = Stack(servers, short_name(request, "svc"), tmp_path)
    try:
        yield s
    finally:
        s.stop()
        s.cleanup()
        s.print_logs()


@pytest.fixture
def stack(stack_factory):
    return stack_factory.start()


@pytest.fixture(params=["standalone", "distributed"])
def csms(request):
    """The CSMS as a charger and an operator see it: standalone, then the distributed stack."""
    if request.param == "standalone":
        return request.getfixturevalue("standalone")
    return request.getfixturevalue("stack")


# -- chargers and their sessions --------------------------------------------------------

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds, base=T0):
    """An RFC 3339 time `seconds` after `base` (the charger's clock: fixed, so energy and
    duration do not depend on when the test runs)."""
    return (base + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def rfc3339(seconds, base=T0):
    """What the proto3 JSON mapping prints for that time."""
    return (base + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def energy_sample16(value, unit="Wh", context="Sample.Periodic"):
    return {"value": str(value), "unit": unit, "measurand": "Energy.Active.Import.Register",
            "context": context}


def energy_sample201(value, unit="Wh", context="Sample.Periodic"):
    return {"value": value, "unitOfMeasure": {"unit": unit},
            "measurand": "Energy.Active.Import.Register", "context": context}


# 0.39 EUR/kWh, 1.20 EUR/h, 0.50 EUR per session, 19 % VAT: the default tariff of the tests.
TARIFF = ["tariffs", "put", "ac-standard", "--currency", "EUR", "--energy-price", "0.39",
          "--time-price-per-hour", "1.20", "--session-fee", "0.50", "--vat-percent", "19",
          "--product-id", "AC1"]


def answered_once(cp):
    """A sender that fails the test on a CALLERROR."""
    async def send(payload):
        return await cp.call(payload, suppress=False)
    return send


async def session16(send, token, connector, start_s, registers):
    """A 1.6 session through `send`: StartTransaction at meter registers[0], a MeterValues per
    middle register a minute apart, StopTransaction at registers[-1]. Returns the transaction
    id the CSMS gave."""
    start = await send(call16.StartTransaction(connector_id=connector, id_tag=token,
                                               meter_start=registers[0], timestamp=at(start_s)))
    assert start.id_tag_info["status"] == "Accepted", start
    tx = start.transaction_id
    for i, wh in enumerate(registers[1:-1], start=1):
        await send(call16.MeterValues(connector_id=connector, transaction_id=tx, meter_value=[
            {"timestamp": at(start_s + 60 * i), "sampledValue": [energy_sample16(wh)]}]))
    await send(call16.StopTransaction(meter_stop=registers[-1], transaction_id=tx,
                                      timestamp=at(start_s + 60 * (len(registers) - 1)),
                                      reason="Local", id_tag=token))
    return str(tx)


async def session201(send, token, evse, start_s, registers, transaction_id):
    """The same session in 2.0.1: TransactionEvent Started / Updated per middle register /
    Ended, the registers in Wh."""
    def event(kind, i, trigger, **fields):
        return call201.TransactionEvent(
            event_type=kind, timestamp=at(start_s + 60 * i), trigger_reason=trigger, seq_no=i,
            transaction_info={"transactionId": transaction_id, **fields.pop("info", {})},
            meter_value=[{"timestamp": at(start_s + 60 * i),
                          "sampledValue": [energy_sample201(registers[i])]}], **fields)

    started = await send(event("Started", 0, "Authorized",
                               id_token={"idToken": token, "type": "ISO14443"},
                               evse={"id": evse, "connectorId": 1}))
    assert started.id_token_info["status"] == "Accepted", started
    for i in range(1, len(registers) - 1):
        await send(event("Updated", i, "MeterValuePeriodic"))
    await send(event("Ended", len(registers) - 1, "StopAuthorized",
                     info={"stoppedReason": "Local"}))
    return transaction_id


def caught_up(gateways, consumers):
    """True once every consumer handled at least as many events as the gateways published and
    nothing is waiting in a gateway's producer queue."""
    produced = sum(g.metric("switchyard_kafka_produced_total", result="ok") for g in gateways)
    pending = sum(g.metric("switchyard_kafka_producer_queue_depth") for g in gateways)
    return pending == 0 and produced > 0 and all(
        c.metric("switchyard_kafka_consumed_total") >= produced for c in consumers)
