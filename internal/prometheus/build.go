package prometheus

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/blob"
	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// exposition is one snapshot's exposition: its text in gzip members, in
// the order they are served, encoded once when the snapshot is exposed.
// The members' bytes are in store.
type exposition struct {
	ts    int64
	parts []part
	store *store
}

// A part is one gzip member of the exposition.
type part struct {
	scope scope
	maint bool   // the samples of rows in maintenance alone: left out with no-maint
	gz    []span // the member, in pieces
}

// reader reads the pieces gz of e's store one after the other.
func (e *exposition) reader(gz []span) io.Reader {
	rs := make([]io.Reader, len(gz))
	for i, p := range gz {
		rs[i] = io.NewSectionReader(e.store, p.off, int64(p.n))
	}
	return io.MultiReader(rs...)
}

// selected returns the pieces of the members f asks for and their total
// size. Gzip members one after the other are one gzip stream.
func (e *exposition) selected(f filter) (gz []span, n int) {
	for _, p := range e.parts {
		if f.scopes&p.scope == 0 || f.noMaint && p.maint {
			continue
		}
		for _, piece := range p.gz {
			gz = append(gz, piece)
			n += piece.n
		}
	}
	return gz, n
}

// build encodes x, as its rows are walked: each family of the frontends,
// backends and servers is a member of its own, written as the walk gives
// its rows, so that every family's samples are together in the text
// while no value is kept (about 4 MB of gzip for 10 000 servers, where
// the walk gives row after row). The gzip goes to a store of spill (see
// store).
func build(x *stats.Exposition, spill *blob.Spill) *exposition {
	a := spill.New()
	e := &exposition{ts: x.Time, store: a}
	ts := []byte(" " + strconv.FormatInt(x.Time*1000, 10) + "\n")
	e.parts = append(e.parts, processPart(a, ts, x.Infos))
	b := &builder{ts: ts, blocks: [3]*block{
		newBlock(a, "haproxy_frontend_", scopeFrontend, false, frontendFamilies),
		newBlock(a, "haproxy_backend_", scopeBackend, false, append(slices.Clip(backendFamilies), backendServers)),
		newBlock(a, "haproxy_server_", scopeServer, true, serverFamilies),
	}}
	if x.Sites != nil {
		if x.Options != nil {
			b.counterOf = x.Options.Natures.Counter
		}
		_, be, _ := x.Sites.Rows()
		b.backends = make(map[string]int, be)
		x.Sites.Expose(b, x.Time, x.Options)
	}
	for _, bl := range b.blocks {
		e.parts = bl.close(ts, e.parts)
	}
	if len(x.StickTables) > 0 {
		e.parts = append(e.parts, stickTablePart(a, ts, x.StickTables))
	}
	if len(x.Self) > 0 {
		e.parts = append(e.parts, selfPart(a, ts, x.Self))
	}
	a.Done()
	return e
}

// builder is the stats.Target the exposition walk fills.
type builder struct {
	ts        []byte // " <ms>\n", every line's end
	blocks    [3]*block
	cur       *block
	backends  map[string]int // backend name → its row in blocks[1].backends
	counterOf func(string) bool
}

func (b *builder) Row(r stats.Row) {
	var bl *block
	switch r.Block {
	case stats.FrontendBlock:
		bl = b.blocks[0]
	case stats.BackendBlock:
		bl = b.blocks[1]
	case stats.ServerBlock:
		bl = b.blocks[2]
	default:
		b.cur = nil
		return
	}
	bl.row(b.ts, r)
	switch r.Block {
	case stats.BackendBlock:
		b.backends[r.Proxy] = len(bl.backends)
		bl.backends = append(bl.backends, backendRow{labels: slices.Clone(bl.labels)})
	case stats.ServerBlock:
		if i, ok := b.backends[r.Proxy]; ok {
			be := &b.blocks[1].backends[i]
			be.nsrv++
			if s := serverState(r.State); s >= 0 {
				be.agg[s]++
			}
			if k := slices.Index(stats.CheckStatuses[:], r.Check.Status); k >= 0 {
				be.checks[k]++
			}
		}
	}
	b.cur = bl
}

func (b *builder) Value(field string, v float64) {
	if b.cur != nil {
		b.cur.value(b.ts, field, v, b.counterOf)
	}
}

// A block is the families of one kind of rows, written as the walk gives
// the rows.
type block struct {
	store  *store // of the members
	prefix string // haproxy_server_ ...
	scope  scope
	server bool // its rows have a server label
	fams   []*famOut
	byCol  map[string]*colOuts // show stat column → the series its values go to
	// The row being walked: its labels, whether it is in maintenance,
	// and its number, from 1.
	labels []byte
	maint  bool
	n      int32
	// Backends only: each row's labels, its servers by state and by
	// check result, and how many, for the agg_ families written at the
	// end.
	backends []backendRow
}

type colOuts struct {
	outs []colOut
	seen int32 // the last row that gave the column: a second value is ignored
}

// A colOut is a series of a row: a family, and a code label for
// http_responses_total.
type colOut struct {
	fam  int
	code string
}

type backendRow struct {
	labels []byte
	agg    [nServerStates]uint32
	checks [len(stats.CheckStatuses)]uint32
	nsrv   uint32
}

func newBlock(a *store, prefix string, sc scope, server bool, fams []family) *block {
	b := &block{store: a, prefix: prefix, scope: sc, server: server, byCol: map[string]*colOuts{}}
	for _, f := range fams {
		b.addFamily(f)
	}
	return b
}

// addFamily adds f, fed by its show stat columns.
func (b *block) addFamily(f family) {
	i := len(b.fams)
	name := f.name
	if !strings.HasPrefix(name, "haproxystats_") {
		name = b.prefix + name
	}
	b.fams = append(b.fams, &famOut{name: name, f: f, rows: member{store: b.store}, maint: member{store: b.store}})
	for k, col := range f.cols {
		out := colOut{fam: i}
		if f.codes != nil {
			out.code = f.codes[k]
		}
		cs := b.byCol[col]
		if cs == nil {
			cs = &colOuts{}
			b.byCol[col] = cs
		}
		cs.outs = append(cs.outs, out)
	}
}

// row starts row r: its labels, and the families the row itself gives
// (status, check).
func (b *block) row(ts []byte, r stats.Row) {
	b.n++
	b.labels = appendLabel(b.labels[:0], "proxy", r.Proxy)
	if b.server {
		b.labels = append(b.labels, ',')
		b.labels = appendLabel(b.labels, "server", r.Server)
	}
	b.maint = r.State == stats.StateMaint
	for _, o := range b.fams {
		switch o.f.special {
		case proxyStatusOf, serverStatusOf:
			names, stateOf := proxyStateNames, proxyState
			if o.f.special == serverStatusOf {
				names, stateOf = serverStateNames[:], serverState
			}
			if cur := stateOf(r.State); cur >= 0 {
				for si, st := range names {
					o.sample(ts, b.labels, "state", st, b2f(si == cur), b.maint)
				}
			}
		case checkStatusOf:
			if r.Check.Status != "" {
				for _, st := range stats.CheckStatuses {
					o.sample(ts, b.labels, "state", st, b2f(st == r.Check.Status), b.maint)
				}
			}
		case checkCodeOf: // 0 for a check without a code, as promex
			if r.Check.Status != "" {
				o.sample(ts, b.labels, "", "", r.Check.Code, b.maint)
			}
		}
	}
}

// value writes v, the value of show stat column name for the current
// row, to its series; a column promex has not gets a family of
// haproxystats' own.
func (b *block) value(ts []byte, name string, v float64, counterOf func(string) bool) {
	cs, ok := b.byCol[name]
	if !ok {
		b.addFamily(ownFamily(b, name, counterOf != nil && counterOf(name)))
		cs = b.byCol[name]
	}
	if cs.seen == b.n || math.IsNaN(v) {
		return
	}
	cs.seen = b.n
	for _, out := range cs.outs {
		o := b.fams[out.fam]
		if out.code != "" {
			o.sample(ts, b.labels, "code", out.code, v*o.f.scale, b.maint)
		} else {
			o.sample(ts, b.labels, "", "", v*o.f.scale, b.maint)
		}
	}
}

// close writes the backends' agg_ families and appends the members of
// every family that has samples to parts.
func (b *block) close(ts []byte, parts []part) []part {
	for _, o := range b.fams {
		for i := range b.backends {
			r := &b.backends[i]
			switch o.f.special {
			case aggServers:
				for si, st := range serverStateNames {
					o.sample(ts, r.labels, "state", st, float64(r.agg[si]), false)
				}
			case aggChecks:
				for si, st := range stats.CheckStatuses {
					o.sample(ts, r.labels, "state", st, float64(r.checks[si]), false)
				}
			case serversOf:
				o.sample(ts, r.labels, "", "", float64(r.nsrv), false)
			}
		}
		parts = o.close(b.scope, parts)
	}
	return parts
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

// A famOut is a family being written: its samples, those of rows in
// maintenance in a member apart, and its header, written before its
// first sample.
type famOut struct {
	name        string // the whole name
	f           family
	rows, maint member
	header      bool
}

// sample writes one line of o. labels are the row's (name="value", ...)
// or none; k="val" follows them when k is not empty.
func (o *famOut) sample(ts, labels []byte, k, val string, v float64, maint bool) {
	if !o.header {
		o.header = true
		o.rows.header(o.name, o.f.help, o.f.typ)
	}
	m := &o.rows
	if maint {
		m = &o.maint
	}
	m.sample(o.name, labels, k, val, v, ts)
}

// close appends o's members to parts: none for a family without samples.
func (o *famOut) close(sc scope, parts []part) []part {
	if !o.header {
		return parts
	}
	parts = append(parts, part{scope: sc, gz: o.rows.close()})
	if !o.maint.empty() {
		parts = append(parts, part{scope: sc, maint: true, gz: o.maint.close()})
	}
	return parts
}

func appendHeader(b []byte, name, help string, t typ) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, escapeHelp(help)...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, t...)
	return append(b, '\n')
}

func appendSample(b []byte, name string, labels []byte, k, val string, v float64, ts []byte) []byte {
	b = append(b, name...)
	if len(labels) > 0 || k != "" {
		b = append(b, '{')
		b = append(b, labels...)
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
	return append(b, ts...)
}

// processPart is the member of haproxy_process_*, from the show info
// replies.
func processPart(a *store, ts []byte, infos []stats.File) part {
	var procs []stats.Info
	var versions []string
	for _, f := range infos {
		if info := stats.ParseInfo(f.Data); len(info) > 0 {
			procs = append(procs, info)
			if v := dump.InfoVersion(f.Data); v != "" && !slices.Contains(versions, v) {
				versions = append(versions, v)
			}
		}
	}
	m := member{store: a}
	for i := range processFamilies {
		f := &processFamilies[i]
		if v, ok := combineField(procs, f.cols[0]); ok {
			name := "haproxy_process_" + f.name
			m.header(name, f.help, f.typ)
			m.sample(name, nil, "", "", v, ts)
		}
	}
	if len(versions) > 0 {
		name := "haproxy_process_" + buildInfo.name
		m.header(name, buildInfo.help, buildInfo.typ)
		for _, v := range versions {
			m.sample(name, nil, "version", v, 1, ts)
		}
	}
	return part{scope: scopeGlobal, gz: m.close()}
}

// selfPart is the member of the self-statistics, one header per family.
func selfPart(a *store, ts []byte, self []stats.Sample) part {
	type sampleOf struct {
		spec selfSpec
		v    float64
	}
	samples := make([]sampleOf, 0, len(self))
	for _, s := range self {
		if servedLive[s.Name] {
			continue
		}
		sp, ok := selfSpecs[s.Name]
		if !ok {
			sp = sg(promName(snake(s.Name)), "haproxystats self-statistic "+s.Name+".")
		}
		samples = append(samples, sampleOf{spec: sp, v: s.Value})
	}
	slices.SortStableFunc(samples, func(a, b sampleOf) int { return strings.Compare(a.spec.name, b.spec.name) })
	m := member{store: a}
	for i, s := range samples {
		name := "haproxystats_" + s.spec.name
		if i == 0 || samples[i-1].spec.name != s.spec.name {
			m.header(name, s.spec.help, s.spec.typ)
		}
		m.sample(name, nil, s.spec.label, s.spec.val, s.v, ts) // without a label both are ""
	}
	return part{scope: scopeGlobal, gz: m.close()}
}

// stickTablePart is the member of haproxy_sticktable_size and _used, as
// promex has them: labels name and type, the tables of size 0 left out.
func stickTablePart(a *store, ts []byte, tables []stats.StickTable) part {
	m := member{store: a}
	var labels []byte
	for _, f := range stickTableFamilies {
		name := "haproxy_sticktable_" + f.name
		m.header(name, f.help, f.typ)
		for _, t := range tables {
			if t.Size == 0 {
				continue
			}
			labels = appendLabel(labels[:0], "name", t.Name)
			labels = append(labels, ',')
			labels = appendLabel(labels, "type", t.Type)
			v := t.Used
			if f.name == "size" {
				v = t.Size
			}
			m.sample(name, labels, "", "", v, ts)
		}
	}
	return part{scope: scopeStickTable, gz: m.close()}
}
