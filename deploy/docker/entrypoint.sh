#!/bin/bash
# The image's entry point: the first argument names the binary, the rest are its flags.
#   switchyard gateway --ws-port 9000     -> switchyard-gateway --ws-port 9000
#   switchyard ctl chargers list          -> switchyardctl chargers list
#   switchyard probe 8081 /readyz         -> exit 0 when GET http://127.0.0.1:8081/readyz is 200
# exec: the service is PID 1 and gets SIGTERM itself (it drains, then exits 0). `probe` is for
# container health checks: the image has no curl, bash's /dev/tcp is enough for one GET.
set -eu
usage() {
  echo "usage: switchyard SERVICE [FLAGS]  (SERVICE: gateway auth transactions status smart-charging roaming" >&2
  echo "       standalone ctl events loadgen; settings also as SWITCHYARD_* variables, see SERVICE --help)" >&2
  echo "       switchyard probe PORT [PATH]  (health check: HTTP 200 from 127.0.0.1:PORT PATH)" >&2
}
probe() {
  local port=$1 path=${2:-/readyz} status
  exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
  IFS=' ' read -r _ status _ <&3 || exit 1
  [ "$status" = 200 ]
}
[ $# -ge 1 ] || { usage; exit 2; }
service=$1
shift
case "$service" in
  -h|--help|help) usage; exit 0 ;;
  probe) [ $# -ge 1 ] || { usage; exit 2; }; probe "$@" ;;
  ctl|switchyardctl) exec /usr/local/bin/switchyardctl "$@" ;;
  gateway|auth|transactions|status|smart-charging|roaming|standalone|events|loadgen)
    exec "/usr/local/bin/switchyard-$service" "$@" ;;
  *) echo "switchyard: unknown service '$service'" >&2; usage; exit 2 ;;
esac
