package stats

import (
	"bytes"
	"log/slog"
)

// all-metrics: every column, aggregated by its nature.
//
// With Options.AllMetrics (and Sites from ParseSitesAll), every numeric
// show stat column of frontend, backend and server rows that the
// original's lists (Valid*Metrics) do not hold, module counters after
// the "-" column included, is emitted after the original's lines of the
// same proxy or server, as PREFIX.frontend.<name>.<column> and so on;
// and every integer show info field outside DaemonMetrics and
// DaemonAvgMetrics as PREFIX.daemon.<field> (per process too with
// PerProcess). Blanks and dots in names become '_'. The original's lines
// are unchanged, and without AllMetrics nothing else is emitted.
//
// How a column is aggregated across processes follows the Tag HAProxy
// gives it in typed output (Natures, learned from `show stat typed` and
// `show info typed`; a built-in table for HAProxy 2.x/3.x when the
// version has not been seen yet):
//
//	type str, origin K/S/P, configuration but limits,
//	nature N (name) or O (output)      skipped
//	C counter, G gauge, R rate, L limit   sum; one value (the max) when
//	                                      the scope is not P (shared by
//	                                      the processes)
//	M max, D duration, T time             max
//	m min                                 min
//	A age                                 min of the non-negative values
//	                                      (the most recent event; -1,
//	                                      "never", is ignored)
//	a average                             mean over the rows with traffic
//	                                      (lbtot > 0) for backends and
//	                                      servers, over all rows for
//	                                      frontends, show info, and the
//	                                      weights (weight, uweight,
//	                                      throttle)
//
// A few numeric columns HAProxy tags as gauges or counters although they
// are codes (agg_server_status, agg_server_check_status,
// agg_check_status) or an identifier (srid) are skipped. Empty cells are
// absent, not 0: a column that is empty in every row of a group gives no
// line, nor does an average without traffic or an age that is "never"
// everywhere. A column whose nature is not known at all is skipped and
// logged once at debug level: never guessed.

// acc aggregates the values of one column for one group.
type acc struct {
	v float64 // sum, max or min so far
	n uint32  // values aggregated
}

func (a *acc) add(g agg, v float64, traffic bool) {
	switch g {
	case aggTMean:
		if !traffic {
			return
		}
		a.v += v
	case aggSum, aggMean:
		a.v += v
	case aggMax:
		if a.n == 0 || v > a.v {
			a.v = v
		}
	case aggAge:
		if v < 0 {
			return
		}
		fallthrough
	case aggMin:
		if a.n == 0 || v < a.v {
			a.v = v
		}
	default:
		return
	}
	a.n++
}

// merge adds what b aggregated to a.
func (a *acc) merge(g agg, b acc) {
	if b.n == 0 {
		return
	}
	switch g {
	case aggSum, aggMean, aggTMean:
		a.v += b.v
	case aggMax:
		if a.n == 0 || b.v > a.v {
			a.v = b.v
		}
	case aggMin, aggAge:
		if a.n == 0 || b.v < a.v {
			a.v = b.v
		}
	}
	a.n += b.n
}

func (a acc) value(g agg) (float64, bool) {
	switch {
	case a.n == 0:
		return 0, false
	case g == aggMean || g == aggTMean:
		return a.v / float64(a.n), true
	}
	return a.v, true
}

// extras holds, for one kind of row, the columns outside the original's
// lists, in the order they first appear in the replies, and their
// aggregates per group. Cells are column-major, so that a column first
// seen in a later reply (another HAProxy version) needs no re-layout.
type extras struct {
	only  map[string]bool // the columns kept; nil: every one
	cols  []extraCol
	index map[string]int // column name → position in cols
	cells [][]acc        // cells[c][g]; shorter than the groups when they have no value
	hint  int            // the groups expected: a column's cells are made that long at once
}

type extraCol struct {
	name string // the metric name: the column name, sanitised
	agg  agg    // aggSkip for a column that is never emitted
	// exposeOnly is a column kept for the exposition walk alone: a
	// configuration value HAProxy's own exporter has (exposedConfig).
	exposeOnly bool
}

// exposedConfig are configuration columns, the same in every process,
// that HAProxy's own exporter exports: the exposition walk gives them
// (one value, the max), the Graphite paths never had them.
var exposedConfig = map[string]bool{"qlimit": true}

// xcell maps header column i of the reply being read to extra column c.
type xcell struct{ i, c int }

func newExtras() *extras { return &extras{index: map[string]int{}} }

// validMetrics are the original's columns of each kind of row: they are
// never extras.
var validMetrics = [3]map[string]bool{ValidFrontendMetrics, ValidBackendMetrics, ValidServerMetrics}

// plan appends to dst the columns of a reply's header that are extras of
// kind k, registering those not seen before.
func (x *extras) plan(dst []xcell, header []string, k int, n *Natures, log *slog.Logger) []xcell {
	for i, name := range header {
		if name == "" || name == "-" || name == "pxname" || name == "svname" || validMetrics[k][name] {
			continue
		}
		c, ok := x.index[name]
		if !ok {
			c = len(x.cols)
			x.index[name] = c
			col := extraCol{name: metricName(name), agg: aggSkip}
			if x.only == nil || x.only[name] {
				col.agg = n.resolve(k, name, log)
				if col.agg == aggSkip && exposedConfig[name] {
					col.agg, col.exposeOnly = aggMax, true
				}
			}
			x.cols = append(x.cols, col)
			x.cells = append(x.cells, nil)
		}
		if x.cols[c].agg != aggSkip {
			dst = append(dst, xcell{i, c})
		}
	}
	return dst
}

// cell returns the aggregate of column c for group g, growing the
// column as needed.
func (x *extras) cell(c int, g int32) *acc {
	if cells := x.cells[c]; int(g) >= len(cells) {
		if cells == nil && x.hint > int(g) {
			cells = make([]acc, 0, x.hint) // not doubled up to it: 10 000 servers are 3 MB
		}
		x.cells[c] = append(cells, make([]acc, int(g)+1-len(cells))...)
	}
	return &x.cells[c][g]
}

func (x *extras) add(c int, g int32, v float64, traffic bool) {
	x.cell(c, g).add(x.cols[c].agg, v, traffic)
}

// like returns an empty extras with the columns of x; nil for nil.
func (x *extras) like() *extras {
	if x == nil {
		return nil
	}
	return &extras{only: x.only, cols: x.cols, index: x.index, cells: make([][]acc, len(x.cols))}
}

// merge adds the aggregates of group g of src to group d of x.
func (x *extras) merge(src *extras, g, d int32) {
	if x == nil {
		return
	}
	for c, cells := range src.cells {
		if int(g) >= len(cells) || cells[g].n == 0 {
			continue
		}
		x.cell(c, d).merge(x.cols[c].agg, cells[g])
	}
}

// walk gives the extra values of group g for the row set on w and
// returns how many it gave (a double write counting once); the
// exposeOnly columns only with exposing.
func (x *extras) walk(w *walk, g int32, exposing bool) int {
	if x == nil {
		return 0
	}
	lines := 0
	for c, col := range x.cols {
		if col.agg == aggSkip || col.exposeOnly && !exposing || int(g) >= len(x.cells[c]) {
			continue
		}
		if v, ok := x.cells[c][g].value(col.agg); ok && w.value(col.name, v) {
			lines++
		}
	}
	return lines
}

// ParseSitesAll is ParseSites for Options.AllMetrics: the Sites also
// hold every numeric column outside the original's lists, aggregated by
// the nature n gives it (nil: the built-in table only). Columns of
// unknown nature are skipped and logged once to log at debug level; log
// may be nil.
func ParseSitesAll(stats []File, n *Natures, log *slog.Logger) (*Sites, error) {
	b := Builder{All: true, Natures: n, Log: log}
	for _, f := range stats {
		b.addFile(f)
	}
	return b.Sites()
}

// infoExtra is one show info field outside the original's lists.
type infoExtra struct {
	field, name string // as in the reply; sanitised for the path
	agg         agg
}

var daemonLists = set(DaemonMetrics, DaemonAvgMetrics)

// infoExtras lists, in reply order, the integer fields of the replies
// outside the original's lists that have a nature to aggregate by.
func infoExtras(infos []File, o *Options) []infoExtra {
	var out []infoExtra
	seen := map[string]bool{}
	log := o.logger()
	for _, f := range infos {
		eachLine(f.Data, func(line []byte) {
			k, v, ok := bytes.Cut(line, []byte(": "))
			if !ok || daemonLists[string(k)] || seen[string(k)] {
				return
			}
			if _, ok := parseInt(v); !ok {
				return
			}
			seen[string(k)] = true
			if a := o.Natures.resolve(kindInfo, string(k), log); a != aggSkip {
				out = append(out, infoExtra{field: string(k), name: metricName(string(k)), agg: a})
			}
		})
	}
	return out
}

// value aggregates the field over the processes that have it.
func (x infoExtra) value(procs []process) (float64, bool) {
	var a acc
	for _, p := range procs {
		if v, ok := p.info[x.field]; ok {
			a.add(x.agg, v, true)
		}
	}
	return a.value(x.agg)
}
