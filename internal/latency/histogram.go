package latency

import "math"

// ExactBelow is the first millisecond value counted in a bucket: 0 to
// ExactBelow-1 ms each have a slot of their own, so their percentiles
// are exact.
const ExactBelow = 16

// MaxMillis is the largest value a histogram counts (about 35 years): a
// larger one is counted as MaxMillis, so that a hostile timer cannot
// make the bucket range grow without bound.
const MaxMillis = 1 << 40

// Schema is the Prometheus native histogram schema of the buckets: 2^3
// buckets per power of two, each 2^(1/8) = 9.05 % wider than the one
// below.
const Schema = 3

const perOctave = 1 << Schema

// The bucket indexes a histogram can hold: those of ExactBelow ms and of
// MaxMillis, in seconds.
var (
	minIndex = index(ExactBelow)
	maxIndex = index(MaxMillis)
)

// ZeroThreshold is the native histograms' zero bucket width, client_golang's
// default: 0 ms is counted there.
const ZeroThreshold = 0x1p-128

// bounds are the upper bounds of the buckets of one octave, as
// fractions of math.Frexp: 2^(j/8 - 1) for j = 0 ... 7.
var bounds = func() [perOctave]float64 {
	var b [perOctave]float64
	for j := range b {
		b[j] = math.Exp2(float64(j)/perOctave - 1)
	}
	return b
}()

// index is the schema-3 bucket of ms milliseconds taken as seconds: the
// bucket i holds the values v with 2^((i-1)/8) < v <= 2^(i/8), as
// Prometheus' native histograms have it. ms must be above 0.
func index(ms int64) int32 {
	if ms < int64(len(smallIndex)) {
		return int32(smallIndex[ms])
	}
	return indexOf(ms)
}

func indexOf(ms int64) int32 {
	frac, exp := math.Frexp(float64(ms) / 1000)
	j := 0
	for j < perOctave && bounds[j] < frac { // the first bound >= frac
		j++
	}
	return int32(j) + int32(exp-1)*perOctave
}

// smallIndex is index of the milliseconds below 4096 (4 s), where most
// of HAProxy's timers are.
var smallIndex = func() (t [4096]int16) {
	for ms := 1; ms < len(t); ms++ {
		t[ms] = int16(indexOf(int64(ms)))
	}
	return t
}()

// upper is the upper bound of bucket i, in milliseconds.
func upper(i int32) float64 { return 1000 * math.Exp2(float64(i)/perOctave) }

// Histogram counts one timer's values in whole milliseconds: 0 to 15
// exactly, the others in schema-3 buckets. Both are slots of one index
// space (slot ms for the exact ones, then one slot per bucket from the
// bucket of ExactBelow on), of which a histogram keeps the dense run
// from offset that covers the values seen: a timer that is always 0 ms
// keeps one count. The zero value is empty and ready to use.
//
// Counts are uint64: a Set merged across a fleet and kept since a
// daemon started passes 2^32 in a few days at HAProxy's rates, and a
// histogram of a realistic spread holds a few dozen slots, so the
// memory is that of the slots seen rather than of their width. Merge
// saturates rather than wraps.
//
// A Histogram is not safe for concurrent use.
type Histogram struct {
	offset  int32    // the slot of counts[0]
	counts  []uint64 // empty: nothing counted
	count   uint64   // values counted
	aborted uint64   // -1 timers
	sum     uint64   // of the values counted, saturating
	max     int64
}

// firstBucketSlot is the slot of bucket minIndex.
const firstBucketSlot = ExactBelow

// slotOf is the slot of ms ≥ 0.
func slotOf(ms int64) int32 {
	if ms < ExactBelow {
		return int32(ms)
	}
	return firstBucketSlot + index(ms) - minIndex
}

// bucketOfSlot is the bucket index of a slot ≥ firstBucketSlot.
func bucketOfSlot(k int32) int32 { return k - firstBucketSlot + minIndex }

// Observe counts ms: below 0 (HAProxy's -1, aborted) in Aborted, above
// MaxMillis as MaxMillis.
func (h *Histogram) Observe(ms int64) {
	if ms < 0 {
		h.aborted++
		return
	}
	ms = min(ms, MaxMillis)
	h.count++
	h.sum = addSat(h.sum, uint64(ms))
	h.max = max(h.max, ms)
	k := slotOf(ms)
	h.cover(k, k)
	h.counts[k-h.offset]++
}

// cover grows the counts to hold the slots lo to hi.
func (h *Histogram) cover(lo, hi int32) {
	if len(h.counts) == 0 {
		h.offset = lo
		h.counts = growTo(h.counts[:0], int(hi-lo+1))
		return
	}
	if lo < h.offset {
		n := int(h.offset - lo)
		h.counts = growTo(h.counts, len(h.counts)+n)
		copy(h.counts[n:], h.counts)
		clear(h.counts[:n])
		h.offset = lo
	}
	if end := hi - h.offset + 1; int(end) > len(h.counts) {
		h.counts = growTo(h.counts, int(end))
	}
}

// growTo returns b extended with zeros to length n.
func growTo(b []uint64, n int) []uint64 {
	if n <= cap(b) {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]uint64, n, n+2)
	copy(nb, b)
	return nb
}

func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxUint64
}

// Merge adds o's counts to h: merging is exact, in any order.
func (h *Histogram) Merge(o *Histogram) {
	if lo, hi, ok := o.span(); ok {
		h.cover(lo, hi)
		for k := lo; k <= hi; k++ {
			if c := o.counts[k-o.offset]; c > 0 {
				h.counts[k-h.offset] = addSat(h.counts[k-h.offset], c)
			}
		}
	}
	h.count = addSat(h.count, o.count)
	h.aborted = addSat(h.aborted, o.aborted)
	h.sum = addSat(h.sum, o.sum)
	h.max = max(h.max, o.max)
}

// span returns h's first and last slots that counted something.
func (h *Histogram) span() (lo, hi int32, ok bool) {
	first, last := -1, -1
	for i, c := range h.counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0, 0, false
	}
	return h.offset + int32(first), h.offset + int32(last), true
}

// slot returns the count of slot k.
func (h *Histogram) slot(k int32) uint64 {
	if i := k - h.offset; i >= 0 && int(i) < len(h.counts) {
		return h.counts[i]
	}
	return 0
}

// Reset empties h, keeping the room its counts have.
func (h *Histogram) Reset() {
	*h = Histogram{counts: h.counts[:0]}
}

// Count is how many values were counted (aborted ones not).
func (h *Histogram) Count() uint64 { return h.count }

// Aborted is how many -1 timers were seen.
func (h *Histogram) Aborted() uint64 { return h.aborted }

// Sum is the sum of the values counted, in ms (saturating).
func (h *Histogram) Sum() uint64 { return h.sum }

// Max is the largest value counted, exact; 0 when none was.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the mean of the values counted, in ms; 0 when none was.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.count)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the values counted, in
// ms, by nearest rank: the value of rank ⌈q × n⌉ (at least 1). In an
// exact slot it is exact; in a bucket (l, u] it is the bucket's
// geometric middle, kept within the whole milliseconds the bucket holds
// and at most Max: within 4.5 % of the value of that rank. The last rank
// is Max, exactly. 0 when nothing was counted. A q below 0 (or NaN) is
// taken as 0, one above 1 as 1.
func (h *Histogram) Quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	// A q outside [0, 1], or NaN, is taken as the bound it is nearest
	// (NaN as 0): converting it to an integer unchecked is not defined.
	rank := uint64(1)
	if q >= 1 {
		rank = h.count
	} else if q > 0 {
		rank = min(max(uint64(math.Ceil(q*float64(h.count))), 1), h.count)
	}
	if rank == h.count {
		return float64(h.max)
	}
	var cum uint64
	for j, c := range h.counts {
		if cum += c; cum < rank {
			continue
		}
		k := h.offset + int32(j)
		if k < firstBucketSlot {
			return float64(k)
		}
		i := bucketOfSlot(k)
		lo, hi := upper(i-1), upper(i)
		g := math.Sqrt(lo * hi)
		g = min(max(g, math.Floor(lo)+1, ExactBelow), math.Floor(hi))
		return min(g, float64(h.max))
	}
	return float64(h.max) // counts that do not add up: not from Observe or ReadFrom
}

// Span is a run of consecutive native buckets: Offset buckets after the
// previous span's end (the first span's is the index of its first
// bucket), Length buckets long.
type Span struct {
	Offset int32
	Length uint32
}

// Native is a histogram as Prometheus' native histograms have it, in
// seconds: schema 3, 0 ms in the zero bucket, every other value in its
// bucket (the exact slots folded into theirs); positive buckets as spans
// and deltas (the first count, then each count's difference to the one
// before).
type Native struct {
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Count         uint64
	Sum           float64 // seconds
	Spans         []Span
	Deltas        []int64
}

// Native returns h as a native histogram.
func (h *Histogram) Native() Native {
	n := Native{Schema: Schema, ZeroThreshold: ZeroThreshold, ZeroCount: h.slot(0), Count: h.count, Sum: float64(h.sum) / 1000}
	prevIdx, prevCount := int32(0), int64(0)
	add := func(i int32, c uint64) {
		if c == 0 {
			return
		}
		switch {
		case len(n.Spans) == 0:
			n.Spans = append(n.Spans, Span{Offset: i, Length: 1})
		case i == prevIdx+1:
			n.Spans[len(n.Spans)-1].Length++
		default:
			n.Spans = append(n.Spans, Span{Offset: i - prevIdx - 1, Length: 1})
		}
		n.Deltas = append(n.Deltas, int64(c)-prevCount)
		prevIdx, prevCount = i, int64(c)
	}
	// The exact slots, each in its bucket (those below 16 ms are all
	// below the bucket of 16 ms), then the buckets.
	var pending uint64
	pendingIdx := int32(math.MinInt32)
	for ms := int64(1); ms < ExactBelow; ms++ {
		i := index(ms)
		if i != pendingIdx {
			add(pendingIdx, pending)
			pending, pendingIdx = 0, i
		}
		pending += h.slot(int32(ms))
	}
	add(pendingIdx, pending)
	for j, c := range h.counts {
		if k := h.offset + int32(j); k >= firstBucketSlot {
			add(bucketOfSlot(k), c)
		}
	}
	return n
}

// ClassicBounds are the upper bounds (le), in seconds, of the classic
// buckets of Classic, +Inf left out. The counts they give are exact:
// those below 16 ms fall between whole milliseconds, and those from
// 0.015625 up are powers of two, bounds of the schema-3 buckets.
// Callers must not change it: Classic's counts follow a table made from it.
var ClassicBounds = []float64{0.001, 0.002, 0.005, 0.01, 0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}

// classicIndex is, for each of ClassicBounds, the last exact slot it
// takes in (below 16 ms), or the schema-3 index it is the upper bound
// of, as an exact slot of ExactBelow.
var classicIndex = func() []int32 {
	out := make([]int32, len(ClassicBounds))
	for k, b := range ClassicBounds {
		if b*1000 < ExactBelow {
			out[k] = int32(math.Floor(b*1000 + 1e-9))
			continue
		}
		i := math.Log2(b) * perOctave
		if i != math.Round(i) {
			panic("BUG: latency: classic bound is not a schema-3 bound")
		}
		out[k] = int32(i)
	}
	return out
}()

// Classic appends to dst the cumulative counts of ClassicBounds, then
// Count (+Inf).
func (h *Histogram) Classic(dst []uint64) []uint64 {
	for k := range ClassicBounds {
		last := classicIndex[k] // an exact slot
		if ClassicBounds[k]*1000 >= ExactBelow {
			last = firstBucketSlot + classicIndex[k] - minIndex
		}
		var c uint64
		for j, n := range h.counts {
			if h.offset+int32(j) <= last {
				c += n
			}
		}
		dst = append(dst, c)
	}
	return append(dst, h.count)
}
