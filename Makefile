# haproxystats: the two commands a fresh Debian machine needs are
#   make demo   real HAProxy + both daemons + real carbon-c-relay, metrics shown
#   make test   vet, gofmt check, every test with -race (installs what it needs)
SHELL := /bin/bash
export PATH := $(PATH):/usr/sbin:/sbin:/usr/local/go/bin
GO ?= go
HAPROXY = $(shell command -v haproxy)
RELAY = $(shell command -v carbon-c-relay)
# The version -v prints and the start-up log and haproxystats_build_info
# carry: git describe of a tagged tree, else 0.6.0-dev-g<commit>; -dirty
# when the tree has changes. Without git, Go's build information.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || \
	(c=$$(git rev-parse --short HEAD 2>/dev/null) && echo 0.6.0-dev-g$$c$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)))
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS = -X github.com/haproxystats-go/haproxystats/internal/cli.Version=$(VERSION) \
	-X github.com/haproxystats-go/haproxystats/internal/cli.Commit=$(COMMIT)

.PHONY: all build deps test test-stress vet fmt-check demo bench fuzz faults clean deb release

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

deps:
	@scripts/deps.sh

# dist/haproxystats_<version>_amd64.deb and _arm64.deb, as make release
# builds them, each checked with lintian.
deb: deps
	@set -o pipefail; VERSION="$(VERSION)" COMMIT="$(COMMIT)" scripts/release.sh -f deb dist | grep '\.deb$$' | while read -r deb; do \
		echo "$$deb"; lintian --pedantic --info "$$deb" 2>&1 | grep -v '^running with root' || true; done

# dist/: the deb and rpm for amd64 and arm64, a tar.gz for each, and
# SHA256SUMS; reproducible: the same commit gives the same bytes
# (scripts/release.sh, docs/install.md).
release: deps
	rm -rf dist
	@VERSION="$(VERSION)" COMMIT="$(COMMIT)" scripts/release.sh dist

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The real haproxy and carbon-c-relay are found through these variables;
# without them the end-to-end tests skip and say why.
test: deps vet fmt-check
	HAPROXYSTATS_HAPROXY=$$(command -v haproxy) HAPROXYSTATS_RELAY=$$(command -v carbon-c-relay) \
		$(GO) test -race -count=1 -timeout 12m ./...

# The timing-sensitive tests with -race -count=3 while two busy loops hold
# both cores (not part of make test): every run must pass. Prints
# "N passed, M failed". STRESS_COUNT, STRESS_RUN and STRESS_PKGS narrow it.
test-stress: deps
	@GO="$(GO)" scripts/stress.sh

demo: deps build
	@scripts/demo.sh

bench: deps build
	@GO="$(GO)" SOAK="$(SOAK)" ONLY="$(ONLY)" bench/run.sh

# The fault suite in its long form (a 5-minute carbon outage); make test
# runs the short form (60 s). Prints the table of figures.
faults: deps
	HAPROXYSTATS_FAULTS=long HAPROXYSTATS_FAULTS_TABLE=$(CURDIR)/faults-table.txt \
	HAPROXYSTATS_HAPROXY=$$(command -v haproxy) HAPROXYSTATS_RELAY=$$(command -v carbon-c-relay) \
		$(GO) test -count=1 -v -timeout 40m -run TestFaults ./e2e/ | grep -v '^=== '
	@cat faults-table.txt

fuzz:
	$(GO) test -run=NONE -fuzz=FuzzParseStat -fuzztime=60s ./internal/stats/
	$(GO) test -run=NONE -fuzz=FuzzParseInfo -fuzztime=60s ./internal/stats/
	$(GO) test -run=NONE -fuzz=FuzzLoad -fuzztime=60s ./internal/config/
	$(GO) test -run=NONE -fuzz=FuzzParse -fuzztime=60s ./internal/logformat/
	$(GO) test -run=NONE -fuzz=FuzzReadFrom -fuzztime=60s ./internal/latency/

clean:
	rm -rf bin dist
