#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
# Debian's haproxy (2.6 on bookworm), carbon-c-relay, socat, curl,
# promtool (package prometheus), systemd-analyze, lintian, rpm and a real
# Graphite (graphite-carbon, graphite-web), then the Go modules. It first
# checks that Go 1.26 or newer is installed, and says how to get it if
# not. Safe to run again: it installs only what is missing.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"

# Go first: nothing is installed on a machine that cannot build the code.
# The version is the installed go's own (GOTOOLCHAIN=local, outside this
# module, which would otherwise have it fetch go.mod's).
gohelp() {
	cat >&2 <<EOF
deps: $1; haproxystats needs Go 1.26 or newer.
  Debian's golang-go is too old (1.19 on bookworm). Install Go from go.dev
  (https://go.dev/dl/, linux-amd64 or linux-arm64), e.g. as root:
    curl -fsSLO https://go.dev/dl/go1.26.8.linux-amd64.tar.gz
    rm -rf /usr/local/go && tar -C /usr/local -xzf go1.26.8.linux-amd64.tar.gz
  then put /usr/local/go/bin on your PATH (export PATH=\$PATH:/usr/local/go/bin,
  in ~/.profile too). See docs/install.md.
EOF
	exit 1
}
command -v go >/dev/null || gohelp "Go is not installed (no go on PATH or in /usr/local/go/bin)"
gov=$(cd / && GOTOOLCHAIN=local go version | awk '{ print $3 }') # go1.26.8
v=${gov#go}
major=${v%%.*} minor=${v#*.}
minor=${minor%%[!0-9]*}
if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || ((major == 1 && minor < 26)); then
	gohelp "$(command -v go) is $gov"
fi

missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v carbon-c-relay >/dev/null || missing+=(carbon-c-relay)
command -v socat >/dev/null || missing+=(socat)
command -v curl >/dev/null || missing+=(curl)
command -v promtool >/dev/null || missing+=(prometheus) # promtool check metrics, in the tests
command -v systemd-analyze >/dev/null || missing+=(systemd) # verify and security of the units, in the tests
command -v lintian >/dev/null || missing+=(lintian)         # the Debian package's check (make deb, the tests)
command -v rpm >/dev/null || missing+=(rpm)                 # the RPM's checks (rpm -qp, rpm --root -i), in the tests
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
go mod download
