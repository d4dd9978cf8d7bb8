#!/usr/bin/env bash
# Throughput and p99 latency of the gateway against a one-worker nginx reverse proxy, both in front of
# the same nginx backend container, plus the backend reached directly, all measured in one run with wrk.
# BACKEND_TLS=1 makes the backend HTTPS (a certificate made for the run), reached over TLS by both proxies.
# Every listener is on 127.0.0.1; everything started here is removed on exit. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/routes.sh
. "$HERE/routes.sh"
JAR=${GATEWAY_JAR:-"$ROOT/target/gateway-fat.jar"}   # GATEWAY_JAR: A's jar (to swap roles with COMPARE_JAR)
RESULTS="$HERE/results"
IMAGE=gateway-bench-nginx:latest

# Knobs (environment). Durations are wrk durations: 10, 10s, 1m.
DURATION=${DURATION:-10s}              # measured run per target and round
ROUNDS=${ROUNDS:-1}                    # >1: report the median of the rounds
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-3s}                   # warm-up per nginx target (direct, nginx proxy)
GATEWAY_WARMUP=${GATEWAY_WARMUP:-30s}  # the JVM needs longer: its JIT compiler settles after 20-30 s of load
PIN=${PIN:-1}                          # 1: proxy under test on CPU 0, wrk + backend on CPU 1
GATEWAY_INSTANCES=${GATEWAY_INSTANCES:-1}  # router instances; 1 = same as nginx's one worker
ROUTE_RETRIES=${ROUTE_RETRIES:-}       # e.g. "{attempts: 2}": the bench route's retries setting
COMPARE_RETRIES=${COMPARE_RETRIES:-}   # e.g. "{attempts: 2}": a second gateway ("B") with these retries,
                                       # measured in alternation with the first in every round (A/B)
COMPARE_JAR=${COMPARE_JAR:-}           # a jar for B (e.g. the build before a change); default the same jar
ROUTES=${ROUTES:-1}                    # routes in the gateway's config: the bench route and ROUTES-1 others
                                       # (mixed prefixes, hosts and methods; none takes the bench traffic)
INSTANCES=${INSTANCES:-}               # N: the bench backend as N static targets, the backend container
                                       # listening on N ports; empty: one instance found by Docker discovery
COMPARE_ROUTES=${COMPARE_ROUTES:-}     # a second gateway ("B") with this many routes, measured in alternation
COMPARE_INSTANCES=${COMPARE_INSTANCES:-}  # a second gateway ("B") whose backend has this many static targets
LOAD_BALANCER=${LOAD_BALANCER:-}       # the bench backend's load_balancer (random, round_robin, least_requests)
ROUTE_OPTIONS=${ROUTE_OPTIONS:-}       # more settings of the bench route, YAML flow style, for A and B
                                       # (e.g. "rate_limit: {requests_per_second: 1000000, burst: 1000000}")
CLUSTER=${CLUSTER:-}                   # a or b (A/B runs): that gateway runs with -cluster, in a cluster of two
                                       # with an idle peer gateway; the other one without -cluster
BACKEND_OPTIONS=${BACKEND_OPTIONS:-}   # more settings of the bench backend, YAML flow style, for A and B
                                       # (e.g. "keep_alive_timeout_s: 10, max_connections: 8")
BACKEND_TLS=${BACKEND_TLS:-0}          # 1: the backend serves HTTPS only (TLS 1.2/1.3, an EC P-256 certificate for
                                       # 127.0.0.1 made at run time with openssl, a shared session cache); the
                                       # gateway (https:// targets, tls.ca_file) and nginx (proxy_ssl_verify) verify it
AB_ONLY=${AB_ONLY:-0}                  # 1 (A/B runs): direct and nginx in the first round only, so that more
                                       # A/B pairs fit in the same time on a busy machine
AB_TOGETHER=${AB_TOGETHER:-0}          # 1 (A/B runs): A and B measured at the same time, each by its own wrk,
                                       # so both meet exactly the same load from the rest of the machine
JFR=${JFR:-0}                          # 1: record each gateway's measured rounds with JDK Flight Recorder
                                       # (settings=profile) into bench/results/<run id>-<gateway|b>.jfr
METRICS=${METRICS:-on}                 # off: no /metrics (and no metrics verticle)
ACCESS_LOG=${ACCESS_LOG:-off}          # on: JSON access log to a file in the run's temp dir
REFERENCES=${REFERENCES:-0}            # 1: also measure three reference proxies in the same run (bench/reference):
                                       # vertx-http-proxy alone, Vert.x core HTTP piped by hand, and a bare
                                       # Netty proxy, with the gateway's placement
NETTY_LOOPS=${NETTY_LOOPS:-1}          # event loops of the bare Netty reference (1: its best on 2 CPUs, like nginx's 1 worker)
BODY_BYTES=${BODY_BYTES:-100}
UPLOAD_BYTES=${UPLOAD_BYTES:-0}        # N>0: every request is a POST with an N-byte body (Content-Length), which the
                                       # backend reads and drops before its usual answer; 0: GET
JAVA_OPTS=${JAVA_OPTS:-}               # JVM flags for the gateway; default none, as the README runs it

log() { echo "bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
count() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number of at least 1, got \"$2\""; }
count ROUTES "$ROUTES"
[ -z "$INSTANCES" ] || count INSTANCES "$INSTANCES"
[ "$UPLOAD_BYTES" = 0 ] || count UPLOAD_BYTES "$UPLOAD_BYTES"
[ -z "$COMPARE_ROUTES" ] || count COMPARE_ROUTES "$COMPARE_ROUTES"
[ -z "$COMPARE_INSTANCES" ] || count COMPARE_INSTANCES "$COMPARE_INSTANCES"
# Comparing instance counts: both gateways get static targets, so only the count differs.
[ -n "$COMPARE_INSTANCES" ] && [ -z "$INSTANCES" ] && INSTANCES=1
case $BACKEND_TLS in
  0) BACKEND_SCHEME=http ;;
  1) BACKEND_SCHEME=https ;;
  *) die "BACKEND_TLS must be 0 or 1, got \"$BACKEND_TLS\"" ;;
esac
[ "$BACKEND_TLS" = 0 ] || [ "$REFERENCES" = 0 ] \
  || die "BACKEND_TLS=1 and REFERENCES=1 do not go together: the reference proxies speak plain HTTP to the backend"

# ---------------------------------------------------------------- tools
need_pkg wrk wrk
need_pkg nginx nginx-light nginx
need_pkg curl curl
need_pkg taskset util-linux
need_pkg ss iproute2
[ "$BACKEND_TLS" = 0 ] || need_pkg openssl openssl
"$ROOT/scripts/ensure-docker.sh"
if [ ! -f "$JAR" ]; then
  [ -z "${GATEWAY_JAR:-}" ] || die "GATEWAY_JAR $JAR: no such file"
  log "building $JAR"
  (cd "$ROOT" && mvn -q -B package -DskipTests)
fi
NGINX=$(command -v nginx)
cpu_busy() { # percent of all CPUs busy over 2 s: other work on the machine skews every number
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat); sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
  echo "$a $b" | awk '{printf "%.0f%%", ($4>$2) ? 100*($3-$1)/($4-$2) : 0}'
}
BUSY_BEFORE=$(cpu_busy)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
[ "${BUSY_BEFORE%\%}" -le 10 ] || log "warning: CPUs already $BUSY_BEFORE busy before the run; expect noisy numbers"
DOCKER="docker"
docker version >/dev/null 2>&1 || DOCKER="$SUDO docker"

# ---------------------------------------------------------------- run state and cleanup
RUN_ID="$(date +%s)-$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench.XXXXXX")
CONTAINER="gateway-bench-$RUN_ID"
NGINX_PID=""
NGINXB_PID=""
GATEWAY_PID=""
B_PID=""
PEER_PID=""
VXP_PID=""
VXC_PID=""
NETTY_PID=""
WRK_PIDS=()
container_started=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${WRK_PIDS[@]}"; do stop_pid "$p"; done
  stop_pid "$GATEWAY_PID"
  stop_pid "$B_PID"
  stop_pid "$PEER_PID"
  stop_pid "$VXP_PID"
  stop_pid "$VXC_PID"
  stop_pid "$NETTY_PID"
  stop_pid "$NGINX_PID"
  stop_pid "$NGINXB_PID"
  if [ "$container_started" = 1 ]; then $DOCKER rm -f "$CONTAINER" >/dev/null 2>&1 || true; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
free_ports() { # free_ports N: N more distinct ports no socket uses, not among TAKEN_PORTS, one per line
  # Drawn below the kernel's ephemeral range (32768 up): a port handed to an outgoing connection there
  # made nginx's bind fail, and the backend container with it, in a run with 200 ports.
  ss -Htan | awk '{n=split($4, a, ":"); print a[n]}' | sort -u >"$TMP/listening"
  local n=$1 p
  declare -A seen=()
  for p in ${TAKEN_PORTS:-} $(cat "$TMP/listening"); do seen[$p]=1; done
  while [ "$n" -gt 0 ]; do
    p=$((20000 + RANDOM % 12000))
    [ -n "${seen[$p]:-}" ] && continue
    seen[$p]=1
    echo "$p"
    n=$((n - 1))
  done
}
# Command prefixes that pin to one CPU when PIN=1 (taskset execs the command, so $! is its pid).
ON_CPU0=(); ON_CPU1=()
if [ "$PIN" = 1 ]; then ON_CPU0=(taskset -c 0); ON_CPU1=(taskset -c 1); fi

# ---------------------------------------------------------------- backend image (idempotent)
# The image is the host's nginx binary, the libraries ldd lists, passwd/group entries, a config and
# the body. Its label bench.inputs hashes all of that, so a changed nginx or config rebuilds it.
BODY="dockgate-bench-body-$(head -c $((BODY_BYTES - 21)) /dev/zero | tr '\0' '.')"$'\n'
BACKEND_CONF='daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  default_type text/plain;
  keepalive_requests 1000000;
  open_file_cache max=16;
  server {
    include /etc/nginx/listen.conf;
    root /www;
    location / { rewrite ^ /body.txt break; client_max_body_size 64m; error_page 405 =200 /body.txt; }
  }
}'
mapfile -t LIBS < <(ldd "$NGINX" | awk '/=> \//{print $3} /^\t\//{print $1}')
INPUTS=$({ sha256sum "$NGINX" "${LIBS[@]}"; printf '%s' "$BACKEND_CONF" "$BODY"; } | sha256sum | cut -c1-16)
if [ "$($DOCKER image inspect -f '{{index .Config.Labels "bench.inputs"}}' "$IMAGE" 2>/dev/null || true)" != "$INPUTS" ]; then
  log "importing $IMAGE from $NGINX ($INPUTS)"
  root="$TMP/image"
  mkdir -p "$root/usr/sbin" "$root/etc/nginx" "$root/www" "$root/tmp" "$root/var/log/nginx" "$root/var/lib/nginx"
  chmod 1777 "$root/tmp"
  cp "$NGINX" "$root/usr/sbin/nginx"
  for lib in "${LIBS[@]}"; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/:/nonexistent\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '%s\n' "$BACKEND_CONF" >"$root/etc/nginx/nginx.conf"
  echo 'listen 127.0.0.1:18480;' >"$root/etc/nginx/listen.conf"
  printf '%s' "$BODY" >"$root/www/body.txt"
  tar -C "$root" --owner=0 --group=0 -c . | $DOCKER import \
    -c 'ENTRYPOINT ["/usr/sbin/nginx", "-p", "/tmp/", "-e", "stderr", "-c", "/etc/nginx/nginx.conf"]' \
    -c "LABEL bench.inputs=$INPUTS" - "$IMAGE" >/dev/null
  rm -rf "$root"
fi

# ---------------------------------------------------------------- start the three servers
BACKEND_PORT=$(free_port)
NGINX_PORT=$(free_port)
GATEWAY_PORT=$(free_port)
B_PORT=$(free_port)
PATH_="/bench"

# With INSTANCES (or COMPARE_INSTANCES), the one backend container listens on that many ports, each
# port one instance of the bench backend; direct and nginx use the first.
BACKEND_PORTS=("$BACKEND_PORT")
extra_ports=$(( $(printf '%s\n' "${INSTANCES:-1}" "${COMPARE_INSTANCES:-1}" | sort -n | tail -1) - 1 ))
if [ "$extra_ports" -gt 0 ]; then
  TAKEN_PORTS="$BACKEND_PORT $NGINX_PORT $GATEWAY_PORT $B_PORT"
  mapfile -t -O 1 BACKEND_PORTS < <(free_ports "$extra_ports")
fi
TLS_ARGS=()
CA=""
if [ "$BACKEND_TLS" = 1 ]; then
  # BACKEND_TLS: a certificate made for this run (127.0.0.1, and localhost for nginx's name check), served
  # as a deployment would: TLS 1.2/1.3, a shared session cache; keep-alive as on the plain backend. The
  # listen lines and these settings go in listen.conf, so the image stays the same.
  mkdir -p "$TMP/tls"
  CA="$TMP/tls/cert.pem"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$TMP/tls/key.pem" -out "$CA" \
    >"$TMP/openssl.log" 2>&1 || die "openssl could not make the backend's certificate: $(cat "$TMP/openssl.log")"
  printf 'listen 127.0.0.1:%s ssl;\n' "${BACKEND_PORTS[@]}" >"$TMP/listen.conf"
  printf '%s\n' 'ssl_certificate /etc/nginx/tls/cert.pem;' 'ssl_certificate_key /etc/nginx/tls/key.pem;' \
    'ssl_protocols TLSv1.2 TLSv1.3;' 'ssl_session_cache shared:SSL:10m;' 'ssl_session_timeout 1h;' >>"$TMP/listen.conf"
  TLS_ARGS=(-v "$TMP/tls:/etc/nginx/tls:ro" --label gateway.scheme=https)
else
  printf 'listen 127.0.0.1:%s;\n' "${BACKEND_PORTS[@]}" >"$TMP/listen.conf"
fi
cpuset=()
[ "$PIN" = 1 ] && cpuset=(--cpuset-cpus 1)
log "starting backend container $CONTAINER on $BACKEND_SCHEME://127.0.0.1:$BACKEND_PORT"
container_started=1
$DOCKER run -d --name "$CONTAINER" --network host "${cpuset[@]}" \
  --label app_name=bench --label "bench.run=$RUN_ID" --label "gateway.port=$BACKEND_PORT" "${TLS_ARGS[@]}" \
  -v "$TMP/listen.conf:/etc/nginx/listen.conf:ro" "$IMAGE" >/dev/null
backend_200() { # backend_200 PORT: wait_200 on that port of the backend (BACKEND_TLS: curl trusts the run's certificate)
  if [ -n "$CA" ]; then CURL_CA_BUNDLE=$CA wait_200 "https://127.0.0.1:$1$PATH_" 20 "backend container (port $1)"
  else wait_200 "http://127.0.0.1:$1$PATH_" 20 "backend container (port $1)"; fi
}
backend_200 "$BACKEND_PORT"
backend_200 "${BACKEND_PORTS[-1]}"

# BACKEND_TLS: nginx reaches the backend over TLS too, verifying its certificate and reusing sessions.
NGINX_UPSTREAM_TLS=""
[ "$BACKEND_TLS" = 0 ] || NGINX_UPSTREAM_TLS="
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $CA;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;"
nginx_config() { # nginx_config DIR PORT UPSTREAM_LINES: a one-worker reverse proxy's config on stdout
  cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $1/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/client_body;
  proxy_temp_path $1/proxy;
  fastcgi_temp_path $1/fastcgi;
  uwsgi_temp_path $1/uwsgi;
  scgi_temp_path $1/scgi;
  keepalive_requests 1000000;
  upstream bench_backend {
$3
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass $BACKEND_SCHEME://bench_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";$NGINX_UPSTREAM_TLS
    }
  }
}
EOF
}
mkdir -p "$TMP/nginx"
nginx_config "$TMP/nginx" "$NGINX_PORT" "    server 127.0.0.1:$BACKEND_PORT;
    keepalive 64;" >"$TMP/nginx/nginx.conf"
log "starting nginx reverse proxy on 127.0.0.1:$NGINX_PORT"
"${ON_CPU0[@]}" "$NGINX" -p "$TMP/nginx/" -e stderr -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
NGINX_PID=$!
wait_200 "http://127.0.0.1:$NGINX_PORT$PATH_" 20 "nginx" "$NGINX_PID"
# COMPARE_INSTANCES: a second nginx, "nginx B", in front of as many instances as gateway B, so that the
# run shows what the same change costs nginx. Its upstream picks as the gateway's load_balancer does
# (random by default, else round robin) and keeps up to two idle connections per server (at least 64),
# as the gateway's pools keep one or more per instance and router.
NGINXB_PORT=""
if [ -n "$COMPARE_INSTANCES" ]; then
  NGINXB_PORT=$(free_port)
  NGINXB_KEEPALIVE=$(( 2 * COMPARE_INSTANCES > 64 ? 2 * COMPARE_INSTANCES : 64 ))
  NGINXB_PICK=""; [ "${LOAD_BALANCER:-random}" = random ] && NGINXB_PICK="    random;"
  mkdir -p "$TMP/nginxb"
  nginx_config "$TMP/nginxb" "$NGINXB_PORT" "$(printf '    server 127.0.0.1:%s;\n' "${BACKEND_PORTS[@]:0:$COMPARE_INSTANCES}")
$NGINXB_PICK
    keepalive $NGINXB_KEEPALIVE;" >"$TMP/nginxb/nginx.conf"
  log "starting nginx B (an upstream of $COMPARE_INSTANCES servers) on 127.0.0.1:$NGINXB_PORT"
  "${ON_CPU0[@]}" "$NGINX" -p "$TMP/nginxb/" -e stderr -c "$TMP/nginxb/nginx.conf" 2>"$TMP/nginxb.log" &
  NGINXB_PID=$!
  wait_200 "http://127.0.0.1:$NGINXB_PORT$PATH_" 20 "nginx B" "$NGINXB_PID"
fi

bench_backend() { # bench_backend INSTANCES: how the bench backend finds its instances (YAML lines)
  if [ -z "$1" ]; then
    printf '    match_labels:\n      - app_name=bench\n      - bench.run=%s\n' "$RUN_ID"
  else
    printf '    targets: ['
    printf "$BACKEND_SCHEME://127.0.0.1:%s, " "${BACKEND_PORTS[@]:0:$1}" | sed 's/, $//'
    printf ']\n'
  fi
  [ -z "$CA" ] || printf '    tls: {ca_file: %s}\n' "$CA"
  [ -z "$LOAD_BALANCER" ] || printf '    load_balancer: %s\n' "$LOAD_BALANCER"
  [ -z "$BACKEND_OPTIONS" ] || echo "$BACKEND_OPTIONS" | tr ',' '\n' | sed 's/^ */    /'
}
gateway_config() { # gateway_config PORT RETRIES ROUTES INSTANCES [HAZELCAST_PORT]: the gateway's config on stdout
  cat <<EOF
server:
  host: 127.0.0.1
  port: $1
  instances: $GATEWAY_INSTANCES
  admin_listener: {host: 127.0.0.1, port: $(free_port)}
$( [ "$METRICS" = off ] && echo '  metrics_path: ""' )
access_log:
  enabled: $( [ "$ACCESS_LOG" = on ] && echo true || echo false )
  path: $TMP/access.log
routes:
  - path_prefix: $PATH_
    backend: bench${2:+
    retries: $2}
$( [ -z "$ROUTE_OPTIONS" ] || echo "    $ROUTE_OPTIONS")
$(other_routes $(($3 - 1)))
default_response:
  body: "no route"
  status_code: 404
backends:
  - name: bench
$(bench_backend "$4")
$( [ -z "${5:-}" ] || printf 'cluster: {name: bench-%s, host: 127.0.0.1, port: %s, members: ["127.0.0.1:%s", "127.0.0.1:%s"]}\n' \
   "$RUN_ID" "$5" "$HZ_SELF" "$HZ_PEER")
EOF
}
case $CLUSTER in
  ""|a|b) ;;
  *) die "CLUSTER must be a or b (the gateway that runs with -cluster), got \"$CLUSTER\"" ;;
esac
HZ_SELF=""; HZ_PEER=""
if [ -n "$CLUSTER" ]; then
  mapfile -t hz_ports < <(free_ports 2)
  HZ_SELF=${hz_ports[0]}; HZ_PEER=${hz_ports[1]}
fi
cluster_args() { # cluster_args a|b: the Hazelcast port of that gateway, if it is the clustered one
  if [ "$CLUSTER" = "$1" ]; then echo "$HZ_SELF"; fi
}
gateway_config "$GATEWAY_PORT" "$ROUTE_RETRIES" "$ROUTES" "$INSTANCES" "$(cluster_args a)" >"$TMP/gateway.yml"
# JFR=1: the recorder starts with the JVM, so that its own start-up falls before the warm-up; a second
# recording, started after the warm-up (a new chunk) and stopped after the last round, is what is kept.
JFR_FLAGS=()
[ "$JFR" = 1 ] && JFR_FLAGS=(-XX:FlightRecorderOptions=stackdepth=128 -XX:StartFlightRecording=name=warm-up,settings=profile,maxage=2m)
log "starting gateway on 127.0.0.1:$GATEWAY_PORT (java ${JAVA_OPTS:-with default flags}, $GATEWAY_INSTANCES instance(s))"
# shellcheck disable=SC2086  # JAVA_OPTS is a list of flags
"${ON_CPU0[@]}" java $JAVA_OPTS "${JFR_FLAGS[@]}" -jar "$JAR" -conf "$TMP/gateway.yml" $( [ "$CLUSTER" = a ] && echo -cluster) >"$TMP/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_200 "http://127.0.0.1:$GATEWAY_PORT$PATH_" 60 "gateway" "$GATEWAY_PID"
COMPARE=""
B_LABEL=""
if [ -n "$COMPARE_RETRIES$COMPARE_JAR$COMPARE_ROUTES$COMPARE_INSTANCES$CLUSTER" ]; then
  # B: a second gateway on the same CPU, idle while the other one is measured.
  COMPARE=1
  B_JAR=${COMPARE_JAR:-$JAR}
  [ -f "$B_JAR" ] || die "COMPARE_JAR $B_JAR: no such file"
  B_RETRIES=${COMPARE_RETRIES:-$ROUTE_RETRIES}
  [ -n "$COMPARE_RETRIES" ] && B_LABEL="retries $COMPARE_RETRIES"
  [ -n "$COMPARE_JAR" ] && B_LABEL="${B_LABEL:+$B_LABEL, }jar $COMPARE_JAR"
  B_ROUTES=${COMPARE_ROUTES:-$ROUTES}
  B_INSTANCES=${COMPARE_INSTANCES:-$INSTANCES}
  [ -n "$COMPARE_ROUTES" ] && B_LABEL="${B_LABEL:+$B_LABEL, }$B_ROUTES routes"
  [ -n "$COMPARE_INSTANCES" ] && B_LABEL="${B_LABEL:+$B_LABEL, }$B_INSTANCES instances"
  [ "$CLUSTER" = a ] && B_LABEL="${B_LABEL:+$B_LABEL, }without -cluster (A has it)"
  [ "$CLUSTER" = b ] && B_LABEL="${B_LABEL:+$B_LABEL, }-cluster"
  gateway_config "$B_PORT" "$B_RETRIES" "$B_ROUTES" "$B_INSTANCES" "$(cluster_args b)" >"$TMP/b.yml"
  log "starting gateway B ($B_LABEL) on 127.0.0.1:$B_PORT"
  # shellcheck disable=SC2086
  "${ON_CPU0[@]}" java $JAVA_OPTS "${JFR_FLAGS[@]}" -jar "$B_JAR" -conf "$TMP/b.yml" $( [ "$CLUSTER" = b ] && echo -cluster) >"$TMP/b.log" 2>&1 &
  B_PID=$!
  wait_200 "http://127.0.0.1:$B_PORT$PATH_" 60 "gateway B" "$B_PID"
fi
if [ -n "$CLUSTER" ]; then
  # The clustered gateway's peer: the same config on its own ports, idle (no request reaches it), so
  # the clustered gateway runs in a cluster of two (heartbeats, demand reports, probe claims).
  PEER_PORT=$(free_port)
  gateway_config "$PEER_PORT" "$ROUTE_RETRIES" "$ROUTES" "$INSTANCES" "$HZ_PEER" >"$TMP/peer.yml"
  if [ "$CLUSTER" = a ]; then PEER_JAR=$JAR; CLUSTERED_PID=$GATEWAY_PID; else PEER_JAR=$B_JAR; CLUSTERED_PID=$B_PID; fi
  log "starting the clustered gateway's idle peer on 127.0.0.1:$PEER_PORT (Hazelcast 127.0.0.1:$HZ_PEER)"
  # shellcheck disable=SC2086
  "${ON_CPU0[@]}" java $JAVA_OPTS -jar "$PEER_JAR" -conf "$TMP/peer.yml" -cluster >"$TMP/peer.log" 2>&1 &
  PEER_PID=$!
  wait_200 "http://127.0.0.1:$PEER_PORT$PATH_" 90 "the clustered gateway's peer" "$PEER_PID"
  deadline=$((SECONDS + 90))
  until grep -q "Members {size:2" "$TMP/peer.log" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "the clustered gateway and its peer did not form a cluster of two within 90 s (see $TMP/peer.log)"
    kill -0 "$CLUSTERED_PID" 2>/dev/null || die "the clustered gateway exited (see $TMP/gateway.log, $TMP/b.log)"
    sleep 0.5
  done
fi

VXP_PORT=""; VXC_PORT=""; NETTY_PORT=""
if [ "$REFERENCES" = 1 ]; then
  # Built here against the gateway's own jar, so they run on exactly its Vert.x and Netty.
  command -v javac >/dev/null 2>&1 || die "REFERENCES=1 needs javac (a JDK)"
  mkdir -p "$TMP/ref"
  javac -nowarn -cp "$JAR" -d "$TMP/ref" "$HERE/reference/VertxHttpProxy.java" "$HERE/reference/VertxCoreProxy.java" \
    "$HERE/reference/NettyProxy.java" 2>"$TMP/javac.log" \
    || die "cannot compile bench/reference: $(cat "$TMP/javac.log")"
  VXP_PORT=$(free_port); VXC_PORT=$(free_port); NETTY_PORT=$(free_port)
  log "starting reference proxies: vertx-http-proxy alone on 127.0.0.1:$VXP_PORT, Vert.x core on 127.0.0.1:$VXC_PORT, bare Netty on 127.0.0.1:$NETTY_PORT"
  # shellcheck disable=SC2086
  "${ON_CPU0[@]}" java $JAVA_OPTS -cp "$JAR:$TMP/ref" VertxHttpProxy "$VXP_PORT" "$BACKEND_PORT" "$GATEWAY_INSTANCES" >"$TMP/vxproxy.log" 2>&1 &
  VXP_PID=$!
  # shellcheck disable=SC2086
  "${ON_CPU0[@]}" java $JAVA_OPTS -cp "$JAR:$TMP/ref" VertxCoreProxy "$VXC_PORT" "$BACKEND_PORT" "$GATEWAY_INSTANCES" >"$TMP/vxcore.log" 2>&1 &
  VXC_PID=$!
  # shellcheck disable=SC2086
  "${ON_CPU0[@]}" java $JAVA_OPTS -cp "$JAR:$TMP/ref" NettyProxy "$NETTY_PORT" "$BACKEND_PORT" "$NETTY_LOOPS" >"$TMP/netty.log" 2>&1 &
  NETTY_PID=$!
  wait_200 "http://127.0.0.1:$VXP_PORT$PATH_" 30 "vertx-http-proxy reference" "$VXP_PID"
  wait_200 "http://127.0.0.1:$VXC_PORT$PATH_" 30 "Vert.x core reference" "$VXC_PID"
  wait_200 "http://127.0.0.1:$NETTY_PORT$PATH_" 30 "Netty reference" "$NETTY_PID"
fi

for port in "$NGINX_PORT" $NGINXB_PORT "$GATEWAY_PORT" $VXP_PORT $VXC_PORT $NETTY_PORT; do
  got=$(curl -s --max-time 2 "http://127.0.0.1:$port$PATH_")
  [ "$got" = "$(printf '%s' "$BODY")" ] || die "127.0.0.1:$port$PATH_ did not return the backend's body: $got"
done

# ---------------------------------------------------------------- measure
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$RESULTS/$STAMP-wrk.txt"
: >"$RAW"
NOTES=()
declare -A URL=(
  [direct]="$BACKEND_SCHEME://127.0.0.1:$BACKEND_PORT$PATH_"
  [nginx]="http://127.0.0.1:$NGINX_PORT$PATH_"
  [nginxb]="http://127.0.0.1:$NGINXB_PORT$PATH_"
  [gateway]="http://127.0.0.1:$GATEWAY_PORT$PATH_"
  [b]="http://127.0.0.1:$B_PORT$PATH_"
  [vxproxy]="http://127.0.0.1:$VXP_PORT$PATH_"
  [vxcore]="http://127.0.0.1:$VXC_PORT$PATH_"
  [netty]="http://127.0.0.1:$NETTY_PORT$PATH_"
)
CLK_TCK=$(getconf CLK_TCK)
pids_of() { # pids_of NAME: the processes whose CPU time a target's requests cost (none for direct)
  case $1 in
    nginx) echo "$NGINX_PID" $(pgrep -P "$NGINX_PID") ;;
    nginxb) echo "$NGINXB_PID" $(pgrep -P "$NGINXB_PID") ;;
    gateway) echo "$GATEWAY_PID" ;;
    b) echo "$B_PID" ;;
    vxproxy) echo "$VXP_PID" ;;
    vxcore) echo "$VXC_PID" ;;
    netty) echo "$NETTY_PID" ;;
  esac
}
cpu_ticks() { # cpu_ticks PID...: user and system clock ticks used so far, summed
  local p
  for p in "$@"; do awk '{sub(/^.*\) /, ""); print $12, $13}' "/proc/$p/stat" 2>/dev/null; done \
    | awk '{u+=$1; s+=$2} END{print u+0, s+0}'
}

loop_ns() { # loop_ns PID: nanoseconds on a CPU so far of the JVM's Vert.x event-loop threads (the request path)
  local t sum=0 comm ns
  for t in /proc/"$1"/task/*; do
    read -r comm <"$t/comm" 2>/dev/null || continue
    case $comm in vert.x-eventloo*) ns=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null); sum=$((sum + ${ns:-0})) ;; esac
  done
  echo "$sum"
}

tcp_opens() { # TCP connections opened so far on the whole machine (TcpActiveOpens)
  awk '/^Tcp:/{if (seen) print $6; seen=1}' /proc/net/snmp
}
# UPLOAD_BYTES: wrk's script for a POST with a body of that size (the static backend answers a POST
# with its usual body: nginx's 405 for a file is mapped to 200 with the file, after reading the body).
WRK_SCRIPT=()
if [ "$UPLOAD_BYTES" -gt 0 ]; then
  printf 'wrk.method = "POST"\nwrk.body = string.rep("u", %d)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' \
    "$UPLOAD_BYTES" >"$TMP/upload.lua"
  WRK_SCRIPT=(-s "$TMP/upload.lua")
fi
wrk_run() { # wrk_run LABEL DURATION NAME=OUTFILE...: wrk against each named target, all at the same time
  local label=$1 dur=$2 spec name pids
  shift 2
  local -A out=() before=() loops=()
  local opens_before started=$SECONDS
  for spec in "$@"; do
    name=${spec%%=*}; out[$name]=${spec#*=}
    pids=$(pids_of "$name")
    # shellcheck disable=SC2086
    [ -z "$pids" ] || before[$name]=$(cpu_ticks $pids)
    case $name in gateway|b) loops[$name]=$(loop_ns "$pids") ;; esac
  done
  opens_before=$(tcp_opens)
  # Halfway through, the established TCP connections each proxy holds (its wrk clients' included).
  local secs=${dur%s}
  for name in "${!out[@]}"; do
    pids=$(pids_of "$name")
    [ -n "$pids" ] && [[ $secs =~ ^[0-9]+$ ]] || continue
    ( sleep $((secs / 2)); ss -Htnp state established | grep -cE "pid=(${pids// /|})," >"${out[$name]}.held" || true ) &
  done
  # In the background and waited for, so that Ctrl-C or TERM reach the trap at once (wrk itself
  # treats SIGINT as "stop and print", and bash would then carry on with the next run).
  for name in "${!out[@]}"; do
    "${ON_CPU1[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --latency "${WRK_SCRIPT[@]}" "${URL[$name]}" >"${out[$name]}" &
    WRK_PIDS+=($!)
  done
  wait "${WRK_PIDS[@]}"
  WRK_PIDS=()
  local opened=$(( $(tcp_opens) - opens_before )) took=$((SECONDS - started))
  for name in "${!out[@]}"; do
    echo $((opened / (took > 0 ? took : 1))) >"${out[$name]}.opens"
    if [ -n "${before[$name]:-}" ]; then
      # shellcheck disable=SC2046
      # The proxy's CPU time per request in µs, user and system: steadier than req/s on a shared machine.
      echo "${before[$name]} $(cpu_ticks $(pids_of "$name")) $(awk '/requests in/{print $1}' "${out[$name]}")" \
        | awk -v hz="$CLK_TCK" '{n=($5>0)?$5:1; printf "%.1f %.1f\n", ($3-$1)*1e6/hz/n, ($4-$2)*1e6/hz/n}' \
        >"${out[$name]}.cpu"
    fi
    if [ -n "${loops[$name]:-}" ]; then
      # The event-loop threads' share alone: the request path without the JVM's and the cluster's background
      # threads (compilers, collectors, Hazelcast), in µs per request.
      echo "${loops[$name]} $(loop_ns "$(pids_of "$name")") $(awk '/requests in/{print $1}' "${out[$name]}")" \
        | awk '{n=($3>0)?$3:1; printf "%.2f\n", ($2-$1)/1e3/n}' >"${out[$name]}.loop"
    fi
    { echo "### $name ($label): ${URL[$name]}"; cat "${out[$name]}"; echo; } >>"$RAW"
  done
}
ready_again() { # ready_again WHEN [NAME]: a gateway must answer 200 again before it is measured (README: breaker)
  local code waited=$SECONDS name=${2:-gateway}
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${URL[$name]}" || true)
  [ "$code" = 200 ] && return 0
  wait_200 "${URL[$name]}" 30 "$name"
  NOTES+=("after $1 the gateway answered $code instead of 200; measured only once it answered 200 again ($((SECONDS - waited)) s later)")
}

JFR_NAMES=()
for round in $(seq 1 "$ROUNDS"); do
  order="direct nginx gateway"
  [ "$REFERENCES" = 1 ] && order="direct nginx netty vxcore vxproxy gateway"
  if [ -n "$COMPARE" ]; then
    # A/B in alternation, so drift on the shared machine weighs on both alike.
    if [ $((round % 2)) = 1 ]; then order="$order b"; else order="${order% gateway} b gateway"; fi
    # COMPARE_INSTANCES: nginx B right after nginx, in alternation too.
    if [ -n "$NGINXB_PORT" ]; then
      if [ $((round % 2)) = 1 ]; then order=${order/nginx/nginx nginxb}; else order=${order/nginx/nginxb nginx}; fi
    fi
    [ "$AB_ONLY" = 1 ] && [ "$round" -gt 1 ] && order=$(printf '%s\n' $order | grep -xE 'gateway|b' | paste -sd' ')
    # AB_TOGETHER: one step, "gateway+b", measures both at once.
    [ "$AB_TOGETHER" = 1 ] && order=$(printf '%s\n' $order | grep -vx b | sed 's/^gateway$/gateway+b/' | paste -sd' ')
  fi
  for step in $order; do
    names=${step//+/ }
    for name in $names; do
      is_gateway=0; { [ "$name" = gateway ] || [ "$name" = b ]; } && is_gateway=1
      if [ "$round" = 1 ]; then
        warm=$WARMUP; case $name in gateway|b|vxproxy|vxcore|netty) warm=$GATEWAY_WARMUP ;; esac
        log "$name: warm-up $warm"
        wrk_run warm-up "$warm" "$name=$TMP/$name.warmup.wrk"
        if [ "$JFR" = 1 ] && [ "$is_gateway" = 1 ]; then
          # shellcheck disable=SC2046
          jcmd $(pids_of "$name") JFR.start name=measured settings=profile method-profiling=max >/dev/null || die "cannot start JFR in $name"
          JFR_NAMES+=("$name")
        fi
      fi
    done
    for name in $names; do
      { [ "$name" = gateway ] || [ "$name" = b ]; } && ready_again "the previous wrk run ended" "$name"
    done
    log "${step//+/ and }: round $round/$ROUNDS, $DURATION with $THREADS threads, $CONNECTIONS connections"
    # shellcheck disable=SC2046
    wrk_run "round $round" "$DURATION" $(for name in $names; do echo "$name=$TMP/$name.r$round.wrk"; done)
  done
done

if [ "$JFR" = 1 ]; then
  for name in "${JFR_NAMES[@]}"; do
    # shellcheck disable=SC2046
    jcmd $(pids_of "$name") JFR.stop name=measured filename="$RESULTS/$STAMP-$name.jfr" >/dev/null \
      || log "warning: could not save the JFR recording of $name"
    log "JFR recording of $name's measured rounds: $RESULTS/$STAMP-$name.jfr (java bench/JfrTop.java A.jfr [B.jfr] prints its top frames)"
  done
fi

# ---------------------------------------------------------------- report
# wrk prints the 99th percentile as 812.00us, 3.21ms or 1.02s; these give one number per file, in ms.
rps_of() { awk '/^Requests\/sec:/{print $2}' "$1"; }
cpu_of() { awk '{printf "%.2f\n", $1 + $2}' "$1.cpu"; } # CPU µs per request, user + system
p99_of() {
  awk '$1=="99%"{v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
       f=(u=="us")?0.001:(u=="s")?1000:(u=="m")?60000:1; printf "%.3f\n", v*f}' "$1"
}
median() { # median FORMAT < numbers
  sort -g | awk -v fmt="$1\n" '{a[NR]=$1} END{printf fmt, (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
stat() { # stat NAME rps|p99|cpu: median over rounds (req/s whole, p99 in ms to 0.01, CPU µs per request)
  local r fmt=%.0f
  [ "$2" = p99 ] && fmt=%.2f
  [ "$2" = cpu ] && fmt=%.2f
  for f in $(rounds_of "$1"); do "${2}_of" "$f"; done | median "$fmt"
}
errors() { # errors FILE...: requests, non-2xx/3xx and socket errors summed, as one cell
  awk '/requests in/{req+=$1}
       /Non-2xx or 3xx responses:/{n+=$NF}
       /Socket errors:/{gsub(/,/,""); c+=$4; r+=$6; w+=$8; t+=$10}
       END{printf "%d non-2xx/3xx of %d; socket errors: connect %d, read %d, write %d, timeout %d",
           n, req, c, r, w, t}' "$@"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b>0)?a/b:0}'; }
verdict() { awk -v v="$1" -v lim="$2" -v op="$3" 'BEGIN{ok=(op==">=")?(v>=lim):(v<=lim); print ok?"met":"NOT met"}'; }
rounds_of() { # rounds_of NAME: the wrk output of each round that measured NAME (AB_ONLY: direct and nginx in round 1)
  local r
  for r in $(seq 1 "$ROUNDS"); do [ -f "$TMP/$1.r$r.wrk" ] && echo "$TMP/$1.r$r.wrk"; done
  return 0
}
cpu_cell() { # cpu_cell NAME: median over rounds of the target's CPU µs per request, "total (user + sys)"
  local r
  [ -f "$TMP/$1.r1.wrk.cpu" ] || { echo "-"; return; }
  for f in $(rounds_of "$1"); do awk '{printf "%.1f %.1f %.1f\n", $1+$2, $1, $2}' "$f.cpu"; done \
    | sort -g | awk '{t[NR]=$1; u[NR]=$2; s[NR]=$3}
        END{m=int((NR+1)/2); printf "%.1f (%.1f + %.1f)", t[m], u[m], s[m]}'
}
row() { # row NAME LABEL: one line of the targets table
  # shellcheck disable=SC2046  # one file name per round
  echo "| $2 | $(stat "$1" rps) | $(stat "$1" p99) | $(cpu_cell "$1") | $(errors $(rounds_of "$1")) |"
}

R_NGINX=$(stat nginx rps); R_GW=$(stat gateway rps)
P_NGINX=$(stat nginx p99); P_GW=$(stat gateway p99)
# The goal rows: three decimals, and the verdict on the exact ratio (0.7999 is not 0.80).
exact() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.6f", (b>0)?a/b:0}'; }
RPS_EXACT=$(exact "$R_GW" "$R_NGINX")
P99_EXACT=$(exact "$P_GW" "$P_NGINX")
RPS_RATIO=$(awk -v v="$RPS_EXACT" 'BEGIN{printf "%.3f", v}')
P99_RATIO=$(awk -v v="$P99_EXACT" 'BEGIN{printf "%.3f", v}')
GW_WARNINGS=$(grep -cE '^[0-9: .-]*(WARNING|SEVERE)' "$TMP/gateway.log" || true)
cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src pom.xml 2>/dev/null || git_rev="$git_rev (+ uncommitted changes)"
git_rev="$git_rev, jar built $(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC')"
[ -z "${GATEWAY_JAR:-}" ] || git_rev="jar $JAR, built $(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC')"
if [ -n "$(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$JAR" -type f 2>/dev/null | head -1)" ]; then
  git_rev="$git_rev (OLDER than src/main or pom.xml: rebuild to measure the current code)"
fi
if [ "$PIN" = 1 ]; then
  placement="proxy under test (nginx worker / gateway JVM) pinned to CPU 0; wrk and backend container pinned to CPU 1"
else
  placement="no CPU pinning; all processes share all CPUs"
fi
median_word=""; [ "$ROUNDS" -gt 1 ] && median_word=" (median of $ROUNDS rounds)"

describe_config() { # describe_config ROUTES INSTANCES: one phrase
  local how="1 instance found by Docker discovery"
  [ -n "$2" ] && how="$2 static target(s) on one backend container"
  echo "$1 route(s), bench backend with $how${LOAD_BALANCER:+, load_balancer $LOAD_BALANCER}${BACKEND_OPTIONS:+, $BACKEND_OPTIONS}"
}
TABLE="$RESULTS/$STAMP-table.md"
{
  echo "## dockgate bench $STAMP"
  echo
  echo "| target | req/s$median_word | p99 ms$median_word | proxy CPU µs per request: total (user + sys) | errors (all measured rounds) |"
  echo "| --- | ---: | ---: | ---: | --- |"
  first_only=""; [ "$AB_ONLY" = 1 ] && [ -n "$COMPARE" ] && [ "$ROUNDS" -gt 1 ] && first_only=" (round 1 only)"
  row direct "direct to backend$first_only"
  row nginx "nginx reverse proxy (1 worker)$first_only"
  [ -z "$NGINXB_PORT" ] || row nginxb "nginx B: the same in front of $COMPARE_INSTANCES servers (${NGINXB_PICK:+random, }keepalive $NGINXB_KEEPALIVE)$first_only"
  if [ "$REFERENCES" = 1 ]; then
    row netty "reference: bare Netty proxy ($NETTY_LOOPS event loop(s), no features)"
    row vxcore "reference: Vert.x core HTTP server + client piped by hand ($GATEWAY_INSTANCES instance(s), fixed origin)"
    row vxproxy "reference: vertx-http-proxy alone ($GATEWAY_INSTANCES instance(s), fixed origin)"
  fi
  row gateway "dockgate gateway"
  [ -n "$COMPARE" ] && row b "dockgate gateway B ($B_LABEL)"
  echo
  echo "| gateway/nginx | ratio | goal |"
  echo "| --- | ---: | --- |"
  echo "| throughput (req/s) | $RPS_RATIO | >= 0.80: $(verdict "$RPS_EXACT" 0.80 '>=') |"
  echo "| p99 latency | $P99_RATIO | <= 2.00: $(verdict "$P99_EXACT" 2.00 '<=') |"
  if [ "$REFERENCES" = 1 ]; then
    R_VXP=$(stat vxproxy rps); P_VXP=$(stat vxproxy p99); R_NETTY=$(stat netty rps); P_NETTY=$(stat netty p99)
    R_VXC=$(stat vxcore rps); P_VXC=$(stat vxcore p99)
    echo
    echo "| references, same run | req/s ratio | p99 ratio |"
    echo "| --- | ---: | ---: |"
    echo "| bare Netty / nginx | $(ratio "$R_NETTY" "$R_NGINX") | $(ratio "$P_NETTY" "$P_NGINX") |"
    echo "| Vert.x core HTTP alone / nginx | $(ratio "$R_VXC" "$R_NGINX") | $(ratio "$P_VXC" "$P_NGINX") |"
    echo "| vertx-http-proxy alone / nginx | $(ratio "$R_VXP" "$R_NGINX") | $(ratio "$P_VXP" "$P_NGINX") |"
    echo "| gateway / vertx-http-proxy alone | $(ratio "$R_GW" "$R_VXP") | $(ratio "$P_GW" "$P_VXP") |"
  fi
  if [ -n "$COMPARE" ]; then
    ratio3() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", (b>0)?a/b:0}'; }
    per_round=$(for r in $(seq 1 "$ROUNDS"); do
      printf '%s/%s/%s ' "$(ratio3 "$(rps_of "$TMP/b.r$r.wrk")" "$(rps_of "$TMP/gateway.r$r.wrk")")" \
        "$(ratio3 "$(p99_of "$TMP/b.r$r.wrk")" "$(p99_of "$TMP/gateway.r$r.wrk")")" \
        "$(ratio3 "$(cpu_of "$TMP/b.r$r.wrk")" "$(cpu_of "$TMP/gateway.r$r.wrk")")"; done)
    B_RPS=$(ratio3 "$(stat b rps)" "$R_GW"); B_P99=$(ratio3 "$(stat b p99)" "$P_GW")
    B_CPU=$(ratio3 "$(stat b cpu)" "$(stat gateway cpu)")
    # The median of the rounds' own ratios: each pairs runs next to each other in time, so it holds
    # better than the ratio of the medians when the machine's load drifts during the run.
    paired() { echo "$per_round" | tr ' ' '\n' | awk -F/ -v k="$1" 'NF{print $k}' | median %.3f; }
    echo
    echo "| B/A ($B_LABEL vs the gateway above) | ratio of medians | median of the rounds' ratios | goal (within 5%) |"
    echo "| --- | ---: | ---: | --- |"
    echo "| throughput (req/s) | $B_RPS | $(paired 1) | >= 0.95: $(verdict "$B_RPS" 0.95 '>=') |"
    echo "| p99 latency | $B_P99 | $(paired 2) | <= 1.05: $(verdict "$B_P99" 1.05 '<=') |"
    echo "| CPU µs per request | $B_CPU | $(paired 3) | <= 1.05: $(verdict "$B_CPU" 1.05 '<=') |"
    if [ -n "$NGINXB_PORT" ]; then
      # The same change made to nginx, in the same rounds: what many upstream servers cost a reference proxy.
      nb_round=$(for f in $(rounds_of nginxb); do g=${f/nginxb./nginx.}
        printf '%s/%s ' "$(ratio3 "$(rps_of "$f")" "$(rps_of "$g")")" "$(ratio3 "$(cpu_of "$f")" "$(cpu_of "$g")")"; done)
      nb_paired() { echo "$nb_round" | tr ' ' '\n' | awk -F/ -v k="$1" 'NF{print $k}' | median %.3f; }
      echo "| nginx B/nginx ($COMPARE_INSTANCES servers vs 1), throughput | $(ratio3 "$(stat nginxb rps)" "$R_NGINX") | $(nb_paired 1) | (reference) |"
      echo "| nginx B/nginx, CPU µs per request | $(ratio3 "$(stat nginxb cpu)" "$(stat nginx cpu)") | $(nb_paired 2) | (reference) |"
    fi
    loop_round=$(for r in $(seq 1 "$ROUNDS"); do
      [ -f "$TMP/b.r$r.wrk.loop" ] && printf '%s ' "$(ratio3 "$(cat "$TMP/b.r$r.wrk.loop")" "$(cat "$TMP/gateway.r$r.wrk.loop")")"; done)
    echo
    echo "B/A per round (req/s ratio / p99 ratio / CPU per request ratio): ${per_round% }."
    [ -z "$loop_round" ] || echo "B/A per round, event-loop threads' CPU per request (the request path alone): ${loop_round% }."
  fi
  echo
  echo "Machine: $(nproc) CPUs, $cpu_model, $(uname -sr), $(date -u '+%Y-%m-%d %H:%M:%S UTC'); CPU busy before the run: $BUSY_BEFORE;"
  echo "load average (1, 5, 15 min) at the start: $LOAD_BEFORE, at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Software: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(java -version 2>&1 | head -1), wrk $(wrk -v 2>&1 | awk 'NR==1{print $2}'), gateway $git_rev."
  echo "Method: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $( [ "$UPLOAD_BYTES" -gt 0 ] && echo "POST of $UPLOAD_BYTES bytes to" || echo GET) $PATH_ answered by an nginx container on the"
  echo "host network with a ${BODY_BYTES}-byte body$( [ "$BACKEND_TLS" = 1 ] && echo ' over HTTPS (BACKEND_TLS=1: TLS 1.2/1.3, an EC P-256 certificate, a session cache; the gateway and nginx verify it)'); warm-up $WARMUP per nginx target and $GATEWAY_WARMUP for the gateway, then"
  echo "$ROUNDS round(s) of ${order// /, } in that order${first_only:+ (direct and nginx in round 1 only: AB_ONLY=1)}$( [ "$AB_TOGETHER" = 1 ] && [ -n "$COMPARE" ] && echo '; gateway+b: both measured at the same time, each by its own wrk (AB_TOGETHER=1)'). Placement: $placement."
  echo "Gateway: server.instances $GATEWAY_INSTANCES, JVM flags: ${JAVA_OPTS:-(none: JVM defaults)}, $(grep -o 'network transport: .*' "$TMP/gateway.log" | head -1 || echo 'network transport: not logged')."
  echo "Configuration: $(describe_config "$ROUTES" "$INSTANCES")${COMPARE:+; B: $(describe_config "$B_ROUTES" "$B_INSTANCES")}."
  [ -z "$ROUTE_OPTIONS" ] || echo "Bench route (A and B): $ROUTE_OPTIONS."
  [ -z "$CLUSTER" ] || echo "Cluster: $( [ "$CLUSTER" = a ] && echo the gateway above || echo B) ran with -cluster, in a cluster of two with an idle peer gateway (same config and jar, no requests); the other without -cluster."
  [ "$JFR" = 1 ] && echo "JFR on (settings=profile, method-profiling=max: a CPU sample every 1 ms per thread in the measured rounds) for every gateway: its figures include the recorder's cost; recordings of the measured rounds in bench/results/$STAMP-*.jfr."
  echo "Warm-up errors: direct $(errors "$TMP/direct.warmup.wrk"); nginx $(errors "$TMP/nginx.warmup.wrk"); gateway $(errors "$TMP/gateway.warmup.wrk")."
  echo "Gateway log: $GW_WARNINGS WARNING/SEVERE line(s)."
  opens_cell() { for f in $(rounds_of "$1"); do cat "$f.opens"; done | median %.0f; }
  echo "TCP connections opened per second on the whole machine during the measured runs (median over rounds; wrk's own"
  echo "connections and other processes' count too, so compare with direct): direct $(opens_cell direct), nginx $(opens_cell nginx),${NGINXB_PORT:+ nginx B $(opens_cell nginxb),}"
  echo "gateway $(opens_cell gateway)${COMPARE:+, B $(opens_cell b)}$( [ "$AB_TOGETHER" = 1 ] && [ -n "$COMPARE" ] && echo ' (A and B together)')."
  held_cell() { for f in $(rounds_of "$1"); do cat "$f.held" 2>/dev/null; done | median %.0f; }
  echo "TCP connections each proxy held halfway through its measured runs (median over rounds; its $CONNECTIONS wrk connections"
  echo "included): nginx $(held_cell nginx),${NGINXB_PORT:+ nginx B $(held_cell nginxb),} gateway $(held_cell gateway)${COMPARE:+, B $(held_cell b)}."
  for note in "${NOTES[@]}"; do echo "Note: $note."; done
} >"$TABLE"
cp "$TMP/gateway.log" "$RESULTS/$STAMP-gateway.log"
cp "$TABLE" "$RESULTS/latest.md"
cat "$TABLE"
if [ "$GW_WARNINGS" != 0 ]; then
  echo
  echo "Gateway WARNING/SEVERE lines (first 10; full log in bench/results/$STAMP-gateway.log):"
  grep -E '^[0-9: .-]*(WARNING|SEVERE)' "$TMP/gateway.log" | head -10
fi
log "raw wrk output: $RAW; table: $TABLE"
