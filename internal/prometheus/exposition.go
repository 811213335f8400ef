package prometheus

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A scope is a part of the exposition promex's scope= parameter names.
type scope uint8

const (
	scopeGlobal scope = 1 << iota // haproxy_process_*, and haproxystats' own
	scopeFrontend
	scopeBackend
	scopeServer
	allScopes = scopeGlobal | scopeFrontend | scopeBackend | scopeServer
)

var scopeNames = map[string]scope{"global": scopeGlobal, "frontend": scopeFrontend, "backend": scopeBackend, "server": scopeServer}

// A row is one frontend, backend or server of the exposition.
type row struct {
	proxy, server string
	state         stats.State
	check         stats.Check
}

// A column is the samples of one series per row: column i of a block
// holds the value of each row, NaN where the row has none.
type column struct {
	fam  int    // the family, in block.fams
	code string // the code label, for http_responses_total
	vals []float64
}

// A block is the rows of one kind and their families, column-major: a
// snapshot of 10 000 servers holds 10 000 rows and one float64 per row
// and column, no label strings but the names.
type block struct {
	prefix string // haproxy_server_ ...
	scope  scope
	labels []string // proxy, server
	fams   []family
	rows   []row
	hint   int // rows expected: the columns' capacity
	cols   []column
	byCol  map[string][]int // show stat column → columns
	// Per backend row: its servers by state and by check result, and
	// how many it has. Backends only.
	agg    [][nServerStates]uint32
	checks [][len(stats.CheckStatuses)]uint32
	nsrv   []uint32
}

func newBlock(prefix string, sc scope, labels []string, fams []family) *block {
	b := &block{prefix: prefix, scope: sc, labels: labels, byCol: map[string][]int{}}
	for _, f := range fams {
		b.addFamily(f)
	}
	return b
}

// addFamily adds f and a column for each of its show stat columns.
func (b *block) addFamily(f family) {
	i := len(b.fams)
	b.fams = append(b.fams, f)
	for k, col := range f.cols {
		cl := column{fam: i}
		if f.codes != nil {
			cl.code = f.codes[k]
		}
		b.byCol[col] = append(b.byCol[col], len(b.cols))
		b.cols = append(b.cols, cl)
	}
}

// set stores v for the current row in every column of show stat column
// name; a column promex has not gets a family of haproxystats' own.
func (b *block) set(name string, v float64, counterOf func(string) bool) {
	cols, ok := b.byCol[name]
	if !ok {
		b.addFamily(ownFamily(b, name, counterOf(name)))
		cols = b.byCol[name]
	}
	r := len(b.rows) - 1
	for _, i := range cols {
		cl := &b.cols[i]
		if cl.vals == nil {
			cl.vals = make([]float64, 0, max(b.hint, r+1))
		}
		for len(cl.vals) <= r {
			cl.vals = append(cl.vals, math.NaN())
		}
		cl.vals[r] = v * b.fams[cl.fam].scale
	}
}

// ownFamily is the family of a show stat column promex does not export:
// haproxystats_<kind>_<column>, a counter (with _total) when its nature
// is a counter's.
func ownFamily(b *block, col string, isCounter bool) family {
	kind := strings.TrimSuffix(strings.TrimPrefix(b.prefix, "haproxy_"), "_")
	name := "haproxystats_" + kind + "_" + promName(col)
	f := family{name: name, typ: gauge, cols: []string{col}, scale: 1,
		help: "show stat column " + col + ", which HAProxy's own exporter does not export."}
	if isCounter {
		f.typ, f.name = counter, strings.TrimSuffix(name, "_tot")+"_total"
	}
	return f
}

// promName makes s a valid part of a metric name.
func promName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// exposition is one snapshot, ready to encode.
type exposition struct {
	ts       int64
	process  []sampleOf // haproxy_process_*
	versions []string   // build_info
	blocks   [3]*block  // frontends, backends, servers
	self     []sampleOf // haproxystats_*
}

type sampleOf struct {
	f     *family
	label string // "stage", ... for the self-statistics that share a family
	val   string
	v     float64
}

const nServerStates = 5

// promex's server states, in its order, and those of frontends and
// backends.
var (
	serverStateNames = [nServerStates]string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	proxyStateNames  = []string{"DOWN", "UP"}
)

// serverState is promex's state of a server in state s, or -1.
func serverState(s stats.State) int {
	switch s {
	case stats.StateDown:
		return 0
	case stats.StateUp, stats.StateNoCheck:
		return 1
	case stats.StateMaint:
		return 2
	case stats.StateDrain:
		return 3
	case stats.StateNoLB:
		return 4
	}
	return -1
}

// proxyState is promex's state of a frontend or backend in state s, or
// -1: a frontend is UP unless stopped, a backend unless DOWN.
func proxyState(s stats.State) int {
	switch s {
	case stats.StateNone:
		return -1
	case stats.StateDown, stats.StateStop:
		return 0
	}
	return 1
}

// builder is the stats.Target the exposition walk fills.
type builder struct {
	e         *exposition
	cur       *block
	backends  map[string]int // backend name → row, for the agg_ families
	counterOf func(string) bool
}

func (b *builder) Row(r stats.Row) {
	var bl *block
	switch r.Block {
	case stats.FrontendBlock:
		bl = b.e.blocks[0]
	case stats.BackendBlock:
		bl = b.e.blocks[1]
		b.backends[r.Proxy] = len(bl.rows)
		bl.agg = append(bl.agg, [nServerStates]uint32{})
		bl.checks = append(bl.checks, [len(stats.CheckStatuses)]uint32{})
		bl.nsrv = append(bl.nsrv, 0)
	case stats.ServerBlock:
		bl = b.e.blocks[2]
		if i, ok := b.backends[r.Proxy]; ok {
			be := b.e.blocks[1]
			be.nsrv[i]++
			if s := serverState(r.State); s >= 0 {
				be.agg[i][s]++
			}
			if k := slices.Index(stats.CheckStatuses[:], r.Check.Status); k >= 0 {
				be.checks[i][k]++
			}
		}
	default:
		b.cur = nil
		return
	}
	bl.rows = append(bl.rows, row{proxy: r.Proxy, server: r.Server, state: r.State, check: r.Check})
	b.cur = bl
}

func (b *builder) Value(field string, v float64) {
	if b.cur != nil {
		b.cur.set(field, v, b.counterOf)
	}
}

// build turns x into an exposition.
func build(x *stats.Exposition) *exposition {
	e := &exposition{ts: x.Time}
	e.blocks[0] = newBlock("haproxy_frontend_", scopeFrontend, []string{"proxy"}, frontendFamilies)
	e.blocks[1] = newBlock("haproxy_backend_", scopeBackend, []string{"proxy"}, append(slices.Clip(backendFamilies), backendServers))
	e.blocks[2] = newBlock("haproxy_server_", scopeServer, []string{"proxy", "server"}, serverFamilies)
	e.buildProcess(x.Infos)
	var natures *stats.Natures
	if x.Options != nil {
		natures = x.Options.Natures
	}
	if x.Sites != nil {
		fe, be, srv := x.Sites.Rows()
		e.blocks[0].hint, e.blocks[1].hint, e.blocks[2].hint = fe, be, srv
		e.blocks[0].rows = make([]row, 0, fe)
		e.blocks[1].rows = make([]row, 0, be)
		e.blocks[2].rows = make([]row, 0, srv)
		b := &builder{e: e, backends: make(map[string]int, be), counterOf: natures.Counter}
		x.Sites.Expose(b, x.Time, x.Options)
	}
	for _, s := range x.Self {
		e.self = append(e.self, selfSample(s))
	}
	slices.SortStableFunc(e.self, func(a, b sampleOf) int { return strings.Compare(a.f.name, b.f.name) }) // once, not at each scrape
	return e
}

// selfSample is the sample of self-statistic s.
func selfSample(s stats.Sample) sampleOf {
	sp, ok := selfSpecs[s.Name]
	if !ok {
		sp = sg(promName(snake(s.Name)), "haproxystats self-statistic "+s.Name+".")
	}
	f := &family{name: "haproxystats_" + sp.name, typ: sp.typ, help: sp.help}
	return sampleOf{f: f, label: sp.label, val: sp.val, v: s.Value}
}

// buildProcess fills the process families from the show info replies.
func (e *exposition) buildProcess(infos []stats.File) {
	var procs []stats.Info
	for _, f := range infos {
		if info := stats.ParseInfo(f.Data); len(info) > 0 {
			procs = append(procs, info)
			if v := dump.InfoVersion(f.Data); v != "" && !slices.Contains(e.versions, v) {
				e.versions = append(e.versions, v)
			}
		}
	}
	for i := range processFamilies {
		f := &processFamilies[i]
		if v, ok := combineField(procs, f.cols[0]); ok {
			e.process = append(e.process, sampleOf{f: f, v: v})
		}
	}
}

// combineField combines field over the processes that have it.
func combineField(procs []stats.Info, field string) (float64, bool) {
	how := processCombine[field]
	if how == combineCount {
		return float64(len(procs)), len(procs) > 0
	}
	var acc float64
	n := 0
	for _, p := range procs {
		v, ok := p[field]
		if !ok {
			continue
		}
		switch {
		case n == 0:
			acc = v
		case how == combineMin:
			acc = min(acc, v)
		case how == combineMax:
			acc = max(acc, v)
		default:
			acc += v
		}
		n++
	}
	if n == 0 {
		return 0, false
	}
	if how == combineMean {
		acc /= float64(n)
	}
	return acc, true
}

// filter is what a scrape asked for: scope= and no-maint.
type filter struct {
	scopes  scope
	noMaint bool
}

// encoder writes the text format.
type encoder struct {
	w   *bufio.Writer
	ts  []byte // " <ms>\n"
	buf []byte
	// The header of the family begun, written before its first sample.
	name, help string
	typ        typ
	pending    bool
}

// begin starts a family; its header is written with its first sample.
func (e *encoder) begin(name, help string, t typ) {
	e.name, e.help, e.typ, e.pending = name, help, t, true
}

func (e *encoder) header() {
	e.pending = false
	e.w.WriteString("# HELP ")
	e.w.WriteString(e.name)
	e.w.WriteByte(' ')
	e.w.WriteString(escapeHelp(e.help))
	e.w.WriteString("\n# TYPE ")
	e.w.WriteString(e.name)
	e.w.WriteByte(' ')
	e.w.WriteString(string(e.typ))
	e.w.WriteByte('\n')
}

// sample writes one line; labels are name, value pairs, then the pair
// k, val when k is not empty.
func (e *encoder) sample(name string, v float64, labels []string, k, val string) {
	if e.pending {
		e.header()
	}
	b := append(e.buf[:0], name...)
	if len(labels) > 0 || k != "" {
		b = append(b, '{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLabel(b, labels[i], labels[i+1])
		}
		if k != "" {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = appendLabel(b, k, val)
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = metric.AppendValue(b, v)
	b = append(b, e.ts...)
	e.buf = b
	e.w.Write(b)
}

func appendLabel(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, '=', '"')
	b = appendLabelValue(b, v)
	return append(b, '"')
}

func appendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

var helpEscaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n")

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// writeTo encodes the parts of e that f asks for into w.
func (e *exposition) writeTo(w io.Writer, f filter) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := &encoder{w: bw, ts: []byte(" " + strconv.FormatInt(e.ts*1000, 10) + "\n")}
	if f.scopes&scopeGlobal != 0 {
		e.writeProcess(enc)
	}
	for _, b := range e.blocks {
		if f.scopes&b.scope != 0 {
			b.writeTo(enc, f)
		}
	}
	if f.scopes&scopeGlobal != 0 {
		e.writeSelf(enc)
	}
	return bw.Flush()
}

func (e *exposition) writeProcess(enc *encoder) {
	for _, s := range e.process {
		name := "haproxy_process_" + s.f.name
		enc.begin(name, s.f.help, s.f.typ)
		enc.sample(name, s.v, nil, "", "")
	}
	if len(e.versions) > 0 {
		name := "haproxy_process_" + buildInfo.name
		enc.begin(name, buildInfo.help, buildInfo.typ)
		for _, v := range e.versions {
			enc.sample(name, 1, nil, "version", v)
		}
	}
}

// writeSelf writes the self-statistics, one header per family (build
// sorted them by family).
func (e *exposition) writeSelf(enc *encoder) {
	for i, s := range e.self {
		if i == 0 || e.self[i-1].f.name != s.f.name {
			enc.begin(s.f.name, s.f.help, s.f.typ)
		}
		enc.sample(s.f.name, s.v, nil, s.label, s.val) // without a label both are ""
	}
}

// writeTo writes the families of b, each with its samples; a family
// without any is left out.
func (b *block) writeTo(enc *encoder, f filter) {
	skip := func(r *row) bool { return f.noMaint && r.state == stats.StateMaint }
	var labels []string
	rowLabels := func(r *row) []string {
		labels = labels[:0]
		for _, l := range b.labels {
			if l == "proxy" {
				labels = append(labels, "proxy", r.proxy)
			} else {
				labels = append(labels, "server", r.server)
			}
		}
		return labels
	}
	for fi := range b.fams {
		fam := &b.fams[fi]
		name := fam.name
		if !strings.HasPrefix(name, "haproxystats_") {
			name = b.prefix + name
		}
		enc.begin(name, fam.help, fam.typ)
		switch fam.special {
		case fromCols:
			for ci := range b.cols {
				cl := &b.cols[ci]
				if cl.fam != fi {
					continue
				}
				for ri, v := range cl.vals {
					r := &b.rows[ri]
					if math.IsNaN(v) || skip(r) {
						continue
					}
					if cl.code != "" {
						enc.sample(name, v, rowLabels(r), "code", cl.code)
					} else {
						enc.sample(name, v, rowLabels(r), "", "")
					}
				}
			}
		case proxyStatusOf, serverStatusOf:
			names, stateOf := proxyStateNames, proxyState
			if fam.special == serverStatusOf {
				names, stateOf = serverStateNames[:], serverState
			}
			for ri := range b.rows {
				r := &b.rows[ri]
				cur := stateOf(r.state)
				if cur < 0 || skip(r) {
					continue
				}
				for si, st := range names {
					enc.sample(name, b2f(si == cur), rowLabels(r), "state", st)
				}
			}
		case checkStatusOf:
			for ri := range b.rows {
				r := &b.rows[ri]
				if r.check.Status == "" || skip(r) {
					continue
				}
				for _, st := range stats.CheckStatuses {
					enc.sample(name, b2f(st == r.check.Status), rowLabels(r), "state", st)
				}
			}
		case checkCodeOf: // 0 for a check without a code, as promex
			for ri := range b.rows {
				r := &b.rows[ri]
				if r.check.Status != "" && !skip(r) {
					enc.sample(name, r.check.Code, rowLabels(r), "", "")
				}
			}
		case aggServers:
			for ri := range b.rows {
				for si, st := range serverStateNames {
					enc.sample(name, float64(b.agg[ri][si]), rowLabels(&b.rows[ri]), "state", st)
				}
			}
		case aggChecks:
			for ri := range b.rows {
				for si, st := range stats.CheckStatuses {
					enc.sample(name, float64(b.checks[ri][si]), rowLabels(&b.rows[ri]), "state", st)
				}
			}
		case serversOf:
			for ri := range b.rows {
				enc.sample(name, float64(b.nsrv[ri]), rowLabels(&b.rows[ri]), "", "")
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// snake turns a CamelCase self-statistic name into snake case
// ("SslNewThing" → "ssl_new_thing").
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
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
