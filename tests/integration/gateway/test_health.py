"""The HTTP side port: /healthz, /readyz and /metrics, and what readiness means."""

import asyncio
import json
import signal
import socket
from pathlib import Path

import pytest

from testkit import connect, free_port, raw_call, run, wait_until


def accepts_tcp(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_side_port_serves_health_readiness_and_metrics(gateway):
    assert gateway.http_status("/healthz") == 200
    assert gateway.http_status("/readyz") == 200

    async def one_heartbeat():
        async with connect(gateway.ws_url("metered")) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            return gateway.metric("switchyard_gateway_connections", protocol="ocpp1.6",
                                  security_profile="0")

    assert run(one_heartbeat()) == 1
    assert gateway.metric("switchyard_gateway_messages_total", action="Heartbeat",
                          direction="in", outcome="ok") == 1
    status, text = gateway.http_get("/metrics")
    assert status == 200
    assert "switchyard_kafka_produce_latency_seconds" in text


def test_pod_is_not_ready_before_it_accepts_chargers(deployment):
    # An unreachable Kafka makes the start-up slow enough to look at it.
    gateway = deployment.start_gateway("a", wait_ready=False,
                                       kafka_brokers=f"127.0.0.1:{free_port()}")
    try:
        wait_until(lambda: gateway.http_status("/readyz") == 200 or
                   '"msg":"gateway started"' in gateway.log(), 30,
                   "readiness or the start of the pod")
        if gateway.http_status("/readyz") == 200:
            assert accepts_tcp(gateway.ws_port), "ready, but the OCPP port refuses connections"
            assert accepts_tcp(gateway.grpc_port), "ready, but the gRPC port refuses connections"
    finally:
        gateway.kill()  # SIGTERM would wait for the Kafka start-up timeouts


def test_pod_stays_ready_while_kafka_is_unreachable(deployment):
    """Kafka is shared by every pod: its outage shows in metrics and logs, not in readiness, so
    the load balancer does not take every pod out at once (README, Gateway)."""
    gateway = deployment.start_gateway("a", wait_ready=False,
                                       kafka_brokers=f"127.0.0.1:{free_port()}")
    try:
        wait_until(lambda: '"msg":"gateway started"' in gateway.log(), 40,
                   "the start of the pod")
        status, body = gateway.http_get("/readyz")
        assert status == 200, body
    finally:
        gateway.kill()


def test_kafka_linger_is_a_setting_and_a_bad_one_stops_the_start(deployment):
    """--kafka-linger (librdkafka linger.ms) trades acknowledgement latency for fewer produce
    requests: a pod with 20 ms still acknowledges durably; a negative one does not start."""
    gateway = deployment.start_gateway("a", kafka_linger=20)

    async def boot():
        async with connect(gateway.ws_url("lingering")) as ws:
            return await raw_call(ws, "BootNotification",
                                  {"chargePointVendor": "Acme", "chargePointModel": "L1"})

    answer = run(boot())
    assert answer[0] == 3 and answer[2]["status"] == "Accepted", answer
    assert gateway.metric("switchyard_gateway_messages_total", action="BootNotification",
                          direction="in", outcome="ok") == 1

    bad = deployment.start_gateway("b", wait_ready=False, kafka_linger=-1)
    bad.process.wait(30)
    assert bad.process.returncode != 0
    assert "linger.ms" in bad.log(), bad.log()[-2000:]


def test_io_coalesce_serves_a_round_after_its_window_and_a_bad_one_stops_the_start(deployment):
    """--io-coalesce: an I/O thread that woke for little waits out the window and serves what
    came meanwhile (Kafka's acknowledgements included) before it blocks again. Every CALL is
    still answered once durable, also five sent at once (the gateway takes them one at a time,
    each a window or two), and the rounds that waited show in
    switchyard_gateway_io_rounds_total{waited="true"}. The window applies only while the thread
    serves --io-coalesce-from-connections or more: with the defaults (10 ms from 5,000) a pod
    with one charger never waits, with 2 it waits once the second charger is in. A window past
    100 ms or a negative count does not start."""

    async def boot_and_five(url):
        async with connect(url) as ws:
            boot = await raw_call(ws, "BootNotification",
                                  {"chargePointVendor": "Acme", "chargePointModel": "L1"})
            for i in range(5):  # five at once, read after
                await ws.send(json.dumps([2, f"s{i}", "StatusNotification", {
                    "connectorId": 1, "errorCode": "NoError", "status": "Available"}]))
            answers = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(5)]
            return boot, answers

    def answered(gateway, boot, answers, count):
        assert boot[0] == 3 and boot[2]["status"] == "Accepted", boot
        assert sorted(a[1] for a in answers) == [f"s{i}" for i in range(5)], answers
        assert all(a[0] == 3 for a in answers), answers
        assert gateway.metric("switchyard_gateway_messages_total", action="StatusNotification",
                              direction="in", outcome="ok") == count

    gateway = deployment.start_gateway("a", io_coalesce=50, io_coalesce_from_connections=0)
    boot, answers = run(boot_and_five(gateway.ws_url("coalescing")))
    answered(gateway, boot, answers, 5)
    # Each I/O thread publishes its rounds at its next sweep (at most a second later).
    waited = wait_until(
        lambda: gateway.metric("switchyard_gateway_io_rounds_total", waited="true"), 10,
        "rounds that waited in switchyard_gateway_io_rounds_total")
    assert waited >= 1
    assert gateway.metric("switchyard_gateway_io_handlers_total") >= waited

    # The defaults: one charger is far below 5,000 connections, so no round waits.
    default = deployment.start_gateway("c", threads=1)
    assert '"io_coalesce_ms":10' in default.log() and \
        '"io_coalesce_from_connections":5000' in default.log(), default.log()[-2000:]
    boot, answers = run(boot_and_five(default.ws_url("few")))
    answered(default, boot, answers, 5)
    wait_until(lambda: default.metric("switchyard_gateway_io_rounds_total", waited="false"), 10,
               "rounds in switchyard_gateway_io_rounds_total")
    assert default.metric("switchyard_gateway_io_rounds_total", waited="true") == 0

    # From 2 connections on one thread: the first charger alone is answered at once, and the
    # rounds wait once the second has joined (the thread counts it at its next sweep).
    two = deployment.start_gateway("d", threads=1, io_coalesce=50, io_coalesce_from_connections=2)

    async def second_joins():
        async with connect(two.ws_url("first")) as first:
            await raw_call(first, "Heartbeat", {})
            assert two.metric("switchyard_gateway_io_rounds_total", waited="true") == 0
            await asyncio.sleep(1.5)  # a sweep publishes the rounds so far: none waited
            assert two.metric("switchyard_gateway_io_rounds_total", waited="true") == 0
            result = await boot_and_five(two.ws_url("second"))
            return result

    boot, answers = run(second_joins())
    answered(two, boot, answers, 5)
    wait_until(lambda: two.metric("switchyard_gateway_io_rounds_total", waited="true"), 10,
               "rounds that waited once two chargers were in")

    bad = deployment.start_gateway("b", wait_ready=False, io_coalesce=101)
    bad.process.wait(30)
    assert bad.process.returncode != 0
    assert "--io-coalesce 101 ms: must be 0 (off) to 100 ms" in bad.log(), bad.log()[-2000:]
    negative = deployment.start_gateway("e", wait_ready=False, io_coalesce_from_connections=-1)
    negative.process.wait(30)
    assert negative.process.returncode != 0
    assert "--io-coalesce-from-connections -1: must be 0 (at any count) to 10000000" in \
        negative.log(), negative.log()[-2000:]


def test_two_listeners_on_one_port_stop_the_start(deployment):
    """The OCPP listeners set SO_REUSEPORT: a gRPC port equal to the ws port would bind too, and
    the system would split the connections between them. The pod refuses to start, naming both."""
    port = free_port()
    bad = deployment.start_gateway("c", wait_ready=False, ws_port=port, grpc_port=port)
    bad.process.wait(30)
    assert bad.process.returncode != 0
    assert f"--ws-port and --grpc-port are both {port}" in bad.log(), bad.log()[-2000:]


def somaxconn():
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def listening_sockets(port):
    """How many sockets listen on `port` (IPv4), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            count += 1
    return count


def test_a_backlog_beyond_the_kernels_cap_is_spread_over_several_listening_sockets(deployment):
    """Each accept queue holds at most net.core.somaxconn connections, so the pod listens on as
    many SO_REUSEPORT sockets per port as the default --listen-backlog (65535) needs (at most
    64, at least one per thread), and says so at start; a storm's surplus SYNs are not dropped
    for a full queue."""
    cap = somaxconn()
    expected = max(2, min(64, -(-65535 // cap))) if cap < 65535 else 2
    gateway = deployment.start_gateway("a", threads=2)
    assert listening_sockets(gateway.ws_port) == expected
    if cap < 65535:
        assert f'"sockets_per_port":{expected}' in gateway.log(), gateway.log()[-2000:]
        assert "the kernel caps the accept queues below --listen-backlog" not in gateway.log()
    # Chargers connect through them all.

    async def heartbeats():
        for i in range(3 * expected):
            async with connect(gateway.ws_url(f"spread-{i}")) as ws:
                assert (await raw_call(ws, "Heartbeat", {}))[0] == 3

    run(heartbeats())


def all_threads_stopped(pid):
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, IndexError):
            continue  # a thread that ended
    return bool(states) and all(state in ("T", "t") for state in states)


def test_a_burst_of_connections_is_taken_from_the_accept_queue_at_once(deployment):
    """While the pod cannot run (stopped), the kernel queues 50 connections; when it runs again,
    one wakeup of the listener takes them all (up to 256) instead of one per turn of the loop, so
    a storm does not overflow the queue (the overflow's SYNs would be retried after 1, 3, 7 s)."""
    # A backlog one accept queue holds: one listening socket, which all 50 land in.
    backlog = min(4096, somaxconn())
    gateway = deployment.start_gateway("a", threads=1, listen_backlog=backlog)
    assert listening_sockets(gateway.ws_port) == 1
    before = gateway.metric("switchyard_gateway_accepts_per_wakeup_count")
    sockets = []
    gateway.process.send_signal(signal.SIGSTOP)
    try:
        # A signal stops the threads when each next runs: until all are stopped, the I/O thread
        # could still take the first connections one wakeup each (9 wakeups in one run).
        wait_until(lambda: all_threads_stopped(gateway.process.pid), 5, "every thread stopped")
        for _ in range(50):
            sockets.append(socket.create_connection(("127.0.0.1", gateway.ws_port), timeout=5))
    finally:
        gateway.process.send_signal(signal.SIGCONT)
    try:
        wait_until(lambda: gateway.metric("switchyard_gateway_accepts_per_wakeup_sum") >= 50,
                   10, "the 50 queued connections accepted")
        wakeups = gateway.metric("switchyard_gateway_accepts_per_wakeup_count") - before
        assert wakeups <= 5, f"50 queued connections took {wakeups} wakeups"
        assert gateway.metric("switchyard_gateway_accepts_per_wakeup_bucket", le="32") < \
            gateway.metric("switchyard_gateway_accepts_per_wakeup_bucket", le="+Inf")
    finally:
        for s in sockets:
            s.close()
