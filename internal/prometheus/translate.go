package prometheus

import (
	"strings"
	"unicode"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// Label is one label of a series.
type Label struct {
	Name, Value string
}

// Series is what one Graphite datapoint becomes: a sample of family Name
// with Labels. Its value is the Graphite value multiplied by Scale.
type Series struct {
	Name   string
	Type   prom.ValueType
	Help   string
	Labels []Label
	Scale  float64
}

// Translator maps the Graphite paths of one PREFIX back to Prometheus
// series. It is immutable and safe for concurrent use.
type Translator struct {
	prefix string // PREFIX + "."
	// grouped is PREFIX.<group-namespace>. when grouping is on, else "".
	grouped          string
	frontendGroups   []string
	backendGroups    []string
	serverGroups     []string
	grouping         bool
	frontendFamilies familySet
	backendFamilies  familySet
	serverFamilies   familySet
	aggrFamilies     familySet
}

// familySet is a block of families: the name prefix and the specs.
type familySet struct {
	prefix string
	specs  map[string]spec
	what   string // for the help of metrics without a spec
}

// NewTranslator returns the Translator of the paths built with o: its
// Prefix and, when not nil, its Groups (namespace and group names; the
// patterns are not used).
func NewTranslator(o stats.Options) *Translator {
	t := &Translator{
		prefix:           o.Prefix + ".",
		frontendFamilies: familySet{"haproxy_frontend_", frontendSpecs, "frontend"},
		backendFamilies:  familySet{"haproxy_backend_", backendSpecs, "backend"},
		serverFamilies:   familySet{"haproxy_server_", serverSpecs, "server"},
		aggrFamilies:     familySet{"haproxy_aggregated_server_", serverSpecs, "server across backends"},
	}
	if g := o.Groups; g != nil {
		t.grouping = true
		t.grouped = o.Prefix + "." + g.Namespace + "."
		names := func(gs []stats.Group) []string {
			out := make([]string, len(gs))
			for i, gr := range gs {
				out[i] = gr.Name
			}
			return out
		}
		t.frontendGroups, t.backendGroups, t.serverGroups = names(g.Frontend), names(g.Backend), names(g.Server)
	}
	return t
}

// Translate returns the series of the Graphite path p, and false for a
// path that is not under PREFIX or has a shape haproxystats never emits.
//
// With grouping on, frontend, backend, server and aggregated server
// series carry a label group: the group's name for a path under
// PREFIX.<group-namespace>.<group>, "" (no label, for Prometheus) for
// an ungrouped one. The double writes of group-namespace-double-writes
// then translate to the same series but for group; Sink keeps the
// grouped one.
func (t *Translator) Translate(p string) (Series, bool) {
	rest, ok := strings.CutPrefix(p, t.prefix)
	if !ok {
		return Series{}, false
	}
	if t.grouping {
		if r, ok := strings.CutPrefix(p, t.grouped); ok {
			if s, ok := t.groupedPath(r); ok {
				return s, true
			}
		}
	}
	head, tail, _ := strings.Cut(rest, ".")
	switch head {
	case "daemon":
		return t.daemon(tail)
	case "frontend":
		return t.frontend(tail, "")
	case "backend":
		return t.backend(tail, "")
	case "server":
		return t.aggrServer(tail, "")
	case "haproxystats":
		return self(tail)
	}
	return Series{}, false
}

// groupedPath translates r, a path after PREFIX.<group-namespace>.
func (t *Translator) groupedPath(r string) (Series, bool) {
	for _, g := range t.frontendGroups {
		if tail, ok := strings.CutPrefix(r, g+".frontend."); ok {
			return t.frontend(tail, g)
		}
	}
	for _, g := range t.backendGroups {
		if tail, ok := strings.CutPrefix(r, g+".backend."); ok {
			return t.backend(tail, g)
		}
	}
	for _, g := range t.serverGroups {
		if tail, ok := strings.CutPrefix(r, g+".server."); ok {
			return t.aggrServer(tail, g)
		}
	}
	return Series{}, false
}

// nameMetric splits "<name>.<metric>"; names never contain dots (they are
// sanitised), metric names never do.
func nameMetric(s string) (name, m string, ok bool) {
	name, m, ok = strings.Cut(s, ".")
	if !ok || name == "" || m == "" || strings.Contains(m, ".") {
		return "", "", false
	}
	return name, m, true
}

func (t *Translator) frontend(tail, group string) (Series, bool) {
	fe, m, ok := nameMetric(tail)
	if !ok {
		return Series{}, false
	}
	return t.series(t.frontendFamilies, m, group, Label{"frontend", fe}), true
}

func (t *Translator) backend(tail, group string) (Series, bool) {
	be, rest, ok := strings.Cut(tail, ".")
	if !ok || be == "" {
		return Series{}, false
	}
	if r, ok := strings.CutPrefix(rest, "server."); ok {
		srv, m, ok := nameMetric(r)
		if !ok {
			return Series{}, false
		}
		return t.series(t.serverFamilies, m, group, Label{"backend", be}, Label{"server", srv}), true
	}
	if rest == "" || strings.Contains(rest, ".") {
		return Series{}, false
	}
	return t.series(t.backendFamilies, rest, group, Label{"backend", be}), true
}

func (t *Translator) aggrServer(tail, group string) (Series, bool) {
	srv, m, ok := nameMetric(tail)
	if !ok {
		return Series{}, false
	}
	return t.series(t.aggrFamilies, m, group, Label{"server", srv}), true
}

// series builds the series of metric m of block f with the given labels,
// plus the spec's own label and, with grouping on, group.
func (t *Translator) series(f familySet, m, group string, labels ...Label) Series {
	sp, ok := f.specs[m]
	if !ok {
		// <name>_y is the mean of a metric also summed (as <name>_x) because
		// a metric list named it: the mean is the usual family.
		if base, isMean := strings.CutSuffix(m, "_y"); isMean {
			sp, ok = f.specs[base]
		}
	}
	if !ok {
		sp = spec{name: snake(m), typ: untyped, help: "HAProxy " + f.what + " metric " + m + " as sent to Graphite.", scale: 1}
	}
	s := Series{Name: f.prefix + sp.name, Type: sp.typ, Help: sp.help, Scale: sp.scale, Labels: labels}
	if sp.label != "" {
		s.Labels = append(s.Labels, Label{sp.label, sp.val})
	}
	if t.grouping {
		s.Labels = append(s.Labels, Label{"group", group})
	}
	return s
}

func (t *Translator) daemon(tail string) (Series, bool) {
	const aggr, per = "haproxy_process_", "haproxy_per_process_"
	if r, ok := strings.CutPrefix(tail, "process."); ok {
		n, field, ok := nameMetric(r)
		if !ok {
			return Series{}, false
		}
		return fromSpec(per, daemonSpec(field), Label{"process", n}), true
	}
	if tail == "" || strings.Contains(tail, ".") {
		return Series{}, false
	}
	if n, ok := strings.CutSuffix(tail, "PercentileCpuUsagePct"); ok && n != "" && isDigits(n) {
		return fromSpec(aggr, labelled(percentileSpec, "percentile", n)), true
	}
	return fromSpec(aggr, daemonSpec(tail)), true
}

func daemonSpec(field string) spec {
	if sp, ok := daemonSpecs[field]; ok {
		return sp
	}
	return spec{name: snake(field), typ: untyped, help: "HAProxy show info field " + field + " as sent to Graphite.", scale: 1}
}

func self(name string) (Series, bool) {
	if name == "" || strings.Contains(name, ".") {
		return Series{}, false
	}
	if sp, ok := masterSpecs[name]; ok {
		return fromSpec("haproxy_master_", sp), true
	}
	sp, ok := selfSpecs[name]
	if !ok {
		sp = spec{name: snake(name), typ: untyped, help: "haproxystats self-statistic " + name + " as sent to Graphite.", scale: 1}
	}
	return fromSpec("haproxystats_", sp), true
}

func fromSpec(prefix string, sp spec, labels ...Label) Series {
	s := Series{Name: prefix + sp.name, Type: sp.typ, Help: sp.help, Scale: sp.scale, Labels: labels}
	if sp.label != "" {
		s.Labels = append(s.Labels, Label{sp.label, sp.val})
	}
	return s
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// snake turns a Graphite metric name without a spec into a valid
// Prometheus name part: CamelCase words split by '_', lower-cased, any
// character outside [a-z0-9_] replaced by '_' ("SslNewThing" →
// "ssl_new_thing", "Ulimit-n" → "ulimit_n").
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
