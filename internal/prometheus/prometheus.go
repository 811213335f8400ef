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
// half of one. It is encoded as the rows are walked, each family in a
// gzip member of its own (build.go), and kept only as gzip: about 4 MB
// for 10 000 servers, in a file with no name beside the spool (store.go).
// Scrapes that take gzip (Prometheus does) are served those bytes as they
// are; the others get them decompressed.
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

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Sink is the Prometheus sink. Expose and the handler may be called
// concurrently.
type Sink struct {
	log *slog.Logger
	// mu guards latest, newest and built. latest is the exposition
	// scrapes get; newest the time of the newest snapshot given, which
	// only ever moves forward, so a snapshot retried or processed late
	// never replaces a newer one. While a snapshot is built, latest is
	// nil and built is closed when it is done: the previous exposition
	// is let go first, so that two are never held, and scrapes wait for
	// the new one (a build takes about 0.2 s for 10 000 servers).
	mu     sync.Mutex
	latest *exposition
	newest int64
	built  chan struct{}
	// runtime gathers the daemon's own go_*, process_* and
	// haproxystats_build_info.
	runtime *prom.Registry
	// spill is where the expositions' unnamed files are made (Dir "":
	// none, they are kept in memory).
	spill *blob.Spill
	// encodings counts the expositions encoded, for tests.
	encodings atomic.Int64
	// lat is the latency histograms, cumulative (latency.go).
	lat latencyState
	// LatencyMaxSeries bounds the histograms lat holds ([logs]
	// max-series); 0 means latency.DefaultMaxSeries. Set before use.
	LatencyMaxSeries int
}

// New returns a Sink. version and revision are the daemon's (cli.Build),
// for haproxystats_build_info. The expositions are written to unnamed
// files in dir (beside the spool), or kept in memory when dir is "" or
// a file cannot be written there.
func New(version, revision, dir string, log *slog.Logger) *Sink {
	reg := prom.NewRegistry()
	build := prom.NewGauge(prom.GaugeOpts{
		Name:        "haproxystats_build_info",
		Help:        "haproxystats-process's version, commit and the Go version it was built with; value 1.",
		ConstLabels: prom.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build)
	return &Sink{log: log, runtime: reg, spill: &blob.Spill{Dir: dir, What: "the exposition", Log: log}}
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
	if x.Latency != nil {
		s.addLatency(x.Latency) // every round counts, the newest or not
		if len(x.Infos) == 0 && x.Sites == nil {
			return nil // log lines alone: the statistics exposed stay
		}
	}
	s.mu.Lock()
	if s.newest >= x.Time {
		s.mu.Unlock()
		return nil
	}
	built := make(chan struct{})
	old := s.latest
	s.newest, s.latest, s.built = x.Time, nil, built
	s.mu.Unlock()
	defer close(built)
	if old != nil {
		old.store.Release()
	}
	start := time.Now()
	e := build(x, s.spill)
	s.encodings.Add(1)
	s.log.Debug("exposition built", "ts", x.Time, "took", time.Since(start))
	s.mu.Lock()
	if s.newest == x.Time { // else a newer one is being built
		s.latest, e = e, nil
	}
	s.mu.Unlock()
	if e != nil {
		e.store.Release()
	}
	return nil
}

// current returns the exposition scrapes get, after waiting for the one
// being built, if any; nil when there is none yet, or ctx ended first.
// The caller releases the exposition's store when it is done with it.
func (s *Sink) current(ctx context.Context) *exposition {
	for {
		s.mu.Lock()
		e, built := s.latest, s.built
		if e != nil {
			e.store.Retain()
		}
		s.mu.Unlock()
		if e != nil || built == nil {
			return e
		}
		select {
		case <-built:
		case <-ctx.Done():
			return nil
		}
	}
}
