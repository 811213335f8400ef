package stats

import (
	"fmt"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// snapshot is the benchmark's hot case: 4 processes, 10 000 servers
// (500 backends × 20) and 50 frontends.
func snapshot(tb testing.TB) (files []File, size int64) {
	tb.Helper()
	for i, data := range GenerateStat(4, 50, 500, 20, 1) {
		files = append(files, File{Name: fmt.Sprintf("admin%d.sock_stat", i+1), Data: data})
		size += int64(len(data))
	}
	return files, size
}

func TestGenerateStat(t *testing.T) {
	a, b := GenerateStat(2, 3, 4, 5, 7), GenerateStat(2, 3, 4, 5, 7)
	if string(a[0]) != string(b[0]) || string(a[0]) == string(a[1]) {
		t.Error("not deterministic per seed, or processes identical")
	}
	s, err := ParseSites([]File{{"a", a[0]}, {"b", a[1]}})
	if err != nil || len(s.Rejected) > 0 {
		t.Fatal(err, s.Rejected)
	}
	if s.fe.len() != 3 || s.be.len() != 4 || s.srv.len() != 20 {
		t.Errorf("%d frontends, %d backends, %d servers", s.fe.len(), s.be.len(), s.srv.len())
	}
	got := render(t, s, &Options{AggrServers: true})
	if _, ok := got["backend.be3.server.b3-s4_dc1.stot"]; !ok {
		t.Error("no server line")
	}
	if got["haproxystats.MetricsFrontend"] != 1+3*31 {
		t.Errorf("MetricsFrontend %v", got["haproxystats.MetricsFrontend"])
	}
}

func BenchmarkParseSites(b *testing.B) {
	files, size := snapshot(b)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		if _, err := ParseSites(files); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender is the three site blocks with aggregated servers, into
// a reused slice.
func BenchmarkRender(b *testing.B) {
	files, size := snapshot(b)
	s, err := ParseSites(files)
	if err != nil {
		b.Fatal(err)
	}
	o := &Options{Prefix: "loadbalancers.lb-01_example_com.haproxy", AggrServers: true}
	var ms []metric.Metric
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		ms = s.Frontends(ms[:0], 1, o)
		ms = s.Backends(ms, 1, o)
		ms = s.Servers(ms, 1, o)
	}
	b.ReportMetric(float64(len(ms)), "metrics/op")
}

// BenchmarkSnapshot is the whole site processing of one snapshot.
func BenchmarkSnapshot(b *testing.B) {
	files, size := snapshot(b)
	o := &Options{Prefix: "loadbalancers.lb-01_example_com.haproxy", AggrServers: true}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		s, err := ParseSites(files)
		if err != nil {
			b.Fatal(err)
		}
		ms := s.Frontends(nil, 1, o)
		ms = s.Backends(ms, 1, o)
		_ = s.Servers(ms, 1, o)
	}
}

func BenchmarkDaemon(b *testing.B) {
	infos, _ := readDir(b, "testdata/hap26")
	o := &Options{Prefix: "p", PerProcess: true, Percentages: true}
	var ms []metric.Metric
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if ms, err = Daemon(ms[:0], infos, 1, o); err != nil {
			b.Fatal(err)
		}
	}
}
