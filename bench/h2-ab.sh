#!/usr/bin/env bash
# bench/h2-ab.sh X.jar Y.jar: CPU per request of two gateway jars over cleartext HTTP/2 (h2c), on 127.0.0.1:
# the host nginx (one worker, "ok") behind each, h2load (8 connections x 8 streams, N requests) against X and Y in
# alternation, order swapped every round; CPU is user+system ticks of the gateway process over the run, from /proc.
# Needs nginx and h2load (Debian: nginx-light, nghttp2-client). ROUNDS (4), N (60000).
set -euo pipefail
X=$1; Y=$2; ROUNDS=${ROUNDS:-4}; N=${N:-60000}
T=$(mktemp -d /tmp/h2ab.XXXX)
NP=28431; PORT_X=28432; PORT_Y=28433
cat > $T/nginx.conf <<NG
daemon off; master_process off; worker_processes 1; pid $T/nginx.pid; error_log stderr warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; server { listen 127.0.0.1:$NP; location / { return 200 "ok\n"; } } }
NG
nginx -p $T/ -e stderr -c $T/nginx.conf 2>$T/nginx.log & NGINX_PID=$!
conf() { cat <<YML
server: {port: $1, host: 127.0.0.1, h2c: true, instances: 2, admin_listener: false}
docker: {enabled: false}
routes:
  - {path_prefix: /, backend: b}
backends:
  - {name: b, targets: ["http://127.0.0.1:$NP"]}
YML
}
conf $PORT_X > $T/x.yml; conf $PORT_Y > $T/y.yml
java -jar "$X" -conf $T/x.yml > $T/x.log 2>&1 & PID_X=$!
java -jar "$Y" -conf $T/y.yml > $T/y.log 2>&1 & PID_Y=$!
trap 'kill $NGINX_PID $PID_X $PID_Y 2>/dev/null; sleep 1; rm -rf $T' EXIT
for p in $PORT_X $PORT_Y; do
  for _ in $(seq 1 100); do curl -s -o /dev/null --http2-prior-knowledge http://127.0.0.1:$p/x && break; sleep 0.3; done
done
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
run() { # port pid -> "us_per_request requests"
  local before after ok
  before=$(ticks $2)
  h2load -n $N -c 8 -m 8 -t 1 http://127.0.0.1:$1/x > $T/h2load.out 2>&1
  after=$(ticks $2)
  ok=$(grep -o '[0-9]* succeeded' $T/h2load.out | awk '{print $1}')
  awk -v t=$((after - before)) -v n=$ok 'BEGIN {printf "%.2f %d\n", t * 10000 / n, n}'
}
run $PORT_X $PID_X >/dev/null; run $PORT_Y $PID_Y >/dev/null   # warm-up
run $PORT_X $PID_X >/dev/null; run $PORT_Y $PID_Y >/dev/null
for r in $(seq 1 $ROUNDS); do
  if [ $((r % 2)) -eq 1 ]; then x=$(run $PORT_X $PID_X); y=$(run $PORT_Y $PID_Y); else y=$(run $PORT_Y $PID_Y); x=$(run $PORT_X $PID_X); fi
  echo "round $r: X ${x%% *} us/request, Y ${y%% *} us/request (requests $(echo $x | cut -d' ' -f2) / $(echo $y | cut -d' ' -f2))"
  echo "${x%% *} ${y%% *}" >> $T/pairs
done
awk '{r=$2/$1; s+=log(r); n++; print "ratio Y/X " r} END {print "geomean Y/X " exp(s/n)}' $T/pairs
