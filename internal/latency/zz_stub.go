package latency

import "io"

// STUB until lat-hist is merged.
type Histogram struct{ n uint64 }

func (h *Histogram) Count() uint64              { return h.n }
func (h *Histogram) Aborted() uint64            { return 0 }
func (h *Histogram) Sum() uint64                { return 0 }
func (h *Histogram) Max() int64                 { return 0 }
func (h *Histogram) Mean() float64              { return 0 }
func (h *Histogram) Quantile(q float64) float64 { return 0 }
func (h *Histogram) Native() Native             { return Native{} }
func (h *Histogram) Classic(dst []uint64) []uint64 { return dst }

var ClassicBounds = []float64{0.001, 0.002, 0.005, 0.01, 0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}

type Native struct {
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Count         uint64
	Sum           float64
	Spans         []Span
	Deltas        []int64
}
type Span struct {
	Offset int32
	Length uint32
}
type Scope uint8

const (
	ScopeFrontend Scope = iota
	ScopeBackend
	ScopeServer
)

func (s Scope) String() string { return [...]string{"frontend", "backend", "server"}[s] }

type Object struct {
	Scope         Scope
	Proxy, Server string
}
type Set struct{}

const DefaultMaxSeries = 100000

func NewSet(maxSeries int) *Set                                       { return &Set{} }
func (s *Set) Add(l *Line)                                            {}
func (s *Set) SeriesDropped() uint64                                  { return 0 }
func (s *Set) Merge(o *Set)                                           {}
func (s *Set) Reset()                                                 {}
func (s *Set) Empty() bool                                            { return true }
func (s *Set) Series() int                                            { return 0 }
func (s *Set) Each(fn func(o Object, t Timer, h *Histogram))          {}
func (s *Set) EachTermination(fn func(o Object, state string, n uint64)) {}
func (s *Set) WriteTo(w io.Writer) (int64, error)                     { return 0, nil }
func (s *Set) ReadFrom(r io.Reader) (int64, error)                    { return 0, nil }
