#!/usr/bin/env bash
# bench/idle-cpu.sh: what a gateway costs with no traffic at all, per group of threads, for a plain
# gateway and for two gateways with -cluster in one cluster (the second its idle peer), all on
# 127.0.0.1. This is the part of -cluster's cost that does not depend on the traffic (heartbeats,
# periodic reports, Hazelcast's own threads), measured without the noise of a load generator.
#
#   ROUNDS=3 SETTLE=60 WINDOW=30 bench/idle-cpu.sh [jar] [jar B]
#
# With a second jar, a second clustered pair runs from it at the same time (its own cluster), so
# that the two builds are measured in the same seconds on the same machine.
#
# Each round starts the three JVMs afresh, waits SETTLE seconds, then reads every thread's time on
# CPU (/proc/PID/task/TID/schedstat, nanoseconds) at the start and the end of WINDOW seconds.
# Prints ms of CPU per second of wall time and how often the threads were woken (voluntary context
# switches: the steadier figure, as each wakeup costs about the same) per group (event loops,
# Hazelcast, JIT, GC, other) for each gateway, and the busiest threads. Set CLUSTER_ONLY=1 to skip the
# plain gateway, EXTRA_OPTS to pass JVM options to all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${1:-$ROOT/target/gateway-fat.jar}
JAR_B=${2:-}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-60}
WINDOW=${WINDOW:-30}
EXTRA_OPTS=${EXTRA_OPTS:-}
[ -f "$JAR" ] || { echo "idle-cpu: no jar at $JAR" >&2; exit 2; }
[ -z "$JAR_B" ] || [ -f "$JAR_B" ] || { echo "idle-cpu: no jar at $JAR_B" >&2; exit 2; }
TMP=$(mktemp -d /tmp/idle-cpu.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

config() { # config PORT [HZ_SELF HZ_PEER CLUSTER_NAME]
  cat <<EOF
server:
  host: 127.0.0.1
  port: $1
  instances: 2
  admin_listener: {host: 127.0.0.1, port: $(free_port)}
access_log: {enabled: false}
routes:
  - path_prefix: /
    backend: idle
backends:
  - name: idle
    targets: ["http://127.0.0.1:$(free_port)"]
$( [ -z "${2:-}" ] || printf 'cluster: {name: idle-%s, host: 127.0.0.1, port: %s, members: ["127.0.0.1:%s", "127.0.0.1:%s"]}\n' "$4" "$2" "$2" "$3")
EOF
}

# snapshot PID: one line per thread, "tid<TAB>ns on CPU<TAB>times it went to sleep and was woken"
snapshot() {
  local pid=$1 t
  for t in /proc/"$pid"/task/*; do
    printf '%s\t%s\t%s\n' "${t##*/}" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)" \
      "$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$t/status" 2>/dev/null || echo 0)"
  done
}

# names PID: "tid<TAB>full thread name" from the JVM (jcmd), "?<TAB>comm" where it has none
names() {
  local pid=$1 t
  { jcmd "$pid" Thread.print 2>/dev/null || true; } | sed -n 's/^"\([^"]*\)".* nid=\(0x[0-9a-f]*\).*/\2\t\1/p' |
    while IFS=$'\t' read -r nid name; do printf '%d\t%s\n' "$nid" "$name"; done
  for t in /proc/"$pid"/task/*; do printf '%s\t%s\n' "${t##*/}" "$(cat "$t/comm" 2>/dev/null)"; done
}

report=$TMP/report.tsv
: >"$report"
for round in $(seq 1 "$ROUNDS"); do
  PIDS=()
  names=()
  for side in A B; do
    jar=$JAR; [ $side = A ] || jar=$JAR_B
    [ -n "$jar" ] || continue
    label=""; [ -z "$JAR_B" ] || label=" $side"
    hz1=$(free_port); hz2=$(free_port)
    config "$(free_port)" "$hz1" "$hz2" "$$-$side" >"$TMP/c1$side.yml"
    config "$(free_port)" "$hz2" "$hz1" "$$-$side" >"$TMP/c2$side.yml"
    java $EXTRA_OPTS -jar "$jar" -conf "$TMP/c1$side.yml" -cluster >"$TMP/c1$side.log" 2>&1 & PIDS+=($!)
    java $EXTRA_OPTS -jar "$jar" -conf "$TMP/c2$side.yml" -cluster >"$TMP/c2$side.log" 2>&1 & PIDS+=($!)
    names+=("clustered$label" "peer$label")
  done
  config "$(free_port)" >"$TMP/plain.yml"
  if [ -z "${CLUSTER_ONLY:-}" ]; then
    java $EXTRA_OPTS -jar "$JAR" -conf "$TMP/plain.yml" >"$TMP/plain.log" 2>&1 & PIDS+=($!)
    names+=(plain)
  fi
  echo "idle-cpu: round $round: started ${names[*]} (${PIDS[*]}), settling ${SETTLE}s" >&2
  sleep "$SETTLE"
  for i in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "idle-cpu: ${names[$i]} exited, see $TMP/*.log" >&2; exit 1; }
    snapshot "${PIDS[$i]}" >"$TMP/${names[$i]// /_}.0"
  done
  start=$(date +%s.%N)
  sleep "$WINDOW"
  for i in "${!PIDS[@]}"; do snapshot "${PIDS[$i]}" >"$TMP/${names[$i]// /_}.1"; done
  end=$(date +%s.%N)
  for i in "${!PIDS[@]}"; do names "${PIDS[$i]}" >"$TMP/${names[$i]// /_}.names"; done
  for i in "${!PIDS[@]}"; do
    python3 - "$TMP/${names[$i]// /_}.0" "$TMP/${names[$i]// /_}.1" "$start" "$end" "$round" "${names[$i]}" "$TMP/${names[$i]// /_}.names" >>"$report" <<'EOF'
import re, sys
full = {}
for line in open(sys.argv[7]):
    tid, name = line.rstrip("\n").split("\t", 1)
    full.setdefault(tid, name)  # the JVM's full name first, the kernel's 15 characters otherwise
def load(path):
    out, woken = {}, {}
    for line in open(path):
        tid, ns, wakeups = line.rstrip("\n").split("\t")
        # hz.<instance name>.X -> hz.X; numbered threads of one pool together
        name = re.sub(r"^hz\.[^.]+\.", "hz.", full.get(tid, "?"))
        name = re.sub(r"-?\d+$", "", name)
        out[name] = out.get(name, 0) + int(ns)
        woken[name] = woken.get(name, 0) + int(wakeups or 0)
    return out, woken
def group(name):
    if name.startswith("vert.x-eventloo"): return "event loops"
    if name.startswith("hz.") or "hazelcast" in name.lower(): return "hazelcast"
    if "Compiler" in name or name.startswith("C1 ") or name.startswith("C2 "): return "JIT"
    if name.startswith("G1") or name.startswith("GC") or "GC" in name: return "GC"
    if name.startswith("vert.x-"): return "vert.x other"
    return "other"
(a, aw), (b, bw) = load(sys.argv[1]), load(sys.argv[2])
secs = float(sys.argv[4]) - float(sys.argv[3])
groups, wakes = {}, {}
threads = {}
for name, ns in b.items():
    d = max(0, ns - a.get(name, 0))
    w = max(0, bw[name] - aw.get(name, 0))
    groups[group(name)] = groups.get(group(name), 0) + d
    wakes[group(name)] = wakes.get(group(name), 0) + w
    threads[name] = (d, w)
for g, ns in sorted(groups.items()):
    print("%s\t%s\tgroup\t%s\t%.3f\t%.1f" % (sys.argv[5], sys.argv[6], g, ns / 1e6 / secs, wakes[g] / secs))
print("%s\t%s\tgroup\ttotal\t%.3f\t%.1f" % (sys.argv[5], sys.argv[6], sum(groups.values()) / 1e6 / secs,
                                          sum(wakes.values()) / secs))
for name, (ns, w) in sorted(threads.items(), key=lambda kv: -kv[1][0])[:14]:
    print("%s\t%s\tthread\t%s\t%.3f\t%.1f" % (sys.argv[5], sys.argv[6], name, ns / 1e6 / secs, w / secs))
EOF
  done
  cleanup
  PIDS=()
done
python3 - "$report" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
groups, wakes = {}, {}
for r, who, kind, name, v, w in rows:
    if kind == "group":
        groups.setdefault((who, name), []).append(float(v))
        wakes.setdefault((who, name), []).append(float(w))
whos = sorted({w for w, _ in groups})
names = sorted({n for _, n in groups}, key=lambda n: (n == "total", n))
print("ms of CPU per second at rest, median of rounds (rounds):")
print("| group | " + " | ".join(whos) + " |")
print("|---|" + "---:|" * len(whos))
for n in names:
    print("| %s | %s |" % (n, " | ".join("%.2f (%s)" % (statistics.median(groups.get((w, n), [0])),
          " ".join("%.1f" % x for x in groups.get((w, n), []))) for w in whos)))
print()
print("times a thread was woken, per second, median of rounds:")
print("| group | " + " | ".join(whos) + " |")
print("|---|" + "---:|" * len(whos))
for n in names:
    print("| %s | %s |" % (n, " | ".join("%.1f" % statistics.median(wakes.get((w, n), [0])) for w in whos)))
print()
print("busiest threads per gateway, last round:")
last = max(int(r[0]) for r in rows)
for w in whos:
    print(w + ": " + ", ".join("%s %s ms/s %s/s" % (r[3], r[4], r[5]) for r in rows
                            if int(r[0]) == last and r[1] == w and r[2] == "thread"))
EOF
echo "idle-cpu: logs and snapshots in $TMP" >&2
