package prometheus

import (
	"context"
	"io"
	"runtime"
	"testing"
)

// BenchmarkExpose builds the exposition of 10 000 servers (100 backends
// of 100, two processes) as a worker does for each snapshot, and
// reports the heap it keeps.
func BenchmarkExpose(b *testing.B) {
	x := bigExposition(b, 100, 100, ts13)
	s := New("bench", "", discard)
	for i := 0; b.Loop(); i++ {
		x.Time = ts13 + int64(i) + 1
		s.Expose(context.Background(), x)
	}
	b.StopTimer()
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	s.latest.Store(nil)
	runtime.GC()
	runtime.ReadMemStats(&without)
	b.ReportMetric(float64(with.HeapAlloc-without.HeapAlloc)/(1<<20), "MB-kept")
}

// BenchmarkEncode is one scrape of that exposition without gzip, and
// BenchmarkEncodeGzip the first gzip scrape of a snapshot.
func BenchmarkEncode(b *testing.B) {
	s := newSink(b, bigExposition(b, 100, 100, ts13))
	snap := s.latest.Load()
	for b.Loop() {
		snap.e.writeTo(io.Discard, filter{scopes: allScopes})
	}
}

func BenchmarkEncodeGzip(b *testing.B) {
	s := newSink(b, bigExposition(b, 100, 100, ts13))
	snap := s.latest.Load()
	var n int
	for b.Loop() {
		snap.bodies = nil
		body, _ := s.gzipped(snap, filter{scopes: allScopes})
		n = len(body)
	}
	b.ReportMetric(float64(n)/(1<<20), "MB-gzip")
}
