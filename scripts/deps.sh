#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
# Debian's haproxy (2.6 on bookworm), carbon-c-relay, socat, curl,
# promtool (package prometheus), systemd-analyze, lintian and a real
# Graphite (graphite-carbon, graphite-web), then the Go modules. Safe to
# run again: it installs only what is missing.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v carbon-c-relay >/dev/null || missing+=(carbon-c-relay)
command -v socat >/dev/null || missing+=(socat)
command -v curl >/dev/null || missing+=(curl)
command -v promtool >/dev/null || missing+=(prometheus) # promtool check metrics, in the tests
command -v systemd-analyze >/dev/null || missing+=(systemd) # verify and security of the units, in the tests
command -v lintian >/dev/null || missing+=(lintian)         # the Debian package's check (make deb, the tests)
command -v carbon-cache >/dev/null || missing+=(graphite-carbon) # a real Graphite for the dashboard test
[ -f /usr/lib/python3/dist-packages/graphite/settings.py ] || missing+=(graphite-web)
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# Debian's packages try to start their services; none must run here.
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
	# the haproxy, prometheus and graphite-carbon packages may have started their services: stop them
	if command -v service >/dev/null; then for s in haproxy prometheus carbon-cache; do $sudo service $s stop >/dev/null 2>&1 || true; done; fi
fi
command -v go >/dev/null || { echo "deps: Go is not installed (need Go 1.26)" >&2; exit 1; }
go mod download
