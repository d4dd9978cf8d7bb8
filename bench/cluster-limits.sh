#!/usr/bin/env bash
# What a cluster-scope rate limit costs on the request path: one gateway node started with -cluster (its
# cluster's only member) and two routes with the same rate limit, one `scope: local`, one `scope: cluster`,
# the rate high enough that nothing is refused. wrk loads them in alternation (A, B, A, B, ...), after
# WARMUP rounds of each (the JIT's own CPU time is in the process's); for every round the gateway's CPU time
# (utime + stime from /proc/PID/stat) is divided by the requests wrk completed, and each round's B is compared
# with the A just before it (the machine's other load drifts less within a pair than across the run). Every listener is on 127.0.0.1; everything started here is stopped
# on exit; the whole run is bounded by MAX_SECONDS. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
JAR="$ROOT/target/gateway-fat.jar"

ROUNDS=${ROUNDS:-6}             # measured rounds of each variant, alternating
WARMUP=${WARMUP:-3}             # rounds of each first, not measured
DURATION=${DURATION:-10}        # seconds of wrk per round
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
RATE=${RATE:-1000000}           # the limit's requests_per_second: far above what one node serves here
BURST=${BURST:-1000000}
JAVA_OPTS=${JAVA_OPTS:-}        # JVM flags for the gateway; default none, as the README runs it
MAX_SECONDS=${MAX_SECONDS:-600} # the whole run is stopped after this long

log() { echo "cluster-limits: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

bench_setup cluster-limits "$MAX_SECONDS"

# ---------------------------------------------------------------- backend: the host's nginx, one worker
BACKEND_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
CLUSTER_PORT=$(free_port)
start_nginx_ok "$BACKEND_PORT" "$TMP/nginx"

# ---------------------------------------------------------------- gateway: one clustered node, two limited routes
cat >"$TMP/gateway.yml" <<EOF
server:
  host: 127.0.0.1
  port: $GATEWAY_PORT
docker: {enabled: false}
routes:
  - path_prefix: /local
    backend: web
    rate_limit: {requests_per_second: $RATE, burst: $BURST, scope: local}
  - path_prefix: /cluster
    backend: web
    rate_limit: {requests_per_second: $RATE, burst: $BURST, scope: cluster}
backends:
  - {name: web, targets: ["http://127.0.0.1:$BACKEND_PORT"]}
cluster:
  name: bench-$CLUSTER_PORT
  host: 127.0.0.1
  port: $CLUSTER_PORT
  members: ["127.0.0.1:$CLUSTER_PORT"]
EOF
log "starting a clustered gateway on 127.0.0.1:$GATEWAY_PORT (Hazelcast on $CLUSTER_PORT; java ${JAVA_OPTS:-with default flags})"
# shellcheck disable=SC2086  # JAVA_OPTS is a list of flags
java $JAVA_OPTS -jar "$JAR" -conf "$TMP/gateway.yml" -cluster >"$TMP/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_200 "http://127.0.0.1:$GATEWAY_PORT/local/" 120 "gateway" "$GATEWAY_PID"
wait_200 "http://127.0.0.1:$GATEWAY_PORT/cluster/" 20 "gateway" "$GATEWAY_PID"
grep -q "acts as local" "$TMP/gateway.log" && die "the cluster route acts as local: the node is not in a cluster"

cpu_ticks() { awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$GATEWAY_PID/stat"; }
HZ=$(getconf CLK_TCK)

# run_round NAME PATH: one wrk run; appends "requests cpu_seconds refused" to $TMP/NAME
run_round() {
  local name=$1 path=$2 before after out requests non2xx
  before=$(cpu_ticks)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$GATEWAY_PORT$path/x" >"$TMP/wrk.out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID"
  WRK_PID=""
  after=$(cpu_ticks)
  out=$(cat "$TMP/wrk.out")
  requests=$(awk '/requests in/{print $1}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' <<<"$out")
  [ -n "$requests" ] || die "wrk printed no request count: $out"
  echo "$requests $(awk -v t=$((after - before)) -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz}') ${non2xx:-0}" >>"$TMP/$name"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$WARMUP"); do
  log "warm-up $round/$WARMUP: local, then cluster, ${DURATION} s each"
  run_round warmup /local
  run_round warmup /cluster
done
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: local, then cluster, ${DURATION} s each"
  run_round local /local
  run_round cluster /cluster
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Per round: µs of gateway CPU per request; then the median of each variant and the difference.
summary() { # summary NAME: "median_us rounds_us total_requests refused"
  awk '{us = $2 * 1e6 / $1; printf "%s%.1f", (NR > 1 ? " " : ""), us; r += $1; x += $3} END {printf "\t%d\t%d\n", r, x}' "$TMP/$1"
}
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
IFS=$'\t' read -r local_rounds local_requests local_refused < <(summary local)
IFS=$'\t' read -r cluster_rounds cluster_requests cluster_refused < <(summary cluster)
local_median=$(median <<<"$local_rounds")
cluster_median=$(median <<<"$cluster_rounds")
diff_pct=$(awk -v a="$local_median" -v b="$cluster_median" 'BEGIN{printf "%+.1f", (b - a) * 100 / a}')
pair_ratios=$(paste -d' ' <(tr ' ' '\n' <<<"$local_rounds") <(tr ' ' '\n' <<<"$cluster_rounds") \
  | awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $2 / $1}')
pair_median=$(awk '{printf "%+.1f", ($1 - 1) * 100}' <<<"$(median <<<"$pair_ratios")")

echo "gateway CPU per request (µs), $ROUNDS alternating rounds of ${DURATION} s, wrk -t$THREADS -c$CONNECTIONS, rate limit $RATE/s burst $BURST:"
echo "  scope local:   median $local_median  (rounds: $local_rounds; $local_requests requests, $local_refused not 2xx)"
echo "  scope cluster: median $cluster_median  (rounds: $cluster_rounds; $cluster_requests requests, $cluster_refused not 2xx)"
echo "  cluster vs local: $diff_pct% (medians); per round pair cluster/local: $pair_ratios, median $pair_median%"
echo "load average (1, 5, 15 min) at the start: $LOAD_BEFORE, at the end: $LOAD_AFTER; $(nproc) CPU(s)."
