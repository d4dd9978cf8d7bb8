#!/usr/bin/env bash
# Runs every test: unit tests, then the integration tests against a real Docker engine and the
# real fat jar. Installs and starts what they need (Docker engine, busybox test image, Chromium,
# docker-compose, HAProxy) first.
set -euo pipefail
cd "$(dirname "$0")/.."

# javac, not java: with a JRE alone Maven cannot compile (and scripts/jre-image.sh needs jlink).
if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

scripts/ensure-docker.sh

# DashboardIT drives Debian's headless Chromium through its chromedriver (never a downloaded build).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
  echo "test.sh: installing chromium and chromium-driver" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# ComposeDemoIT runs docker-compose.yml with Debian's docker-compose (the Python one, 1.29).
if ! command -v docker-compose >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
  echo "test.sh: installing docker-compose" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-compose >/dev/null
fi

# HaproxyClusterIT runs Debian's HAProxy as its own process with its own config (never the system service).
if [ ! -x /usr/sbin/haproxy ]; then
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
  echo "test.sh: installing haproxy" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null
  # Debian starts the packaged service on port 80 with /etc/haproxy/haproxy.cfg; the tests do not use it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
    $SUDO systemctl stop haproxy || true
  fi
fi

exec mvn -B verify "$@"
