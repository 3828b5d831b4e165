"""gRPC health checking and server reflection on every Switchyard process (ARCHITECTURE §6):
`grpc.health.v1.Health/Check` answers SERVING for the server and for each of its services (as the
Kubernetes gRPC probe and grpc_health_probe ask it; called here with grpcio and the two messages
written out by hand: HealthCheckRequest{service} and HealthCheckResponse{status = SERVING}), and
reflection lists the process's services and describes them well enough that `buf curl`
(scripts/install-tools), with no .proto file, calls a method of each.

Noticed: gRPC's built-in health service is not described by reflection (its proto is not in the
C++ descriptor pool), so reflection-only clients cannot call Health/Check (nor `buf curl
--list-methods`, which describes every service); probes carry its definition themselves."""

import json
import subprocess
from pathlib import Path

import grpc
import pytest

from servicekit import Standalone

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def buf():
    done = subprocess.run([str(REPO / "scripts" / "install-tools"), "--print"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip()) / "bin" / "buf"


def curl(buf, *args):
    done = subprocess.run([str(buf), "curl", "--protocol", "grpc", "--http2-prior-knowledge",
                           *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"buf curl {' '.join(args)}: {done.stderr}"
    return done.stdout


SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING (1)}


def health(address, service=""):
    request = service.encode()
    if request:
        request = b"\x0a" + bytes([len(request)]) + request  # HealthCheckRequest{service}
    with grpc.insecure_channel(address) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check")
        return check(request, timeout=10)


def check(buf, address, services, calls=()):
    listed = set(curl(buf, "--list-services", f"http://{address}").split())
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed, listed
    assert set(services) <= listed, (services, listed)
    assert health(address) == SERVING
    for service in services:
        assert health(address, service) == SERVING, service
    with pytest.raises(grpc.RpcError) as unknown:
        health(address, "switchyard.v1.NoSuchService")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    for method in calls:  # by reflection alone
        answer = json.loads(curl(buf, "--data", "{}", f"http://{address}/{method}") or "{}")
        assert isinstance(answer, dict), (method, answer)


def test_every_service_of_the_distributed_stack(stack_factory, buf):
    stack = stack_factory
    stack.start_roaming()
    stack.start()
    smart = stack.start_smart_charging()
    processes = {
        "auth": (stack.auth.grpc_address, ["switchyard.v1.Authorization"],
                 ["switchyard.v1.Authorization/ListTokens"]),
        "transactions": (stack.transactions.grpc_address, ["switchyard.v1.Transactions"],
                         ["switchyard.v1.Transactions/ListTransactions"]),
        "status": (stack.status.grpc_address, ["switchyard.v1.Chargers"],
                   ["switchyard.v1.Chargers/ListChargers"]),
        "smart-charging": (smart.grpc_address, ["switchyard.v1.SmartCharging"],
                           ["switchyard.v1.SmartCharging/ListSites"]),
        "roaming": (stack.roaming.grpc_address, ["switchyard.v1.Roaming"],
                    ["switchyard.v1.Roaming/ListPartners"]),
        "gateway": (stack.gateway.grpc_address, ["switchyard.v1.ChargerControl"], []),
    }
    for name, (address, services, calls) in processes.items():
        print(f"{name} at {address}: {', '.join(services)}")
        check(buf, address, services, calls)


def test_standalone_serves_every_api_on_one_port(tmp_path, buf):
    s = Standalone(tmp_path)
    s.start()
    try:
        check(buf, s.process.grpc_address,
              ["switchyard.v1.ChargerControl", "switchyard.v1.Authorization",
               "switchyard.v1.Transactions", "switchyard.v1.Chargers",
               "switchyard.v1.SmartCharging", "switchyard.v1.Roaming"],
              ["switchyard.v1.Chargers/ListChargers", "switchyard.v1.Roaming/ListPartners"])
    finally:
        s.stop()
