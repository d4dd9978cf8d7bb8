#!/usr/bin/env bash
# A second Docker engine beside the main one, for trying (and testing) discovery from several
# engines: it listens on DIR/docker.sock and on tcp://127.0.0.1:PORT with TLS (--tlsverify:
# clients must show a certificate of its CA), keeps its data, exec root and pid file in DIR, and
# has no bridge and no iptables, so the main engine and its containers are never touched.
#
#   scripts/second-docker.sh start DIR [PORT]   start it (a no-op when it already answers)
#   scripts/second-docker.sh down DIR           stop the engine only (SIGTERM, SIGKILL after 30 s): its
#                                               containers run on (--live-restore) and start brings it back
#   scripts/second-docker.sh stop DIR           remove its containers, stop it and remove DIR
#   scripts/second-docker.sh status DIR         exit 0 when it answers on both listeners
#
# start makes, once, with openssl, in DIR/certs: ca.pem, server-cert.pem / server-key.pem (for
# 127.0.0.1 and localhost) and client-cert.pem / client-key.pem, and prints the settings to use:
#   DOCKER_UNIX=unix://DIR/docker.sock
#   DOCKER_TCP=tcp://127.0.0.1:PORT
#   DOCKER_CERTS=DIR/certs
# It loads the main engine's test image (GATEWAY_TEST_IMAGE, default gateway-test-busybox:latest)
# into the second one when that image exists there and not yet here. PORT defaults to a free one.
# The engine runs as DIR/dg-second-dockerd, so stopping "dockerd" by name does not stop it.
# Every wait is bounded (30 s to answer, 30 s to stop).
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | down DIR | stop DIR | status DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
ACTION=$1
DIR=$2
IMAGE=${GATEWAY_TEST_IMAGE:-gateway-test-busybox:latest}
DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
# A unix socket path has at most 107 bytes.
[ ${#DIR} -le 90 ] || { echo "second-docker: DIR must be shorter than 90 characters (a socket goes in it)" >&2; exit 2; }
SOCK="$DIR/docker.sock"
CERTS="$DIR/certs"
PIDFILE="$DIR/dockerd.pid"

pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
tcp_port() { cat "$DIR/tcp-port" 2>/dev/null; }
answers_unix() { docker -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
answers_tcp() {
  docker -H "tcp://127.0.0.1:$(tcp_port)" --tlsverify --tlscacert "$CERTS/ca.pem" \
    --tlscert "$CERTS/client-cert.pem" --tlskey "$CERTS/client-key.pem" \
    version --format '{{.Server.Version}}' >/dev/null 2>&1
}

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 40000 ))
    if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then echo "$port"; return 0; fi
  done
  echo "second-docker: no free port found" >&2; return 1
}

make_certs() {
  [ -f "$CERTS/client-key.pem" ] && return 0
  command -v openssl >/dev/null 2>&1 || {
    [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null
  }
  mkdir -p "$CERTS"
  (
    cd "$CERTS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dockgate second engine CA" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=dockgate" -keyout client-key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out client-cert.pem 2>/dev/null
    rm -f server.csr client.csr server.ext client.ext
    chmod 600 ./*-key.pem
  )
}

load_image() {
  docker -H "unix://$SOCK" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  docker image inspect "$IMAGE" >/dev/null 2>&1 || return 0
  docker save "$IMAGE" | docker -H "unix://$SOCK" load >/dev/null
}

start() {
  mkdir -p "$DIR"
  make_certs
  if pid_alive && answers_unix && answers_tcp; then
    load_image
    report
    return 0
  fi
  stop_engine
  local port=${1:-$(tcp_port)}
  [ -n "$port" ] || port=$(free_port)
  echo "$port" > "$DIR/tcp-port"
  ln -sf "$DOCKERD" "$DIR/dg-second-dockerd"
  # setsid: the engine outlives this script and is not in its caller's process group.
  setsid "$DIR/dg-second-dockerd" \
    -H "unix://$SOCK" -H "tcp://127.0.0.1:$port" \
    --tlsverify --tlscacert "$CERTS/ca.pem" --tlscert "$CERTS/server-cert.pem" --tlskey "$CERTS/server-key.pem" \
    --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$PIDFILE" \
    --bridge=none --iptables=false --ip6tables=false --live-restore \
    </dev/null >>"$DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do
    if answers_unix && answers_tcp; then
      load_image
      report
      return 0
    fi
    sleep 0.2
  done
  echo "second-docker: the engine did not answer within 30 s; $DIR/dockerd.log says:" >&2
  tail -20 "$DIR/dockerd.log" >&2 || true
  stop_engine
  return 1
}

report() {
  echo "DOCKER_UNIX=unix://$SOCK"
  echo "DOCKER_TCP=tcp://127.0.0.1:$(tcp_port)"
  echo "DOCKER_CERTS=$CERTS"
}

stop_engine() {
  pid_alive || return 0
  local pid
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "second-docker: engine $pid still running after 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
}

stop() {
  [ -d "$DIR" ] || return 0
  # Its containers first, which would outlive the engine (--live-restore); a downed engine is
  # started again for that.
  if [ -f "$DIR/tcp-port" ] && ! answers_unix; then start >/dev/null || true; fi
  if answers_unix; then
    ids=$(docker -H "unix://$SOCK" ps -aq)
    [ -z "$ids" ] || docker -H "unix://$SOCK" rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_engine
  # Mounts an engine leaves under its roots would keep rm from removing them.
  { grep -o " $DIR/[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DIR"
}

case "$ACTION" in
  start) start "${3:-}" ;;
  stop) stop ;;
  down) stop_engine ;;
  status) pid_alive && answers_unix && answers_tcp ;;
  *) usage ;;
esac
