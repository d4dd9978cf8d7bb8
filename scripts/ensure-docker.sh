#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock and that the
# busybox test image exists. Installs Debian's docker.io and busybox-static
# when they are missing. Safe to run repeatedly.
set -euo pipefail

SOCK=/var/run/docker.sock
IMAGE=${GATEWAY_TEST_IMAGE:-gateway-test-busybox:latest}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  echo "ensure-docker: installing $2" >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null
}

need_pkg dockerd docker.io
need_pkg busybox busybox-static

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if ! engine_up; then
  echo "ensure-docker: starting dockerd (no bridge, no iptables)" >&2
  mkdir -p /tmp/gateway-dockerd
  # --live-restore: containers keep running while the engine restarts (DockerRestartIT relies on it)
  nohup $SUDO dockerd --bridge=none --iptables=false --ip6tables=false --live-restore \
    >/tmp/gateway-dockerd/dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    [ -S "$SOCK" ] && engine_up && break
    sleep 0.5
  done
  engine_up || { echo "ensure-docker: dockerd did not come up; see /tmp/gateway-dockerd/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "ensure-docker: importing $IMAGE from $(command -v busybox)" >&2
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/www"
  cp "$(command -v busybox)" "$dir/bin/busybox"
  for applet in sh httpd sleep echo cat mkdir; do ln -s busybox "$dir/bin/$applet"; done
  tar -C "$dir" -c . | docker import -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$dir"
fi
echo "ensure-docker: engine $(docker version --format '{{.Server.Version}}'), image $IMAGE ready" >&2
