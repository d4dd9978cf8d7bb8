#!/bin/sh
# What the strict request decoder costs per request, against Vert.x's decoder in the same run.
# Usage: bench/decoder.sh [rounds] [heads per round]
set -eu
cd "$(dirname "$0")/.."
mvn -q -B compile
mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-decoder.cp >/dev/null
CP="$(cat target/bench-decoder.cp):target/classes"
mkdir -p target/bench-decoder
javac -cp "$CP" -d target/bench-decoder bench/DecoderBench.java
exec java -cp "$CP:target/bench-decoder" dev.dockgate.edge.DecoderBench "$@"
