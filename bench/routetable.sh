#!/usr/bin/env bash
# What matching a request costs with 1 route and with ROUTES routes (bench/routes.sh's mix, as
# bench/run.sh and bench/alloc.sh build it), in alternating rounds of one JVM. No network.
# Usage: [ROUTES=1000] bench/routetable.sh [rounds] [matches per round]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/routes.sh
JAR=target/gateway-fat.jar
[ -f "$JAR" ] || mvn -q -B package -DskipTests
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
other_routes $((${ROUTES:-1000} - 1)) >"$TMP/routes.yml"
javac -nowarn -cp "$JAR" -d "$TMP" bench/RouteTableBench.java
java -cp "$JAR:$TMP" RouteTableBench "$TMP/routes.yml" "$@"
