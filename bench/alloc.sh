#!/usr/bin/env bash
# Bytes allocated per proxied request, for one or more gateway jars, on the same machine in one run.
# Each jar runs with the Epsilon collector (it never collects), so the heap used after N requests,
# minus before, is what N requests allocated: a figure that does not move with the machine's load,
# unlike req/s or CPU time. The backend is the host's nginx on 127.0.0.1 (a 100-byte body).
#   bench/alloc.sh target/gateway-fat.jar /tmp/old/gateway-fat.jar
# Knobs: REQUESTS_SECONDS (10), WARMUP_SECONDS (10), CONNECTIONS (16); ROUTES (1): the bench route and
# ROUTES-1 others (bench/routes.sh, as bench/run.sh makes them); INSTANCES (1): the backend's static
# targets, the nginx backend listening on that many ports; CLUSTER=1: each jar also with -cluster (a
# cluster of one node, so its event bus is the clustered one). Every gateway is also left without load
# for as long as it is measured under load: "at rest" is what it allocates meanwhile (Hazelcast, timers),
# and "net" takes that out of the bytes per request.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/routes.sh
[ $# -ge 1 ] || { echo "usage: bench/alloc.sh JAR [JAR...]" >&2; exit 2; }
SECONDS_RUN=${REQUESTS_SECONDS:-10}
WARMUP=${WARMUP_SECONDS:-10}
CONNECTIONS=${CONNECTIONS:-16}
ROUTES=${ROUTES:-1}
INSTANCES=${INSTANCES:-1}
CLUSTER=${CLUSTER:-0}
for tool in wrk nginx jcmd; do
  command -v "$tool" >/dev/null 2>&1 || { [ "$tool" = jcmd ] && { echo "alloc: jcmd (a JDK) needed" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$([ "$tool" = nginx ] && echo nginx-light || echo wrk)" >/dev/null; }
done
TMP=$(mktemp -d)
free_port() { free_ports 1; }
free_ports() { # free_ports N: N distinct ports free now (held together while chosen)
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
mapfile -t BACKENDS < <(free_ports "$INSTANCES")
BACKEND=${BACKENDS[0]}
mkdir -p "$TMP/nginx/logs"
head -c 100 /dev/zero | tr '\0' x >"$TMP/nginx/body"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $TMP/nginx/nginx.pid; error_log stderr;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  server { $(printf 'listen 127.0.0.1:%s; ' "${BACKENDS[@]}") location / { alias $TMP/nginx/body; } } }
CONF
nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
PIDS+=($!)
# Epsilon's heap is one space, "[start, top, end)": top - start bytes are in use (KB out).
used() { jcmd "$1" GC.heap_info | sed -n 's/.*space .*\[\(0x[0-9a-f]*\), \(0x[0-9a-f]*\),.*/\1 \2/p' | head -1 \
  | { read -r start top; echo $(( (top - start) / 1024 )); }; }
printf '| jar | cluster | routes | instances | requests | KB allocated | bytes per request | KB at rest | net bytes per request |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
for jar in "$@"; do
  for clustered in $( [ "$CLUSTER" = 1 ] && echo "no yes" || echo no); do
  PORT=$(free_port)
  cat >"$TMP/gw.yml" <<CONF
server: {host: 127.0.0.1, port: $PORT, instances: 1, admin_listener: {host: 127.0.0.1, port: $(free_port)}}
docker: {enabled: false}
routes:
  - {path_prefix: /bench, backend: bench}
$(other_routes $((ROUTES - 1)))
backends: [{name: bench, targets: [$(printf 'http://127.0.0.1:%s, ' "${BACKENDS[@]}" | sed 's/, $//')]}]
CONF
  flags=()
  if [ "$clustered" = yes ]; then
    hz=$(free_port)
    echo "cluster: {name: alloc-$hz, host: 127.0.0.1, port: $hz, members: [\"127.0.0.1:$hz\"]}" >>"$TMP/gw.yml"
    flags=(-cluster)
  fi
  java -XX:+UnlockExperimentalVMOptions -XX:+UseEpsilonGC -Xms12g -Xmx12g -XX:-UseTLAB \
    -jar "$jar" -conf "$TMP/gw.yml" "${flags[@]}" >"$TMP/gw.log" 2>&1 &
  GW=$!
  PIDS+=($GW)
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/bench" >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "http://127.0.0.1:$PORT/bench" >/dev/null
  rest_from=$(used "$GW")
  sleep "$SECONDS_RUN"
  before=$(used "$GW")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" "http://127.0.0.1:$PORT/bench")
  after=$(used "$GW")
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  kill "$GW"; wait "$GW" 2>/dev/null || true
  rest=$((before - rest_from))
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$jar" "$clustered" "$ROUTES" "$INSTANCES" "$requests" \
    "$((after - before))" "$(( (after - before) * 1024 / requests ))" "$rest" "$(( (after - before - rest) * 1024 / requests ))"
  done
done
