package prometheus

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// bigSnapshot is a 5 000-server configuration (100 backends of 50
// servers, 100 frontends, 2 processes) rendered as the daemon renders it.
func bigSnapshot(b testing.TB, ts int64) []metric.Metric {
	return snapshotOf(b, 100, 50, ts)
}

// snapshotOf is a configuration of backends of servers each (and as many
// frontends as backends, 2 processes) rendered as the daemon renders it.
func snapshotOf(b testing.TB, backends, servers int, ts int64) []metric.Metric {
	b.Helper()
	var files []stats.File
	for i, data := range stats.GenerateStat(2, backends, backends, servers, 1) {
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
		sendNext(sink, ms, &ts)
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

// BenchmarkConcurrentScrapes is 200 scrapes at once of a new snapshot, as
// many Prometheus servers (or a dashboard storm through a proxy) give:
// one build and one encoding, shared.
func BenchmarkConcurrentScrapes(b *testing.B) {
	ms := bigSnapshot(b, ts13)
	sink := New(stats.Options{Prefix: prefix13}, discard)
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	ts := int64(ts13)
	b.ReportAllocs()
	for b.Loop() {
		sendNext(sink, ms, &ts)
		if codes := scrapeAll(client, srv.URL, 200); codes[http.StatusOK] != 200 {
			b.Fatalf("status codes %v, want 200 × 200", codes)
		}
	}
}

// scrapeAll scrapes url n times at once and counts the status codes.
func scrapeAll(client *http.Client, url string, n int) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code := 0
			if resp, err := client.Get(url); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes
}

// sendNext sends ms again as the snapshot of the second after *ts.
func sendNext(sink *Sink, ms []metric.Metric, ts *int64) {
	*ts++
	for i := range ms {
		ms[i].Time = *ts
	}
	sink.Send(context.Background(), ms)
}
