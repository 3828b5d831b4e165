#!/usr/bin/env bash
# Smoke test of switchyard-loadgen: `saturate` for ~2 s against bench-beast-echo with --echo;
# the run must count messages and no errors. No external servers.
#   saturate_smoke.sh <switchyard-loadgen> <bench-beast-echo>
set -euo pipefail
loadgen=$1
echo_server=$2
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$echo_server" --port 0 --port-file "$work/port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "echo server did not start"; cat "$work/server.log"; exit 1; }
port=$(cat "$work/port")

"$loadgen" --profile saturate --chargers 20 --duration 2000 --echo true \
  --url "ws://127.0.0.1:$port/ocpp" --ocpp16-share 0.5 --report "$work/report.json"

python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
answered = report["messages"]["answered_in_window"]
errors = report["errors"]["total"]
print(f"answered in window {answered}, {report['messages']['per_second']:.0f} msg/s, errors {errors}")
assert answered > 0, "no messages counted"
assert errors == 0, f"errors: {report['errors']}"
assert report["connections"]["opened"] == 20, report["connections"]
assert report["latency_ms"]["MeterValues"]["count"] > 0
PY
