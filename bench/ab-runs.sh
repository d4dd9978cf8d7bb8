#!/usr/bin/env bash
# bench/ab-runs.sh: an A/B comparison over several fresh JVM pairs, the roles swapped from one pair
# to the next, so that neither a JVM's own speed for its life (its JIT's choices, where its threads
# landed) nor the order of measurement favours one side.
#
#   Y=/tmp/new.jar X=/tmp/old.jar RUNS=4 bench/ab-runs.sh    # jar Y against jar X
#   CLUSTER=1 RUNS=4 bench/ab-runs.sh                        # -cluster (Y) against without (X), same jar
#
# Each run is one bench/run.sh A/B run (ROUNDS rounds, default 2) with fresh JVMs; odd runs measure
# X as A and Y as B, even runs the other way round. Every round's Y/X ratio (CPU per request,
# req/s) is oriented the same way and reported: per run, then the geometric mean and the median of
# all rounds. Other bench/run.sh knobs (ROUTE_OPTIONS, INSTANCES, PIN, ...) pass through.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-4}
export ROUNDS=${ROUNDS:-2} AB_ONLY=${AB_ONLY:-1} PIN=${PIN:-0} GATEWAY_INSTANCES=${GATEWAY_INSTANCES:-2}
export INSTANCES=${INSTANCES:-1}
CLUSTER_MODE=${CLUSTER:-}
unset CLUSTER
X=${X:-$ROOT/target/gateway-fat.jar}
Y=${Y:-$X}
[ -f "$X" ] && [ -f "$Y" ] || { echo "ab-runs: X=$X and Y=$Y must be jars" >&2; exit 2; }
if [ -z "$CLUSTER_MODE" ] && [ "$X" = "$Y" ]; then
  echo "ab-runs: give Y (and X), or CLUSTER=1" >&2
  exit 2
fi
tables=()
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then a=$X; b=$Y; cl=b; else a=$Y; b=$X; cl=a; fi
  if [ -n "$CLUSTER_MODE" ]; then
    echo "ab-runs: run $i/$RUNS: -cluster on $( [ $cl = b ] && echo B || echo A)" >&2
    out=$(GATEWAY_JAR=$X COMPARE_JAR=$X CLUSTER=$cl "$ROOT/bench/run.sh" 2>&1 | tail -1)
  else
    echo "ab-runs: run $i/$RUNS: A=$a B=$b" >&2
    out=$(GATEWAY_JAR=$a COMPARE_JAR=$b "$ROOT/bench/run.sh" 2>&1 | tail -1)
  fi
  table=${out##*table: }
  [ -f "$table" ] || { echo "ab-runs: run $i failed: $out" >&2; exit 1; }
  echo "ab-runs: run $i: $table" >&2
  tables+=("$i:$table")
done
python3 - "${tables[@]}" <<'EOF'
import math, re, statistics, sys
cpu, rps, loop = [], [], []
print("| run | Y as | rounds' Y/X CPU per request | median | rounds' Y/X req/s | median |")
print("| ---: | --- | --- | ---: | --- | ---: |")
for arg in sys.argv[1:]:
    run, path = arg.split(":", 1)
    text = open(path).read()
    line = re.search(r"B/A per round \(req/s ratio / p99 ratio / CPU per request ratio\): (.*)\.", text).group(1)
    triples = [tuple(float(v) for v in t.split("/")) for t in line.split()]
    y_is_b = int(run) % 2 == 1
    c = [t[2] if y_is_b else 1 / t[2] for t in triples]
    r = [t[0] if y_is_b else 1 / t[0] for t in triples]
    cpu += c
    rps += r
    m = re.search(r"event-loop threads' CPU per request \(the request path alone\): (.*)\.", text)
    if m:
        loop += [float(v) if y_is_b else 1 / float(v) for v in m.group(1).split()]
    print("| %s | %s | %s | %.3f | %s | %.3f |" % (run, "B" if y_is_b else "A", " ".join("%.3f" % v for v in c),
          statistics.median(c), " ".join("%.3f" % v for v in r), statistics.median(r)))
geo = lambda v: math.exp(sum(math.log(x) for x in v) / len(v))
print()
print("Y/X over %d rounds: CPU per request geometric mean %.3f, median %.3f; req/s geometric mean %.3f, median %.3f"
      % (len(cpu), geo(cpu), statistics.median(cpu), geo(rps), statistics.median(rps)))
if loop:
    print("Y/X over %d rounds, the event-loop threads alone (the request path): CPU per request geometric mean %.3f, "
          "median %.3f (rounds %s)" % (len(loop), geo(loop), statistics.median(loop), " ".join("%.3f" % v for v in loop)))
EOF
