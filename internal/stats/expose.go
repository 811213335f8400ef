package stats

import (
	"slices"

	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// The exposition walk: the same parsed and aggregated rows as the
// Graphite walks, for a sink that names things as HAProxy does (the
// Prometheus endpoint). It differs from them in three ways: names are
// the ones HAProxy gives (a proxy a.b and a proxy a_b are two rows),
// every column the Sites hold is given whatever the metric lists say,
// under its show stat name, and each row carries its state and its last
// health check.

// Exposition is one snapshot as a sink that walks it itself receives it:
// the show info replies, the parsed show stat replies and the
// self-statistics, with the options it was processed with. It is
// read-only; the sink may keep it.
type Exposition struct {
	Time  int64
	Infos []File // the show info replies, with Data
	Sites *Sites // nil when no show stat reply was usable
	// StickTables are the stick tables of show table, summed.
	StickTables []StickTable
	Self        []Sample // the self-statistics (PREFIX.haproxystats.<Name>)
	Options     *Options // exclusions, aggr-server-metrics, per-process-metrics
	// Latency is the histograms of the round's log lines, nil without.
	Latency *latency.Set
}

// Sample is one named value.
type Sample struct {
	Name  string
	Value float64
}

// Check is a server's last health check as show stat gives it.
type Check struct {
	Status  string // one of CheckStatuses, "" when the server is not checked
	Code    float64
	HasCode bool // check_code was given (layer 7 checks)
}

// out turns a stored check into a Check.
func (c healthCheck) out() Check {
	if c.status == 0 {
		return Check{}
	}
	return Check{Status: CheckStatuses[c.status-1], Code: float64(c.code), HasCode: c.hasCode}
}

// Expose gives t the frontends, then the backends, then the servers,
// each in name order, as HAProxy names them. Excluded
// frontends and backends are left out, with the servers of excluded
// backends, as from the Graphite paths. Each Row carries State and, for
// servers, Check; Heads is empty. The values are every column the Sites
// hold (all of them when they were built with Builder.All), under the
// show stat column name, aggregated across processes as the Graphite
// walks do: sums, but the averages of the original (act, bck, weight,
// throttle over every process; qtime, ctime, rtime, ttime over those
// with traffic) and each other column by its nature.
func (s *Sites) Expose(t Target, ts int64, o *Options) {
	o = o.orDefault()
	w := newWalk(t, ts, o)
	blocks := [3]Block{FrontendBlock, BackendBlock, ServerBlock}
	exclude := [3]map[string]bool{o.ExcludeFrontends, o.ExcludeBackends, o.ExcludeBackends}
	avgs := [3][]string{nil, BackendAvgMetrics, ServerAvgMetrics}
	for k, tb := range s.raw {
		if tb == nil {
			continue
		}
		plan := exposePlan(tb.cls, avgs[k])
		for _, g := range tb.order {
			r := Row{Block: blocks[k], Time: ts, State: tb.state(g)}
			if tb.px == nil {
				r.Proxy = tb.keys[g]
			} else {
				r.Proxy, r.Server, r.Check = tb.px[g], tb.sv[g], tb.checkOf(g).out()
			}
			if exclude[k][metric.Sanitize(r.Proxy)] {
				continue
			}
			t.Row(r)
			tb.walkRow(w, g, plan, exposed)
		}
	}
	if w.nonFinite > 0 && w.counter != nil {
		w.counter.Add(w.nonFinite)
	}
}

// Rows returns how many frontends, backends and servers Expose gives at
// most (before exclusions).
func (s *Sites) Rows() (frontends, backends, servers int) {
	n := [3]int{}
	for k, tb := range s.raw {
		if tb != nil {
			n[k] = tb.len()
		}
	}
	return n[0], n[1], n[2]
}

// exposePlan is the plan of every column of cls under its own name:
// the averaged ones (avgs, and the traffic-only times) averaged, the
// others summed.
func exposePlan(cls *class, avgs []string) []column {
	p := make([]column, len(cls.cols))
	for c, name := range cls.cols {
		kind := sum
		switch {
		case cls.slot[c] >= 0:
			kind = tmean
		case slices.Contains(avgs, name):
			kind = mean
		}
		p[c] = column{name: name, col: c, kind: kind}
	}
	return p
}
