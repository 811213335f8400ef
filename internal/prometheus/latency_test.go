package prometheus

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// latencySet is a round's histograms: n lines of backend app, half on
// each of two servers, Tr of i ms; one aborted; states "--" and "sH".
func latencySet(n int) *latency.Set {
	s := latency.NewSet(0)
	var l latency.Line
	for i := range n {
		l.Reset()
		l.Frontend, l.Backend, l.Server = []byte("www"), []byte("app"), []byte([]string{"s1", "s2"}[i%2])
		l.Set(latency.Tr, int64(i))
		l.Term, l.HasTerm = [2]byte{'-', '-'}, true
		s.Add(&l)
	}
	l.Reset()
	l.Frontend, l.Backend, l.Server = []byte("www"), []byte("app"), []byte("<NOSRV>")
	l.Set(latency.Tr, -1)
	l.Term, l.HasTerm = [2]byte{'s', 'H'}, true
	s.Add(&l)
	return s
}

// nativeAccept is what Prometheus 2.42 with native histograms sends.
const nativeAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// The latency histograms are cumulative: every snapshot's are added,
// an older one's too, and a snapshot of log lines alone leaves the
// statistics exposed as they were. The text form has exact classic
// buckets and passes promtool; a scrape that asks for protobuf gets
// every family in it, the histograms with their native buckets.
func TestLatencyExposition(t *testing.T) {
	x := exposition13(t, ts13, nil)
	x.Latency = latencySet(100)
	sink := newSink(t, x)
	older := exposition13(t, ts13-10, nil)
	older.Latency = latencySet(50) // late: not exposed, but counted
	sink.Expose(context.Background(), older)
	sink.Expose(context.Background(), &stats.Exposition{Time: ts13 + 1, Latency: latencySet(10)}) // log lines alone
	srv := httptest.NewServer(sink)
	defer srv.Close()

	body, mfs, samples := scrape(t, srv.URL)
	haproxytest.Promtool(t, body)
	if _, ok := mfs["haproxy_frontend_bytes_in_total"]; !ok {
		t.Error("a snapshot of log lines alone took the statistics away")
	}
	h := mfs["haproxystats_backend_timer_seconds"]
	if h.GetType() != dto.MetricType_HISTOGRAM || len(h.GetMetric()) != 1 {
		t.Fatalf("backend histogram: %v", h)
	}
	want := latency.NewSet(0)
	for _, n := range []int{100, 50, 10} {
		want.Merge(latencySet(n))
	}
	var wantCum []uint64
	want.Each(func(o latency.Object, tm latency.Timer, hh *latency.Histogram) {
		if o.Scope == latency.ScopeBackend {
			wantCum = hh.Classic(nil)
		}
	})
	hg := h.GetMetric()[0].GetHistogram()
	if hg.GetSampleCount() != 160 || len(hg.GetBucket()) != len(latency.ClassicBounds)+1 {
		t.Fatalf("count %d, %d buckets", hg.GetSampleCount(), len(hg.GetBucket()))
	}
	for i, b := range hg.GetBucket()[:len(latency.ClassicBounds)] {
		if b.GetUpperBound() != latency.ClassicBounds[i] || b.GetCumulativeCount() != wantCum[i] {
			t.Errorf("bucket le=%v: %d, want le=%v %d", b.GetUpperBound(), b.GetCumulativeCount(), latency.ClassicBounds[i], wantCum[i])
		}
	}
	for id, v := range map[string]float64{
		`haproxystats_backend_timer_aborted_total{proxy="app",timer="Tr"}`:           3,
		`haproxystats_backend_terminations_total{proxy="app",state="sH"}`:            3,
		`haproxystats_server_terminations_total{proxy="app",server="s1",state="--"}`: 80,
	} {
		if samples[id] != v {
			t.Errorf("%s = %v, want %v", id, samples[id], v)
		}
	}
	if !strings.Contains(string(body), `haproxystats_server_timer_seconds_bucket{proxy="app",server="s2",timer="Tr",le="+Inf"} 80`) {
		t.Errorf("no +Inf bucket of s2")
	}

	// protobuf, as Prometheus with native histograms asks.
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", nativeAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "application/vnd.google.protobuf") {
		t.Fatalf("Content-Type %q", ct)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
	got := map[string]*dto.MetricFamily{}
	for {
		mf := new(dto.MetricFamily)
		if err := dec.Decode(mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		got[mf.GetName()] = mf
	}
	for name := range mfs {
		if _, ok := got[name]; !ok && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("family %s missing from the protobuf scrape", name)
		}
	}
	nh := got["haproxystats_server_timer_seconds"]
	if nh == nil || len(nh.GetMetric()) != 2 {
		t.Fatalf("protobuf server histograms: %v", nh)
	}
	for _, m := range nh.GetMetric() {
		hh := m.GetHistogram()
		if hh.GetSchema() != 3 || hh.GetZeroThreshold() <= 0 || len(hh.GetPositiveSpan()) == 0 || hh.GetSampleCount() != 80 {
			t.Errorf("native histogram of %v: schema %d zero %v spans %d count %d", m.GetLabel(), hh.GetSchema(), hh.GetZeroThreshold(), len(hh.GetPositiveSpan()), hh.GetSampleCount())
		}
		var total uint64
		var c int64
		for _, d := range hh.GetPositiveDelta() {
			c += d
			total += uint64(c)
		}
		if total+hh.GetZeroCount() != 80 {
			t.Errorf("native buckets of %v add up to %d", m.GetLabel(), total+hh.GetZeroCount())
		}
	}
	// scope= filters the histograms as the rest.
	body, mfs, _ = scrape(t, srv.URL+"?scope=frontend")
	if _, ok := mfs["haproxystats_frontend_timer_seconds"]; !ok || slices.ContainsFunc([]string{"haproxystats_backend_timer_seconds", "haproxystats_server_timer_seconds"}, func(n string) bool { _, ok := mfs[n]; return ok }) {
		t.Errorf("scope=frontend:\n%s", body)
	}
}
