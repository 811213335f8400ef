package stats

import (
	"slices"
	"sync/atomic"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// A Block is the part of a snapshot a row of datapoints belongs to; it
// decides the shape of their Graphite paths.
type Block uint8

// The blocks, with the Graphite path of a datapoint called <field>.
const (
	DaemonBlock     Block = iota // HEAD.daemon.<field>
	ProcessBlock                 // HEAD.daemon.process.<process>.<field>
	FrontendBlock                // HEAD.frontend.<proxy>.<field>
	BackendBlock                 // HEAD.backend.<proxy>.<field>
	ServerBlock                  // HEAD.backend.<proxy>.server.<server>.<field>
	ServerAggBlock               // HEAD.server.<server>.<field> (aggr-server-metrics)
	SelfBlock                    // HEAD.haproxystats.<field>
	StickTableBlock              // HEAD.sticktable.<table>.<field> (sticktable-metrics)
)

// A Row says where the datapoints that follow it belong, until the next
// Row: a block, the proxy, server or process it is about (names as they
// appear in the paths, sanitised; as HAProxy gives them in the
// exposition walk, Sites.Expose), and the path heads. Heads holds one
// head, the prefix or the head of the group the name matched, or two with
// group double writes (the group's head, then the prefix): each datapoint
// of the row is written once under each. Time is the snapshot's.
type Row struct {
	Block   Block
	Heads   []string // valid during the call to Target.Row only
	Proxy   string
	Server  string
	Process string // ProcessBlock: the <W> of the per-process paths
	Time    int64
	// State and Check are set by the exposition walk only: the row's
	// state across processes (StateNone when no reply said) and, for a
	// server, its last health check.
	State State
	Check Check
}

// A Target receives the datapoints of a snapshot as the walk of this
// package (Daemon, Frontends, Backends, Servers, and their Walk forms)
// gives them, in the order they are sent: a Row, then its values. The
// Graphite lines (Encoder), the metrics in memory (Collector) and the
// line count (Counter) are targets; so can be any sink that wants
// structured datapoints.
type Target interface {
	Row(r Row)
	Value(field string, v float64)
}

// grower is a Target that can make room for n more datapoints whose
// paths are about width bytes long.
type grower interface{ grow(n, width int) }

// lineTail is a generous length of what follows the names in a line:
// ".<metric> <value> <timestamp>\n".
const lineTail = 48

// appendStem appends the path of the datapoints of r under head, up to
// their field name.
func appendStem(b []byte, head string, r *Row) []byte {
	b = append(b, head...)
	switch r.Block {
	case DaemonBlock:
		b = append(b, ".daemon."...)
	case ProcessBlock:
		b = append(b, ".daemon.process."...)
		b = append(b, r.Process...)
		b = append(b, '.')
	case FrontendBlock:
		b = append(b, ".frontend."...)
		b = append(b, r.Proxy...)
		b = append(b, '.')
	case BackendBlock:
		b = append(b, ".backend."...)
		b = append(b, r.Proxy...)
		b = append(b, '.')
	case ServerBlock:
		b = append(b, ".backend."...)
		b = append(b, r.Proxy...)
		b = append(b, ".server."...)
		b = append(b, r.Server...)
		b = append(b, '.')
	case ServerAggBlock:
		b = append(b, ".server."...)
		b = append(b, r.Server...)
		b = append(b, '.')
	case SelfBlock:
		b = append(b, ".haproxystats."...)
	case StickTableBlock:
		b = append(b, ".sticktable."...)
		b = append(b, r.Proxy...)
		b = append(b, '.')
	}
	return b
}

// stems are the path stems of the current row, one per head, stem i
// ending at end[i] in buf.
type stems struct {
	buf []byte
	end [2]int
	n   int
}

// stem returns stem i.
func (s *stems) stem(i int) []byte {
	if i == 0 {
		return s.buf[:s.end[0]]
	}
	return s.buf[s.end[i-1]:s.end[i]]
}

func (s *stems) set(r *Row) {
	s.buf = s.buf[:0]
	s.n = len(r.Heads)
	for i, h := range r.Heads {
		s.buf = appendStem(s.buf, h, r)
		s.end[i] = len(s.buf)
	}
}

// Collector is the Target that keeps every datapoint as a metric.Metric.
// Paths are written into one buffer after the other and turned into
// strings in chunks, one allocation per chunk: each Path is a substring
// of a chunk. Call Done for the metrics.
type Collector struct {
	dst  []metric.Metric
	ts   int64
	st   stems
	buf  []byte
	ends []int // end in buf of each pending path; the pending metrics end dst
}

// NewCollector returns a Collector that appends to dst.
func NewCollector(dst []metric.Metric) *Collector { return &Collector{dst: dst} }

// chunk is how many bytes of paths a Collector gathers before it turns
// them into one string.
const chunk = 32 << 10

// Row implements Target.
func (c *Collector) Row(r Row) {
	c.st.set(&r)
	c.ts = r.Time
}

// Value implements Target.
func (c *Collector) Value(field string, v float64) {
	for i := range c.st.n {
		c.buf = append(c.buf, c.st.stem(i)...)
		c.buf = append(c.buf, field...)
		c.ends = append(c.ends, len(c.buf))
		c.dst = append(c.dst, metric.Metric{Value: v, Time: c.ts})
	}
	if len(c.buf) >= chunk {
		c.flush()
	}
}

func (c *Collector) grow(n, _ int) { c.dst = slices.Grow(c.dst, n) }

func (c *Collector) flush() {
	if len(c.ends) == 0 {
		return
	}
	s := string(c.buf)
	pending := c.dst[len(c.dst)-len(c.ends):]
	start := 0
	for i, end := range c.ends {
		pending[i].Path = s[start:end]
		start = end
	}
	c.buf, c.ends = c.buf[:0], c.ends[:0]
}

// collect returns dst with the datapoints walk gives a Collector.
func collect(dst []metric.Metric, walk func(Target)) []metric.Metric {
	c := NewCollector(dst)
	walk(c)
	return c.Done()
}

// Done returns the metrics: dst and what was collected after it.
func (c *Collector) Done() []metric.Metric {
	c.flush()
	return c.dst
}

// Counter is the Target that only counts the lines the datapoints make
// (one per head), without building a path.
type Counter struct {
	lines, heads int
}

// Row implements Target.
func (c *Counter) Row(r Row) { c.heads = len(r.Heads) }

// Value implements Target.
func (c *Counter) Value(string, float64) { c.lines += c.heads }

// Lines returns how many lines were counted.
func (c *Counter) Lines() int { return c.lines }

// walk is one block's walk into a Target: it counts the datapoints it
// gives, a double write counting once, for the Metrics* lines.
type walk struct {
	t         Target
	ts        int64
	n         int
	nonFinite int64
	counter   *atomic.Int64 // Options.NonFinite
	self      [1]string     // the heads of the self-statistics: the prefix
}

func newWalk(t Target, ts int64, o *Options) *walk {
	return &walk{t: t, ts: ts, counter: o.NonFinite, self: [1]string{o.Prefix}}
}

func (w *walk) row(b Block, heads []string, proxy, server string) {
	w.t.Row(Row{Block: b, Heads: heads, Proxy: proxy, Server: server, Time: w.ts})
}

// value gives one datapoint of the current row, unless v is not finite;
// it reports whether it did.
func (w *walk) value(field string, v float64) bool {
	if !metric.Valid(v) {
		w.nonFinite++
		return false
	}
	w.t.Value(field, v)
	w.n++
	return true
}

// count ends a block with its PREFIX.haproxystats.<name> line: 1 (itself)
// plus the lines of the block, as the original counts them.
func (w *walk) count(name string, lines int) {
	w.row(SelfBlock, w.self[:], "", "")
	w.t.Value(name, float64(lines+1))
	if w.nonFinite > 0 && w.counter != nil {
		w.counter.Add(w.nonFinite)
	}
}

func (w *walk) grow(n, width int) {
	if g, ok := w.t.(grower); ok {
		g.grow(n, width)
	}
}
