#!/usr/bin/env bash
# How long a reload of a large config holds the routers: runs the gateway jar with ROUTES routes
# (bench/routes.sh's mix), times a GET /health/live on a new connection every 10 ms (each lands on one
# router's event loop), rewrites the config once (the default response's body changes, so every route
# is applied again) and reports the slowest probe before and after the rewrite, and the blocked-thread
# warnings the gateway logged at start-up and during the reload. START=small (the default) starts with
# one route and reloads the large config before the measured reload (the launcher gives the first load
# 60 s, which 100,000 routes can exceed on a loaded machine); START=large starts with it.
# AFTER: the longest the probes go on after the rewrite (they stop 3 s after the new config answers).
# Usage: [ROUTES=100000] [START=small|large] [JAR=target/gateway-fat.jar] [AFTER=300] bench/reload-block.sh
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "reload-block: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
. bench/lib.sh
. bench/routes.sh
JAR=${JAR:-target/gateway-fat.jar}
ROUTES=${ROUTES:-100000}
AFTER=${AFTER:-300}
[ -f "$JAR" ] || mvn -q -B package -DskipTests
TMP=$(mktemp -d)
GW_PID=""
cleanup() { stop_pid "$GW_PID"; [ -z "${KEEP_LOG:-}" ] || cp "$TMP/gateway.log" "$KEEP_LOG"; rm -rf "$TMP"; }
trap cleanup EXIT
{ read -r PORT; read -r ADMIN; } < <(free_ports 2)

config() { # config BODY [ROUTES]: the whole config file on stdout
  cat <<EOF
server:
  host: 127.0.0.1
  port: $PORT
  admin_listener: {port: $ADMIN}
docker: {enabled: false}
default_response: {status_code: 404, body: "$1"}
backends:
  - {name: bench, targets: ["http://127.0.0.1:9"]}
routes:
  - {path_prefix: /bench, backend: bench}
EOF
  other_routes $((${2:-$ROUTES} - 1))
}

body_is() { # body_is TEXT: whether the default response is TEXT now
  [ "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/none" || true)" = "$1" ]
}

if [ "${START:-small}" = small ]; then config first 1 >"$TMP/gateway.yml"; else config first >"$TMP/gateway.yml"; fi
log "$ROUTES routes, start ${START:-small}; $JAR"
java ${JAVA_OPTS:-} -jar "$JAR" -conf "$TMP/gateway.yml" ${GATEWAY_ARGS:-} >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
started=$SECONDS
wait_200 "http://127.0.0.1:$PORT/health/live" 300 gateway "$GW_PID"
log "listening after $((SECONDS - started)) s"
if [ "${START:-small}" = small ]; then
  config loaded >"$TMP/next.yml" && mv "$TMP/next.yml" "$TMP/gateway.yml"
  deadline=$((SECONDS + 600))
  until body_is loaded; do [ "$SECONDS" -lt "$deadline" ] || die "the large config was not applied in 600 s"; sleep 1; done
  log "the $ROUTES routes applied after $((SECONDS - started)) s; the measured reload follows"
fi
startup_warnings=$(grep -c "has been blocked for" "$TMP/gateway.log" || true)
startup_traces=$(grep -c "VertxException: Thread blocked" "$TMP/gateway.log" || true)
lines=$(wc -l <"$TMP/gateway.log")

python3 - "$PORT" "$AFTER" "$TMP/gateway.yml" "$TMP/next.yml" <<'PY' &
import http.client, os, sys, threading, time
port, after, target, staged = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
def probe():
    t = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/health/live")
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        ok = False
    return (time.monotonic() - t) * 1000, ok
def applied():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/none")
        body = c.getresponse().read()
        c.close()
        return body == b"second"
    except OSError:
        return False
def run(seconds, until_applied=False):
    times, failed, end = [], 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if until_applied and len(times) % 50 == 0 and applied():
            end, until_applied = min(end, time.monotonic() + 3), False
        at = time.time()
        ms, ok = probe()
        times.append(ms)
        if ms > 100 and os.environ.get("SHOW_SLOW"):
            print(f"  slow probe at {time.strftime('%H:%M:%S', time.localtime(at))}.{int(at * 1000) % 1000:03d}: {ms:.0f} ms", flush=True)
        failed += not ok
        time.sleep(max(0, 0.010 - ms / 1000))
    times.sort()
    return times, failed
def show(what, times, failed):
    p99 = times[int(len(times) * 0.99) - 1] if times else 0
    print(f"{what}: {len(times)} probes, {failed} failed, median {times[len(times)//2]:.1f} ms, "
          f"p99 {p99:.1f} ms, slowest {times[-1]:.1f} ms, over 100 ms: {sum(t > 100 for t in times)}", flush=True)
show("before the reload (3 s)", *run(3))
while not os.path.exists(staged):
    time.sleep(0.01)
os.replace(staged, target)
started = time.monotonic()
times, failed = run(after, True)
show(f"from the rewrite to 3 s after the new config answers ({time.monotonic() - started:.0f} s)", times, failed)
PY
PROBE=$!
sleep 1
config second >"$TMP/next.yml.part" && mv "$TMP/next.yml.part" "$TMP/next.yml"
wait "$PROBE"
tail -n +$((lines + 1)) "$TMP/gateway.log" | grep -q "config reloaded from" || die "the gateway did not reload within $AFTER s"
reload_warnings=$(tail -n +$((lines + 1)) "$TMP/gateway.log" | grep -c "has been blocked for" || true)
reload_traces=$(tail -n +$((lines + 1)) "$TMP/gateway.log" | grep -c "VertxException: Thread blocked" || true)
body_is second || die "the reloaded default response is not served"
echo "blocked-thread warnings: start-up${START:+ ($START)} $startup_warnings ($startup_traces with a stack trace), reload $reload_warnings ($reload_traces with a stack trace)"
grep "has been blocked for" "$TMP/gateway.log" | sed 's/^/  /' | head -20
