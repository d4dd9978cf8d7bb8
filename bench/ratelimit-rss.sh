#!/usr/bin/env bash
# Memory of the rate-limit buckets under load: the gateway's resident set (VmRSS), the keys it holds
# and its live heap before, after 1,000,000 requests spread over 100,000 client addresses on a
# rate-limited route, and after those keys have been idle past their expiry; with ROUNDS=2 the same
# again with 100,000 new addresses, to show the first round's memory is reused, not added to. Every
# listener is on 127.0.0.1; everything started here is stopped on exit. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
JAR="$ROOT/target/gateway-fat.jar"

REQUESTS=${REQUESTS:-1000000}   # requests per round
KEYS=${KEYS:-100000}            # distinct client addresses per round (each round's are new)
ROUNDS=${ROUNDS:-1}             # 2: a second round with new keys, to show the memory is reused
RATE=${RATE:-1}                 # the route's requests_per_second per key
BURST=${BURST:-30}              # its burst: a key expires BURST / RATE seconds after its last request; each
                                # key gets REQUESTS / KEYS requests, within its burst with the defaults
MAX_KEYS=${MAX_KEYS:-}          # the route's max_keys; empty: the gateway's default
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
JAVA_OPTS=${JAVA_OPTS:-}        # JVM flags for the gateway; default none, as the README runs it
MAX_SECONDS=${MAX_SECONDS:-300} # the whole run is stopped after this long

log() { echo "ratelimit-rss: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

command -v jcmd >/dev/null 2>&1 || die "jcmd (from the JDK) is needed to count the keys held"
[ "$KEYS" -le 16777216 ] || die "KEYS at most 16777216 (addresses 10.0.0.0/8)"
# Bounded: past MAX_SECONDS the script stops itself (and, by its trap, all it started).
bench_setup ratelimit-rss "$MAX_SECONDS"

# ---------------------------------------------------------------- backend: the host's nginx, one worker
BACKEND_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
start_nginx_ok "$BACKEND_PORT" "$TMP/nginx"

# ---------------------------------------------------------------- gateway: client_ip keys from a trusted proxy's X-Forwarded-For
cat >"$TMP/gateway.yml" <<EOF
server:
  host: 127.0.0.1
  port: $GATEWAY_PORT
  trusted_proxies: [127.0.0.1/32]
docker: {enabled: false}
routes:
  - path_prefix: /limited
    backend: web
    rate_limit: {requests_per_second: $RATE, burst: $BURST, key: client_ip${MAX_KEYS:+, max_keys: $MAX_KEYS}}
backends:
  - {name: web, targets: ["http://127.0.0.1:$BACKEND_PORT"]}
EOF
log "starting gateway on 127.0.0.1:$GATEWAY_PORT (java ${JAVA_OPTS:-with default flags})"
# shellcheck disable=SC2086  # JAVA_OPTS is a list of flags
java $JAVA_OPTS -jar "$JAR" -conf "$TMP/gateway.yml" >"$TMP/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_200 "http://127.0.0.1:$GATEWAY_PORT/limited/" 60 "gateway" "$GATEWAY_PID"

rss_mb() { awk '/^VmRSS:/{printf "%.0f", $2 / 1024}' "/proc/$GATEWAY_PID/status"; }
# Keys held: the bucket class's live instances (a full GC first, so after the RSS reading).
keys_held() {
  jcmd "$GATEWAY_PID" GC.class_histogram 2>/dev/null \
    | awk '$4 == "dev.dockgate.limits.LocalTokenBuckets$Bucket" {n = $2} END {print n + 0}'
}
live_heap_mb() { # the heap in use right after the full GC that keys_held caused
  jcmd "$GATEWAY_PID" GC.heap_info 2>/dev/null | awk '/garbage-first heap|def new generation|tenured|PSYoungGen|ParOldGen/ {
      for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); s += v } } END {printf "%.0f", s / 1024}'
}
stats_total() { curl -s --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/stats" \
  | sed -n 's/.*"success":\([0-9]*\).*"error":\([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}'; }

# ---------------------------------------------------------------- load: wrk, each request from another address
cat >"$TMP/keys.lua" <<'EOF'
-- Thread i of T sends requests n = i, i + T, i + 2T, ... with X-Forwarded-For 10.x.y.z for key
-- (n mod KEYS) + BASE, and stops after its share of REQUESTS. The requests are made in init, so
-- sending one is a table lookup, and no response is parsed.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local requests, keys, base, count = tonumber(args[1]), tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  share = math.floor(requests / count) + ((id < requests % count) and 1 or 0)
  sent = 0
  made = {}
  -- this thread's keys repeat once n has gone round all KEYS; make one period
  local n, first = id, nil
  repeat
    local k = n % keys
    if first == nil then first = k elseif k == first then break end
    local a = k + base
    made[#made + 1] = wrk.format(nil, "/limited/x", { ["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.floor(a / 65536) % 256, math.floor(a / 256) % 256, a % 256) })
    n = n + count
  until false
end
function request()
  sent = sent + 1
  if sent >= share then wrk.thread:stop() end
  return made[(sent - 1) % #made + 1]
end
EOF

round() { # round R: REQUESTS requests over KEYS addresses never used before
  local r=$1 before start target
  before=$(stats_total)
  target=$((before + REQUESTS))
  start=$SECONDS
  # wrk runs until interrupted; its threads stop themselves after their share.
  wrk -t "$THREADS" -c "$CONNECTIONS" -d 600s -s "$TMP/keys.lua" "http://127.0.0.1:$GATEWAY_PORT/limited/x" \
    -- "$REQUESTS" "$KEYS" $(( (r - 1) * KEYS )) "$THREADS" >"$TMP/wrk-$r.txt" 2>&1 &
  WRK_PID=$!
  local total=$before last=-1
  while :; do
    sleep 0.5
    kill -0 "$WRK_PID" 2>/dev/null || die "wrk exited early: $(cat "$TMP/wrk-$r.txt")"
    total=$(stats_total)
    # Done when the count stands still at the target (every wrk thread has stopped; a thread's last
    # request may stay unsent when it stops, so the target less one per thread is enough).
    if [ "$total" -ge $((target - THREADS)) ] && [ "$total" = "$last" ]; then break; fi
    last=$total
  done
  kill -INT "$WRK_PID"; wait "$WRK_PID" || true; WRK_PID=""
  ROUND_SECONDS=$((SECONDS - start))
  ROUND_REQUESTS=$((total - before))
  ROUND_SUMMARY=$(curl -s --max-time 2 "http://127.0.0.1:$GATEWAY_PORT/stats" \
    | sed -n 's/^{"requests_count":{"success":\([0-9]*\),"error":\([0-9]*\)}.*/\1 success, \2 error (429)/p')
}

IDLE=$(awk -v b="$BURST" -v r="$RATE" 'BEGIN {printf "%d", b / r + 3}')  # expiry plus a margin
ROWS=()
row() { # row WHAT: RSS now, then keys held and live heap (after a full GC)
  local rss keys heap
  rss=$(rss_mb); keys=$(keys_held); heap=$(live_heap_mb)
  ROWS+=("$(printf '| %-44s | %8s | %9s | %9s |' "$1" "$rss" "$keys" "$heap")")
  log "$1: VmRSS $rss MB, $keys keys held, $heap MB live heap"
}
row "started, before any load"
for r in $(seq 1 "$ROUNDS"); do
  round "$r"
  log "round $r: $ROUND_REQUESTS requests in $ROUND_SECONDS s ($((ROUND_REQUESTS / (ROUND_SECONDS > 0 ? ROUND_SECONDS : 1))) per second); /stats since start: $ROUND_SUMMARY"
  row "round $r: after $ROUND_REQUESTS requests, $KEYS new keys"
  sleep "$IDLE"
  row "round $r: $IDLE s idle (expiry after $((BURST / RATE)) s)"
done

echo
echo "Rate-limit memory, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), jar built $(date -u -r "$JAR" +%Y-%m-%dT%H:%MZ)"
echo "route: rate_limit {requests_per_second: $RATE, burst: $BURST, key: client_ip${MAX_KEYS:+, max_keys: $MAX_KEYS}}; $ROUNDS round(s) of $REQUESTS requests over $KEYS addresses (X-Forwarded-For from a trusted proxy)"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GB", $2/1048576}' /proc/meminfo), java $(java -version 2>&1 | awk -F'"' 'NR==1{print $2}') ${JAVA_OPTS:-(default flags)}; wrk -t $THREADS -c $CONNECTIONS"
echo
printf '| %-44s | %8s | %9s | %9s |\n' "when" "VmRSS MB" "keys held" "live heap MB"
echo "| --- | ---: | ---: | ---: |"
printf '%s\n' "${ROWS[@]}"
