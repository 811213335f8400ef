#!/usr/bin/env bash
# make bench: the Go benchmarks (-benchmem) of the packages, then hsbench,
# which measures haproxystats on 4 HAProxy processes × 10 000 servers
# (real haproxy, carbon-c-relay and the two daemons, all on 127.0.0.1),
# prints a table against the targets and writes it as JSON under
# bench/results/. SOAK=1 adds a 10-minute soak at a 1 s interval
# (SOAK_DURATION=30m to change its length). ONLY=fleet (or any of
# hsbench's phases, comma-separated: pipeline, daemon, backlog, format,
# send, fleet, pull, logs) runs those phases alone, without the Go benchmarks.
# make bench runs make deps build first, so bin/ holds the daemons.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
cd "$(dirname "$0")/.."
GO=${GO:-go}
results=bench/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tmp=$(mktemp -d /tmp/haproxystats-bench.XXXXXX)
pid=""
cleanup() {
	# hsbench kills what it started when it gets SIGTERM.
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${ONLY:-}" ]; then
	echo "== Go benchmarks: go test -run=NONE -bench=. -benchmem ./..."
	$GO test -run=NONE -bench=. -benchmem -count=1 -timeout 5m ./... | tee "$tmp/gobench.txt"
else
	: >"$tmp/gobench.txt"
fi

$GO build -o "$tmp/hsbench" ./bench/hsbench
args=(-bin bin -haproxy "$(command -v haproxy)" -relay "$(command -v carbon-c-relay)"
	-gobench "$tmp/gobench.txt" -out "$results/$stamp.json" -work "$tmp/work")
if [ "${SOAK:-0}" = 1 ]; then
	args+=(-soak "${SOAK_DURATION:-10m}")
fi
if [ -n "${ONLY:-}" ]; then
	args+=(-only "$ONLY")
fi
mkdir -p "$tmp/work"
"$tmp/hsbench" "${args[@]}" &
pid=$!
wait "$pid" # set -e: a failure of hsbench is make bench's failure
pid=""
