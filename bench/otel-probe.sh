#!/bin/sh
# Spans vertx-opentelemetry makes on the gateway's paths (proxied, refused, admin, WebSocket), and the
# traceparent the backend sees; why the gateway makes its own spans instead (docs/observability.md).
# Usage: bench/otel-probe.sh   (needs target/gateway-fat.jar; fetches vertx-opentelemetry 5.0.7 with Maven)
set -eu
cd "$(dirname "$0")/.."
[ -f target/gateway-fat.jar ] || mvn -q -B package -DskipTests
mkdir -p target/otel-probe
mvn -q -B dependency:copy -Dartifact=io.vertx:vertx-opentelemetry:5.0.7 -DoutputDirectory=target/otel-probe >/dev/null
CP="target/gateway-fat.jar:target/otel-probe/vertx-opentelemetry-5.0.7.jar"
javac -cp "$CP" -d target/otel-probe bench/OtelProbe.java
exec java -cp "$CP:target/otel-probe" OtelProbe 2>/dev/null
