#!/usr/bin/env bash
# bench/close-ab.sh: what a connection costs, A/B: two gateway jars (X and Y) side by side on 127.0.0.1, each in
# front of a one-worker nginx answering "ok", loaded in alternation by wrk with "Connection: close" (a TCP
# connection per request: accept, registration, close), so that per-connection work shows where the other benches'
# kept-alive connections hide it. Reports each gateway's CPU time (utime + stime from /proc/PID/stat) per completed
# request, per round, and the geometric means of the Y/X ratios.
#
#   ROUNDS=5 DUR=10 bench/close-ab.sh X.jar Y.jar
#
# Uses ports 18590-18594 and files under /tmp/close-ab; installs nothing (wrk and nginx: bench/run.sh installs them).
set -euo pipefail
mkdir -p /tmp/close-ab; rm -f /tmp/close-ab/rounds.txt
X=$1; Y=$2; ROUNDS=${ROUNDS:-4}; DUR=${DUR:-10}
BPORT=18590
cat > /tmp/close-ab/nginx.conf <<NG
worker_processes 1; pid /tmp/close-ab/nginx.pid; error_log /tmp/close-ab/nginx.err;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$BPORT; location / { return 200 "ok"; } } }
NG
nginx -c /tmp/close-ab/nginx.conf
conf() { cat <<C
server: {host: 127.0.0.1, port: $1, instances: 2, admin_listener: {port: $2}}
docker: {enabled: false}
access_log: {enabled: false}
routes: [{path_prefix: /, backend: b}]
backends: [{name: b, targets: ["http://127.0.0.1:$BPORT"]}]
C
}
conf 18591 18592 > /tmp/close-ab/x.yml; conf 18593 18594 > /tmp/close-ab/y.yml
java -jar "$X" -conf /tmp/close-ab/x.yml > /tmp/close-ab/x.log 2>&1 & XP=$!
java -jar "$Y" -conf /tmp/close-ab/y.yml > /tmp/close-ab/y.log 2>&1 & YP=$!
trap 'kill -9 $XP $YP 2>/dev/null; nginx -c /tmp/close-ab/nginx.conf -s stop 2>/dev/null || true' EXIT
sleep 8
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
one() { # pid port -> prints "reqs ticks"
  local c0 c1 out
  c0=$(cpu $1)
  out=$(wrk -t2 -c32 -d${DUR}s -H "Connection: close" http://127.0.0.1:$2/x 2>&1)
  c1=$(cpu $1)
  echo "$(echo "$out" | awk '/requests in/{print $1}') $((c1-c0)) $(echo "$out" | grep -c 'Non-2xx\|Socket errors' || true)"
}
# warm-up
one $XP 18591 >/dev/null; one $YP 18593 >/dev/null
for r in $(seq 1 $ROUNDS); do
  a=$(one $XP 18591); b=$(one $YP 18593)
  echo "round $r X: $a  Y: $b" | tee -a /tmp/close-ab/rounds.txt
done
python3 - /tmp/close-ab/rounds.txt <<'PY'
import math, re, statistics, sys
ratios = []
for line in open(sys.argv[1]):
    (xr, xc), (yr, yc) = re.findall(r'(\d+) (\d+) \d+', line)
    x, y = int(xc) * 10000 / int(xr), int(yc) * 10000 / int(yr)  # clock ticks of 10 ms -> µs per request
    ratios.append((y / x, int(yr) / int(xr)))
    print("X %.1f µs/request, Y %.1f: Y/X %.3f, req/s Y/X %.3f" % (x, y, y / x, int(yr) / int(xr)))
gm = lambda v: math.exp(statistics.mean(math.log(r) for r in v))
print("geometric mean: CPU per request Y/X %.3f, req/s Y/X %.3f" % (gm(r[0] for r in ratios), gm(r[1] for r in ratios)))
PY
