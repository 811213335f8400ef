package latency

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// atMostBound reports whether ms milliseconds are at most the upper bound
// of schema-3 bucket i, 2^(i/8) seconds, computed exactly in integers:
// (ms/1000)^8 <= 2^i.
func atMostBound(ms int64, i int32) bool {
	lhs := new(big.Int).Exp(big.NewInt(ms), big.NewInt(8), nil)
	rhs := new(big.Int).Exp(big.NewInt(1000), big.NewInt(8), nil)
	if i >= 0 {
		rhs.Lsh(rhs, uint(i))
	} else {
		lhs.Lsh(lhs, uint(-i))
	}
	return lhs.Cmp(rhs) <= 0
}

// inBucket reports whether ms is in bucket i: 2^((i-1)/8) < ms/1000 <= 2^(i/8).
func inBucket(ms int64, i int32) bool { return atMostBound(ms, i) && !atMostBound(ms, i-1) }

// At every bucket boundary from 16 ms to MaxMillis, the last whole
// millisecond of a bucket and the first of the next one get the right
// index, checked in exact integer arithmetic rather than in floating
// point; so does the upper bound Quantile clamps to.
func TestIndexBoundaries(t *testing.T) {
	for i := minIndex; i <= maxIndex; i++ {
		// The largest ms at most the bound: from the float estimate,
		// corrected exactly.
		m := int64(math.Floor(1000 * math.Exp2(float64(i)/perOctave)))
		for !atMostBound(m, i) {
			m--
		}
		for atMostBound(m+1, i) {
			m++
		}
		if m >= ExactBelow && m <= MaxMillis && index(m) != i {
			t.Errorf("index(%d) = %d, want %d (last ms of the bucket)", m, index(m), i)
		}
		if m+1 >= ExactBelow && m+1 <= MaxMillis && index(m+1) != i+1 {
			t.Errorf("index(%d) = %d, want %d (first ms of the next bucket)", m+1, index(m+1), i+1)
		}
		if got := int64(math.Floor(upper(i))); got != m {
			t.Errorf("floor(upper(%d)) = %d, want %d", i, got, m)
		}
	}
	// Every value of the table, and random ones above it.
	for ms := int64(ExactBelow); ms < int64(len(smallIndex))+100; ms++ {
		if i := index(ms); !inBucket(ms, i) {
			t.Errorf("index(%d) = %d, not its bucket", ms, i)
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		ms := int64(math.Exp(r.Float64()*math.Log(MaxMillis-ExactBelow))) + ExactBelow
		if i := index(ms); !inBucket(ms, i) {
			t.Errorf("index(%d) = %d, not its bucket", ms, i)
		}
	}
}
