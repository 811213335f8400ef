package process

import (
	"bytes"
	"log/slog"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// latencyOf merges the latency files of snap (one per host: a fleet
// bucket has several) into one Set. A file that is not a valid one is
// logged and counted as rejected, and left out: the snapshot's
// statistics and the other hosts' histograms go on. It returns nil when
// the snapshot has none.
func (p *Processor) latencyOf(snap Snapshot, log *slog.Logger) *latency.Set {
	files := snap.replies(spool.Latency)
	if len(files) == 0 {
		return nil
	}
	maxSeries := 0
	if l := p.cfg.Logs; l != nil {
		maxSeries = l.MaxSeries
	}
	var set *latency.Set
	for _, f := range files {
		data, err := f.ReadAll()
		if err == nil {
			one := latency.NewSet(maxSeries)
			if _, err = one.ReadFrom(bytes.NewReader(data)); err == nil {
				if set == nil {
					set = one
				} else {
					set.Merge(one)
				}
				continue
			}
		}
		p.Rejected.Add(1)
		log.Error("latency file rejected", "file", f.Name, "err", err)
	}
	return set
}

// percentiles are the percentiles Graphite gets, with their names.
type percentile struct {
	q    float64 // 0.99
	name string  // "p99"
}

func percentilesOf(cfg *config.Logs) []percentile {
	ps := []float64{50, 75, 90, 95, 99, 99.9}
	if cfg != nil && len(cfg.Percentiles) > 0 {
		ps = cfg.Percentiles
	}
	out := make([]percentile, len(ps))
	for i, p := range ps {
		out[i] = percentile{q: p / 100, name: config.PercentileName(p)}
	}
	return out
}

// walkLatency gives t the round's latency datapoints of set, times in
// milliseconds as HAProxy's: per object and timer
// <row>.timers.<T>.<p..|max|count|mean|aborted>, then per object
// <row>.termination.<state>, where <row> is PREFIX.frontend.<fe>,
// PREFIX.backend.<be> or PREFIX.backend.<be>.server.<srv>.
func walkLatency(t stats.Target, set *latency.Set, ts int64, prefix string, ps []percentile) {
	heads := []string{prefix}
	var cur latency.Object
	started := false
	row := func(o latency.Object) {
		if started && o == cur {
			return
		}
		started, cur = true, o
		r := stats.Row{Heads: heads, Proxy: metric.Sanitize(o.Proxy), Time: ts}
		switch o.Scope {
		case latency.ScopeFrontend:
			r.Block = stats.FrontendBlock
		case latency.ScopeBackend:
			r.Block = stats.BackendBlock
		default:
			r.Block, r.Server = stats.ServerBlock, metric.Sanitize(o.Server)
		}
		t.Row(r)
	}
	set.Each(func(o latency.Object, tm latency.Timer, h *latency.Histogram) {
		row(o)
		base := "timers." + tm.String() + "."
		if n := h.Count(); n > 0 {
			for _, p := range ps {
				t.Value(base+p.name, h.Quantile(p.q))
			}
			t.Value(base+"max", float64(h.Max()))
			t.Value(base+"mean", h.Mean())
		}
		t.Value(base+"count", float64(h.Count()))
		if a := h.Aborted(); a > 0 {
			t.Value(base+"aborted", float64(a))
		}
	})
	started = false
	set.EachTermination(func(o latency.Object, state string, n uint64) {
		row(o)
		t.Value("termination."+metric.Sanitize(state), float64(n))
	})
}

// latencyStep is the rendering's step that walks its latency set.
func (r *rendering) walkLatency(t stats.Target) {
	if r.lat != nil {
		walkLatency(t, r.lat, r.ts, r.o.Prefix, r.percentiles)
	}
}
