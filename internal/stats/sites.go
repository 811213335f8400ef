package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// class is what is kept of one kind of row (frontend, backend, server):
// the columns any configuration can ask for, in a fixed order, and which
// of them are traffic-only means (qtime, ctime, rtime, ttime).
type class struct {
	cols  []string
	index map[string]int // column name → position in cols
	times []int          // positions in cols of the time metrics, in list order
	slot  []int          // position in cols → index in times, or -1
}

func newClass(times []string, lists ...[]string) *class {
	c := &class{index: make(map[string]int)}
	for _, l := range lists {
		for _, name := range l {
			if _, ok := c.index[name]; !ok {
				c.index[name] = len(c.cols)
				c.cols = append(c.cols, name)
			}
		}
	}
	c.slot = make([]int, len(c.cols))
	for i := range c.slot {
		c.slot[i] = -1
	}
	for _, name := range times {
		c.slot[c.index[name]] = len(c.times)
		c.times = append(c.times, c.index[name])
	}
	return c
}

var (
	frontendClass = newClass(nil, FrontendMetrics)
	backendClass  = newClass(BackendAvgTimeMetrics, BackendMetrics, BackendAvgMetrics, BackendAvgTimeMetrics)
	serverClass   = newClass(ServerAvgTimeMetrics, ServerMetrics, ServerAvgMetrics, ServerAvgTimeMetrics)
)

// table accumulates the rows of one class, grouped by name: the names
// as HAProxy gives them in the tables a Builder fills (Sites.raw), the
// sanitised names of the Graphite paths in the views made of them
// (Sites.fe, be, srv; see named).
// Group g's numbers are at [g*len(cls.cols):] in sum and cnt and at
// [g*len(cls.times):] in tsum and tcnt.
//
//   - sum[c] adds cell c of every row of the group that comes from a reply
//     with column c, a missing or non-numeric cell counting as 0 (the
//     original's fillna(0));
//   - cnt[c] counts those rows: 0 means no reply had the column for this
//     group, and the metric is skipped rather than sent as 0;
//   - tsum and tcnt are the same restricted to rows with lbtot > 0, for
//     the traffic-only means: rtime, ctime, qtime and ttime are means
//     over the rows that served requests.
type table struct {
	cls       *class
	index     map[string]int32 // key → group
	keys      []string         // name; for servers, see serverKey
	px, sv    []string         // servers only: backend and server names
	sum, tsum []float64
	cnt, tcnt []uint32
	states    []uint16      // group g's processes in each State at [g*nStates:]; may be shorter than the groups
	checks    []healthCheck // servers: group g's last health check; may be shorter than the groups
	order     []int32       // groups sorted by name (servers: backend, then server), without the excluded ones
	all       []int32       // with exclude-server-states: every group, in that order (counted)
	live      []bool        // with exclude-server-states: group g had a row in a state not excluded
	x         *extras       // the columns outside the lists; nil unless Builder.All
}

func newTable(cls *class, hint int) *table {
	n, t := len(cls.cols), len(cls.times)
	return &table{
		cls:   cls,
		index: make(map[string]int32, hint),
		keys:  make([]string, 0, hint),
		sum:   make([]float64, 0, hint*n),
		cnt:   make([]uint32, 0, hint*n),
		tsum:  make([]float64, 0, hint*t),
		tcnt:  make([]uint32, 0, hint*t),
	}
}

func (t *table) len() int { return len(t.keys) }

// avgName is the mean length of the names of a group: key, or for
// servers both names.
func (t *table) avgName() int {
	if len(t.keys) == 0 {
		return 0
	}
	n := 0
	for _, k := range t.keys {
		n += len(k)
	}
	if t.px != nil {
		n -= 4 * len(t.keys) // the length prefix of serverKey
	}
	return n / len(t.keys)
}

// group returns the group of key, creating it if needed.
func (t *table) group(key []byte) int32 {
	if g, ok := t.index[string(key)]; ok {
		return g
	}
	return t.newGroup(string(key))
}

func (t *table) newGroup(k string) int32 {
	g := int32(len(t.keys))
	t.index[k] = g
	t.keys = append(t.keys, k)
	n, nt := len(t.cls.cols), len(t.cls.times)
	t.sum = append(t.sum, make([]float64, n)...)
	t.cnt = append(t.cnt, make([]uint32, n)...)
	t.tsum = append(t.tsum, make([]float64, nt)...)
	t.tcnt = append(t.tcnt, make([]uint32, nt)...)
	return g
}

// add accumulates one row: vals[c] is the cell of column c (0 if missing),
// has[c] whether the reply has column c at all.
func (t *table) add(g int32, vals []float64, has []bool, traffic bool) {
	n := len(t.cls.cols)
	sum, cnt := t.sum[int(g)*n:][:n], t.cnt[int(g)*n:][:n]
	for c, ok := range has {
		if ok {
			sum[c] += vals[c]
			cnt[c]++
		}
	}
	if traffic {
		nt := len(t.cls.times)
		tsum, tcnt := t.tsum[int(g)*nt:][:nt], t.tcnt[int(g)*nt:][:nt]
		for s, c := range t.cls.times {
			if has[c] {
				tsum[s] += vals[c]
				tcnt[s]++
			}
		}
	}
}

// serverKey is the map key of a (backend, server) pair: the backend
// name's length, then both names, so no two pairs share a key.
func serverKey(dst, px, sv []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(len(px)))
	dst = append(dst, px...)
	return append(dst, sv...)
}

// Sites is the combined content of the show stat replies of one snapshot:
// frontends, backends and servers, each grouped by sanitised name and
// summed across the HAProxy processes. It is read-only once built, so its
// methods may be called concurrently.
type Sites struct {
	// Files are the names of the replies that were used, in input order.
	Files []string
	// Rejected are the replies that were not used, in input order.
	Rejected []Rejection

	fe, be, srv *table    // by sanitised name, for the Graphite paths
	raw         [3]*table // frontends, backends, servers by the names HAProxy gives
	bySrvOnce   sync.Once
	bySrv       []int32 // srv's groups by server name alone (aggr-server-metrics)
	// absent[f] lists, per class, the columns that used reply f lacks.
	absent [][3][]string
}

// Rejection is a show stat reply that was skipped, and why.
type Rejection struct {
	Name string // the File's Name
	Err  error  // a *ParseError
}

func (r Rejection) String() string { return r.Name + ": " + r.Err.Error() }

// ParseStat checks and parses one show stat reply: a header line starting
// with "# ", then records with the header's number of fields. Columns are
// found by name, so extra or reordered columns (the "-" column of HAProxy
// 2.x and the module counters after it, for example) do not matter. An
// error is a *ParseError: the reply must then be ignored as a whole.
// The result is the same as ParseSites gives for this one reply.
func ParseStat(data []byte) (*Sites, error) {
	s, err := ParseSites([]File{{Name: "stat", Data: data}})
	if err != nil {
		return nil, s.Rejected[0].Err
	}
	return s, nil
}

// ParseSites parses the show stat replies of one snapshot and combines
// them, by name, across processes. A reply that is not a valid dump is skipped and
// listed in Rejected; the error is non-nil only when no reply is usable.
// A reply with a header and no rows is usable and contributes nothing.
//
// Rows with svname FRONTEND are frontends, BACKEND backends, and rows with
// type 2 servers (a row may be both, as in the original); other rows are
// ignored. Names are always treated as strings. The Graphite walks
// (WalkFrontends ...) see them sanitised ('.' → '_'), rows whose names
// become the same merged as the original merges them; the exposition
// walk (Expose) sees them as HAProxy gives them.
func ParseSites(stats []File) (*Sites, error) {
	var b Builder
	for _, f := range stats {
		b.addFile(f)
	}
	return b.Sites()
}

// A Builder combines show stat replies given one at a time, so that a
// caller may read each reply, add it and drop it before reading the
// next: only one reply need be in memory at a time. ParseSites is a
// Builder given every reply, and a Builder gives the same result. The
// zero value is ready to use; a Builder is not safe for concurrent use.
type Builder struct {
	// All, Natures and Log, set before the first Add, make the Sites also
	// hold the columns outside the original's lists: see ParseSitesAll.
	All     bool
	Natures *Natures
	Log     *slog.Logger
	// Only, when not nil, limits what All keeps to these columns.
	Only map[string]bool
	// ExcludeStates, when not nil, leaves out of the walks the servers
	// whose status (NormalizeState) is one of these on every reply that
	// has them (Options.ExcludeServerStates).
	ExcludeStates map[string]bool

	s       *Sites
	p       parser
	replies int
	win     []byte // the window Add reads replies through
	err     error  // a reply Add could not read: the Sites are incomplete
}

// Add checks one reply, the size bytes of src, and, if it is a valid
// dump, aggregates its rows. A reply that is not is listed in Rejected,
// contributes nothing, and its *ParseError is returned. A reply whose
// bytes are in memory in one piece (src has InMemory, as Bytes and a
// blob in memory have) is scanned in place; any other is read 64 KiB at
// a time, once to check it and once more to aggregate it, so that it is
// never all in memory. An error that is not a *ParseError is src's: the
// reply could not be read, or no longer has what it had when it was
// checked. The Builder then holds part of it, and Sites returns that
// error. Add keeps no reference to src.
func (b *Builder) Add(name string, src io.ReaderAt, size int64) error {
	if m, ok := src.(inMemory); ok {
		if data, ok := m.InMemory(); ok && int64(len(data)) == size {
			return b.add(name, func() (*stat, error) { return scanStat(data) })
		}
	}
	return b.add(name, func() (*stat, error) {
		st, err := scanFrom(src, size, b.win)
		var perr *ParseError
		if err != nil && !errors.As(err, &perr) {
			b.err = fmt.Errorf("%s: %w", name, err)
			return nil, b.err
		}
		return st, err
	})
}

// inMemory is a reply source that may hold its bytes in memory in one
// piece.
type inMemory interface {
	InMemory() ([]byte, bool)
}

// Bytes is a reply in memory, for Add.
type Bytes []byte

// ReadAt reads b from off.
func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// InMemory returns b.
func (b Bytes) InMemory() ([]byte, bool) { return b, true }

// addFile adds f, a reply in memory, with Add.
func (b *Builder) addFile(f File) error { return b.Add(f.Name, Bytes(f.Data), int64(len(f.Data))) }

// add aggregates the reply scan checks, named name.
func (b *Builder) add(name string, scan func() (*stat, error)) error {
	if b.err != nil {
		return b.err
	}
	b.replies++
	b.p.excludeStates = b.ExcludeStates
	if b.s == nil {
		b.s = &Sites{fe: newTable(frontendClass, 0), be: newTable(backendClass, 0)}
		if b.All {
			b.s.fe.x, b.s.be.x = b.newExtras(), b.newExtras()
			b.p.nat, b.p.log = b.Natures, b.Log
		}
	}
	s := b.s
	st, err := scan()
	if b.err != nil {
		return b.err
	}
	if err != nil {
		s.Rejected = append(s.Rejected, Rejection{Name: name, Err: err})
		return err
	}
	if s.srv == nil {
		s.srv = newTable(serverClass, st.rows)
		if b.All {
			s.srv.x = b.newExtras()
			s.srv.x.hint = st.rows
		}
	}
	s.Files = append(s.Files, name)
	absent, err := b.p.file(s, st)
	b.win = st.win
	var perr *ParseError
	if errors.As(err, &perr) { // read again, a checked reply no longer parses
		err = fmt.Errorf("%w: %v", errChanged, err)
	}
	if err != nil {
		b.err = fmt.Errorf("%s: %w", name, err)
		return b.err
	}
	s.absent = append(s.absent, absent)
	return nil
}

func (b *Builder) newExtras() *extras {
	x := newExtras()
	x.only = b.Only
	return x
}

// Sites returns the combination of the replies added, as ParseSites
// does: the error is non-nil only when no reply was usable. The Builder
// must not be used afterwards.
func (b *Builder) Sites() (*Sites, error) {
	s := b.s
	if s == nil {
		s = &Sites{fe: newTable(frontendClass, 0), be: newTable(backendClass, 0)}
	}
	if s.srv == nil {
		s.srv = newTable(serverClass, 0)
	}
	b.s = nil
	if b.err != nil {
		return nil, b.err
	}
	if len(s.Files) == 0 {
		errs := make([]error, 0, len(s.Rejected)+1)
		errs = append(errs, fmt.Errorf("no usable show stat reply among %d", b.replies))
		for _, r := range s.Rejected {
			errs = append(errs, errors.New(r.String()))
		}
		return s, errors.Join(errs...)
	}
	s.raw = [3]*table{s.fe, s.be, s.srv}
	for _, t := range s.raw {
		t.sortByName()
	}
	s.fe, s.be, s.srv = s.fe.named(), s.be.named(), s.srv.named()
	return s, nil
}

// parser holds the scratch space reused across replies and rows.
type parser struct {
	key, key2, key3 []byte
	vals            [3][]float64
	has             [3][]bool
	colmap          [3][]int
	xmap            [3][]xcell // extra columns of the reply, for tables with extras
	nat             *Natures
	log             *slog.Logger
	excludeStates   map[string]bool // Builder.ExcludeStates
	// stateExcluded remembers ExcludedState of each status string met:
	// a few distinct ones for thousands of rows, each normalised once.
	stateExcluded map[string]bool
}

// excludedState is ExcludedState(status, p.excludeStates), remembered.
func (p *parser) excludedState(status []byte) bool {
	if v, ok := p.stateExcluded[string(status)]; ok {
		return v
	}
	if p.stateExcluded == nil {
		p.stateExcluded = map[string]bool{}
	}
	v := ExcludedState(string(status), p.excludeStates)
	p.stateExcluded[string(status)] = v
	return v
}

// file aggregates the rows of one checked reply and returns, per class,
// the columns it lacks.
func (p *parser) file(s *Sites, st *stat) (absent [3][]string, err error) {
	classes := [3]*table{s.fe, s.be, s.srv}
	want := max(st.px, st.sv) + 1
	for k, t := range classes {
		cols := t.cls.cols
		p.colmap[k] = slices.Grow(p.colmap[k][:0], len(cols))[:len(cols)]
		p.vals[k] = slices.Grow(p.vals[k][:0], len(cols))[:len(cols)]
		p.has[k] = slices.Grow(p.has[k][:0], len(cols))[:len(cols)]
		for c, name := range cols {
			i := st.col(name)
			p.colmap[k][c] = i
			p.has[k][c] = i >= 0
			if i < 0 {
				absent[k] = append(absent[k], name)
			}
			want = max(want, i+1)
		}
		if t.x != nil {
			p.xmap[k] = t.x.plan(p.xmap[k][:0], st.cols, k, p.nat, p.log)
			for _, xc := range p.xmap[k] {
				want = max(want, xc.i+1)
			}
		}
	}
	typ, lbtot, status := st.col("type"), st.col("lbtot"), st.col("status")
	checkStatus, checkCode := st.col("check_status"), st.col("check_code")
	if checkCode < 0 {
		checkStatus = -1
	}
	want = max(want, typ+1, lbtot+1, status+1, checkStatus+1, checkCode+1)
	state := func(fields [][]byte) State {
		if status < 0 {
			return StateNone
		}
		return parseState(fields[status])
	}
	err = st.records(want, func(fields [][]byte) {
		px, sv := fields[st.px], fields[st.sv]
		isFe, isBe := string(sv) == "FRONTEND", string(sv) == "BACKEND"
		isSrv := false
		if typ >= 0 {
			v, ok := parseNum(fields[typ])
			isSrv = ok && v == 2
		}
		if !isFe && !isBe && !isSrv {
			return
		}
		traffic := false
		if lbtot >= 0 {
			v, _ := parseNum(fields[lbtot])
			traffic = v > 0
		}
		p.key = append(p.key[:0], px...)
		if isFe {
			s.fe.addState(p.row(s.fe, 0, p.key, fields, traffic), state(fields))
		}
		if isBe {
			s.be.addState(p.row(s.be, 1, p.key, fields, traffic), state(fields))
		}
		if isSrv {
			p.key3 = serverKey(p.key3, px, sv)
			n := s.srv.len()
			g := s.srv.group(p.key3)
			if int(g) == n { // new pair: both names are substrings of its key
				key := s.srv.keys[g]
				s.srv.px = append(s.srv.px, key[4:4+len(px)])
				s.srv.sv = append(s.srv.sv, key[4+len(px):])
			}
			p.fill(2, fields)
			s.srv.add(g, p.vals[2], p.has[2], traffic)
			p.extra(s.srv, 2, g, fields, traffic)
			s.srv.addState(g, state(fields))
			if p.excludeStates != nil {
				var st []byte
				if status >= 0 {
					st = fields[status]
				}
				s.srv.markExcluded(g, p.excludedState(st))
			}
			if checkStatus >= 0 {
				s.srv.addCheck(g, fields[checkStatus], fields[checkCode])
			}
		}
	})
	return absent, err
}

func (p *parser) row(t *table, k int, key []byte, fields [][]byte, traffic bool) int32 {
	g := t.group(key)
	p.fill(k, fields)
	t.add(g, p.vals[k], p.has[k], traffic)
	p.extra(t, k, g, fields, traffic)
	return g
}

// extra accumulates the extra columns of a row, when t keeps them.
func (p *parser) extra(t *table, k int, g int32, fields [][]byte, traffic bool) {
	if t.x == nil {
		return
	}
	for _, xc := range p.xmap[k] {
		if v, ok := parseNum(fields[xc.i]); ok {
			t.x.add(xc.c, g, v, traffic)
		}
	}
}

func (p *parser) fill(k int, fields [][]byte) {
	vals := p.vals[k]
	for c, i := range p.colmap[k] {
		if i >= 0 {
			vals[c], _ = parseNum(fields[i])
		}
	}
}

// sortByName sets t.order: the groups by name, servers by backend then
// server.
func (t *table) sortByName() {
	t.order = make([]int32, t.len())
	for i := range t.order {
		t.order[i] = int32(i)
	}
	if t.px == nil {
		slices.SortFunc(t.order, func(a, b int32) int { return strings.Compare(t.keys[a], t.keys[b]) })
	} else {
		slices.SortFunc(t.order, func(a, b int32) int {
			if c := strings.Compare(t.px[a], t.px[b]); c != 0 {
				return c
			}
			return strings.Compare(t.sv[a], t.sv[b])
		})
	}
	if t.live != nil { // exclude-server-states: walk only the live groups
		t.all = t.order
		t.order = slices.DeleteFunc(slices.Clone(t.all), t.excluded)
	}
}

// named returns t as the Graphite paths see it: every name sanitised,
// and the groups whose names become the same merged into one, as if
// their rows had been added to one group. Without such a collision,
// the common case, the view shares t's numbers and holds only its own
// names and order.
func (t *table) named() *table {
	v := *t
	n := t.len()
	if t.px == nil {
		v.keys = make([]string, n)
		for g, k := range t.keys {
			v.keys[g] = metric.Sanitize(k)
		}
	} else {
		v.px, v.sv = make([]string, n), make([]string, n)
		for g := range n {
			v.px[g], v.sv[g] = metric.Sanitize(t.px[g]), metric.Sanitize(t.sv[g])
		}
	}
	v.sortByName()
	same := func(a, b int32) bool {
		if v.px == nil {
			return v.keys[a] == v.keys[b]
		}
		return v.px[a] == v.px[b] && v.sv[a] == v.sv[b]
	}
	collide := false
	for i := 1; i < len(v.order) && !collide; i++ {
		collide = same(v.order[i-1], v.order[i])
	}
	if !collide {
		return &v
	}
	m := newTable(t.cls, n)
	m.x = t.x.like()
	for i, g := range v.order {
		if i == 0 || !same(v.order[i-1], g) {
			m.newGroup(v.keys[g]) // unique: a sanitised name, or a server's key
			if v.px != nil {
				m.px, m.sv = append(m.px, v.px[g]), append(m.sv, v.sv[g])
			}
		}
		m.mergeGroup(t, g, int32(m.len()-1))
	}
	m.sortByName()
	return m
}

// mergeGroup adds group g of src to group d of t, as if the rows of g
// had been added to d: its numbers (mergeNumbers), its states and its
// health check.
func (t *table) mergeGroup(src *table, g, d int32) {
	t.mergeNumbers(src, g, d)
	if base := int(g) * int(nStates); base < len(src.states) {
		for st := State(1); st < nStates; st++ {
			t.addStates(d, st, src.states[base+int(st)])
		}
	}
	if int(g) < len(src.checks) && src.checks[g].status != 0 {
		t.setCheck(d, src.checks[g])
	}
}

// mergeNumbers adds the sums, counts and extra columns of group g of src
// to group d of t.
func (t *table) mergeNumbers(src *table, g, d int32) {
	n, nt := len(t.cls.cols), len(t.cls.times)
	for k := range n {
		t.sum[int(d)*n+k] += src.sum[int(g)*n+k]
		t.cnt[int(d)*n+k] += src.cnt[int(g)*n+k]
	}
	for k := range nt {
		t.tsum[int(d)*nt+k] += src.tsum[int(g)*nt+k]
		t.tcnt[int(d)*nt+k] += src.tcnt[int(g)*nt+k]
	}
	t.x.merge(src.x, g, d)
}
