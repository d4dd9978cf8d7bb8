#!/usr/bin/env bash
# Runs every test: unit tests, then the integration tests against a real Docker engine and the
# real fat jar. Installs and starts what they need (Docker engine, busybox test image) first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] && SUDO="" || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

scripts/ensure-docker.sh
exec mvn -B verify "$@"
