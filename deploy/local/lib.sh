# Shared by deploy/local/{up,down,env}: paths, ports and process helpers. Sourced, not run.
# Every port and path can be overridden through the environment.

SWITCHYARD_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${SWITCHYARD_LOCAL_DIR:=$SWITCHYARD_REPO/.local}"
: "${SWITCHYARD_KAFKA_PORT:=9092}"
: "${SWITCHYARD_KAFKA_CONTROLLER_PORT:=9093}"
: "${SWITCHYARD_REDIS_PORT:=6379}"
: "${SWITCHYARD_POSTGRES_PORT:=5432}"
: "${SWITCHYARD_KAFKA_HEAP:=512m}"
# Bytes Kafka keeps per partition besides its 24 hours (-1: no bound; the fault suite, which reads
# every event back, sets it).
: "${SWITCHYARD_KAFKA_RETENTION_BYTES:=268435456}"
# An address besides 127.0.0.1 where Redis and Kafka (on SWITCHYARD_KAFKA_EXTRA_PORT) listen too:
# the fault suite's gateway in its own network namespace reaches them there. Empty: none.
: "${SWITCHYARD_EXTRA_ADDRESS:=}"
: "${SWITCHYARD_KAFKA_EXTRA_PORT:=9094}"
: "${SWITCHYARD_PROMETHEUS_PORT:=9090}"
: "${SWITCHYARD_PG_BIN:=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
export SWITCHYARD_LOCAL_DIR

KAFKA_DIR=$SWITCHYARD_LOCAL_DIR/kafka
REDIS_DIR=$SWITCHYARD_LOCAL_DIR/redis
PG_DIR=$SWITCHYARD_LOCAL_DIR/postgres

say() { printf 'deploy/local: %s\n' "$*" >&2; }
die() { printf 'deploy/local: error: %s\n' "$*" >&2; exit 1; }

# pid_alive FILE: the process whose pid is in FILE runs.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# reserve_ports: keeps the kernel from handing the stack's fixed gRPC ports (50051, 50061-50075:
# inside Linux's ephemeral range 32768-60999) to outgoing connections as their local port. An
# outgoing connection (a test's client, a Kafka fetch) that happened to get 127.0.0.1:50062 made
# gateway-1's bind fail with "Address already in use" although nothing listened there. Adds to
# net.ipv4.ip_local_reserved_ports when it may (root); otherwise says so and goes on.
STACK_PORT_RANGES="50051,50061-50075"
reserve_ports() {
  local knob=/proc/sys/net/ipv4/ip_local_reserved_ports current
  current=$(cat "$knob" 2>/dev/null) || return 0
  case ",$current," in *",$STACK_PORT_RANGES,"*) return 0 ;; esac
  if { echo "${current:+$current,}$STACK_PORT_RANGES" >"$knob"; } 2>/dev/null; then
    say "reserved ports $STACK_PORT_RANGES (net.ipv4.ip_local_reserved_ports)"
  else
    say "note: cannot reserve ports $STACK_PORT_RANGES from the ephemeral range (not root);" \
        "a client connection may occasionally hold one of them"
  fi
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# The user PostgreSQL runs as: the caller, or `postgres` when the caller is root (initdb and
# postgres refuse to run as root).
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# PostgreSQL's data must be reachable by the postgres user; when the work dir is not (e.g. under
# /root), keep the cluster under /tmp instead.
pg_data_dir() {
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$SWITCHYARD_LOCAL_DIR" 2>/dev/null; then
    echo "/tmp/switchyard-postgres-$SWITCHYARD_POSTGRES_PORT"
  else
    echo "$PG_DIR/data"
  fi
}

GATEWAY_DIR=$SWITCHYARD_LOCAL_DIR/gateway
TLS_DIR=$SWITCHYARD_LOCAL_DIR/tls
: "${SWITCHYARD_BIN:=$SWITCHYARD_REPO/build/bin}"
gateway_running() { pid_alive "$GATEWAY_DIR/gateway-$1.pid"; }

SERVICES_DIR=$SWITCHYARD_LOCAL_DIR/services
AUTH_GRPC_PORT=50071
TRANSACTIONS_GRPC_PORT=50072
STATUS_GRPC_PORT=50073
SMART_CHARGING_GRPC_PORT=50074
ROAMING_GRPC_PORT=50075
ROAMING_HTTP_PORT=8095
service_running() { pid_alive "$SERVICES_DIR/$1.pid"; }
postgres_url() { echo "postgresql://switchyard@127.0.0.1:$SWITCHYARD_POSTGRES_PORT/switchyard"; }

PROMETHEUS_DIR=$SWITCHYARD_LOCAL_DIR/prometheus
prometheus_running() { pid_alive "$PROMETHEUS_DIR/prometheus.pid"; }

kafka_running() { pid_alive "$KAFKA_DIR/kafka.pid"; }
redis_running() { pid_alive "$REDIS_DIR/redis.pid"; }
postgres_running() { [ -f "$(pg_data_dir)/postmaster.pid" ] && kill -0 "$(head -n 1 "$(pg_data_dir)/postmaster.pid")" 2>/dev/null; }

# parse_only ARGS...: sets COMPONENTS from --only a,b (default: all but prometheus; --prometheus
# adds it). ONLY_GIVEN tells whether --only was used.
parse_only() {
  COMPONENTS="redis postgres kafka services gateways"
  ONLY_GIVEN=false
  local with_prometheus=false
  while [ $# -gt 0 ]; do
    case "$1" in
      --only) COMPONENTS=$(echo "$2" | tr ',' ' '); ONLY_GIVEN=true; shift 2 ;;
      --only=*) COMPONENTS=$(echo "${1#--only=}" | tr ',' ' '); ONLY_GIVEN=true; shift ;;
      --prometheus) with_prometheus=true; shift ;;
      -h|--help) return 2 ;;
      *) shift ;;
    esac
  done
  if $with_prometheus; then COMPONENTS="$COMPONENTS prometheus"; fi
  return 0
}
