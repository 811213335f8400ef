package prometheus

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// bigSnapshot is a 5 000-server configuration (100 backends of 50
// servers, 100 frontends, 2 processes) rendered as the daemon renders it.
func bigSnapshot(b *testing.B, ts int64) []metric.Metric {
	b.Helper()
	var files []stats.File
	for i, data := range stats.GenerateStat(2, 100, 100, 50, 1) {
		files = append(files, stats.File{Name: string(rune('a'+i)) + ".sock_stat", Data: data})
	}
	sites, err := stats.ParseSites(files)
	if err != nil {
		b.Fatal(err)
	}
	o := &stats.Options{Prefix: prefix13}
	ms := sites.Frontends(nil, ts, o)
	ms = sites.Backends(ms, ts, o)
	return sites.Servers(ms, ts, o)
}

// BenchmarkScrapeNewSnapshot is the first scrape after each snapshot: it
// builds the exposition.
func BenchmarkScrapeNewSnapshot(b *testing.B) {
	ms := bigSnapshot(b, ts13)
	sink := New(stats.Options{Prefix: prefix13}, discard)
	h := sink.Handler()
	ts := int64(ts13)
	b.ReportAllocs()
	for b.Loop() {
		ts++
		for i := range ms {
			ms[i].Time = ts
		}
		sink.Send(context.Background(), ms)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		io.Copy(io.Discard, w.Body)
	}
	b.ReportMetric(float64(len(ms)), "series")
}

// BenchmarkScrapeSameSnapshot is every further scrape of one snapshot.
func BenchmarkScrapeSameSnapshot(b *testing.B) {
	sink := New(stats.Options{Prefix: prefix13}, discard)
	sink.Send(context.Background(), bigSnapshot(b, ts13))
	h := sink.Handler()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		b.SetBytes(int64(w.Body.Len()))
	}
}

// BenchmarkSend is what a worker pays: nothing but a pointer swap.
func BenchmarkSend(b *testing.B) {
	ms := bigSnapshot(b, ts13)
	sink := New(stats.Options{Prefix: prefix13}, discard)
	ts := int64(ts13)
	b.ReportAllocs()
	for b.Loop() {
		ts++
		ms[0].Time = ts
		sink.Send(context.Background(), ms)
	}
}
