#!/usr/bin/env bash
# What clustering costs: (A) one gateway against three clustered gateways behind HAProxy (TCP mode,
# conf/haproxy.cfg.example made local), and (B) one gateway with -cluster (a member of that cluster of
# three) against the same gateway without it. Each pair is measured in alternation, ROUNDS times, with
# wrk on 127.0.0.1; CPU per request is read from /proc of the gateway (and HAProxy) processes. The
# table gives medians of the per-round ratios, with the load average around the run. See docs/benchmarks.md.
#   bench/cluster.sh                     # about 5 minutes with the defaults
#   ROUNDS=7 DURATION=8s bench/cluster.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
JAR=${GATEWAY_JAR:-"$ROOT/target/gateway-fat.jar"}
RESULTS="$HERE/results"

ROUNDS=${ROUNDS:-5}              # measured rounds; each round measures every target once
DURATION=${DURATION:-10s}        # wrk duration per target and round
WARMUP=${WARMUP:-20s}            # wrk warm-up of each gateway (and of HAProxy's path) before round 1
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
INSTANCES=${INSTANCES:-1}        # router instances of every gateway
BODY_BYTES=${BODY_BYTES:-100}
JAVA_OPTS=${JAVA_OPTS:-}         # JVM flags of every gateway; default none, as the README runs it

log() { echo "cluster-bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
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
PIDS=()
WRK_PIDS=()
cleanup() {
  local p
  for p in "${WRK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$TMP"
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
  server { listen 127.0.0.1:$BACKEND; location / { alias $TMP/nginx/body; } } }
CONF
nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
PIDS+=($!)
wait_200 "http://127.0.0.1:$BACKEND/" 10 nginx

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
  # shellcheck disable=SC2086  # JAVA_OPTS is a list of flags
  DOCKGATE_CLUSTER_PORT=$hz java $JAVA_OPTS -jar "$JAR" -conf "$TMP/$name.yml" $cluster >"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
}
log "starting gateway S (alone) and N1-N3 (-cluster) on 127.0.0.1 (java ${JAVA_OPTS:-with default flags}, $INSTANCES router instance(s) each)"
start_gateway S
for i in 1 2 3; do start_gateway "N$i" -cluster "${HZ[$((i - 1))]}"; done
for name in S N1 N2 N3; do wait_200 "http://127.0.0.1:${PORT[$name]}/bench" 120 "gateway $name" "${PID[$name]}"; done
members() { curl -s "http://127.0.0.1:${ADMIN[$1]}/health" | grep -o '"members":\[[^]]*\]' | grep -o '"[^",]*:[0-9]*"' | wc -l; }
deadline=$((SECONDS + 60))
until [ "$(members N1)" = 3 ] && [ "$(members N3)" = 3 ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "the three clustered gateways did not see each other within 60 s (see $TMP/N1.log)"
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

# measure NAME DURATION: wrk against the target; prints "req/s p99_ms cpu_us_per_request [haproxy_us_per_request]"
measure() {
  local name=$1 dur=$2 before hbefore out
  # shellcheck disable=SC2046
  before=$(cpu_ticks $(pids_of "$name"))
  hbefore=$(cpu_ticks "${PID[H]}")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --latency "${URL[$name]}" >"$TMP/wrk.out" &
  WRK_PIDS=($!)
  wait "${WRK_PIDS[0]}"
  WRK_PIDS=()
  out=$TMP/wrk.out
  grep -q "Non-2xx\|Socket errors" "$out" && log "$name: $(grep 'Non-2xx\|Socket errors' "$out" | tr -s ' ')"
  # shellcheck disable=SC2046
  awk -v hz="$CLK_TCK" -v b="$before" -v a="$(cpu_ticks $(pids_of "$name"))" \
      -v hb="$hbefore" -v ha="$(cpu_ticks "${PID[H]}")" -v trio="$([ "$name" = trio ] && echo 1 || echo 0)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    / 99%/ { p99 = ms($2) }
    END { n = n > 0 ? n : 1; printf "%.0f %.2f %.1f", rps, p99, (a - b) * 1e6 / hz / n
          if (trio) printf " %.1f", (ha - hb) * 1e6 / hz / n
          printf "\n" }' "$out"
}

log "warming up every path for $WARMUP (the JIT compiler settles under load)"
for name in single trio clustered; do measure "$name" "$WARMUP" >/dev/null; done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
RAW="$TMP/rounds"
: >"$RAW"
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which of each pair goes first, so that a drift of the machine's load does not favour one.
  if [ $((round % 2)) = 1 ]; then pairs=("single trio" "plain clustered"); else pairs=("trio single" "clustered plain"); fi
  for pair in "${pairs[@]}"; do
    for name in $pair; do
      result=$(measure "$name" "$DURATION")
      echo "$round $name $result" >>"$RAW"
      log "round $round $name: $result (req/s, p99 ms, CPU µs per request$([ "$name" = trio ] && echo ', of which HAProxy'))"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table: medians of the per-round ratios
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
  echo
  echo "| target | req/s (median) | p99 ms (median) | gateway CPU µs/request (median) |"
  echo "|---|---|---|---|"
  echo "| 1 gateway, direct | $(med single 3) | $(med single 4) | $(med single 5) |"
  echo "| 3 clustered gateways behind HAProxy | $(med trio 3) | $(med trio 4) | $(med trio 5) (HAProxy's share: $(med trio 6)) |"
  echo "| 1 gateway without -cluster | $(med plain 3) | $(med plain 4) | $(med plain 5) |"
  echo "| 1 gateway with -cluster (member of the three) | $(med clustered 3) | $(med clustered 4) | $(med clustered 5) |"
  echo
  echo "| medians of per-round ratios | req/s | p99 | CPU per request |"
  echo "|---|---|---|---|"
  echo "| 3 behind HAProxy / 1 direct | $(ratio single trio 3) | $(ratio single trio 4) | $(ratio single trio 5) |"
  echo "| with -cluster / without | $(ratio plain clustered 3) | $(ratio plain clustered 4) | $(ratio plain clustered 5) |"
  echo
  echo "per-round ratios, with -cluster / without (CPU per request): $(paste <(col plain 5) <(col clustered 5) | awk '{printf "%.3f ", $2 / $1}')"
  echo "per-round ratios, 3 behind HAProxy / 1 direct (req/s): $(paste <(col single 3) <(col trio 3) | awk '{printf "%.3f ", $2 / $1}')"
  echo
  echo "rounds (round target req/s p99_ms cpu_us_per_request [haproxy_us_per_request]):"
  cat "$RAW"
} | tee "$REPORT"
log "written to $REPORT"
