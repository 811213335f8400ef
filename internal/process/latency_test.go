package process

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/latency"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// writeLatency leaves a latency file of n lines of backend app (server
// s1, frontend www, Tr of i ms for i < n, states "--") in dir.
func writeLatency(t *testing.T, dir string, n int) {
	t.Helper()
	s := latency.NewSet(0)
	var l latency.Line
	for i := range n {
		l.Reset()
		l.Frontend, l.Backend, l.Server = []byte("www"), []byte("app.v2"), []byte("s1")
		l.Set(latency.Tr, int64(i))
		l.Set(latency.Tw, -1)
		l.Term, l.HasTerm = [2]byte{'-', '-'}, true
		s.Add(&l)
	}
	var b bytes.Buffer
	s.WriteTo(&b)
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, spool.LatencyFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A snapshot's latency file is rendered after its sites, per object
// and timer (names sanitised as every path): the percentiles, max,
// mean, count and aborted, then the termination states; the example's
// own lines are there as before. A snapshot of log lines alone (a round
// whose stats were discarded) is rendered too, with its self-statistics.
// A latency file that is not one is rejected and counted, and the rest
// of the snapshot goes on.
func TestLatencyRendered(t *testing.T) {
	src := spoolWith(t, "1500000000")
	writeLatency(t, filepath.Join(src, "1500000000"), 1000)
	writeLatency(t, filepath.Join(src, "1500000001"), 10)
	os.WriteFile(filepath.Join(src, "1500000001", spool.PullStatsFile), []byte("LogLinesParsed: 1010\n"), 0o644)
	spoolInto(t, src, "1500000002")
	os.WriteFile(filepath.Join(src, "1500000002", spool.LatencyFile), []byte("haproxystats-latency 1\ndropped x\n"), 0o644)
	g := newSink("graphite")
	p := New(config.Process{SrcDir: src, Workers: 1, Logs: &config.Logs{Percentiles: []float64{50, 99.9}}}, stats.Options{Prefix: prefix}, asLineSinks([]Sink{g}), slog.New(slog.DiscardHandler))
	paths := []string{filepath.Join(src, "1500000000"), filepath.Join(src, "1500000001"), filepath.Join(src, "1500000002")}
	run(t, p, paths, func() bool { return !exists(paths[0]) && !exists(paths[1]) && !exists(paths[2]) })

	got := map[string]float64{}
	for _, m := range g.snapshot(1500000000) {
		got[m.Path] = m.Value
	}
	for path, want := range map[string]float64{
		prefix + ".backend.app_v2.timers.Tr.max":             999,
		prefix + ".backend.app_v2.timers.Tr.count":           1000,
		prefix + ".backend.app_v2.timers.Tr.mean":            499.5,
		prefix + ".backend.app_v2.timers.Tw.count":           0,
		prefix + ".backend.app_v2.timers.Tw.aborted":         1000,
		prefix + ".backend.app_v2.server.s1.timers.Tr.count": 1000,
		prefix + ".frontend.www.timers.Tr.count":             1000,
		prefix + ".backend.app_v2.termination.--":            1000,
		prefix + ".backend.app_v2.server.s1.termination.--":  1000,
	} {
		if v, ok := got[path]; !ok || v != want {
			t.Errorf("%s = %v (sent: %v), want %v", path, v, ok, want)
		}
	}
	if v := got[prefix+".backend.app_v2.timers.Tr.p999"]; v < 998*0.955 || v > 998*1.045 {
		t.Errorf("p999 = %v, exact 998", v)
	}
	if v := got[prefix+".backend.app_v2.timers.Tr.p50"]; v < 499*0.955 || v > 499*1.045 {
		t.Errorf("p50 = %v, exact 499", v)
	}
	if _, ok := got[prefix+".backend.app_v2.timers.Tr.p99"]; ok {
		t.Error("p99 sent: percentiles = 50 99.9 asks for p50 and p999")
	}
	if _, ok := got[prefix+".daemon.Uptime_sec"]; !ok {
		t.Error("the example's own lines are missing")
	}
	alone := map[string]float64{}
	for _, m := range g.snapshot(1500000001) {
		alone[m.Path] = m.Value
	}
	if alone[prefix+".backend.app_v2.timers.Tr.count"] != 10 || alone[prefix+".haproxystats.LogLinesParsed"] != 1010 {
		t.Errorf("log lines alone: %v", alone)
	}
	bad := g.snapshot(1500000002)
	if len(bad) == 0 || strings.Contains(pathsOf(bad), "timers") || p.Rejected.Load() != 1 {
		t.Errorf("corrupt latency file: %d lines, rejected %d", len(bad), p.Rejected.Load())
	}
}

func pathsOf(ms []metric.Metric) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Path)
		b.WriteByte('\n')
	}
	return b.String()
}
