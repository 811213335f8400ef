package stats

import (
	"bytes"
	"encoding/csv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ref is a show stat reply read the simplest possible way, as an
// independent reference for the sums.
type ref struct {
	col  map[string]int
	rows [][]string
}

func readRef(t *testing.T, data []byte) ref {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs[0][0] = strings.TrimPrefix(recs[0][0], "# ")
	col := make(map[string]int)
	for i, name := range recs[0] {
		if _, dup := col[name]; !dup && name != "" {
			col[name] = i
		}
	}
	return ref{col, recs[1:]}
}

func (r ref) num(row []string, name string) (float64, bool) {
	i, ok := r.col[name]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(row[i], 64)
	if err != nil {
		return 0, true
	}
	return v, true
}

// expectSites computes what Frontends, Backends and Servers must give
// with default lists and aggregated servers, from refs, keyed by path
// relative to PREFIX.
func expectSites(refs []ref) map[string]float64 {
	type acc struct{ sum, n, tsum, tn float64 }
	accs := make(map[string]*acc)
	add := func(path string, v float64, traffic bool) {
		a := accs[path]
		if a == nil {
			a = &acc{}
			accs[path] = a
		}
		a.sum += v
		a.n++
		if traffic {
			a.tsum += v
			a.tn++
		}
	}
	type block struct {
		head          string
		sums, avg, tm []string
	}
	for _, r := range refs {
		for _, row := range r.rows {
			px := strings.ReplaceAll(row[r.col["pxname"]], ".", "_")
			sv := strings.ReplaceAll(row[r.col["svname"]], ".", "_")
			typ, _ := r.num(row, "type")
			lbtot, _ := r.num(row, "lbtot")
			var blocks []block
			switch {
			case sv == "FRONTEND":
				blocks = append(blocks, block{"frontend." + px + ".", FrontendMetrics, nil, nil})
			case sv == "BACKEND":
				blocks = append(blocks, block{"backend." + px + ".", BackendMetrics, BackendAvgMetrics, BackendAvgTimeMetrics})
			case typ == 2:
				blocks = append(blocks,
					block{"backend." + px + ".server." + sv + ".", ServerMetrics, ServerAvgMetrics, ServerAvgTimeMetrics},
					block{"server." + sv + ".", ServerMetrics, ServerAvgMetrics, ServerAvgTimeMetrics})
				add("backend."+px+".TotalServers:"+sv, 0, false)
			}
			for _, b := range blocks {
				for _, m := range b.sums {
					if v, ok := r.num(row, m); ok {
						add(b.head+m+":sum", v, false)
					}
				}
				for _, m := range b.avg {
					if v, ok := r.num(row, m); ok {
						add(b.head+m+":avg", v, false)
					}
				}
				for _, m := range b.tm {
					if v, ok := r.num(row, m); ok {
						add(b.head+m+":time", v, lbtot > 0)
					}
				}
			}
		}
	}
	want := make(map[string]float64)
	for k, a := range accs {
		path, kind, _ := strings.Cut(k, ":")
		switch kind {
		case "sum":
			want[path] = a.sum
		case "avg":
			want[path] = a.sum / a.n
		case "time":
			if a.tn > 0 {
				want[path] = a.tsum / a.tn
			}
		default: // TotalServers: one entry per distinct server
			want[path]++
		}
	}
	return want
}

func TestHAProxy26(t *testing.T) {
	infos, stats := readDir(t, "testdata/hap26")
	var logbuf bytes.Buffer
	o := &Options{
		Prefix: "p", PerProcess: true, Percentages: true, AggrServers: true,
		Log: slog.New(slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ms, err := Daemon(nil, infos, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	got := index(ms)
	if len(got) != len(ms) {
		t.Errorf("duplicate daemon paths")
	}
	for p := range got {
		if strings.Contains(p, "Zlib") {
			t.Errorf("unexpected %s: 2.6 has no zlib fields", p)
		}
	}
	// Both replies say Process_num 1 (two nbproc-1 instances): the
	// processes are numbered by reply position instead.
	check := func(path string, want float64) {
		t.Helper()
		if v, ok := got[path]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", path, v, ok, want)
		}
	}
	check("p.daemon.CumConns", 25+17)
	check("p.daemon.Maxconn", 9985*2)
	check("p.daemon.Uptime_sec", (61+60)/2.0)
	check("p.daemon.Idle_pct", 100)
	check("p.daemon.50PercentileCpuUsagePct", 0)
	check("p.daemon.StdCpuUsagePct", 0)
	check("p.daemon.ConnPercentage", 0)
	check("p.daemon.SslConnPercentage", 0) // MaxSslConns 0
	check("p.daemon.process.1.CumConns", 25)
	check("p.daemon.process.2.CumConns", 17)
	check("p.daemon.process.2.CpuUsagePct", 0)
	check("p.daemon.process.2.Uptime_sec", 60)
	// 35 sums (no zlib) + 2 means + 6 CPU + 4 percentages
	// + 2×(35+1+2) per process + 2×4 per-process percentages + itself.
	check("p.haproxystats.MetricsHAProxy", 35+2+6+4+2*38+2*4+1)
	for _, want := range []string{
		`msg="field not in show info reply" file=a1.sock_info field=ZlibMemUsage`,
		`msg="field not in show info reply" file=a2.sock_info field=MaxZlibMemUsage`,
	} {
		if !strings.Contains(logbuf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logbuf.String())
		}
	}

	s, err := ParseSites(stats)
	if err != nil || len(s.Rejected) > 0 {
		t.Fatal(err, s.Rejected)
	}
	var refs []ref
	for _, f := range stats {
		refs = append(refs, readRef(t, f.Data))
	}
	want := expectSites(refs)
	ms = s.Frontends(nil, 1, o)
	ms = s.Backends(ms, 1, o)
	ms = s.Servers(ms, 1, o)
	got = index(ms)
	counters := map[string]float64{}
	for p, v := range got {
		rel := strings.TrimPrefix(p, "p.")
		if strings.HasPrefix(rel, "haproxystats.") {
			counters[rel] = v
			continue
		}
		w, ok := want[rel]
		if !ok {
			t.Errorf("unexpected %s %v", p, v)
		} else if v != w {
			t.Errorf("%s = %v, want %v", p, v, w)
		}
	}
	for p := range want {
		if _, ok := got["p."+p]; !ok {
			t.Errorf("missing p.%s", p)
		}
	}
	// Spot checks, worked out by hand from the two files.
	check("p.frontend.www_example_com.stot", 12+8)
	check("p.frontend.tcpfront.hrsp_2xx", 0) // blank cells: TCP mode
	check("p.backend.app.lbtot", 12+8)
	check("p.backend.app.TotalServers", 2)
	check("p.backend.app.server.app2_dc1.bin", 492+328)
	check("p.server.t1.weight", 1)
	for _, p := range []string{"p.backend.tcpapp.rtime", "p.backend.static.ttime", "p.backend.tcpapp.server.t1.ctime", "p.server.t1.qtime"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s present: no traffic, so no time mean", p)
		}
	}
	// 3 frontends × 31; 3 backends × 40 but tcpapp and static without
	// time means; 2 TotalServers; 3 servers × 32 (t1 without time means),
	// twice with the aggregated block.
	if want := map[string]float64{
		"haproxystats.MetricsFrontend": 1 + 3*31,
		"haproxystats.MetricsBackend":  1 + 3*40 - 2*4,
		"haproxystats.MetricsServer":   1 + 2 + 2*(3*32-4),
	}; !mapsEqual(counters, want) {
		t.Errorf("counters %v, want %v", counters, want)
	}
	if n := strings.Count(logbuf.String(), "column not in show stat"); n != 0 {
		t.Errorf("%d missing-column logs for a complete 2.6 dump", n)
	}

	golden(t, "testdata/hap26/all.golden", lines(run(t, "testdata/hap26", o)))
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestHAProxy26Sorted checks that the blocks come in name order.
func TestHAProxy26Sorted(t *testing.T) {
	_, stats := readDir(t, "testdata/hap26")
	s, err := ParseSites(stats)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range s.Frontends(nil, 1, &Options{Prefix: "p", FrontendMetrics: []string{"stot"}}) {
		names = append(names, m.Path)
	}
	want := []string{"p.frontend.static.stot", "p.frontend.tcpfront.stot", "p.frontend.www_example_com.stot", "p.haproxystats.MetricsFrontend"}
	if !slices.Equal(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
}
