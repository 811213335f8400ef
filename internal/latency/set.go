package latency

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// DefaultMaxSeries is the default bound of a Set: 100 000 histograms.
const DefaultMaxSeries = 100000

// MaxName is the longest proxy or server name a Set keeps, in bytes:
// longer than HAProxy's configurations have, short enough that a file
// line stays within what ReadFrom reads.
const MaxName = 4096

// Scope is the kind of object a histogram is about.
type Scope uint8

// The scopes, in the order Each gives them.
const (
	ScopeFrontend Scope = iota
	ScopeBackend
	ScopeServer
	numScopes
)

var scopeNames = [numScopes]string{"frontend", "backend", "server"}

// String returns "frontend", "backend" or "server".
func (s Scope) String() string {
	if s < numScopes {
		return scopeNames[s]
	}
	return "scope?"
}

// Object is what histograms are kept for: a frontend, a backend, or a
// server of a backend, by the names HAProxy logged.
type Object struct {
	Scope  Scope
	Proxy  string
	Server string // "" unless ScopeServer
}

// object is an Object's histograms, one per timer seen, and its counts
// of termination states.
type object struct {
	Object
	timers [NumTimers]*Histogram
	terms  []termCount
	// backend is a server's backend object, once Add found it: a line
	// of a known server costs two lookups, not three.
	backend *object
}

type termCount struct {
	state [2]byte
	n     uint64
}

// Set is the histograms of a stream of log lines: per object and timer,
// and the termination states per object. It holds at most max
// histograms (an object with none counts as one); the lines of objects
// past it are counted in SeriesDropped. A Set is not safe for concurrent
// use.
type Set struct {
	max     int
	series  int
	objects map[string]*object
	sorted  []*object // objects in Each's order; nil when one was added since
	dropped uint64
	used    bool   // something was counted since the last Reset
	key     []byte // Add's key buffer
}

// NewSet returns an empty Set that holds at most maxSeries histograms;
// maxSeries <= 0 means DefaultMaxSeries.
func NewSet(maxSeries int) *Set {
	if maxSeries <= 0 {
		maxSeries = DefaultMaxSeries
	}
	return &Set{max: maxSeries, objects: map[string]*object{}}
}

// nosrv is the server HAProxy logs for a request that reached none.
const nosrv = "<NOSRV>"

// Add counts one log line: its timers and termination state for its
// frontend (when it has one), its backend (when it has one) and its
// server (when it has a backend and a server other than "<NOSRV>"). Names
// are taken as they are, bytes for bytes. It allocates only for an
// object, a timer or a termination state it had not seen. A line without
// timers or termination state counts nothing. A new object that would
// pass the Set's bound, or whose name is longer than MaxName bytes, is not
// made: the line is counted in SeriesDropped instead, once per object.
func (s *Set) Add(l *Line) {
	if l.Has == 0 && !l.HasTerm {
		return
	}
	if len(l.Frontend) > 0 {
		s.record(s.lookup(ScopeFrontend, l.Frontend, nil, l), l)
	}
	if len(l.Backend) == 0 {
		return
	}
	var srv *object
	if len(l.Server) > 0 && string(l.Server) != nosrv {
		srv = s.lookup(ScopeServer, l.Backend, l.Server, l)
	}
	be := (*object)(nil)
	if srv != nil {
		be = srv.backend
	}
	if be == nil {
		be = s.lookup(ScopeBackend, l.Backend, nil, l)
		if srv != nil {
			srv.backend = be
		}
	}
	s.record(be, l)
	s.record(srv, l)
}

// keyOf is the map key of an object: its scope, the proxy's length
// (a uvarint), the proxy, the server. The length keeps names apart that
// a separator would not: names are any bytes, a NUL among them.
func keyOf[T string | []byte](b []byte, sc Scope, proxy, server T) []byte {
	b = append(b[:0], byte(sc))
	b = binary.AppendUvarint(b, uint64(len(proxy)))
	b = append(b, proxy...)
	return append(b, server...)
}

// lookup returns the object of sc, proxy and server, made for l if need
// be; nil when it cannot be (the line is then counted as dropped).
func (s *Set) lookup(sc Scope, proxy, server []byte, l *Line) *object {
	s.used = true
	s.key = keyOf(s.key, sc, proxy, server)
	if o := s.objects[string(s.key)]; o != nil {
		return o
	}
	return newObject(s, sc, proxy, server, bits.OnesCount8(l.Has))
}

// record counts l in o (nothing when o is nil).
func (s *Set) record(o *object, l *Line) {
	if o == nil {
		return
	}
	dropped := false
	for t := range NumTimers {
		if l.Has&(1<<t) == 0 {
			continue
		}
		h := o.timers[t]
		if h == nil {
			if h = s.newHistogram(o, t); h == nil {
				dropped = true
				continue
			}
		}
		h.Observe(l.Timers[t])
	}
	if dropped {
		s.dropped++
	}
	if l.HasTerm {
		o.count(termState(l.Term), 1)
	}
}

// newObject makes the object of s.key, which keyOf made of sc, proxy
// and server, unless the histograms it needs (at least one) would pass
// the bound or a name is too long: then the line is dropped, without
// allocating. An object counts as one histogram until it has one.
func newObject[T string | []byte](s *Set, sc Scope, proxy, server T, need int) *object {
	if s.series+max(need, 1) > s.max || len(proxy) > MaxName || len(server) > MaxName {
		s.dropped++
		return nil
	}
	o := &object{Object: Object{Scope: sc, Proxy: string(proxy), Server: string(server)}}
	s.objects[string(s.key)] = o
	s.sorted = nil
	s.series++
	return o
}

// newHistogram makes o's histogram of timer t, unless the bound is
// reached. An object's first histogram takes the room the object held.
func (s *Set) newHistogram(o *object, t Timer) *Histogram {
	if slices.ContainsFunc(o.timers[:], func(h *Histogram) bool { return h != nil }) {
		if s.series+1 > s.max {
			return nil
		}
		s.series++
	}
	o.timers[t] = new(Histogram)
	return o.timers[t]
}

// termState is the first two characters of a termination state: bytes
// that are not printable ASCII (space excluded) make "??".
func termState(b [2]byte) [2]byte {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return [2]byte{'?', '?'}
		}
	}
	return b
}

func (o *object) count(state [2]byte, n uint64) {
	for i := range o.terms {
		if o.terms[i].state == state {
			o.terms[i].n = addSat(o.terms[i].n, n)
			return
		}
	}
	o.terms = append(o.terms, termCount{state, n})
}

// SeriesDropped is how many times a line was not counted for an object
// because the Set held its bound of histograms, since the last Reset.
func (s *Set) SeriesDropped() uint64 { return s.dropped }

// Series is how many histograms the Set holds (an object without any
// counting as one).
func (s *Set) Series() int { return s.series }

// Empty reports whether nothing was counted since the last Reset.
func (s *Set) Empty() bool { return !s.used }

// Reset empties every histogram and count, keeping the objects and the
// room they hold: a set that is filled again by the same objects does
// not allocate.
func (s *Set) Reset() {
	for _, o := range s.objects {
		for _, h := range o.timers {
			if h != nil {
				h.Reset()
			}
		}
		for i := range o.terms {
			o.terms[i].n = 0
		}
	}
	s.dropped, s.used = 0, false
}

// Merge adds o to s, exactly, within s's bound: each histogram or
// termination count of an object s cannot make room for is counted once
// in SeriesDropped, as are o's own drops. Counts saturate at 2^64-1
// rather than wrap.
func (s *Set) Merge(o *Set) {
	for _, ob := range o.ordered() {
		for t, h := range ob.timers {
			if h != nil && h.count+h.aborted > 0 {
				s.mergeHistogram(ob.Object, Timer(t), h)
			}
		}
		for _, tc := range ob.terms {
			if tc.n > 0 {
				s.mergeTerm(ob.Object, tc.state, tc.n)
			}
		}
	}
	if o.dropped > 0 {
		s.dropped, s.used = addSat(s.dropped, o.dropped), true
	}
}

// find returns the object of ob, made if need be (nil past the bound).
func (s *Set) find(ob Object, timers int) *object {
	s.key = keyOf(s.key, ob.Scope, ob.Proxy, ob.Server)
	if o := s.objects[string(s.key)]; o != nil {
		return o
	}
	return newObject(s, ob.Scope, ob.Proxy, ob.Server, timers)
}

func (s *Set) mergeHistogram(ob Object, t Timer, h *Histogram) {
	s.used = true
	o := s.find(ob, 1)
	if o == nil {
		return
	}
	dst := o.timers[t]
	if dst == nil {
		if dst = s.newHistogram(o, t); dst == nil {
			s.dropped++
			return
		}
	}
	dst.Merge(h)
}

func (s *Set) mergeTerm(ob Object, state [2]byte, n uint64) {
	s.used = true
	if o := s.find(ob, 0); o != nil {
		o.count(termState(state), n)
	}
}

// ordered returns the objects sorted by scope, proxy and server.
func (s *Set) ordered() []*object {
	if s.sorted == nil && len(s.objects) > 0 {
		s.sorted = make([]*object, 0, len(s.objects))
		for _, o := range s.objects {
			s.sorted = append(s.sorted, o)
		}
		slices.SortFunc(s.sorted, func(a, b *object) int {
			if a.Scope != b.Scope {
				return int(a.Scope) - int(b.Scope)
			}
			if c := strings.Compare(a.Proxy, b.Proxy); c != 0 {
				return c
			}
			return strings.Compare(a.Server, b.Server)
		})
	}
	return s.sorted
}

// Each calls fn with every histogram that counted something, objects in
// order (scope, proxy, server), each object's timers in their order.
// fn must not change s.
func (s *Set) Each(fn func(o Object, t Timer, h *Histogram)) {
	for _, o := range s.ordered() {
		for t, h := range o.timers {
			if h != nil && h.count+h.aborted > 0 {
				fn(o.Object, Timer(t), h)
			}
		}
	}
}

// EachTermination calls fn with every termination state counted, objects
// in Each's order, states in byte order.
func (s *Set) EachTermination(fn func(o Object, state string, n uint64)) {
	var terms []termCount
	for _, o := range s.ordered() {
		terms = append(terms[:0], o.terms...)
		slices.SortFunc(terms, func(a, b termCount) int { return strings.Compare(string(a.state[:]), string(b.state[:])) })
		for _, tc := range terms {
			if tc.n > 0 {
				fn(o.Object, string(tc.state[:]), tc.n)
			}
		}
	}
}
