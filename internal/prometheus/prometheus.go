// Package prometheus is the Prometheus scrape endpoint of
// haproxystats-process: a sink that keeps the newest snapshot it was sent
// and exposes it, at the next scrape, as Prometheus metrics.
//
// It consumes exactly the metrics the Graphite sink gets, so the
// aggregation across HAProxy processes, the metric lists, the exclusions
// and the optional blocks (per-process-metrics, calculate-percentages,
// aggr-server-metrics) apply to it unchanged. Each Graphite path is mapped
// back to a family (Translator): HAProxy's columns get the names of
// HAProxy's own exporter (addons/promex: haproxy_frontend_sessions_total,
// haproxy_backend_current_queue ...) with labels frontend, backend and
// server; counters are counters, everything else a gauge; the metrics
// haproxystats derives and its self-statistics get families of their own
// (haproxy_backend_servers, haproxy_process_cpu_usage_percent_percentile,
// haproxystats_*). Every sample carries the snapshot's time.
//
// The exposition is built from const metrics, once per snapshot, at the
// first scrape that sees it, and encoded once per format it is asked in;
// every scrape of that snapshot gets those same bytes: a series absent from the newest snapshot (a
// server removed from HAProxy's configuration, a backend now excluded) is
// absent from the scrape. Send itself only swaps a pointer, so it never
// waits for a scrape and a scrape never delays the sinks.
//
// The HTTP server (Listen) uses github.com/prometheus/exporter-toolkit, so
// TLS and basic authentication are configured with its web configuration
// file, as for every official exporter:
// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
package prometheus

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Sink is the Prometheus sink. Send and the handler may be called
// concurrently.
type Sink struct {
	tr  *Translator
	log *slog.Logger
	// latest is the newest snapshot sent; it only ever moves forward in
	// time, so a snapshot retried or processed late never replaces a
	// newer one.
	latest atomic.Pointer[snapshot]
	// encodings counts the expositions encoded, for tests.
	encodings atomic.Int64
}

// snapshot is one snapshot's metrics and, once a scrape asked for it,
// its exposition: the metric families, and their encodings in each
// variant scrapes asked for (expose.go).
type snapshot struct {
	ts     int64
	ms     []metric.Metric // read only
	once   sync.Once
	mfs    []*dto.MetricFamily // set by once
	mu     sync.Mutex
	bodies map[variant]*body // guarded by mu
}

// New returns a Sink for the metrics built with o (its Prefix and
// Groups; see NewTranslator).
func New(o stats.Options, log *slog.Logger) *Sink {
	return &Sink{tr: NewTranslator(o), log: log}
}

// Name returns "prometheus".
func (s *Sink) Name() string { return "prometheus" }

// Send makes ms the snapshot the next scrapes expose, unless a snapshot
// at least as new was sent already. It keeps ms, and only reads it: the
// caller must not modify ms afterwards. It always returns nil: a scrape
// endpoint has nothing to refuse, and an older snapshot has nothing to
// add.
func (s *Sink) Send(_ context.Context, ms []metric.Metric) error {
	if len(ms) == 0 {
		return nil
	}
	var ts int64
	for _, m := range ms {
		ts = max(ts, m.Time)
	}
	next := &snapshot{ts: ts, ms: ms}
	for {
		cur := s.latest.Load()
		if cur != nil && cur.ts >= ts {
			return nil
		}
		if s.latest.CompareAndSwap(cur, next) {
			return nil
		}
	}
}

// Handler returns the HTTP handler of the metrics, without TLS or
// authentication (Listen adds them).
func (s *Sink) Handler() http.Handler { return s }

// gather returns the metric families of snap, building them at the first
// call for it.
func (s *Sink) gather(snap *snapshot) []*dto.MetricFamily {
	snap.once.Do(func() {
		start := time.Now()
		reg := prom.NewRegistry()
		c := &collector{tr: s.tr, snap: snap}
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			// Served anyway, without the metrics in error.
			s.log.Warn("some metrics of the snapshot cannot be exposed", "ts", snap.ts, "err", err)
		}
		if c.skipped > 0 {
			s.log.Debug("paths outside the known shapes not exposed", "ts", snap.ts, "paths", c.skipped, "example", c.example)
		}
		s.log.Debug("exposition built", "ts", snap.ts, "families", len(mfs), "took", time.Since(start))
		snap.mfs = mfs
		snap.ms = nil // no longer needed
	})
	return snap.mfs
}

// collector turns one snapshot into const metrics. Its Describe sends
// nothing: it is an unchecked collector, whose families depend on the
// snapshot.
type collector struct {
	tr      *Translator
	snap    *snapshot
	skipped int    // paths Translate refused; set by Collect
	example string // one of them
}

func (c *collector) Describe(chan<- *prom.Desc) {}

// pending is one sample before it becomes a const metric.
type pending struct {
	s       Series
	v       float64
	ts      int64
	grouped bool
}

func (c *collector) Collect(ch chan<- prom.Metric) {
	ps := make([]pending, 0, len(c.snap.ms))
	var seen map[string]int // series → index in ps; with grouping only
	if c.tr.grouping {
		seen = make(map[string]int)
	}
	for _, m := range c.snap.ms {
		s, ok := c.tr.Translate(m.Path)
		if !ok {
			if c.skipped == 0 {
				c.example = m.Path
			}
			c.skipped++
			continue
		}
		p := pending{s: s, v: m.Value * s.Scale, ts: m.Time}
		if seen == nil {
			ps = append(ps, p)
			continue
		}
		// A double write: the same series, grouped and not. Keep one,
		// the grouped one, whatever the order.
		key, group := seriesKey(s)
		p.grouped = group != ""
		if i, dup := seen[key]; dup {
			if p.grouped && !ps[i].grouped {
				ps[i] = p
			}
			continue
		}
		seen[key] = len(ps)
		ps = append(ps, p)
	}
	descs := map[string]*prom.Desc{}
	var values []string
	for _, p := range ps {
		desc := descs[p.s.Name]
		if desc == nil {
			names := make([]string, len(p.s.Labels))
			for i, l := range p.s.Labels {
				names[i] = l.Name
			}
			desc = prom.NewDesc(p.s.Name, p.s.Help, names, nil)
			descs[p.s.Name] = desc
		}
		values = values[:0]
		for _, l := range p.s.Labels {
			values = append(values, l.Value)
		}
		m, err := prom.NewConstMetric(desc, p.s.Type, p.v, values...)
		if err != nil {
			m = prom.NewInvalidMetric(desc, err)
		} else {
			m = prom.NewMetricWithTimestamp(time.Unix(p.ts, 0), m)
		}
		ch <- m
	}
}

// seriesKey identifies s but for its group label, which it returns.
func seriesKey(s Series) (key, group string) {
	var b strings.Builder
	b.WriteString(s.Name)
	for _, l := range s.Labels {
		if l.Name == "group" {
			group = l.Value
			continue
		}
		b.WriteByte(0)
		b.WriteString(l.Value)
	}
	return b.String(), group
}
