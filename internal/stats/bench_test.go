package stats

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	s, err := ParseSites([]File{{Name: "a", Data: a[0]}, {Name: "b", Data: a[1]}})
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

// BenchmarkAddFrom is BenchmarkParseSites with the replies read from
// files, as haproxystats-process reads them: a window at a time, so that
// B/op is the parsed rows, not the replies too.
func BenchmarkAddFrom(b *testing.B) {
	files, size := snapshot(b)
	dir := b.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		var bld Builder
		for _, f := range files {
			r, err := os.Open(filepath.Join(dir, f.Name))
			if err != nil {
				b.Fatal(err)
			}
			err = bld.Add(f.Name, r, int64(len(f.Data)))
			r.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		if _, err := bld.Sites(); err != nil {
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

// benchOptions are the options of the snapshot benchmarks.
var benchOptions = &Options{Prefix: "loadbalancers.lb-01_example_com.haproxy", AggrServers: true}

// BenchmarkAppendLine formats the metrics of a snapshot as Graphite
// lines with metric.AppendLine into a reused buffer, as the Graphite
// sender does with each batch.
func BenchmarkAppendLine(b *testing.B) {
	files, _ := snapshot(b)
	s, err := ParseSites(files)
	if err != nil {
		b.Fatal(err)
	}
	ms := s.Frontends(nil, 1500000000, benchOptions)
	ms = s.Backends(ms, 1500000000, benchOptions)
	ms = s.Servers(ms, 1500000000, benchOptions)
	buf := appendLines(nil, ms)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = appendLines(buf[:0], ms)
	}
	b.ReportMetric(float64(len(ms))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkEncode is the three site blocks formatted by an Encoder, in
// memory (the buffer reused) and streamed in 64 KiB pieces to a writer.
func BenchmarkEncode(b *testing.B) {
	files, _ := snapshot(b)
	s, err := ParseSites(files)
	if err != nil {
		b.Fatal(err)
	}
	var stream counter
	for _, w := range []struct {
		name string
		w    io.Writer
	}{{"memory", nil}, {"stream", &stream}} {
		b.Run(w.name, func(b *testing.B) {
			e := NewEncoder(w.w)
			n, size := encodeSites(b, e, s)
			size += stream.n // the bytes written, for stream
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				e.Reset(w.w)
				encodeSites(b, e, s)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// counter is an io.Writer that counts what it is given.
type counter struct{ n int }

func (c *counter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func encodeSites(b *testing.B, e *Encoder, s *Sites) (lines, size int) {
	e.Frontends(s, 1500000000, benchOptions)
	e.Backends(s, 1500000000, benchOptions)
	if err := e.Servers(s, 1500000000, benchOptions); err != nil {
		b.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		b.Fatal(err)
	}
	return e.Lines(), len(e.Bytes())
}

// BenchmarkSnapshotEncode is BenchmarkSnapshot with the lines formatted
// by an Encoder in memory instead of built as metrics.
func BenchmarkSnapshotEncode(b *testing.B) {
	files, size := snapshot(b)
	e := NewEncoder(nil)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		s, err := ParseSites(files)
		if err != nil {
			b.Fatal(err)
		}
		e.Reset(nil)
		encodeSites(b, e, s)
	}
}
