#!/usr/bin/env bash
# make demo: two HAProxy processes from Debian's package behind one
# configuration (they share their listening ports with SO_REUSEPORT, like
# nbproc workers did), both haproxystats daemons, and a real carbon-c-relay
# that writes every Graphite line it receives to a file. Everything binds to
# 127.0.0.1 and stops by itself after DEMO_SECONDS.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
BIN=$PWD/bin
SECONDS_TO_RUN=${DEMO_SECONDS:-12}
BASE_PORT=${DEMO_PORT:-18400}
WORK=$(mktemp -d /tmp/haproxystats-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for f in "$WORK"/haproxy*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

mkdir -p "$WORK/sockets" "$WORK/lib"
FRONT=$BASE_PORT APP=$((BASE_PORT + 1)) RELAY_PORT=$((BASE_PORT + 3)) PROM_PORT=$((BASE_PORT + 4)) LOGS_PORT=$((BASE_PORT + 5))

cat >"$WORK/haproxy.cfg" <<CFG
global
    stats socket "\${SOCK}" mode 600 level user
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend www.example.com
    bind 127.0.0.1:$FRONT
    option httplog
    log 127.0.0.1:$LOGS_PORT local0
    default_backend app
backend app
    server app1 127.0.0.1:$APP
    server app2.dc1 127.0.0.1:$APP
listen app-server
    bind 127.0.0.1:$APP
    http-request return status 200 content-type text/plain string "hello from the demo"
CFG

cat >"$WORK/relay.conf" <<CFG
listen type linemode 127.0.0.1:$RELAY_PORT proto tcp ;
cluster graphite file $WORK/graphite.txt ;
match * send to graphite stop ;
CFG

cat >"$WORK/haproxystats.conf" <<CFG
[DEFAULT]
loglevel = info

[paths]
base-dir = $WORK/lib

[pull]
socket-dir = $WORK/sockets
pull-interval = 2
pull-timeout = 1
dst-dir = \${paths:base-dir}/incoming
tmp-dst-dir = \${paths:base-dir}/incoming.tmp

[process]
src-dir = \${paths:base-dir}/incoming
workers = 2
per-process-metrics = true

[graphite]
server = 127.0.0.1
port = $RELAY_PORT
namespace = demo

[prometheus]
listen = 127.0.0.1:$PROM_PORT

[logs]
listen = udp://127.0.0.1:$LOGS_PORT
CFG

echo "== work directory: $WORK"
for i in 1 2; do
	SOCK=$WORK/sockets/admin$i.sock haproxy -f "$WORK/haproxy.cfg" -D -p "$WORK/haproxy$i.pid"
done
carbon-c-relay -f "$WORK/relay.conf" -s -l "$WORK/relay.log" &
pids+=($!)
mkdir -p "$WORK/lib/incoming"
"$BIN/haproxystats-process" -f "$WORK/haproxystats.conf" 2>"$WORK/process.log" &
pids+=($!)
"$BIN/haproxystats-pull" -f "$WORK/haproxystats.conf" 2>"$WORK/pull.log" &
pids+=($!)

echo "== sending 300 HTTP requests to 127.0.0.1:$FRONT (two haproxy processes share the port)"
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$FRONT/"; done
echo "== running for ${SECONDS_TO_RUN}s"
sleep "$SECONDS_TO_RUN"
echo "== the same snapshot on the Prometheus endpoint, http://127.0.0.1:$PROM_PORT/metrics (a few lines)"
curl -s "http://127.0.0.1:$PROM_PORT/metrics" | grep -E '^haproxy_(frontend_sessions_total|frontend_http_requests_total|server_sessions_total|process_current_connections)' | head -n 6 || true
kill -TERM "${pids[2]}" "${pids[1]}"
wait "${pids[2]}" "${pids[1]}" || true
sleep 1.5 # carbon-c-relay writes its file in batches

out=$WORK/graphite.txt
echo
echo "== pull log (last lines)"
tail -n 3 "$WORK/pull.log"
echo "== process log (last lines)"
tail -n 3 "$WORK/process.log"
echo
echo "== Graphite lines received by carbon-c-relay, per snapshot (timestamp: lines)"
awk '{n[$3]++} END {for (t in n) print t": "n[t]}' "$out" | sort
echo
echo "== a few of them"
grep -E 'frontend\.www_example_com\.(stot|req_tot) |daemon\.(CurrConns|CumReq) |backend\.app\.(stot|rtime) |server\.app1\.stot |haproxystats\.(TotalWallClockTime|MetricsServer) ' "$out" | tail -n 12
echo
echo "== latency from HAProxy's request logs ([logs]): backend app's total time Ta, in ms, per round"
grep -E 'backend\.app\.timers\.Ta\.(p50|p99|max|count) ' "$out" | tail -n 8
echo
last=$(awk '{print $3}' "$out" | sort -n | tail -1)
stot=$(awk -v t="$last" '$3==t && $1 ~ /frontend\.www_example_com\.stot$/ {print $2}' "$out")
echo "== frontend www_example_com stot in the last snapshot: $stot (300 requests were sent)"
echo "   everything is in $WORK (graphite.txt, *.log)"
