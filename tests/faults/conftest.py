"""The suite's own Kafka, Redis and PostgreSQL (one set for every scenario, purged at the end),
the table of every scenario's verdict at the end of the run, and each test's outcome for its
fixtures (a scenario prints the processes' logs only when it failed)."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import faultkit
from faultkit import Verdict
from testkit import stubs  # noqa: F401 (the gRPC stubs fixture)


def pytest_addoption(parser):
    group = parser.getgroup("soak", "the fault suite's soak (test_soak)")
    group.addoption("--soak", action="store_true",
                    help="run test_soak: the fleet for --soak-minutes, drift per hour reported")
    group.addoption("--soak-minutes", type=float, default=60.0, help="default 60")
    group.addoption("--soak-chargers", type=int, default=15000, help="default 15,000")


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: runs only with --soak")


def pytest_collection_modifyitems(config, items):
    """Without --soak the soak is skipped before any fixture starts a server for it."""
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="the soak runs only with --soak (an hour of 15,000 chargers; "
                                   "README, Reliability under faults)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def private_servers():
    missing = [tool for tool in ("redis-server", "java", "psql") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: scripts/install-deps")
    # Short: PostgreSQL's socket path must fit in 107 bytes.
    directory = Path(tempfile.mkdtemp(prefix="sy-faults-"))
    directory.chmod(0o755)  # PostgreSQL runs as `postgres` when we are root
    # The partition scenario's namespace comes first: Kafka and Redis listen on its address too.
    network = None
    if faultkit.PodNetwork.unavailable() is None:
        network = faultkit.PodNetwork().up()
    servers = faultkit.PrivateServers(directory, network)
    try:
        servers.up("redis", "postgres", "kafka")
        yield servers
    finally:
        servers.down()
        if network is not None:
            network.down()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def pytest_terminal_summary(terminalreporter):
    if not faultkit.VERDICTS:
        return
    table = Verdict.HEADER + "\n" + "\n".join(v.row() for v in faultkit.VERDICTS)
    terminalreporter.write_line("\nFault suite (tests/faults):\n" + table)
    out = Path(os.environ.get("SWITCHYARD_BUILD_DIR", faultkit.REPO / "build")) / "faults-table.md"
    try:
        out.write_text(table + "\n")
        terminalreporter.write_line(f"(written to {out})")
    except OSError:
        pass
