#!/usr/bin/env bash
# make test-stress: the tests whose outcome could depend on timing (those
# that run real processes, sockets, brokers, timers or goroutines), with
# -race, STRESS_COUNT times each (3 by default), while two busy loops hold
# both cores. A test that fails here without a bug is a bug: it must pass
# every run. Prints a line per test, then "N passed, M failed".
#
# STRESS_COUNT=n   runs each test n times
# STRESS_RUN=re    only the tests matching re (go test -run)
# STRESS_PKGS="…"  only these packages
# STRESS_OUT=file  keeps go test -v's whole output there (the fault table among it)
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
cd "$(dirname "$0")/.."
GO=${GO:-go}
count=${STRESS_COUNT:-3}
# The packages whose tests wait on something: the parsers, the config and
# the formats are pure functions of their input and are left out.
pkgs=(${STRESS_PKGS:-./e2e/ ./internal/fleet/ ./internal/logrecv/ ./internal/kafka/ ./internal/kafkasink/ ./internal/graphite/ ./internal/process/
	./internal/prometheus/ ./internal/pull/ ./internal/spool/ ./internal/haproxy/ ./internal/cli/
	./internal/haproxytest/ ./cmd/haproxystats-pull/ ./cmd/haproxystats-process/})
run=()
[ -z "${STRESS_RUN:-}" ] || run=(-run "$STRESS_RUN")

out=${STRESS_OUT:-$(mktemp /tmp/haproxystats-stress.XXXXXX)}
busy=()
cleanup() {
	for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
	wait "${busy[@]}" 2>/dev/null || true
	[ -n "${STRESS_OUT:-}" ] || rm -f "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Compile first, so that the busy loops load the tests, not the compiler.
$GO test -race -count=1 -run NONE "${pkgs[@]}" >/dev/null
for _ in 1 2; do
	bash -c 'while :; do :; done' &
	busy+=($!)
done
echo "test-stress: ${#busy[@]} busy loops (pids ${busy[*]}) on $(nproc) cores; -race -count=$count ${run[*]} ${pkgs[*]}"
start=$(date +%s)
set +e
HAPROXYSTATS_HAPROXY=$(command -v haproxy) HAPROXYSTATS_RELAY=$(command -v carbon-c-relay) \
	$GO test -race -v -count="$count" -timeout 60m "${run[@]}" "${pkgs[@]}" >"$out" 2>&1
rc=$?
set -e
took=$(($(date +%s) - start))

# Top-level results only ("--- PASS: TestX (1.2s)" at the start of a line);
# a package that died without them (panic, timeout) counts as one failure.
passed=$(grep -c '^--- PASS: ' "$out" || true)
failed=$(grep -c '^--- FAIL: ' "$out" || true)
died=$(grep -E '^(FAIL|panic:)' "$out" | grep -vc '^FAIL$' || true)
grep -E '^--- (PASS|FAIL): ' "$out" | awk '{ n[$3]++; if ($2 == "FAIL:") f[$3]++ }
	END { for (t in n) printf "  %-40s %d/%d passed\n", t, n[t] - f[t], n[t] }' | sort
if [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
	echo "test-stress: failures:"
	grep -E -B2 -A25 '^--- FAIL: |^panic: |^FAIL\s' "$out" | head -300
	if [ "$failed" -eq 0 ]; then failed=$((died > 0 ? died : 1)); fi
fi
echo "test-stress: ${took}s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
