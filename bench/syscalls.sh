#!/usr/bin/env bash
# Where the cost of many instances goes: the gateway in front of the host's nginx ("ok") listening on 1 port, then
# on INSTANCES ports (static targets of one backend), in alternation, each under the same wrk load; for each,
# CPU time per request (user, system) and the system calls per request the gateway made (perf's syscall
# tracepoints), plus backend connections opened per second. Every listener is on 127.0.0.1; everything
# started here is stopped on exit. See bench/README.md ("Where many instances cost").
#   bench/syscalls.sh                                   # 1 vs 200 instances, random, 2 routers
#   LOAD_BALANCER=round_robin TRANSPORT=io_uring bench/syscalls.sh
# Knobs: JAR (target/gateway-fat.jar), INSTANCES (200), LOAD_BALANCER (random), ROUTERS (2), TRANSPORT (auto:
# the gateway's own choice; io_uring, epoll, nio), ROUNDS (2), CONNECTIONS (64), WARMUP_SECONDS (25),
# SECONDS_MEASURED (10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { echo "syscalls: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. bench/lib.sh
JAR=${JAR:-$ROOT/target/gateway-fat.jar}
INSTANCES=${INSTANCES:-200}
LOAD_BALANCER=${LOAD_BALANCER:-random}
ROUTERS=${ROUTERS:-2}
TRANSPORT=${TRANSPORT:-auto}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP_SECONDS:-25}
MEASURED=${SECONDS_MEASURED:-10}
bench_setup syscalls $(( ROUNDS * 2 * (WARMUP + 2 * MEASURED + 50) + 60 ))
need_pkg perf linux-perf
[ -e /sys/kernel/tracing/events/syscalls/sys_enter_sendto ] || [ -e /sys/kernel/debug/tracing/events/syscalls/sys_enter_sendto ] \
  || die "no syscall tracepoints here (tracefs not mounted?)"
mapfile -t BACKENDS < <(free_ports "$INSTANCES")
TAKEN_PORTS="${BACKENDS[*]}"
start_nginx_ok "${BACKENDS[*]}" "$TMP/nginx"

CALLS=(writev sendto sendmsg recvfrom recvmsg readv read write epoll_wait epoll_pwait epoll_pwait2 epoll_ctl io_uring_enter
  connect close futex)
EVENTS="raw_syscalls:sys_enter,$(printf 'syscalls:sys_enter_%s,' "${CALLS[@]}")"
TICK=$(getconf CLK_TCK)
# measure N: one gateway in front of N of the ports; prints one table row
measure() {
  local n=$1 port admin gw two
  mapfile -t two < <(free_ports 2)
  port=${two[0]}; admin=${two[1]}
  cat >"$TMP/gw.yml" <<CONF
server: {host: 127.0.0.1, port: $port, instances: $ROUTERS, admin_listener: {host: 127.0.0.1, port: $admin}}
routes:
  - {path_prefix: /bench, backend: bench}
backends: [{name: bench, load_balancer: $LOAD_BALANCER, targets: [$(printf 'http://127.0.0.1:%s, ' "${BACKENDS[@]:0:$n}" | sed 's/, $//')]}]
CONF
  local flags=()
  [ "$TRANSPORT" = auto ] || flags=("-Dgateway.transport=$TRANSPORT")
  java "${flags[@]}" -jar "$JAR" -conf "$TMP/gw.yml" >"$TMP/gw-$n.log" 2>&1 &
  GATEWAY_PID=$!
  gw=$GATEWAY_PID
  wait_200 "http://127.0.0.1:$port/bench" 60 gateway "$gw"
  wrk -t2 -c"$CONNECTIONS" -d"$((WARMUP + 2 * MEASURED + 10))s" "http://127.0.0.1:$port/bench" >"$TMP/wrk.txt" &
  WRK_PID=$!
  sleep "$WARMUP"
  # Window 1, nothing attached: CPU time, requests and connections opened.
  local stats="http://127.0.0.1:$port/stats" t0 t1 before after served0 served1 opens0 opens1
  t0=$(date +%s.%N); before=$(awk '{print $14, $15}' "/proc/$gw/stat"); served0=$(served "$stats")
  opens0=$(awk '/^Tcp:/ && ++n == 2 { print $6 }' /proc/net/snmp)
  sleep "$MEASURED"
  opens1=$(awk '/^Tcp:/ && ++n == 2 { print $6 }' /proc/net/snmp)
  served1=$(served "$stats"); after=$(awk '{print $14, $15}' "/proc/$gw/stat"); t1=$(date +%s.%N)
  # Window 2, perf counting (its tracepoints slow every call a little, so no CPU time is taken here): the
  # requests are counted inside perf's own run, so calls and requests cover the same span.
  perf stat -x, -e "${EVENTS%,}" -p "$gw" -o "$TMP/stat.csv" -- \
    bash -c ". bench/lib.sh; served '$stats' >'$TMP/in0'; sleep $MEASURED; served '$stats' >'$TMP/in1'" 2>/dev/null
  wait "$WRK_PID" || true
  stop_pid "$gw"
  python3 - "$n" "$before" "$after" "$((served1 - served0))" "$((opens1 - opens0))" "$t0" "$t1" "$TICK" "$TMP/stat.csv" \
    "$(( $(cat "$TMP/in1") - $(cat "$TMP/in0") ))" <<'PY'
import sys
n, before, after, served, opens, t0, t1, tick, csv, counted = sys.argv[1:]
u0, s0 = map(int, before.split()); u1, s1 = map(int, after.split())
served = max(1, int(served)); tick = int(tick); counted = max(1, int(counted))
wall = float(t1) - float(t0)
user = (u1 - u0) / tick * 1e6 / served; sys_ = (s1 - s0) / tick * 1e6 / served
calls = {}
total = 0
for line in open(csv):
    parts = line.strip().split(',')
    if len(parts) < 3 or not parts[0].isdigit():
        continue
    if parts[2] == 'raw_syscalls:sys_enter':
        total = int(parts[0]) / counted
    elif parts[2].startswith('syscalls:sys_enter_'):
        calls[parts[2][len('syscalls:sys_enter_'):]] = int(parts[0]) / counted
shown = ' '.join(f'{k} {v:.2f}' for k, v in calls.items() if v >= 0.005)
print(f'| {n} | {served / wall:.0f} | {user + sys_:.1f} ({user:.1f} + {sys_:.1f}) | {total:.2f} | {shown} | {int(opens) / wall:.0f} |')
PY
}

log "jar $JAR, $LOAD_BALANCER, $ROUTERS router(s), transport $TRANSPORT, $CONNECTIONS connections, $ROUNDS round(s)"
printf '| instances | req/s | CPU µs per request (user + sys) | system calls per request (all) | of which, per request | connections opened/s (machine) |\n'
printf '|---:|---:|---:|---:|---|---:|\n'
for _ in $(seq 1 "$ROUNDS"); do
  measure 1
  measure "$INSTANCES"
done
