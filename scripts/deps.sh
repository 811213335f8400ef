#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
# Debian's haproxy (2.6 on bookworm), carbon-c-relay and socat, then the
# Go modules. Safe to run again: it installs only what is missing.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v carbon-c-relay >/dev/null || missing+=(carbon-c-relay)
command -v socat >/dev/null || missing+=(socat)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# Debian's packages try to start their services; none must run here.
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
	# the haproxy package may have started its own service: stop it
	if command -v service >/dev/null; then $sudo service haproxy stop >/dev/null 2>&1 || true; fi
fi
command -v go >/dev/null || { echo "deps: Go is not installed (need Go 1.26)" >&2; exit 1; }
go mod download
