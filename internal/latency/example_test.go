package latency_test

import (
	"fmt"
	"os"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

func ExampleSet_WriteTo() {
	s := latency.NewSet(0)
	var l latency.Line
	for _, tr := range []int64{0, 3, 3, 12, 17, 20, 95, 240, -1} {
		l.Reset()
		l.Frontend, l.Backend, l.Server = append(l.Frontend, "www"...), append(l.Backend, "app 1"...), append(l.Server, "s1"...)
		l.Set(latency.Tr, tr)
		l.Term, l.HasTerm = [2]byte{'-', '-'}, true
		if tr < 0 {
			l.Term = [2]byte{'C', 'D'}
		}
		s.Add(&l)
	}
	if _, err := s.WriteTo(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// haproxystats-latency 1
	// dropped 0
	// h frontend www - Tr 8 390 240 1 1,0,0,2,0,0,0,0,0,0,0,0,1 -47 1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1
	// h backend app%201 - Tr 8 390 240 1 1,0,0,2,0,0,0,0,0,0,0,0,1 -47 1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1
	// h server app%201 s1 Tr 8 390 240 1 1,0,0,2,0,0,0,0,0,0,0,0,1 -47 1,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1
	// t frontend www - -- 8
	// t frontend www - CD 1
	// t backend app%201 - -- 8
	// t backend app%201 - CD 1
	// t server app%201 s1 -- 8
	// t server app%201 s1 CD 1
}

func ExampleHistogram_Quantile() {
	var h latency.Histogram
	for ms := range int64(1000) {
		h.Observe(ms)
	}
	// Exact below 16 ms, the geometric middle of a bucket above (the
	// exact values are 9, 499 and 989), the maximum at 1.
	fmt.Println(h.Quantile(0.01), h.Quantile(0.5), h.Quantile(0.99), h.Quantile(1))
	// Output:
	// 9 478.8016403492868 957.6032806985736 999
}
