package process

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A hand-made HAProxy 3.x process: x_peak is a column no built-in table
// knows; its typed dump says it is a maximum.
const (
	statX = "# pxname,svname,scur,stot,type,x_peak,-,quic_rxbuf_full,\nweb,FRONTEND,1,10,0,%s,-,%s,\n\n"
	infoX = "Name: HAProxy\nVersion: %s\nProcess_num: %s\nJobs: 3\n\n"

	infoTypedX = "0.Name.1:POS:str:HAProxy\n1.Version.1:POS:str:3.0.5\n5.Process_num.1:KGP:u32:1\n53.Jobs.1:MGP:u32:3\n\n"
	statTypedX = "F.2.0.0.pxname.1:KNS:str:web\nF.2.0.3.stot.1:MCP:u64:10\nF.2.0.120.x_peak.1:MMP:u32:4\nF.2.0.130.quic_rxbuf_full.1:MCP:u64:2\n\n"
)

// writeSnapshot writes a snapshot of two processes of the given version,
// with x_peak 4 and 9, quic_rxbuf_full 2 and 5, and typed dumps for the
// first when typed is set.
func writeSnapshot(t *testing.T, src, name, version string, typed bool) string {
	t.Helper()
	dir := filepath.Join(src, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a1.sock_info": sprintf(infoX, version, "1"), "a1.sock_stat": sprintf(statX, "4", "2"),
		"a2.sock_info": sprintf(infoX, version, "2"), "a2.sock_stat": sprintf(statX, "9", "5"),
	}
	if typed {
		files["a1.sock_infotyped"] = strings.Replace(infoTypedX, "3.0.5", version, 1)
		files["a1.sock_stattyped"] = statTypedX
	}
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sprintf(format string, args ...string) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a, 1)
	}
	return format
}

func values(ms []metric.Metric) map[string]float64 {
	m := map[string]float64{}
	for _, x := range ms {
		m[strings.TrimPrefix(x.Path, prefix+".")] = x.Value
	}
	return m
}

// End to end through the processor: typed dumps in a snapshot teach the
// natures of that HAProxy version, which then apply to the snapshots
// without typed dumps too, and survive a restart through natures.state;
// another version does not get them.
func TestAllMetricsEndToEnd(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	s1 := writeSnapshot(t, src, "1500000000", "3.0.5", true)
	s2 := writeSnapshot(t, src, "1500000010", "3.0.5", false)
	s3 := writeSnapshot(t, src, "1500000020", "3.1.0", false)
	g := newSink("graphite")
	cfg := config.Process{SrcDir: src, Workers: 1, AllMetrics: true}
	p := New(cfg, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	run(t, p, []string{s1, s2, s3}, func() bool { return !exists(s1) && !exists(s2) && !exists(s3) })

	for _, ts := range []int64{1500000000, 1500000010, 1500000020} {
		got := values(g.snapshot(ts))
		want := map[string]float64{
			"frontend.web.stot":           20,
			"daemon.Jobs":                 6, // show info field outside the lists, built-in: summed
			"haproxystats.MetricsHAProxy": 2,
			// 1 + scur and stot (the original's); no nature known
			// for x_peak and quic_rxbuf_full in 3.1.0.
			"haproxystats.MetricsFrontend": 3,
		}
		if ts != 1500000020 {
			want["frontend.web.x_peak"] = 9          // learned for 3.0.5: a maximum
			want["frontend.web.quic_rxbuf_full"] = 7 // learned for 3.0.5: a counter after "-"
			want["haproxystats.MetricsFrontend"] = 5
		}
		for path, w := range want {
			if v, ok := got[path]; !ok || v != w {
				t.Errorf("%d: %s = %v (present %v), want %v", ts, path, v, ok, w)
			}
		}
		if v, ok := got["frontend.web.x_peak"]; ok && ts == 1500000020 {
			t.Errorf("%d: x_peak = %v for HAProxy 3.1.0, whose natures were never seen", ts, v)
		}
		if v, ok := got["frontend.web.quic_rxbuf_full"]; ok && ts == 1500000020 {
			t.Errorf("%d: quic_rxbuf_full = %v for HAProxy 3.1.0, whose natures were never seen", ts, v)
		}
	}

	// natures.state, beside src-dir, holds what 3.0.5 said.
	b, err := os.ReadFile(spool.LayoutOf(src).NaturesState)
	if err != nil {
		t.Fatal(err)
	}
	var state []stats.Natures
	if err := json.Unmarshal(b, &state); err != nil || len(state) != 1 || state[0].Version != "3.0.5" || state[0].Frontend["x_peak"].String() != "MMP:u32" {
		t.Fatalf("natures.state = %s (%v)", b, err)
	}

	// A restart keeps them.
	s4 := writeSnapshot(t, src, "1500000030", "3.0.5", false)
	g2 := newSink("graphite")
	p2 := New(cfg, stats.Options{Prefix: prefix}, []Sink{g2}, slog.New(slog.DiscardHandler))
	run(t, p2, []string{s4}, func() bool { return !exists(s4) })
	if v, ok := values(g2.snapshot(1500000030))["frontend.web.x_peak"]; !ok || v != 9 {
		t.Errorf("after a restart x_peak = %v (present %v), want 9", v, ok)
	}
}

// With all-metrics off (the default), typed dumps change nothing in the
// output: the same lines as the snapshot without them.
func TestAllMetricsOffIgnoresTypedDumps(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	with := writeSnapshot(t, src, "1500000000", "3.0.5", true)
	without := writeSnapshot(t, src, "1500000010", "3.0.5", false)
	g := newSink("graphite")
	p := New(config.Process{SrcDir: src, Workers: 1}, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	run(t, p, []string{with, without}, func() bool { return !exists(with) && !exists(without) })
	a, b := values(g.snapshot(1500000000)), values(g.snapshot(1500000010))
	for _, m := range []map[string]float64{a, b} {
		for path := range m {
			if strings.Contains(path, "x_peak") || strings.Contains(path, "quic") || path == "daemon.Jobs" {
				t.Errorf("%s emitted with all-metrics off", path)
			}
		}
	}
	for path, v := range a {
		if strings.HasPrefix(path, "haproxystats.") && !strings.HasPrefix(path, "haproxystats.Metrics") {
			continue // timings and queue length
		}
		if w, ok := b[path]; !ok || w != v {
			t.Errorf("%s = %v with typed dumps, %v (present %v) without", path, v, w, ok)
		}
	}
	if len(a) != len(b) || p.Failed.Load() != 0 || p.Rejected.Load() != 0 {
		t.Errorf("%d and %d metrics, failed %d, rejected %d", len(a), len(b), p.Failed.Load(), p.Rejected.Load())
	}
}

// A typed dump that is not one is logged and skipped, never a reason to
// quarantine the snapshot; a corrupt natures.state starts empty.
func TestBadTypedDumpAndState(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	snap := writeSnapshot(t, src, "1500000000", "3.0.5", false)
	os.WriteFile(filepath.Join(snap, "a1.sock_stattyped"), []byte("Unknown command\n\n"), 0o644)
	os.WriteFile(filepath.Join(snap, "a1.sock_infotyped"), []byte("\x00\xff"), 0o644)
	os.MkdirAll(src, 0o755)
	os.WriteFile(spool.LayoutOf(src).NaturesState, []byte("{not json"), 0o644)
	g := newSink("graphite")
	p := New(config.Process{SrcDir: src, Workers: 1, AllMetrics: true}, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	got := values(g.snapshot(1500000000))
	if got["frontend.web.stot"] != 20 || got["daemon.Jobs"] != 6 || p.Failed.Load() != 0 {
		t.Errorf("stot %v, Jobs %v, failed %d", got["frontend.web.stot"], got["daemon.Jobs"], p.Failed.Load())
	}
	for _, path := range []string{"frontend.web.x_peak", "frontend.web.quic_rxbuf_full"} {
		if _, ok := got[path]; ok {
			t.Errorf("%s emitted without a nature", path)
		}
	}

	// The corrupt state is replaced at the next learning.
	snap = writeSnapshot(t, src, "1500000010", "3.0.5", true)
	p = New(config.Process{SrcDir: src, Workers: 1, AllMetrics: true}, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	if s, err := openNatures(spool.LayoutOf(src).NaturesState); err != nil || s.forVersions([]string{"3.0.5"}) == nil {
		t.Errorf("natures.state not rewritten: %v", err)
	}
}

// Counters, the original's and those all-metrics adds, are kept
// monotonic across reloads; gauges, maxima and per-process values are
// not.
func TestIsCounter(t *testing.T) {
	f := func(path string, want bool) {
		t.Helper()
		if got := isCounter(nil, path); got != want {
			t.Errorf("isCounter(%q) = %v, want %v", path, got, want)
		}
	}
	f("lb.haproxy.frontend.fe.stot", true)
	f("lb.haproxy.backend.be.server.s.hrsp_2xx", true)
	f("lb.haproxy.server.s.downtime", true)
	f("lb.haproxy.daemon.CumReq", true)
	f("lb.haproxy.daemon.process.1.CumReq", false)
	f("lb.haproxy.frontend.fe.scur", false)
	f("lb.haproxy.frontend.fe.rate_max", false)
	f("lb.haproxy.haproxystats.MetricsServer", false)
	f("p.frontend.web.h1_bytes_in", true)
	f("p.backend.app.server.s1.connect", true)
	f("p.daemon.PoolFailed", true)
	f("p.daemon.process.1.PoolFailed", false)
	f("p.frontend.web.h1_open_connections", false)
	f("p.backend.app.qtime_max", false)
	f("p.backend.app.server.s1.srid", false)
	n := &stats.Natures{Frontend: map[string]stats.Tag{"x_total": {Origin: 'M', Nature: 'C', Scope: 'P', Type: "u64"}}}
	if !isCounter(n, "p.frontend.web.x_total") {
		t.Error("a learned counter is not a counter")
	}
}

// natureStore keeps at most maxVersions versions, the oldest learned
// dropped first, and merges what several dumps of one version say.
func TestNatureStoreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "natures.state")
	s, err := openNatures(path)
	if err != nil {
		t.Fatal(err)
	}
	tag := stats.Tag{Origin: 'M', Nature: 'C', Scope: 'P', Type: "u64"}
	for i := range maxVersions + 3 {
		v := "1." + string(rune('a'+i))
		if err := s.learn(&stats.Natures{Version: v, Info: map[string]stats.Tag{"A": tag}}); err != nil {
			t.Fatal(err)
		}
	}
	s.learn(&stats.Natures{Version: "1.d", Info: map[string]stats.Tag{"B": tag}})
	s2, err := openNatures(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.versions) != maxVersions {
		t.Fatalf("%d versions kept, want %d", len(s2.versions), maxVersions)
	}
	if n := s2.forVersions([]string{"1.a"}); n != nil {
		t.Error("the oldest version was not dropped")
	}
	if n := s2.forVersions([]string{"1.d"}); n == nil || n.Info["A"] != tag || n.Info["B"] != tag {
		t.Errorf("1.d = %+v, want both fields", n)
	}
	if n := s2.forVersions([]string{"1.d", "1.e"}); n == nil || n.Len() != 2 || n.Info["B"] != tag {
		t.Errorf("two versions merged = %+v", n)
	}
}
