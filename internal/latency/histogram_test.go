package latency

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// distributions draw whole milliseconds the way HAProxy's timers spread.
var distributions = map[string]func(r *rand.Rand) int64{
	"uniform 0-100":  func(r *rand.Rand) int64 { return r.Int64N(101) },
	"uniform 0-5000": func(r *rand.Rand) int64 { return r.Int64N(5001) },
	"lognormal":      func(r *rand.Rand) int64 { return int64(math.Exp(3 + 1.5*r.NormFloat64())) },
	"bimodal": func(r *rand.Rand) int64 {
		if r.IntN(10) == 0 {
			return 800 + r.Int64N(400)
		}
		return r.Int64N(20)
	},
	"heavy tail": func(r *rand.Rand) int64 { return int64(5 / math.Pow(r.Float64()+1e-9, 1.2)) },
	"wide":       func(r *rand.Rand) int64 { return int64(math.Exp(r.Float64() * math.Log(1e7))) },
	"below 16":   func(r *rand.Rand) int64 { return r.Int64N(16) },
}

// nearestRank is the exact q-quantile of sorted values.
func nearestRank(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Every quantile is within 4.5 % of the exact nearest-rank one, and
// exact below 16 ms; max, count, sum and mean are exact.
func TestQuantileAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	qs := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1}
	checked := 0
	for name, draw := range distributions {
		for _, n := range []int{1, 2, 7, 100, 1000, 20000} {
			var h Histogram
			vs := make([]int64, n)
			var sum int64
			for i := range vs {
				vs[i] = draw(r)
				sum += vs[i]
				h.Observe(vs[i])
			}
			slices.Sort(vs)
			if h.Count() != uint64(n) || h.Max() != vs[n-1] || h.Sum() != uint64(sum) || h.Mean() != float64(sum)/float64(n) {
				t.Errorf("%s n=%d: count %d max %d sum %d mean %v", name, n, h.Count(), h.Max(), h.Sum(), h.Mean())
			}
			for _, q := range qs {
				want := nearestRank(vs, q)
				got := h.Quantile(q)
				ok := math.Abs(got-float64(want)) <= 0.045*float64(want)
				if want < ExactBelow {
					ok = got == float64(want)
				}
				if !ok {
					t.Errorf("%s n=%d q=%v: %v, exact %d (%.2f %%)", name, n, q, got, want, 100*(got-float64(want))/float64(want))
				}
				checked++
			}
		}
	}
	t.Logf("%d quantiles checked", checked)
}

func TestAbortedAndClamped(t *testing.T) {
	var h Histogram
	h.Observe(-1)
	h.Observe(-1)
	if h.Count() != 0 || h.Aborted() != 2 || h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Errorf("aborted only: count %d aborted %d q %v", h.Count(), h.Aborted(), h.Quantile(0.5))
	}
	h.Observe(math.MaxInt64)
	if h.Max() != MaxMillis || h.Sum() != MaxMillis || len(h.counts) != 1 {
		t.Errorf("2^63 counted as %d (sum %d, %d slots)", h.Max(), h.Sum(), len(h.counts))
	}
	big := Histogram{count: 1, sum: math.MaxUint64 - 5, max: MaxMillis}
	h.Merge(&big)
	if h.Sum() != math.MaxUint64 {
		t.Errorf("sum %d, want saturated", h.Sum())
	}
}

// bucketOf is index computed another way: ⌈8 log2(v)⌉, v in seconds.
func bucketOf(ms int64) int32 {
	return int32(math.Ceil(8*math.Log2(float64(ms)/1000) - 1e-9))
}

// The native form holds every value in its schema-3 bucket, 0 in the
// zero bucket; the classic buckets' counts are exact.
func TestNativeAndClassic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for name, draw := range distributions {
		var h Histogram
		want := map[int32]uint64{}
		var zero uint64
		var vs []int64
		for range 5000 {
			v := min(draw(r), MaxMillis)
			h.Observe(v)
			vs = append(vs, v)
			if v == 0 {
				zero++
			} else {
				want[bucketOf(v)]++
			}
		}
		n := h.Native()
		if n.Schema != 3 || n.ZeroCount != zero || n.Count != 5000 || n.ZeroThreshold <= 0 {
			t.Errorf("%s: native %+v", name, n)
		}
		got := map[int32]uint64{}
		idx, count := int32(0), int64(0)
		k := 0
		for si, sp := range n.Spans {
			if si == 0 {
				idx = sp.Offset
			} else {
				idx += sp.Offset
			}
			for range sp.Length {
				count += n.Deltas[k]
				k++
				got[idx] = uint64(count)
				idx++
			}
		}
		if k != len(n.Deltas) {
			t.Errorf("%s: spans cover %d deltas of %d", name, k, len(n.Deltas))
		}
		for i, c := range got {
			if c == 0 {
				delete(got, i)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d native buckets, want %d", name, len(got), len(want))
		}
		for i, c := range want {
			if got[i] != c {
				t.Errorf("%s: native bucket %d = %d, want %d", name, i, got[i], c)
			}
		}
		cl := h.Classic(nil)
		if len(cl) != len(ClassicBounds)+1 || cl[len(cl)-1] != 5000 {
			t.Fatalf("%s: classic %v", name, cl)
		}
		for k, b := range ClassicBounds {
			var c uint64
			for _, v := range vs {
				if float64(v)/1000 <= b {
					c++
				}
			}
			if cl[k] != c {
				t.Errorf("%s: classic le=%v: %d, want %d", name, b, cl[k], c)
			}
		}
	}
}

// A stream cut into random parts, each part a histogram, merged in any
// order, is the stream's histogram: merging is exact.
func TestMergeParts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for name, draw := range distributions {
		var whole Histogram
		vs := make([]int64, 3000)
		for i := range vs {
			vs[i] = draw(r)
			if r.IntN(20) == 0 {
				vs[i] = -1
			}
			whole.Observe(vs[i])
		}
		parts := make([]Histogram, 1+r.IntN(20))
		for _, v := range vs {
			parts[r.IntN(len(parts))].Observe(v)
		}
		var merged Histogram
		for _, i := range r.Perm(len(parts)) {
			merged.Merge(&parts[i])
		}
		if !sameHistogram(&whole, &merged) {
			t.Errorf("%s: %d parts merged differ from the whole", name, len(parts))
		}
		// A random tree: any two, merged, until one is left.
		tree := make([]*Histogram, len(parts))
		for i := range parts {
			tree[i] = &parts[i]
		}
		for len(tree) > 1 {
			i, j := r.IntN(len(tree)), r.IntN(len(tree)-1)
			if j >= i {
				j++
			}
			tree[i].Merge(tree[j])
			tree = slices.Delete(tree, j, j+1)
		}
		if !sameHistogram(&whole, tree[0]) {
			t.Errorf("%s: %d parts merged as a tree differ from the whole", name, len(parts))
		}
	}
}

// sameHistogram compares two histograms count for count, whatever room
// their buckets have.
func sameHistogram(a, b *Histogram) bool {
	if a.count != b.count || a.aborted != b.aborted || a.sum != b.sum || a.max != b.max {
		return false
	}
	alo, ahi, aok := a.span()
	blo, bhi, bok := b.span()
	if aok != bok || alo != blo || ahi != bhi {
		return false
	}
	return !aok || slices.Equal(a.counts[alo-a.offset:ahi-a.offset+1], b.counts[blo-b.offset:bhi-b.offset+1])
}

func BenchmarkObserve(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vs := make([]int64, 4096)
	for i := range vs {
		vs[i] = int64(math.Exp(3 + 1.5*r.NormFloat64()))
	}
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Observe(vs[i&4095])
	}
}

func BenchmarkQuantile(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var h Histogram
	for range 100000 {
		h.Observe(int64(math.Exp(3 + 1.5*r.NormFloat64())))
	}
	b.ReportAllocs()
	for b.Loop() {
		h.Quantile(0.99)
	}
}

// randomDistribution draws a distribution of whole milliseconds in 0 to
// 10^7 with random parameters: uniform, lognormal, a mix of two,
// Pareto, or a few values repeated.
func randomDistribution(r *rand.Rand) (string, func(r *rand.Rand) int64) {
	clamp := func(v float64) int64 { return int64(min(max(v, 0), 1e7)) }
	lognormal := func() func(r *rand.Rand) int64 {
		mu, sigma := r.Float64()*14, 0.05+r.Float64()*3
		return func(r *rand.Rand) int64 { return clamp(math.Exp(mu + sigma*r.NormFloat64())) }
	}
	switch r.IntN(5) {
	case 0:
		a := r.Int64N(1e7)
		b := a + r.Int64N(1e7-a+1)
		return "uniform", func(r *rand.Rand) int64 { return a + r.Int64N(b-a+1) }
	case 1:
		return "lognormal", lognormal()
	case 2:
		d1, d2, p := lognormal(), lognormal(), r.Float64()
		return "bimodal", func(r *rand.Rand) int64 {
			if r.Float64() < p {
				return d1(r)
			}
			return d2(r)
		}
	case 3:
		scale, alpha := 1+r.Float64()*100, 0.3+r.Float64()*2
		return "pareto", func(r *rand.Rand) int64 { return clamp(scale / math.Pow(1-r.Float64(), 1/alpha)) }
	default:
		vs := make([]int64, 1+r.IntN(4))
		for i := range vs {
			vs[i] = clamp(math.Exp(r.Float64() * math.Log(1e7)))
		}
		return "repeated", func(r *rand.Rand) int64 { return vs[r.IntN(len(vs))] }
	}
}

// The accuracy bound holds over many random distributions, sizes and
// quantiles, against the exact nearest rank of the sorted values.
func TestQuantileProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	worst := 0.0
	for range 400 {
		name, draw := randomDistribution(r)
		n := 1 + r.IntN(3000)
		var h Histogram
		vs := make([]int64, n)
		for i := range vs {
			vs[i] = draw(r)
			h.Observe(vs[i])
		}
		slices.Sort(vs)
		for range 50 {
			q := r.Float64()
			if r.IntN(5) == 0 {
				q = []float64{0, 0.5, 0.9, 0.99, 0.999, 1}[r.IntN(6)]
			}
			want := float64(nearestRank(vs, q))
			got := h.Quantile(q)
			if want < ExactBelow && got != want {
				t.Fatalf("%s n=%d q=%v: %v, want exactly %v", name, n, q, got, want)
			}
			if e := math.Abs(got-want) / max(want, 1); e > worst {
				worst = e
			}
			if math.Abs(got-want) > 0.045*want {
				t.Fatalf("%s n=%d q=%v: %v, exact %v (%.2f %%)", name, n, q, got, want, 100*(got-want)/want)
			}
		}
	}
	t.Logf("worst relative error %.3f %%", 100*worst)
}

// A q out of range is taken as the nearest bound.
func TestQuantileOutOfRange(t *testing.T) {
	var h Histogram
	for _, v := range []int64{3, 40, 500} {
		h.Observe(v)
	}
	f := func(q, want float64) {
		t.Helper()
		if got := h.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	f(-1, 3)
	f(math.NaN(), 3)
	f(math.Inf(-1), 3)
	f(0, 3)
	f(1, 500)
	f(2, 500)
	f(math.Inf(1), 500)
}
