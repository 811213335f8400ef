package stats

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// How the Metrics* self-statistics count: each is 1 (its own line) plus
// the lines of its block that were actually appended, a line written
// twice because of group double writes counting once. With every field
// present this is the original's formula (46, 32, 41 and 66 for the
// worked example in testdata/example13); metrics skipped because their
// column is absent, and time means omitted for want of traffic, are not
// counted, since no line was sent for them.

// heads gives the path heads of a name: PREFIX, or the grouped head
// PREFIX.<group-namespace>.<group> of the first group whose pattern
// matches, followed by PREFIX with double writes, as the original's
// grouping does.
type heads struct {
	prefix  string
	groups  []Group
	grouped []string
	double  bool
	buf     [2]string
}

func newHeads(o *Options, kind func(*Grouping) []Group) *heads {
	h := &heads{prefix: o.Prefix}
	if g := o.Groups; g != nil {
		h.groups, h.double = kind(g), g.DoubleWrites
		for _, gr := range h.groups {
			h.grouped = append(h.grouped, o.Prefix+"."+g.Namespace+"."+gr.Name)
		}
	}
	return h
}

func frontendGroups(g *Grouping) []Group { return g.Frontend }
func backendGroups(g *Grouping) []Group  { return g.Backend }
func serverGroups(g *Grouping) []Group   { return g.Server }

// of returns the heads for name; the slice is valid until the next call.
func (h *heads) of(name string) []string {
	for i, g := range h.groups {
		if g.Re != nil && g.Re.MatchString(name) {
			h.buf[0] = h.grouped[i]
			if !h.double {
				return h.buf[:1]
			}
			h.buf[1] = h.prefix
			return h.buf[:2]
		}
	}
	h.buf[0] = h.prefix
	return h.buf[:1]
}

// width is the length of the longest head.
func (h *heads) width() int {
	w := len(h.prefix)
	for _, g := range h.grouped {
		w = max(w, len(g))
	}
	return w
}

func (h *heads) max() int {
	if len(h.groups) > 0 && h.double {
		return 2
	}
	return 1
}

// What a planned metric is.
const (
	sum   = iota // sum over the rows
	mean         // mean over the rows
	tmean        // mean over the rows with lbtot > 0
)

// column is one metric of a block: its emitted name, its class column and
// how it is computed.
type column struct {
	name string
	col  int
	kind int
}

// plan lists the metrics of a block in emission order: sums (the user's
// list), means, then traffic-only means. A name that is both summed and
// averaged is emitted as <name>_x (sum) and <name>_y (mean), as the
// original's pandas merge of the summed and averaged frames does; the
// Graphite paths keep those names.
// Metrics whose column no used reply has are logged at debug level.
func (s *Sites) plan(k int, cls *class, sums, avgs, times []string, log *slog.Logger) []column {
	var p []column
	averaged := func(name string) bool { return slices.Contains(avgs, name) || slices.Contains(times, name) }
	for _, name := range sums {
		c, ok := cls.index[name]
		if !ok {
			log.Debug("unknown metric skipped", "metric", name)
			continue
		}
		col := column{name: name, col: c, kind: sum}
		if averaged(name) {
			col.name += "_x"
		}
		p = append(p, col)
	}
	for _, list := range []struct {
		names []string
		kind  int
	}{{avgs, mean}, {times, tmean}} {
		for _, name := range list.names {
			col := column{name: name, col: cls.index[name], kind: list.kind}
			if slices.Contains(sums, name) {
				col.name += "_y"
			}
			p = append(p, col)
		}
	}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		for f, absent := range s.absent {
			for _, c := range p {
				if slices.Contains(absent[k], cls.cols[c.col]) {
					log.Debug("column not in show stat reply", "file", s.Files[f], "column", cls.cols[c.col])
				}
			}
		}
	}
	return p
}

// value computes c for group g; ok is false when there is nothing to
// compute it from.
func (t *table) value(g int32, c column) (v float64, ok bool) {
	if c.kind == tmean {
		nt := len(t.cls.times)
		i := int(g)*nt + t.cls.slot[c.col]
		if n := t.tcnt[i]; n > 0 {
			return t.tsum[i] / float64(n), true
		}
		return 0, false
	}
	i := int(g)*len(t.cls.cols) + c.col
	n := t.cnt[i]
	switch {
	case n == 0:
		return 0, false
	case c.kind == mean:
		return t.sum[i] / float64(n), true
	}
	return t.sum[i], true
}

func listOr(list, def []string) []string {
	if list == nil {
		return def
	}
	return list
}

// Frontends appends the frontend lines, as the original does: for each
// frontend not excluded, in name order, the sums of the frontend metrics
// in list order, then PREFIX.haproxystats.MetricsFrontend.
func (s *Sites) Frontends(dst []metric.Metric, ts int64, o *Options) []metric.Metric {
	return collect(dst, func(t Target) { s.WalkFrontends(t, ts, o) })
}

// WalkFrontends gives the datapoints of Frontends to t.
func (s *Sites) WalkFrontends(t Target, ts int64, o *Options) { s.proxies(t, ts, o, FrontendBlock) }

// proxies gives the datapoints of the frontends or of the backends (the
// two blocks differ only in their table, plan, groups, exclusions and
// names): for each proxy not excluded, in name order, the plan's values
// and, with AllMetrics, the extra columns; then the block's Metrics*
// line.
func (s *Sites) proxies(tg Target, ts int64, o *Options, b Block) {
	o = o.orDefault()
	w := newWalk(tg, ts, o)
	t, groups, exclude, counter := s.fe, frontendGroups, o.ExcludeFrontends, "MetricsFrontend"
	var plan []column
	if b == FrontendBlock {
		plan = s.plan(0, t.cls, listOr(o.FrontendMetrics, FrontendMetrics), nil, nil, o.logger())
	} else {
		t, groups, exclude, counter = s.be, backendGroups, o.ExcludeBackends, "MetricsBackend"
		plan = s.plan(1, t.cls, listOr(o.BackendMetrics, BackendMetrics), BackendAvgMetrics, BackendAvgTimeMetrics, o.logger())
	}
	h := newHeads(o, groups)
	w.grow(t.len()*len(plan)*h.max()+1, h.width()+len(".frontend.")+t.avgName())
	var servers map[string]*[nStates]int // Status, backends: their servers by state
	if o.Status && b == BackendBlock {
		servers = s.serverStates(o)
	}
	lines := 0
	for _, g := range t.order {
		name := t.keys[g]
		if exclude[name] {
			continue
		}
		w.row(b, h.of(name), name, "")
		lines += t.walkRow(w, g, plan, extrasOf(o))
		if o.Status {
			lines += t.walkStatus(w, g)
		}
		if servers != nil {
			n := servers[name]
			if n == nil {
				n = new([nStates]int)
			}
			for _, st := range serverStates {
				if w.value("Servers"+st.String(), float64(n[st])) {
					lines++
				}
			}
		}
	}
	w.count(counter, lines)
}

// serverStates are the states a server can be in, in the order their
// Servers<State> counts are given.
var serverStates = [...]State{StateUp, StateNoCheck, StateNoLB, StateDrain, StateMaint, StateDown}

// walkStatus gives the status datapoint of group g, when a reply said
// it; it returns how many it gave.
func (t *table) walkStatus(w *walk, g int32) int {
	if st := t.state(g); st != StateNone && w.value("status", st.Code()) {
		return 1
	}
	return 0
}

// serverStates counts the servers of each backend by their state.
func (s *Sites) serverStates(o *Options) map[string]*[nStates]int {
	t := s.srv
	out := map[string]*[nStates]int{}
	for _, g := range t.counted(o) {
		n := out[t.px[g]]
		if n == nil {
			n = new([nStates]int)
			out[t.px[g]] = n
		}
		n[t.state(g)]++
	}
	return out
}

// Backends appends the backend lines, as the original does:
// for each backend not excluded, in name order, the sums of the backend
// metrics, then act, bck and weight averaged over all its rows, then
// rtime, ctime, qtime and ttime averaged over its rows with lbtot > 0
// (omitted when there are none); then PREFIX.haproxystats.MetricsBackend.
func (s *Sites) Backends(dst []metric.Metric, ts int64, o *Options) []metric.Metric {
	return collect(dst, func(t Target) { s.WalkBackends(t, ts, o) })
}

// WalkBackends gives the datapoints of Backends to t.
func (s *Sites) WalkBackends(t Target, ts int64, o *Options) { s.proxies(t, ts, o, BackendBlock) }

// Servers appends the server lines, as the original does: the
// TotalServers line of every backend not excluded that has servers, the
// lines of each of their servers (sorted by backend, then server; sums of
// the server metrics, then throttle and weight averaged over all rows,
// then the traffic-only time means), then with AggrServers the same for
// servers merged by name across all backends, excluded ones included,
// with the default server metrics; then PREFIX.haproxystats.MetricsServer.
func (s *Sites) Servers(dst []metric.Metric, ts int64, o *Options) []metric.Metric {
	return collect(dst, func(t Target) { s.WalkServers(t, ts, o) })
}

// WalkServers gives the datapoints of Servers to t.
func (s *Sites) WalkServers(tg Target, ts int64, o *Options) {
	o = o.orDefault()
	w := newWalk(tg, ts, o)
	log := o.logger()
	t := s.srv
	plan := s.plan(2, t.cls, listOr(o.ServerMetrics, ServerMetrics), ServerAvgMetrics, ServerAvgTimeMetrics, log)
	h := newHeads(o, backendGroups)
	size := t.len()*len(plan)*h.max() + 1
	var aggPlan []column
	var sh *heads
	if o.AggrServers {
		aggPlan = s.plan(2, t.cls, ServerMetrics, ServerAvgMetrics, ServerAvgTimeMetrics, discard)
		sh = newHeads(o, serverGroups)
		size += t.len() * len(aggPlan) * sh.max() // server names are mostly unique
	}
	w.grow(size, h.width()+len(".backend..server.")+t.avgName())
	lines := 0
	// TotalServers: the servers of a backend are consecutive in order;
	// those exclude-server-states leaves out count unless the option
	// says otherwise.
	order := t.counted(o)
	for i := 0; i < len(order); {
		px := t.px[order[i]]
		j := i + 1
		for j < len(order) && t.px[order[j]] == px {
			j++
		}
		if !o.ExcludeBackends[px] {
			w.row(BackendBlock, h.of(px), px, "")
			w.value("TotalServers", float64(j-i))
			lines++
		}
		i = j
	}
	order = t.order
	var hs []string
	last := ""
	for i, g := range order {
		px, sv := t.px[g], t.sv[g]
		if o.ExcludeBackends[px] {
			continue
		}
		if i == 0 || px != last {
			hs, last = h.of(px), px
		}
		w.row(ServerBlock, hs, px, sv)
		lines += t.walkRow(w, g, plan, extrasOf(o))
		if o.Status {
			lines += t.walkStatus(w, g)
		}
	}
	if o.AggrServers {
		s.eachByServer(func(sv string, a *table) {
			w.row(ServerAggBlock, sh.of(sv), "", sv)
			lines += a.walkRow(w, 0, aggPlan, extrasOf(o))
		})
	}
	w.count("MetricsServer", lines)
}

// Which extra columns a walk gives.
type extrasMode uint8

const (
	noExtras       extrasMode = iota
	graphiteExtras            // all-metrics: the columns with a Graphite path
	exposed                   // every column kept, for the exposition walk
)

func extrasOf(o *Options) extrasMode {
	if o.AllMetrics {
		return graphiteExtras
	}
	return noExtras
}

// walkRow gives the values of group g that the plan names, for the row
// set on w, then the extra columns m says; it returns how many it gave.
func (t *table) walkRow(w *walk, g int32, plan []column, m extrasMode) int {
	lines := 0
	for _, c := range plan {
		if v, ok := t.value(g, c); ok && w.value(c.name, v) {
			lines++
		}
	}
	if m != noExtras {
		lines += t.x.walk(w, g, m == exposed)
	}
	return lines
}

// byServerOrder returns the server groups sorted by server name alone,
// groups of one name in the order they were made; it is computed once,
// as a snapshot's lines may be counted and then written.
func (s *Sites) byServerOrder() []int32 {
	s.bySrvOnce.Do(func() {
		t := s.srv
		order := make([]int32, t.len())
		for i := range order {
			order[i] = int32(i)
		}
		order = slices.DeleteFunc(order, t.excluded) // exclude-server-states
		slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(t.sv[a], t.sv[b]) })
		s.bySrv = order
	})
	return s.bySrv
}

// eachByServer calls fn, in server name order, for every server name with
// a one-group table whose group 0 merges every group of that name (the
// same sums, in the same order, as one table of them all would hold).
// The table is reused from one call to the next: for 10 000 servers
// that is a few hundred bytes instead of a table as large as t.
func (s *Sites) eachByServer(fn func(name string, a *table)) {
	t := s.srv
	order := s.byServerOrder()
	a := newTable(t.cls, 1)
	a.x = t.x.like()
	a.newGroup("")
	for i := 0; i < len(order); {
		name := t.sv[order[i]]
		clear(a.sum)
		clear(a.cnt)
		clear(a.tsum)
		clear(a.tcnt)
		if a.x != nil {
			for c := range a.x.cells {
				a.x.cells[c] = a.x.cells[c][:0]
			}
		}
		for ; i < len(order) && t.sv[order[i]] == name; i++ {
			a.mergeNumbers(t, order[i], 0)
		}
		fn(name, a)
	}
}
