package prometheus

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// BenchmarkExpose builds the exposition of 10 000 servers (100 backends
// of 100, two processes) as a worker does for each snapshot, and
// reports the heap it keeps.
func BenchmarkExpose(b *testing.B) {
	x := bigExposition(b, 100, 100, ts13)
	s := New("bench", "", b.TempDir(), discard)
	for i := 0; b.Loop(); i++ {
		x.Time = ts13 + int64(i) + 1
		s.Expose(context.Background(), x)
	}
	b.StopTimer()
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	s.mu.Lock()
	s.latest.store.Release()
	s.latest = nil
	s.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&without)
	b.ReportMetric(float64(with.HeapAlloc-without.HeapAlloc)/(1<<20), "MB-kept")
}

// BenchmarkScrape is one scrape of that exposition through the handler,
// with gzip as Prometheus asks (the members as they are) and without (the
// members decompressed).
func BenchmarkScrape(b *testing.B) {
	s := newSink(b, bigExposition(b, 100, 100, ts13))
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.Header.Set("Accept-Encoding", enc)
			var n int
			for b.Loop() {
				w := &countingWriter{h: http.Header{}}
				s.ServeHTTP(w, req)
				n = w.n
			}
			b.ReportMetric(float64(n)/(1<<20), "MB-body")
		})
	}
}

// countingWriter is a ResponseWriter that counts the body's bytes.
type countingWriter struct {
	h http.Header
	n int
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}
