"""The fault suite's parts: Kafka, Redis and PostgreSQL of its own (deploy/local/up with a directory
and ports of its own, so killing them never touches the stack other tests share), a fleet of
switchyard-loadgen chargers that logs every answer it got (--answers-log), samplers of the
gateways' memory and of the fleet's connections, and the verdict of a scenario: what the chargers
saw acknowledged against what reached Kafka (by event id and by message) and the CDRs."""

import collections
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration" / "services"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "gateway"))

import servicekit  # noqa: E402
from testkit import BIN_DIR, free_port, wait_until  # noqa: E402

# Every scenario's verdict in this run, for the table at its end (conftest.py).
VERDICTS = []



def sanitized_build(bin_dir=BIN_DIR):
    """True when the binaries under test were built with the sanitizers (build-asan)."""
    cache = Path(bin_dir).parent / "CMakeCache.txt"
    return cache.exists() and "SWITCHYARD_SANITIZE:BOOL=ON" in cache.read_text(errors="replace")


# The most a gateway's RSS may grow from before the fault to its peak during and after it.
RSS_GROWTH_LIMIT = 2.0

UP = REPO / "deploy" / "local" / "up"
DOWN = REPO / "deploy" / "local" / "down"


# -- servers of the suite's own -----------------------------------------------------------

class PrivateServers:
    """Kafka (KRaft), Redis and PostgreSQL started by deploy/local/up in `directory` on free
    ports. kill(), freeze() / thaw() and restart() are the faults; down() purges everything."""

    def __init__(self, directory, pod_network=None):
        self.directory = Path(directory)
        self.pod_network = pod_network  # a PodNetwork, when the partition can run here
        self.kafka_extra_port = free_port()
        self.kafka_port = free_port()
        self.redis_port = free_port()
        self.postgres_port = free_port()
        self.env = {**os.environ,
                    "SWITCHYARD_LOCAL_DIR": str(self.directory),
                    "SWITCHYARD_KAFKA_PORT": str(self.kafka_port),
                    "SWITCHYARD_KAFKA_CONTROLLER_PORT": str(free_port()),
                    "SWITCHYARD_REDIS_PORT": str(self.redis_port),
                    "SWITCHYARD_POSTGRES_PORT": str(self.postgres_port),
                    # Commits that survive a PostgreSQL crash, as in production: the default
                    # local cluster may lose the last ones (synchronous_commit=off), and a CDR
                    # whose event offset was committed after it would then be lost for good.
                    "SWITCHYARD_POSTGRES_DURABLE": "true",
                    # Every acknowledged CALL is looked for in Kafka at the end: none may have
                    # been deleted by the local stack's retention, however long the soak.
                    "SWITCHYARD_KAFKA_RETENTION_BYTES": "-1"}
        if pod_network is not None:
            self.env["SWITCHYARD_EXTRA_ADDRESS"] = pod_network.DEPENDENCIES
            self.env["SWITCHYARD_KAFKA_EXTRA_PORT"] = str(self.kafka_extra_port)
        # The Kafka jars the shared stack fetched already (Maven otherwise copies them again).
        shared_libs = REPO / ".local" / "kafka" / "libs"
        if (shared_libs / ".stamp").exists():
            (self.directory / "kafka").mkdir(parents=True, exist_ok=True)
            link = self.directory / "kafka" / "libs"
            if not link.exists():
                link.symlink_to(shared_libs)

    @property
    def servers(self):
        return servicekit.Servers(
            f"127.0.0.1:{self.kafka_port}", f"127.0.0.1:{self.redis_port}",
            f"postgresql://switchyard@127.0.0.1:{self.postgres_port}/switchyard")

    @property
    def dependencies_for_pod(self):
        """Kafka's and Redis's addresses as the pod in the PodNetwork reaches them."""
        address = self.pod_network.DEPENDENCIES
        return {"kafka_brokers": f"{address}:{self.kafka_extra_port}",
                "redis_address": f"{address}:{self.redis_port}"}

    def up(self, *components):
        done = subprocess.run([str(UP), "--only", ",".join(components)], env=self.env,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"deploy/local/up {components} failed:\n{done.stderr}"

    def down(self):
        subprocess.run([str(DOWN), "--only", "redis,postgres,kafka", "--purge"], env=self.env,
                       capture_output=True, text=True, timeout=120)

    def _shell(self, expression):
        """A value of deploy/local/lib.sh with this suite's environment."""
        done = subprocess.run(["bash", "-c", f". {REPO}/deploy/local/lib.sh; {expression}"],
                              env=self.env, capture_output=True, text=True, timeout=30)
        return done.stdout.strip()

    def pid(self, component):
        if component == "postgres":
            path = Path(self._shell("pg_data_dir")) / "postmaster.pid"
        else:
            path = self.directory / component / f"{component}.pid"
        return int(path.read_text().split()[0])

    def kill(self, component):
        """kill -9, and for PostgreSQL its backends too (as a node loss would)."""
        pid = self.pid(component)
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                  text=True).stdout.split()
        for p in [pid, *map(int, children)]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not _alive(pid), 30, f"{component} ({pid}) to die")

    def freeze(self, component):
        os.kill(self.pid(component), signal.SIGSTOP)

    def thaw(self, component):
        os.kill(self.pid(component), signal.SIGCONT)

    def restart(self, component):
        self.up(component)


class PodNetwork:
    """A network namespace for one gateway pod, joined to the host by a veth pair: the host's end
    HOST, the pod's end POD. The host's end also carries DEPENDENCIES, the only address at which
    the pod reaches Kafka and Redis (deploy/local has them listen there too:
    SWITCHYARD_EXTRA_ADDRESS); the chargers, the services and the other pod it reaches at HOST
    and they reach it at POD. cut() drops DEPENDENCIES both ways with blackhole rules of policy
    routing (this kernel has neither netfilter nor traffic control): the pod's packets to Kafka
    and Redis, and theirs to the pod, go nowhere, while everything else flows. heal() removes
    the rules."""

    NAME = re.compile(r"^sy-faults-(\d+)\b")

    def __init__(self):
        self.name = f"sy-faults-{os.getpid()}"
        self.host_end, self.pod_end = self._ends(os.getpid())
        self.HOST = self.POD = self.DEPENDENCIES = None  # chosen by up(): a subnet nobody holds
        self.is_cut = False

    @staticmethod
    def _ends(pid):
        return f"syf{pid % 100000}h", f"syf{pid % 100000}p"  # 15 characters at most

    @property
    def prefix(self):
        """The command line prefix that runs a process in the pod's namespace."""
        return ["ip", "netns", "exec", self.name]

    @staticmethod
    def unavailable():
        """Why no namespace can be made here (not root, no `ip`), or None."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        if not any((Path(d) / "ip").exists() for d in ("/usr/sbin", "/sbin", "/usr/bin")):
            return "`ip` (iproute2) missing"
        return None

    def _ip(self, *args, check=True):
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 or not check, f"ip {' '.join(args)}: {done.stderr}"

    def up(self):
        self.sweep()
        self.down()
        held = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True,
                              timeout=30).stdout
        block = next(b for b in range(0, 250, 2) if f" 10.213.{b}.1/" not in held)
        self.HOST, self.POD = f"10.213.{block}.1", f"10.213.{block}.2"
        self.DEPENDENCIES = f"10.213.{block + 1}.1"
        self._ip("netns", "add", self.name)
        self._ip("link", "add", self.host_end, "type", "veth", "peer", "name", self.pod_end,
                 "netns", self.name)
        self._ip("addr", "add", f"{self.HOST}/30", "dev", self.host_end)
        self._ip("addr", "add", f"{self.DEPENDENCIES}/32", "dev", self.host_end)
        self._ip("link", "set", self.host_end, "up")
        self._ip("-n", self.name, "addr", "add", f"{self.POD}/30", "dev", self.pod_end)
        self._ip("-n", self.name, "link", "set", self.pod_end, "up")
        self._ip("-n", self.name, "link", "set", "lo", "up")
        self._ip("-n", self.name, "route", "add", "default", "via", self.HOST)
        return self

    def sweep(self):
        """Removes what a run killed before its clean-up left behind (a suite stopped with
        SIGKILL): its namespace, its host end with the addresses on it, and its blackhole rules
        in ours. Each namespace is named after the pid of its run; a live run's is left alone."""
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                               timeout=30).stdout.splitlines()
        for line in names:
            match = self.NAME.match(line)
            if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
                self._ip("netns", "del", line.split()[0], check=False)
                self._ip("link", "del", self._ends(int(match.group(1)))[0], check=False)
        rules = subprocess.run(["ip", "rule", "show"], capture_output=True, text=True,
                               timeout=30).stdout.splitlines()
        live = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True,
                              timeout=30).stdout
        for rule in rules:
            match = re.search(r"from (10\.213\.\d+\.1) to (10\.213\.\d+\.2) blackhole", rule)
            if match and f" {match.group(1)}/" not in live:
                self._ip("rule", "del", "from", match.group(1), "to", match.group(2), "blackhole",
                         check=False)

    def cut(self):
        self._ip("-n", self.name, "rule", "add", "to", self.DEPENDENCIES, "blackhole")
        self._ip("rule", "add", "from", self.DEPENDENCIES, "to", self.POD, "blackhole")
        self.is_cut = True

    def heal(self):
        if self.DEPENDENCIES is None:
            return
        self._ip("-n", self.name, "rule", "del", "to", self.DEPENDENCIES, "blackhole",
                 check=False)
        self._ip("rule", "del", "from", self.DEPENDENCIES, "to", self.POD, "blackhole",
                 check=False)
        self.is_cut = False

    def down(self):
        self.heal()
        self._ip("netns", "del", self.name, check=False)  # takes the veth pair with it
        self._ip("link", "del", self.host_end, check=False)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of someone else still answers kill(0): ask /proc.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def rss_bytes(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def open_files(pid):
    """How many file descriptors `pid` holds (its connections among them), or 0."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def drift_per_hour(samples):
    """The least-squares slope of [(unix s, value)] per hour (0 for fewer than two times)."""
    if len({t for t, _ in samples}) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    covariance = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    variance = sum((t - mean_t) ** 2 for t, _ in samples)
    return covariance / variance * 3600


class SoakReport:
    """The soak's series (each gateway's RSS and open files every SAMPLE_SECONDS, the fleet's
    per-second p99 folded into a median per minute) from `since` (the warm-up left out), what
    drifted per hour, and whether it stayed flat."""

    SAMPLE_SECONDS = 10
    RSS_DRIFT_LIMIT = 0.10    # of the pod's RSS at the start, per hour
    FILES_DRIFT_LIMIT = 0.01  # of the fleet's chargers, per hour
    P99_GROWTH_LIMIT = 2.0    # last quarter's median minute p99 against the first quarter's

    def __init__(self, chargers, minutes):
        self.chargers = chargers
        self.minutes = minutes
        self.pods = collections.defaultdict(lambda: {"rss": [], "files": []})
        self.p99_by_minute = []  # [(unix s, median of that minute's per-second p99s)]

    def sample(self, gateways):
        now = time.time()
        for g in gateways:
            if g.process is not None and g.process.poll() is None:
                self.pods[g.pod_id]["rss"].append((now, rss_bytes(g.process.pid)))
                self.pods[g.pod_id]["files"].append((now, open_files(g.process.pid)))

    def add_p99s(self, fleet, since, until):
        for start in range(int(since), int(until), 60):
            seconds = fleet.p99s(start, min(start + 60, until))
            if seconds:
                self.p99_by_minute.append((start, statistics.median(seconds)))

    def figures(self):
        out = {"chargers": self.chargers, "minutes": self.minutes, "pods": {}}
        for pod, series in self.pods.items():
            rss, files = series["rss"], series["files"]
            out["pods"][pod] = {
                "rss_start_bytes": rss[0][1], "rss_end_bytes": rss[-1][1],
                "rss_drift_bytes_per_hour": round(drift_per_hour(rss)),
                "files_start": files[0][1], "files_end": files[-1][1],
                "files_drift_per_hour": round(drift_per_hour(files), 1)}
        p99 = [v for _, v in self.p99_by_minute]
        quarter = max(1, len(p99) // 4)
        out["p99_ms_first_quarter"] = round(statistics.median(p99[:quarter]), 3) if p99 else None
        out["p99_ms_last_quarter"] = round(statistics.median(p99[-quarter:]), 3) if p99 else None
        out["p99_ms_drift_per_hour"] = round(drift_per_hour(self.p99_by_minute), 2)
        return out

    def problems(self, f=None):
        """What breaks a limit, in words; `f`: figures() if computed already."""
        f = f or self.figures()
        out = []
        for pod, p in f["pods"].items():
            if p["rss_drift_bytes_per_hour"] > self.RSS_DRIFT_LIMIT * p["rss_start_bytes"]:
                out.append(f"pod {pod}: RSS drifts {p['rss_drift_bytes_per_hour'] / 2**20:.1f} "
                           f"MiB per hour (from {p['rss_start_bytes'] / 2**20:.0f} MiB)")
            if abs(p["files_drift_per_hour"]) > self.FILES_DRIFT_LIMIT * self.chargers:
                out.append(f"pod {pod}: open files drift {p['files_drift_per_hour']} per hour")
        first, last = f["p99_ms_first_quarter"], f["p99_ms_last_quarter"]
        if first is None:
            out.append("no p99 from the fleet's progress lines")
        elif last > self.P99_GROWTH_LIMIT * max(first, 1.0):
            out.append(f"p99 grew from {first} ms (first quarter) to {last} ms (last quarter)")
        return out

    def table(self, f=None):
        f = f or self.figures()
        rows = ["| pod | RSS start → end | RSS drift per hour | open files start → end | "
                "open files drift per hour |", "|---|---|---|---|---|"]
        for pod, p in sorted(f["pods"].items()):
            rows.append(f"| {pod} | {p['rss_start_bytes'] / 2**20:.1f} → "
                        f"{p['rss_end_bytes'] / 2**20:.1f} MiB | "
                        f"{p['rss_drift_bytes_per_hour'] / 2**20:+.1f} MiB | "
                        f"{p['files_start']} → {p['files_end']} | "
                        f"{p['files_drift_per_hour']:+.1f} |")
        rows.append(f"\nfleet p99 (median of each minute's per-second p99): "
                    f"{f['p99_ms_first_quarter']} ms in the first quarter, "
                    f"{f['p99_ms_last_quarter']} ms in the last, "
                    f"{f['p99_ms_drift_per_hour']:+.2f} ms per hour")
        return "\n".join(rows)


# -- the fleet ---------------------------------------------------------------------------

@dataclass
class FleetSettings:
    chargers: int = 1000
    seconds: int = 60
    ocpp16_share: float = 0.5
    session_interval_ms: int = 20_000
    session_duration_ms: int = 8_000
    meter_interval_ms: int = 2_000
    heartbeat_interval_ms: int = 15_000
    ramp: int = 500
    url_failover: bool = False  # a refused upgrade sends the charger to the next pod
    connect_timeout_ms: int = 10_000  # TCP connect + WebSocket upgrade


class Fleet:
    """switchyard-loadgen's `fleet` profile against the gateways: every answer in
    answers.log, a progress line per second (connected / booted) in progress.log."""

    PROGRESS = re.compile(r"connected (\d+)/(\d+) booted (\d+)")
    P99 = re.compile(r"^\[\s*([\d.]+)s\].*\| p99 ([\d.]+) ms")

    def __init__(self, directory, urls, settings, id_prefix):
        self.directory = Path(directory)
        self.settings = settings
        self.answers_path = self.directory / "answers.log"
        self.progress_path = self.directory / "progress.log"
        self.report_path = self.directory / "report.json"
        s = settings
        self.argv = [str(BIN_DIR / "switchyard-loadgen"), "--profile", "fleet",
                     "--chargers", str(s.chargers), "--ramp", str(s.ramp),
                     "--duration", str(s.seconds * 1000), "--threads", "1",
                     "--ocpp16-share", str(s.ocpp16_share), "--id-prefix", id_prefix,
                     "--session-interval", str(s.session_interval_ms),
                     "--session-duration", str(s.session_duration_ms),
                     "--meter-interval", str(s.meter_interval_ms),
                     "--heartbeat-interval", str(s.heartbeat_interval_ms),
                     "--idle-meter-interval", "0", "--aligned-interval", "0",
                     "--reconnect-delay", "1000", "--progress", "true",
                     "--answers-log", str(self.answers_path), "--report", str(self.report_path),
                     "--url-failover", "true" if s.url_failover else "false",
                     "--connect-timeout", str(s.connect_timeout_ms)]
        for url in urls:
            self.argv += ["--url", url]
        self.process = None

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self._progress = open(self.progress_path, "w")
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                        stderr=self._progress, stdin=subprocess.DEVNULL)
        self.started = time.monotonic()
        self.started_wall = time.time()
        return self

    def progress(self):
        """(connected, booted) from the latest progress line, or (0, 0)."""
        lines = self.progress_path.read_text(errors="replace").splitlines()
        for line in reversed(lines):
            m = self.PROGRESS.search(line)
            if m:
                return int(m.group(1)), int(m.group(3))
        return 0, 0

    def p99s(self, since, until):
        """The per-second p99 acknowledgement latencies (ms) of the progress lines between unix
        times `since` and `until`."""
        out = []
        for line in self.progress_path.read_text(errors="replace").splitlines():
            m = self.P99.search(line)
            if m and since <= self.started_wall + float(m.group(1)) <= until:
                out.append(float(m.group(2)))
        return out

    def all_booted(self):
        assert self.process.poll() is None, (
            f"switchyard-loadgen exited ({self.process.returncode}):\n"
            f"{self.progress_path.read_text()[-3000:]}")
        return self.progress()[1] == self.settings.chargers

    def wait(self):
        self.process.wait(self.settings.seconds + 120)
        self._progress.close()
        # 1 = it ran and counted errors (a fault causes some); 2 and signals: it could not run.
        assert self.process.returncode in (0, 1), (
            f"switchyard-loadgen failed ({self.process.returncode}):\n"
            f"{self.progress_path.read_text()[-3000:]}")
        return json.loads(self.report_path.read_text())

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def answers(self):
        """Every line of --answers-log as an Answer."""
        out = []
        for line in self.answers_path.read_text().splitlines():
            parts = line.split()
            end = (parts[5], int(parts[6])) if len(parts) == 7 else None
            out.append(Answer(int(parts[0]), parts[1], parts[2], parts[3], parts[4], end))
        return out


# A line of the loadgen's --answers-log: outcome R (CALLRESULT), E (CALLERROR) or U (unanswered
# when the connection closed); `end` (transaction id, Wh) on the answer that ended a session.
Answer = collections.namedtuple("Answer", "ms charger message action outcome end")


def drain_windows(gateways, slack=1.0):
    """[(start, end)] in unix seconds of every drain the gateways logged (SIGTERM: from
    "draining" to "drained"; a pod fencing itself: from "fencing this pod" to "fenced pod closed
    its connections"), widened by `slack`."""
    begin, end = ('"msg":"draining"', '"msg":"fencing this pod'), ('"msg":"drained"',
                                                                  '"msg":"fenced pod closed')
    windows = []
    for g in gateways:
        start = None
        for line in g.log().splitlines():
            if any(b in line for b in begin) or any(e in line for e in end):
                entry = json.loads(line)
                t = datetime.datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
                if any(b in line for b in begin):
                    start = t
                elif start is not None:
                    windows.append((start - slack, t + slack))
                    start = None
    return windows


class Sampler:
    """Samples, every 0.5 s on a thread: each gateway's RSS, and the fleet's connected count
    (time, connected) so recovery can be read off afterwards."""

    def __init__(self, gateways, fleet):
        self.gateways = gateways
        self.fleet = fleet
        self.rss = collections.defaultdict(list)  # pod -> [(t, bytes)]
        self.connected = []  # [(t, connected, booted)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.5):
            now = time.time()
            for g in self.gateways:
                if g.process is not None and g.process.poll() is None:
                    self.rss[g.pod_id].append((now, rss_bytes(g.process.pid)))
            connected, booted = self.fleet.progress()
            self.connected.append((now, connected, booted))

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def peak_rss(self, since=0.0):
        return max((b for samples in self.rss.values() for t, b in samples if t >= since),
                   default=0)

    def all_booted_at(self, since, chargers):
        """The first sample time >= `since` from which every charger stayed booted."""
        first = None
        for t, _, booted in self.connected:
            if t < since:
                continue
            if booted == chargers:
                first = first or t
            else:
                first = None
        return first


# -- the verdict -------------------------------------------------------------------------

@dataclass
class Verdict:
    fault: str
    fault_seconds: float
    chargers: int
    acknowledged: int = 0
    lost: list = field(default_factory=list)
    duplicated: list = field(default_factory=list)
    sessions: int = 0
    cdr_problems: list = field(default_factory=list)
    heartbeats_without_event: int = 0  # answered while Kafka was away: allowed
    call_errors: int = 0
    # (action, cause, seconds after the fault began in 5 s steps) -> how many, from the gateways'
    # "answering InternalError" lines: what a CALLERROR count is made of.
    call_error_causes: collections.Counter = field(default_factory=collections.Counter)
    timeouts: int = 0  # CALLs the charger gave up waiting for
    unanswered_at_drain: int = 0  # in flight when a draining pod closed: resent by the charger
    unanswered_elsewhere: list = field(default_factory=list)  # unanswered at any other close
    unanswered_processed: list = field(default_factory=list)  # unanswered, yet in Kafka
    recovery_seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    ownership_problems: list = field(default_factory=list)
    # How many times its connections before the fault a pod may hold after it (the partition
    # hands one pod's chargers to the other): the RSS limit grows by as much.
    rss_connections_factor: float = 1.0

    def row(self):
        return (f"| {self.fault} | {self.fault_seconds:.0f} s | {self.chargers} | "
                f"{self.acknowledged} | {len(self.lost)} | {len(self.duplicated)} | "
                f"{self.heartbeats_without_event} | "
                f"{self.sessions} | {len(self.cdr_problems)} | {self.call_errors} | "
                f"{self.timeouts + self.unanswered_at_drain + len(self.unanswered_elsewhere)} "
                f"({self.unanswered_at_drain} at a drain) | {self.recovery_seconds:.1f} s | "
                f"{self.rss_before / 2**20:.0f} → {self.rss_peak / 2**20:.0f} MiB |")

    HEADER = ("| fault | duration | chargers | acknowledged | lost | duplicated | "
              "heartbeats without event | sessions | CDR problems | CALLERRORs | unanswered | "
              "recovery | gateway RSS |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def causes(self, top=8):
        """The most frequent CALLERROR causes, one per line ("12 x StartTransaction at +5 s:
        ...")."""
        return [f"{n} x {action} at +{at} s: {cause}"
                for (action, cause, at), n in self.call_error_causes.most_common(top)]

    def problems(self):
        listed = [(self.lost, "acknowledged messages not in Kafka"),
                  (self.duplicated, "messages in Kafka more than once"),
                  (self.cdr_problems, "sessions without exactly one right CDR"),
                  (self.unanswered_elsewhere, "CALLs unanswered when a connection closed "
                                              "outside a drain"),
                  (self.unanswered_processed, "CALLs unanswered yet published"),
                  (self.ownership_problems, "ownership problems")]
        out = [f"{len(items)} {what}, e.g. {items[:5]}" for items, what in listed if items]
        if self.timeouts:
            out.append(f"{self.timeouts} CALLs never answered (the charger timed out)")
        # Bounded memory: queues and buffers that grow with an outage would show here (the
        # sanitizer build's pods grow about 1.3-1.5x from the steady state through a fault).
        limit = RSS_GROWTH_LIMIT * self.rss_connections_factor
        if self.rss_before and self.rss_peak > limit * self.rss_before:
            out.append(f"gateway RSS grew from {self.rss_before / 2**20:.0f} MiB to "
                       f"{self.rss_peak / 2**20:.0f} MiB (over {limit}x)")
        return out


def compare_with_kafka(verdict, answers, events):
    """Every acknowledged CALL must be in Kafka exactly once: once by (charger, message id),
    and no event id twice. Heartbeats are the contract's exception (ARCHITECTURE: answered
    without waiting for Kafka, their event published best effort): counted apart."""
    acked = {(a.charger, a.message) for a in answers
             if a.outcome == "R" and a.action != "Heartbeat"}
    heartbeats = {(a.charger, a.message) for a in answers
                  if a.outcome == "R" and a.action == "Heartbeat"}
    verdict.acknowledged = len(acked)
    verdict.call_errors = sum(1 for a in answers if a.outcome == "E")
    by_message = collections.Counter()
    by_id = collections.Counter()
    for e in events:
        if e.get("message_id"):
            by_message[(e["charger_id"], e["message_id"])] += 1
            by_id[e["event_id"]] += 1
    verdict.lost = sorted(k for k in acked if by_message[k] == 0)
    verdict.heartbeats_without_event = sum(1 for k in heartbeats if by_message[k] == 0)
    verdict.duplicated = sorted({k for k, n in by_message.items() if n > 1} |
                                {k for k, n in by_id.items() if n > 1})


def count_call_error_causes(verdict, gateways, since):
    """verdict.call_error_causes from every gateway's log (restarts append to it): each
    "answering InternalError" line by action, cause (the error's first 80 characters, ids and
    numbers left out so alike causes add up) and when, in 5 s steps after `since` (unix s)."""
    for g in gateways:
        for line in g.log().splitlines():
            if '"msg":"answering InternalError"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            t = datetime.datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
            if t < since:
                continue
            cause = re.sub(r"[0-9a-f]{8,}|\d+", "N", str(entry.get("error", "")))[:80]
            step = int((t - since) // 5) * 5
            verdict.call_error_causes[(entry.get("action", "?"), cause, step)] += 1


def compare_with_cdrs(verdict, answers, cdrs):
    """Every session whose start and end were acknowledged has exactly one CDR with the energy
    the charger metered. `cdrs`: [(charger, transaction id, energy Wh)]."""
    ends = [(a.charger, a.end) for a in answers if a.outcome == "R" and a.end]
    verdict.sessions = len(ends)
    found = collections.defaultdict(list)
    for charger, transaction, energy in cdrs:
        found[(charger, transaction)].append(energy)
    for charger, (transaction, energy) in ends:
        got = found.get((charger, transaction), [])
        if got != [energy]:
            verdict.cdr_problems.append((charger, transaction, energy, got))


def compare_unanswered(verdict, answers, timeouts, drains, events):
    """No CALL may time out. One may go unanswered only when a draining pod closed its connection
    (it crossed the pod's close frame on the wire: the charger resends it on its new connection),
    and then it must not have been processed: not in Kafka."""
    verdict.timeouts = timeouts
    published = {(e["charger_id"], e["message_id"]) for e in events if e.get("message_id")}
    for a in answers:
        if a.outcome != "U":
            continue
        key = (a.charger, a.message)
        if key in published:
            verdict.unanswered_processed.append(key)
        if any(start <= a.ms / 1000 <= end for start, end in drains):
            verdict.unanswered_at_drain += 1
        else:
            verdict.unanswered_elsewhere.append(key)
