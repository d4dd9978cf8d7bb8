#!/usr/bin/env bash
# Requests/s and p99 of one gateway jar with tracing on (sample_ratio 1, spans sent to a local OTLP/HTTP
# sink) and off, alternating, two rounds in one run. Backend: the host's nginx on 127.0.0.1 (100-byte body).
#   bench/tracing-cost.sh target/gateway-fat.jar
# On "on" rounds, SDK warnings (dropped spans, failed exports) are printed after the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: bench/tracing-cost.sh JAR" >&2; exit 2; }
TMP=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
BACKEND=$(free_port); OTLP=$(free_port)
mkdir -p "$TMP/nginx/logs"; head -c 100 /dev/zero | tr '\0' x >"$TMP/nginx/body"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $TMP/nginx/nginx.pid; error_log stderr;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$BACKEND; location / { alias $TMP/nginx/body; } } }
CONF
nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" & PIDS+=($!)
python3 bench/otlp-sink.py $OTLP & PIDS+=($!)
for round in 1 2; do for mode in on off; do
  PORT=$(free_port)
  TR=""; [ $mode = on ] && TR="tracing: {enabled: true, endpoint: \"http://127.0.0.1:$OTLP/v1/traces\"}"
  cat >"$TMP/gw.yml" <<CONF
server: {host: 127.0.0.1, port: $PORT, instances: 1, admin_listener: {host: 127.0.0.1, port: $(free_port)}}
docker: {enabled: false}
$TR
routes: [{path_prefix: /bench, backend: bench}]
backends: [{name: bench, targets: ["http://127.0.0.1:$BACKEND"]}]
CONF
  java -jar "$1" -conf "$TMP/gw.yml" >"$TMP/gw.log" 2>&1 & GW=$!; PIDS+=($GW)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/bench" >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t1 -c16 -d10s "http://127.0.0.1:$PORT/bench" >/dev/null
  out=$(wrk -t1 -c16 -d10s --latency "http://127.0.0.1:$PORT/bench")
  echo "round $round tracing $mode: $(echo "$out" | awk '/Requests\/sec/ {print $2" req/s"} / 99%/ {print "p99 "$2}' | tr '\n' ' ')"
  kill $GW; wait $GW 2>/dev/null || true
  [ $mode = on ] && grep -iv "^\s*at " "$TMP/gw.log" | grep -i "warn\|severe\|export\|drop" | head -3 || true
done; done
