// Package prometheus is the Prometheus scrape endpoint of
// haproxystats-process: a sink that keeps the newest snapshot it was
// given and exposes it, at the next scrapes, exactly as HAProxy's own
// exporter (addons/promex) would expose the same HAProxy: the same
// family names, types, units and labels (proxy, server, state, code),
// with the names HAProxy gives, summed across the HAProxy processes.
// The dashboards and alerts made for promex (the Grafana haproxy-mixin)
// work unchanged.
//
// It is built from the parsed and aggregated rows (stats.Sites.Expose),
// not from the Graphite lines: a proxy a.b and a proxy a_b stay two
// series, and every column is there whatever the Graphite metric lists
// say. What promex does not have is under haproxystats_ (families.go).
// Every sample carries the snapshot's time, so a series of a snapshot
// that is no longer refreshed goes stale in Prometheus.
//
// The exposition of a snapshot is built in the worker that processed it,
// before the snapshot replaces the one scrapes see: a scrape never sees
// half of one. It is kept column-major (a float64 per series), about 5
// MB for 10 000 servers, and encoded at each scrape, or once per
// snapshot and query for the scrapes that take gzip (Prometheus does),
// which then share the same bytes.
//
// The HTTP server (Listen) uses github.com/prometheus/exporter-toolkit, so
// TLS and basic authentication are configured with its web configuration
// file, as for every official exporter:
// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
package prometheus

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Sink is the Prometheus sink. Expose and the handler may be called
// concurrently.
type Sink struct {
	log *slog.Logger
	// latest is the newest snapshot given; it only ever moves forward in
	// time, so a snapshot retried or processed late never replaces a
	// newer one.
	latest atomic.Pointer[snapshot]
	// runtime gathers the daemon's own go_*, process_* and
	// haproxystats_build_info.
	runtime *prom.Registry
	// encodings counts the expositions encoded, for tests; lastGzip is
	// the size of the last one.
	encodings atomic.Int64
	lastGzip  atomic.Int64
}

// snapshot is one snapshot's exposition and the encodings scrapes that
// take gzip asked for (expose.go).
type snapshot struct {
	ts     int64
	e      *exposition
	mu     sync.Mutex
	bodies map[variant]*body // guarded by mu
}

// New returns a Sink. version and revision are the daemon's (cli.Build),
// for haproxystats_build_info.
func New(version, revision string, log *slog.Logger) *Sink {
	reg := prom.NewRegistry()
	build := prom.NewGauge(prom.GaugeOpts{
		Name:        "haproxystats_build_info",
		Help:        "haproxystats-process's version, commit and the Go version it was built with; value 1.",
		ConstLabels: prom.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build)
	return &Sink{log: log, runtime: reg}
}

// Name returns "prometheus".
func (s *Sink) Name() string { return "prometheus" }

// Columns returns the show stat columns promex's families are made of:
// the parsed rows must hold them. The others (the module counters ...)
// are exposed, under haproxystats_, when all-metrics keeps every column.
func (s *Sink) Columns() []string {
	var out []string
	for _, fams := range [][]family{frontendFamilies, backendFamilies, serverFamilies} {
		for _, f := range fams {
			out = append(out, f.cols...)
		}
	}
	return out
}

// Expose makes x the snapshot the next scrapes expose, unless a snapshot
// at least as new was given already. It reads x while it builds the
// exposition and keeps none of it. It always returns nil: a scrape
// endpoint has nothing to refuse.
func (s *Sink) Expose(_ context.Context, x *stats.Exposition) error {
	if cur := s.latest.Load(); cur != nil && cur.ts >= x.Time {
		return nil
	}
	start := time.Now()
	next := &snapshot{ts: x.Time, e: build(x)}
	s.log.Debug("exposition built", "ts", x.Time, "took", time.Since(start))
	for {
		cur := s.latest.Load()
		if cur != nil && cur.ts >= x.Time {
			return nil
		}
		if s.latest.CompareAndSwap(cur, next) {
			return nil
		}
	}
}
