#!/usr/bin/env bash
# What clustering costs: (A) one gateway against three clustered gateways behind HAProxy (TCP mode,
# conf/haproxy.cfg.example made local), and (B) one gateway with -cluster (a member of that cluster of
# three) against the same gateway without it. A is measured in alternation, B at the same time (TOGETHER),
# ROUNDS times, with wrk on 127.0.0.1; CPU per request is read from /proc of the gateway (and HAProxy)
# processes. The table gives medians of the per-round ratios, with the load average around the run.
# Method: bench/README.md; figures: docs/benchmarks.md.
#   bench/cluster.sh                     # about 6 minutes with the defaults
#   ROUNDS=7 WARMUP=30 bench/cluster.sh   # the figures of docs/benchmarks.md, about 8 minutes
#   CONTROL=1 bench/cluster.sh           # N1 without -cluster: the error of the method on this machine
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
JAR=${GATEWAY_JAR:-"$ROOT/target/gateway-fat.jar"}
RESULTS="$HERE/results"

ROUNDS=${ROUNDS:-5}              # measured rounds; each round measures every target once
DURATION=${DURATION:-10s}        # wrk duration per target and round
WARMUP=${WARMUP:-20s}            # seconds of wrk warm-up per gateway before round 1 (x3 for the three behind HAProxy)
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
INSTANCES=${INSTANCES:-1}        # router instances of every gateway
BODY_BYTES=${BODY_BYTES:-100}
JAVA_OPTS=${JAVA_OPTS:-}         # JVM flags of every gateway; default none, as the README runs it
TOGETHER=${TOGETHER:-1}          # 1: with and without -cluster measured at the same time (two wrk), so both
                                 # meet the same load from the rest of the machine; 0: one after the other
IDLE_SECONDS=${IDLE_SECONDS:-10} # how long the CPU of the processes is read with no request
CONTROL=${CONTROL:-0}            # 1: N1 starts without -cluster (N2 and N3 form the cluster): pair B compares two
                                 # equal gateways, and its ratios show the method's own error

log() { echo "cluster-bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $WARMUP =~ ^[0-9]+s?$ ]] || die "WARMUP must be whole seconds (20 or 20s), got \"$WARMUP\""
WARMUP=${WARMUP%s}s
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

need_pkg wrk wrk
need_pkg nginx nginx-light nginx
need_pkg haproxy haproxy
need_pkg curl curl
need_pkg ss iproute2
if [ ! -f "$JAR" ]; then
  [ -z "${GATEWAY_JAR:-}" ] || die "GATEWAY_JAR $JAR: no such file"
  log "building $JAR"
  (cd "$ROOT" && mvn -q -B package -DskipTests)
fi

TMP=$(mktemp -d)
chmod 755 "$TMP"   # nginx's worker runs as another user
PIDS=()
WRK_PIDS=()
cleanup() {
  local p
  for p in "${WRK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  [ "${KEEP_TMP:-0}" = 1 ] && log "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$SECONDS

# ---------------------------------------------------------------- backend: the host's nginx, one worker
BACKEND=$(free_port)
mkdir -p "$TMP/nginx/logs"
head -c "$BODY_BYTES" /dev/zero | tr '\0' x >"$TMP/nginx/body"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $TMP/nginx/nginx.pid; error_log stderr;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$BACKEND; root $TMP/nginx; location / { try_files /body =404; } } }
CONF
nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
PIDS+=($!)
wait_200 "http://127.0.0.1:$BACKEND/bench" 10 nginx

# ---------------------------------------------------------------- gateways
# S: alone, no -cluster. N1..N3: one cluster of three on 127.0.0.1. Same config otherwise.
HZ=("$(free_port)" "$(free_port)" "$(free_port)")
MEMBERS="\"127.0.0.1:${HZ[0]}\", \"127.0.0.1:${HZ[1]}\", \"127.0.0.1:${HZ[2]}\""
declare -A PORT ADMIN PID
start_gateway() { # start_gateway NAME [-cluster] [HAZELCAST_PORT]
  local name=$1 cluster=${2:-} hz=${3:-}
  PORT[$name]=$(free_port); ADMIN[$name]=$(free_port)
  cat >"$TMP/$name.yml" <<CONF
server: {host: 127.0.0.1, port: ${PORT[$name]}, instances: $INSTANCES, drain_delay_ms: 0,
  admin_listener: {host: 127.0.0.1, port: ${ADMIN[$name]}}}
docker: {enabled: false}
routes: [{path_prefix: /bench, backend: bench}]
backends: [{name: bench, targets: ["http://127.0.0.1:$BACKEND"]}]
cluster: {name: bench-${HZ[0]}, host: 127.0.0.1, members: [$MEMBERS]}
CONF
  # shellcheck disable=SC2086,SC2206  # JAVA_OPTS is a list of flags
  env ${hz:+DOCKGATE_CLUSTER_PORT=$hz} java $JAVA_OPTS -jar "$JAR" -conf "$TMP/$name.yml" $cluster >"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
}
log "starting gateway S (alone) and N1-N3 (-cluster) on 127.0.0.1 (java ${JAVA_OPTS:-with default flags}, $INSTANCES router instance(s) each)"
start_gateway S
if [ "$CONTROL" = 1 ]; then start_gateway N1; else start_gateway N1 -cluster "${HZ[0]}"; fi
for i in 2 3; do start_gateway "N$i" -cluster "${HZ[$((i - 1))]}"; done
for name in S N1 N2 N3; do wait_200 "http://127.0.0.1:${PORT[$name]}/bench" 120 "gateway $name" "${PID[$name]}"; done
members() { # members NAME: how many members the gateway's readiness shows in its cluster check
  curl -s --max-time 5 "http://127.0.0.1:${ADMIN[$1]}/health" \
    | python3 -c 'import json, sys; print(next(len(c["data"]["members"]) for c in json.load(sys.stdin)["checks"] if c["id"] == "cluster"))' 2>/dev/null || echo 0
}
deadline=$((SECONDS + 120))
until [ "$(members N2)" = $((3 - CONTROL)) ] && [ "$(members N3)" = $((3 - CONTROL)) ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "the three clustered gateways did not see each other within 120 s (see $TMP/N1.log)"
  sleep 0.5
done

# ---------------------------------------------------------------- HAProxy: the documented config, on local ports
HP=$(free_port)
sed -e "s/bind :80/bind 127.0.0.1:$HP/" -e "s/^\(\s*log \)stdout.*/\1stdout format raw local0 notice/" \
  -e "s/10.0.0.1:8080 check port 9901/127.0.0.1:${PORT[N1]} check port ${ADMIN[N1]}/" \
  -e "s/10.0.0.2:8080 check port 9901/127.0.0.1:${PORT[N2]} check port ${ADMIN[N2]}/" \
  -e "s/10.0.0.3:8080 check port 9901/127.0.0.1:${PORT[N3]} check port ${ADMIN[N3]}/" \
  "$ROOT/conf/haproxy.cfg.example" >"$TMP/haproxy.cfg"
grep -q "127.0.0.1:${PORT[N3]}" "$TMP/haproxy.cfg" || die "conf/haproxy.cfg.example no longer has the lines this script replaces"
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PID[H]=$!
PIDS+=($!)
wait_200 "http://127.0.0.1:$HP/bench" 10 haproxy "${PID[H]}"

declare -A URL=(
  [single]="http://127.0.0.1:${PORT[S]}/bench"
  [trio]="http://127.0.0.1:$HP/bench"
  [plain]="http://127.0.0.1:${PORT[S]}/bench"
  [clustered]="http://127.0.0.1:${PORT[N1]}/bench"
)
pids_of() { # the processes whose CPU a target's requests cost
  case $1 in
    single | plain) echo "${PID[S]}" ;;
    trio) echo "${PID[N1]} ${PID[N2]} ${PID[N3]} ${PID[H]}" ;;
    clustered) echo "${PID[N1]}" ;;
  esac
}
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # user + system ticks of the given processes, summed
  local p
  for p in "$@"; do awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat"; done | awk '{t += $1} END {print t + 0}'
}
now() { date +%s.%N; }
loop_ticks() { # ticks of the Vert.x event-loop threads (the request path) of the given processes, summed
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/stat 2>/dev/null; done \
    | awk '/\(vert\.x-eventloo/ {sub(/^.*\) /, ""); t += $12 + $13} END {print t + 0}'
}

# Background CPU with no request at all (timers, Hazelcast's heartbeats and monitors, GC), in ticks per second,
# measured for every process over the same IDLE seconds; subtracted to give the request path's own CPU.
declare -A IDLE=([single]=0 [plain]=0 [trio]=0 [clustered]=0 [H]=0)
measure_idle() {
  local name t0 before=()
  t0=$(now)
  for name in single trio clustered H; do
    # shellcheck disable=SC2046
    before+=("$(cpu_ticks $([ "$name" = H ] && echo "${PID[H]}" || pids_of "$name"))")
  done
  sleep "$IDLE_SECONDS"
  local i=0 elapsed
  elapsed=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
  for name in single trio clustered H; do
    # shellcheck disable=SC2046
    IDLE[$name]=$(awk -v a="${before[$i]}" -v b="$(cpu_ticks $([ "$name" = H ] && echo "${PID[H]}" || pids_of "$name"))" \
      -v e="$elapsed" 'BEGIN {printf "%.3f", (b - a) / e}')
    i=$((i + 1))
  done
  IDLE[plain]=${IDLE[single]}
}

# measure DURATION NAME...: wrk against each named target, all at the same time; prints one line per target:
# "NAME req/s p99_ms cpu_us_per_request event_loop_cpu_us_per_request [haproxy_us_per_request]"
measure() {
  local dur=$1 name
  shift
  local -A before=() hbefore=() lbefore=()
  for name in "$@"; do
    # shellcheck disable=SC2046
    before[$name]=$(cpu_ticks $(pids_of "$name"))
    # shellcheck disable=SC2046
    lbefore[$name]=$(loop_ticks $(pids_of "$name"))
    hbefore[$name]=$(cpu_ticks "${PID[H]}")
  done
  WRK_PIDS=()
  for name in "$@"; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --latency "${URL[$name]}" >"$TMP/wrk-$name.out" &
    WRK_PIDS+=($!)
  done
  wait "${WRK_PIDS[@]}"
  WRK_PIDS=()
  for name in "$@"; do
    local out=$TMP/wrk-$name.out
    grep -q "Non-2xx\|Socket errors" "$out" && log "$name: $(grep 'Non-2xx\|Socket errors' "$out" | tr -s ' ')"
    # shellcheck disable=SC2046
    awk -v name="$name" -v hz="$CLK_TCK" -v b="${before[$name]}" -v a="$(cpu_ticks $(pids_of "$name"))" \
        -v hb="${hbefore[$name]}" -v ha="$(cpu_ticks "${PID[H]}")" \
        -v lb="${lbefore[$name]}" -v la="$(loop_ticks $(pids_of "$name"))" '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
      /requests in/ { n = $1 }
      /Requests\/sec/ { rps = $2 }
      / 99%/ { p99 = ms($2) }
      END { n = n > 0 ? n : 1
            printf "%s %.0f %.2f %.1f %.1f", name, rps, p99, (a - b) * 1e6 / hz / n, (la - lb) * 1e6 / hz / n
            if (name == "trio") printf " %.1f", (ha - hb) * 1e6 / hz / n
            printf "\n" }' "$out"
  done
}

log "warming up for $WARMUP per gateway, three times that for the three behind HAProxy (the JIT compiler settles under load)"
measure "$WARMUP" single >/dev/null
measure "$WARMUP" clustered >/dev/null
measure "$(( ${WARMUP%s} * 3 ))s" trio >/dev/null

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
RAW="$TMP/rounds"
: >"$RAW"
record() { # record ROUND: append measure's lines, logged
  local line
  while read -r line; do
    echo "$1 $line" >>"$RAW"
    log "round $1: $line"
  done
}
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which of each pair goes first, so that a drift of the machine's load does not favour one.
  if [ $((round % 2)) = 1 ]; then a=(single trio); b=(plain clustered); else a=(trio single); b=(clustered plain); fi
  measure "$DURATION" "${a[0]}" | record "$round"
  measure "$DURATION" "${a[1]}" | record "$round"
  if [ "$TOGETHER" = 1 ]; then
    measure "$DURATION" "${b[@]}" | record "$round"
  else
    measure "$DURATION" "${b[0]}" | record "$round"
    measure "$DURATION" "${b[1]}" | record "$round"
  fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring the CPU each process uses in ${IDLE_SECONDS} s without requests"
measure_idle
# Net of idle: minus what the processes use without requests, per request at the round's rate
# (ticks per second x 1e6 / hz / (requests per second)). Columns become: round name req/s p99 cpu loops net [haproxy].
awk -v hz="$CLK_TCK" -v s="${IDLE[single]}" -v t="${IDLE[trio]}" -v c="${IDLE[clustered]}" '
  { idle = ($2 == "trio") ? t : ($2 == "clustered") ? c : s
    net = $5 - idle * 1e6 / hz / ($3 > 0 ? $3 : 1)
    printf "%s %s %s %s %s %s %.1f%s\n", $1, $2, $3, $4, $5, $6, net, (NF > 6 ? " " $7 : "") }' "$RAW" >"$RAW.net"
mv "$RAW.net" "$RAW"

# ---------------------------------------------------------------- table: medians of the per-round ratios
ms_per_s() { awk -v t="${IDLE[$1]}" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t * 1000 / hz}'; }
col() { awk -v n="$1" -v c="$2" '$2 == n {print $c}' "$RAW"; }
ratio() { # ratio A B COLUMN: median over rounds of B/A
  paste <(col "$1" "$3") <(col "$2" "$3") | awk '{printf "%.4f\n", $2 / $1}' | median
}
med() { col "$1" "$2" | median; }
mkdir -p "$RESULTS"
REPORT="$RESULTS/cluster-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "# bench/cluster.sh: $ROUNDS rounds of $DURATION per target after $WARMUP warm-up, wrk -t$THREADS -c$CONNECTIONS, $BODY_BYTES-byte body"
  echo "# machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -r); $(haproxy -v | head -1 | cut -d' ' -f1-3); java $(java -version 2>&1 | head -1 | cut -d'"' -f2) ${JAVA_OPTS:-(default flags)}"
  echo "# load average before: $LOAD_BEFORE; after: $LOAD_AFTER; took $((SECONDS - STARTED)) s"
  [ "$CONTROL" = 0 ] || echo "# CONTROL=1: N1 runs WITHOUT -cluster: \"with -cluster\" below is an equal gateway (A/A), and N2 + N3 form a cluster of two"
  echo
  echo "| target | req/s | p99 ms | CPU µs/request | CPU µs/request net of idle | event loops' CPU µs/request |"
  echo "|---|---|---|---|---|---|"
  echo "| 1 gateway, direct | $(med single 3) | $(med single 4) | $(med single 5) | $(med single 7) | $(med single 6) |"
  echo "| 3 clustered gateways behind HAProxy | $(med trio 3) | $(med trio 4) | $(med trio 5) (HAProxy: $(med trio 8)) | $(med trio 7) | $(med trio 6) |"
  echo "| 1 gateway without -cluster | $(med plain 3) | $(med plain 4) | $(med plain 5) | $(med plain 7) | $(med plain 6) |"
  echo "| 1 gateway with -cluster (member of the three) | $(med clustered 3) | $(med clustered 4) | $(med clustered 5) | $(med clustered 7) | $(med clustered 6) |"
  echo
  echo "| medians of per-round ratios | req/s | p99 | CPU per request | net of idle | event loops' CPU per request |"
  echo "|---|---|---|---|---|---|"
  echo "| 3 behind HAProxy / 1 direct | $(ratio single trio 3) | $(ratio single trio 4) | $(ratio single trio 5) | $(ratio single trio 7) | $(ratio single trio 6) |"
  echo "| with -cluster / without$([ "$TOGETHER" = 1 ] && echo ' (measured together)') | $(ratio plain clustered 3) | $(ratio plain clustered 4) | $(ratio plain clustered 5) | $(ratio plain clustered 7) | $(ratio plain clustered 6) |"
  echo
  echo "CPU with no request, ms per second: 1 gateway without -cluster $(ms_per_s single), with -cluster $(ms_per_s clustered); the three behind HAProxy $(ms_per_s trio) (HAProxy $(ms_per_s H))"
  echo
  echo "per-round ratios, with -cluster / without (CPU per request): $(paste <(col plain 5) <(col clustered 5) | awk '{printf "%.3f ", $2 / $1}')"
  echo "per-round ratios, with -cluster / without (CPU per request net of idle): $(paste <(col plain 7) <(col clustered 7) | awk '{printf "%.3f ", $2 / $1}')"
  echo "per-round ratios, with -cluster / without (event loops' CPU per request): $(paste <(col plain 6) <(col clustered 6) | awk '{printf "%.3f ", $2 / $1}')"
  echo "per-round ratios, 3 behind HAProxy / 1 direct (req/s): $(paste <(col single 3) <(col trio 3) | awk '{printf "%.3f ", $2 / $1}')"
  echo
  echo "rounds (round target req/s p99_ms cpu_us_per_request event_loops_cpu_us_per_request cpu_us_per_request_net_of_idle [haproxy_us_per_request]):"
  cat "$RAW"
} | tee "$REPORT"
log "written to $REPORT"
