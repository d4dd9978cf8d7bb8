# Helpers shared by the bench scripts; source after defining log and die.
# shellcheck shell=bash

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PATH="$PATH:/usr/sbin:/sbin"

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE...  (first package that installs wins)
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  local p
  for p in "$@"; do
    log "installing $p"
    if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$p" >/dev/null; then
      command -v "$cmd" >/dev/null 2>&1 && return 0
    fi
  done
  die "cannot install $cmd (tried: $*)"
}

stop_pid() { # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

free_port() { # a TCP port no socket uses, different from those already handed out, below the ephemeral range
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    case " ${TAKEN_PORTS:-} " in *" $p "*) continue ;; esac
    ss -Htan "sport = :$p" | grep -q . && continue
    TAKEN_PORTS="${TAKEN_PORTS:-} $p"
    echo "$p"
    return
  done
}

free_ports() { # free_ports N: N distinct free ports, one per line (one shell, so free_port never repeats itself)
  local i
  for ((i = 0; i < $1; i++)); do free_port; done
}

served() { # served STATS_URL: the requests the gateway has counted (success + error of its /stats)
  curl -s "$1" | python3 -c 'import json, sys; c = json.load(sys.stdin)["requests_count"]; print(c["success"] + c["error"])' \
    2>/dev/null || echo 0
}

wait_200() { # wait_200 URL SECONDS WHAT [PID]: poll until the URL answers 200
  local url=$1 deadline=$((SECONDS + $2)) what=$3 pid=${4:-}
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then die "$what exited before answering $url"; fi
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not answer 200 on $url within $2 s"
    sleep 0.2
  done
}

start_watchdog() { # start_watchdog SECONDS: past SECONDS the script stops itself (and, by its trap, all it started); sets WATCHDOG_PID
  ( sleep "$1" >/dev/null 2>&1 & s=$!; trap 'kill $s; exit 0' TERM; wait $s
    log "stopping: over $1 s"; kill -TERM $$ ) &
  WATCHDOG_PID=$!
}

start_nginx_ok() { # start_nginx_ok "PORT [PORT...]" DIR: the host's nginx, one worker, answering 200 "ok" on 127.0.0.1:PORT (each); sets NGINX_PID
  local ports=$1 dir=$2 port
  port=${ports%% *}
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
$(for p in $ports; do echo "    listen 127.0.0.1:$p;"; done)
    location / { return 200 "ok\n"; }
  }
}
EOF
  "$(command -v nginx)" -p "$dir/" -e stderr -c "$dir/nginx.conf" 2>"$dir/nginx.log" &
  NGINX_PID=$!
  wait_200 "http://127.0.0.1:$port/" 20 "nginx" "$NGINX_PID"
}

# bench_setup NAME SECONDS: wrk, nginx, curl and ss installed, the gateway jar built if missing, TMP a new
# folder, and on exit (or past SECONDS) everything in WATCHDOG_PID, WRK_PID, GATEWAY_PID, NGINX_PID stopped
# and TMP removed. Needs ROOT and JAR.
bench_setup() {
  need_pkg wrk wrk
  need_pkg nginx nginx-light nginx
  need_pkg curl curl
  need_pkg ss iproute2
  if [ ! -f "$JAR" ]; then
    log "building $JAR"
    (cd "$ROOT" && mvn -q -B package -DskipTests)
  fi
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  NGINX_PID=""; GATEWAY_PID=""; WRK_PID=""; WATCHDOG_PID=""
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_watchdog "$2"
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WATCHDOG_PID"
  stop_pid "$WRK_PID"
  stop_pid "$GATEWAY_PID"
  stop_pid "$NGINX_PID"
  rm -rf "$TMP"
  exit "$rc"
}
