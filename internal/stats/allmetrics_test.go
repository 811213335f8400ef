package stats

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/dump"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// testdata/hap26typed is a capture of two HAProxy 2.6.12 processes
// (Debian bookworm) running the haproxy.cfg there, after 20 requests
// through www.example.com, one directly to static and one TCP connection
// to tcpfront whose server is down: show info, show stat, show info
// typed and show stat typed of each, read with socat.

// readTyped learns the natures of every *_infotyped and *_stattyped file
// of dir, merged.
func readTyped(t testing.TB, dir string) *Natures {
	t.Helper()
	var n *Natures
	for _, suffix := range []string{"_infotyped", "_stattyped"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*"+suffix))
		if len(paths) == 0 {
			t.Fatalf("no %s file in %s", suffix, dir)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var m *Natures
			if suffix == "_infotyped" {
				m, err = ParseTypedInfo(data)
			} else {
				m, err = ParseTypedStat(data)
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			n = Merge(n, m)
		}
	}
	return n
}

// runAll is run for all-metrics: Sites from ParseSitesAll.
func runAll(t testing.TB, infos, stats []File, n *Natures, o *Options) []metric.Metric {
	t.Helper()
	ms, err := Daemon(nil, infos, ts13, o)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSitesAll(stats, n, o.Log)
	if err != nil || len(s.Rejected) > 0 {
		t.Fatal(err, s.Rejected)
	}
	ms = s.Frontends(ms, ts13, o)
	ms = s.Backends(ms, ts13, o)
	return s.Servers(ms, ts13, o)
}

// The real HAProxy 2.6 typed dumps give the natures the management guide
// describes, per kind of row.
func TestParseTyped26(t *testing.T) {
	n := readTyped(t, "testdata/hap26typed")
	if n.Version != "2.6.12-1+deb12u4" {
		t.Errorf("Version = %q", n.Version)
	}
	f := func(k int, name, want string, wantAgg agg) {
		t.Helper()
		tag, ok := n.table(k)[name]
		if !ok {
			t.Errorf("%s %s: no tag", kindNames[k], name)
			return
		}
		if tag.String() != want {
			t.Errorf("%s %s = %s, want %s", kindNames[k], name, tag, want)
		}
		if got := n.resolve(k, name, nil); got != wantAgg {
			t.Errorf("%s %s aggregated as %d, want %d", kindNames[k], name, got, wantAgg)
		}
	}
	f(kindFrontend, "scur", "MGP:u32", aggSum)    // gauge
	f(kindFrontend, "stot", "MCP:u64", aggSum)    // counter
	f(kindFrontend, "smax", "MMP:u32", aggMax)    // max
	f(kindFrontend, "slim", "CLP:u32", aggSum)    // limit, per process
	f(kindFrontend, "rate", "MRP:u32", aggSum)    // rate
	f(kindBackend, "qtime", "MaP:u32", aggTMean)  // average, only with traffic
	f(kindBackend, "uweight", "MaP:u32", aggMean) // a weight: every row
	f(kindServer, "qtime_max", "MMP:u32", aggMax)
	f(kindServer, "lastsess", "MAP:s32", aggAge)
	f(kindServer, "lastchg", "MAP:u32", aggAge)
	f(kindServer, "act", "SGP:u32", aggSkip) // a server's act is a status
	f(kindBackend, "act", "MGP:u32", aggSum) // a backend's counts servers
	f(kindBackend, "agg_server_status", "MGP:u32", aggSkip)
	f(kindFrontend, "pxname", "KNS:str", aggSkip)
	f(kindFrontend, "iid", "KGS:u32", aggSkip)
	f(kindFrontend, "type", "CGS:u32", aggSkip)
	f(kindFrontend, "mode", "CGS:str", aggSkip)
	f(kindFrontend, "status", "SGP:str", aggSkip)
	f(kindFrontend, "h1_bytes_in", "MCP:u64", aggSum) // module counter after "-"
	f(kindServer, "srv_icur", "MGP:u32", aggSum)
	f(kindInfo, "Uptime_sec", "MDP:u32", aggMax)
	f(kindInfo, "Uptime", "MDP:str", aggSkip)
	f(kindInfo, "Idle_pct", "MaP:u32", aggMean)
	f(kindInfo, "Unstoppable Jobs", "MGP:u32", aggSum)
	f(kindInfo, "Pid", "SGP:u32", aggSkip)
	f(kindInfo, "Process_num", "KGP:u32", aggSkip)
	f(kindInfo, "Nbthread", "CGS:u32", aggSkip)
	f(kindInfo, "Maxconn", "CLP:u32", aggSum)
	f(kindInfo, "MaxSslConns", "MMP:u32", aggMax)
	f(kindInfo, "Tainted", "SGP:str", aggSkip)
	f(kindInfo, "Build info", "POS:str", aggSkip)

	// Every column of the typed dump is a column of the CSV dump, taken
	// at the same moment.
	_, stats := readDir(t, "testdata/hap26typed")
	header := strings.Split(strings.TrimPrefix(strings.SplitN(string(stats[0].Data), "\n", 2)[0], "# "), ",")
	for k := kindFrontend; k <= kindServer; k++ {
		if len(n.table(k)) < 20 {
			t.Errorf("%s: only %d columns", kindNames[k], len(n.table(k)))
		}
		for name := range n.table(k) {
			if !slices.Contains(header, name) {
				t.Errorf("%s column %s is not in the CSV header", kindNames[k], name)
			}
		}
	}
	if _, ok := n.Frontend["qcur"]; ok {
		t.Error("frontend qcur learned: HAProxy leaves empty cells out of typed output")
	}
}

// The built-in table aggregates every field HAProxy 2.6 reports the way
// its typed dump says, but where 2.6 itself mislabels a field.
func TestBuiltinMatches26(t *testing.T) {
	n := readTyped(t, "testdata/hap26typed")
	// 2.6 tags a backend's rate_max as a gauge, where the built-in table
	// says a maximum (it is in the original's lists, summed, anyway).
	differ := map[string]bool{"backend/rate_max": true}
	for k := kindFrontend; k <= kindInfo; k++ {
		for name, tag := range n.table(k) {
			b, ok := builtin[k][name]
			if !ok {
				t.Errorf("%s %s (%s) not in the built-in table", kindNames[k], name, tag)
				continue
			}
			if got, want := b.agg(k, name), tag.agg(k, name); got != want && !differ[kindNames[k]+"/"+name] {
				t.Errorf("%s %s: built-in %s aggregates as %d, HAProxy's %s as %d", kindNames[k], name, b, got, tag, want)
			}
		}
	}
}

func TestTagAggregation(t *testing.T) {
	f := func(tag string, k int, name string, want agg) {
		t.Helper()
		tg, err := ParseTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.agg(k, name); got != want {
			t.Errorf("%s %s %s: %d, want %d", tag, kindNames[k], name, got, want)
		}
	}
	f("MCP:u64", kindServer, "x", aggSum)
	f("MCS:u64", kindInfo, "x", aggMax) // shared by the processes: once
	f("MGP:u32", kindBackend, "x", aggSum)
	f("MRP:u32", kindFrontend, "x", aggSum)
	f("CLP:u32", kindFrontend, "x", aggSum)
	f("CLS:u32", kindFrontend, "x", aggMax)
	f("MMP:u32", kindServer, "x", aggMax)
	f("MmP:u32", kindServer, "x", aggMin)
	f("MDP:u64", kindServer, "x", aggMax)
	f("MTP:u32", kindServer, "x", aggMax)
	f("MAP:s32", kindServer, "x", aggAge)
	f("MaP:u32", kindFrontend, "x", aggMean)
	f("MaP:u32", kindInfo, "x", aggMean)
	f("MaP:u32", kindBackend, "x", aggTMean)
	f("MaP:u32", kindServer, "x", aggTMean)
	f("MaP:u32", kindServer, "throttle", aggMean)
	f("MaP:flt", kindServer, "x", aggTMean)
	f("MCP:str", kindServer, "x", aggSkip)
	f("MNP:u32", kindServer, "x", aggSkip)
	f("MOP:u32", kindServer, "check_code", aggSkip)
	f("CGS:u32", kindServer, "check_rise", aggSkip)
	f("KGS:u32", kindServer, "sid", aggSkip)
	f("SGP:u32", kindInfo, "Pid", aggSkip)
	f("POS:u32", kindInfo, "x", aggSkip)
	f("MCP:u32", kindServer, "srid", aggSkip)
	f("MXP:u32", kindServer, "x", aggSkip) // a nature unknown today
	if _, err := ParseTag("MC"); err == nil {
		t.Error("ParseTag accepted a short tag")
	}
}

// ParseTyped* keep the first tag seen, split names at the right dots and
// colons, and reject what is not typed output.
func TestParseTypedShapes(t *testing.T) {
	n, err := ParseTypedInfo([]byte("0.Name.1:POS:str:HAProxy\r\n1.Version.1:POS:str:3.0.5-1:extra\n54.Unstoppable Jobs.1:MGP:u32:0\nnot a line\n\n"))
	if err != nil || n.Version != "3.0.5-1:extra" || n.Info["Unstoppable Jobs"].String() != "MGP:u32" {
		t.Errorf("ParseTypedInfo = %+v, %v", n, err)
	}
	for _, bad := range []string{"", "\n", "Unknown command.\n\n", "# pxname,svname\n"} {
		if _, err := ParseTypedInfo([]byte(bad)); err == nil {
			t.Errorf("ParseTypedInfo(%q) accepted", bad)
		}
	}
	for name, parse := range map[string]func([]byte) (*Natures, error){
		"ParseTypedStat": ParseTypedStat,
		"ReadTypedStat":  func(b []byte) (*Natures, error) { return ReadTypedStat(bytes.NewReader(b)) },
	} {
		n, err := parse([]byte("F.2.0.4.scur.1:MGP:u32:0\nS.3.1.73.addr.1:CGS:str:127.0.0.1:80\r\nL.2.1.0.pxname.1:KNS:str:web\nB.3.0.4.scur.1:MGP:u32:0\nB.4.0.4.scur.1:MMP:u32:0\n\n"))
		if err != nil || n.Frontend["scur"].String() != "MGP:u32" || n.Server["addr"].String() != "CGS:str" || n.Backend["scur"].String() != "MGP:u32" || n.Len() != 3 {
			t.Errorf("%s = %+v, %v", name, n, err)
		}
		if n, err := parse([]byte("\n")); err != nil || n.Len() != 0 {
			t.Errorf("%s, no proxy: %+v, %v", name, n, err)
		}
		for _, bad := range []string{"Unknown command.\n\n", "# pxname,svname,scur\nweb,FRONTEND,1\n\n", "X.1.0.4.scur.1:MGP:u32:0\n"} {
			if _, err := parse([]byte(bad)); err == nil {
				t.Errorf("%s(%q) accepted", name, bad)
			}
		}
	}
	// A real dump of HAProxy 2.6 gives the same natures either way.
	data, err := os.ReadFile("testdata/hap26typed/a1.sock_stattyped")
	if err != nil {
		t.Fatal(err)
	}
	a, err1 := ParseTypedStat(data)
	b, err2 := ReadTypedStat(bytes.NewReader(data))
	if err1 != nil || err2 != nil || a.Len() == 0 || !a.Equal(b) {
		t.Errorf("hap26 dump: ParseTypedStat %d natures (%v), ReadTypedStat %d (%v), equal %v", a.Len(), err1, b.Len(), err2, a.Equal(b))
	}
	if v := dump.InfoVersion([]byte("Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nUptime_sec: 1\n")); v != "2.6.12-1+deb12u4" {
		t.Errorf("InfoVersion = %q", v)
	}
}

// Natures survive JSON, as natures.state keeps them, and Merge lets the
// newer tags win.
func TestNaturesJSONAndMerge(t *testing.T) {
	n := readTyped(t, "testdata/hap26typed")
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var back Natures
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(n) || back.Len() < 100 {
		t.Errorf("JSON round trip lost tags: %d of %d", back.Len(), n.Len())
	}
	if !bytes.Contains(b, []byte(`"stot":"MCP:u64"`)) {
		t.Errorf("tags are not compact in JSON: %.200s", b)
	}
	newer := &Natures{Version: "3.0.5", Frontend: map[string]Tag{"stot": {'M', 'G', 'P', "u64"}, "h3req": {'M', 'C', 'P', "u64"}}}
	m := Merge(n, newer)
	if m.Version != "3.0.5" || m.Frontend["stot"].Nature != 'G' || m.Frontend["h3req"].Nature != 'C' || m.Frontend["scur"].Nature != 'G' {
		t.Errorf("Merge = %s %v", m.Version, m.Frontend)
	}
	if n.Frontend["stot"].Nature != 'C' || n.Frontend["h3req"] != (Tag{}) {
		t.Error("Merge modified its input")
	}
	var none *Natures
	if !none.Equal(&Natures{}) || none.Equal(n) || none.Len() != 0 || !none.Counter("stot") || none.Counter("scur") {
		t.Error("nil Natures misbehaves")
	}
}

// With all-metrics on the real 2.6 capture: the original's lines are
// unchanged, the extra columns are there, aggregated by their nature,
// and the Metrics* counters count them.
func TestAllMetricsHAProxy26(t *testing.T) {
	dir := "testdata/hap26typed"
	infos, stats := readDir(t, dir)
	n := readTyped(t, dir)
	base := &Options{Prefix: "p", PerProcess: true, AggrServers: true}
	off := lines(run(t, dir, base))
	all := *base
	all.AllMetrics, all.Natures = true, n
	ms := runAll(t, infos, stats, n, &all)
	got := index(ms)
	if len(got) != len(ms) {
		t.Error("duplicate paths")
	}

	// Every line of the default output is there, with its value, but
	// the Metrics* counters, which count the extra lines too.
	extra := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(string(off)), "\n") {
		f := strings.Fields(l)
		if strings.HasPrefix(f[0], "p.haproxystats.Metrics") {
			continue
		}
		if v, ok := got[f[0]]; !ok || string(metric.AppendValue(nil, v)) != f[1] {
			t.Errorf("%s = %v (present %v), default output says %s", f[0], v, ok, f[1])
		}
	}
	offIdx := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(off)), "\n") {
		offIdx[strings.Fields(l)[0]] = true
	}
	for p, v := range got {
		if !offIdx[p] {
			extra[p] = v
		}
		if strings.ContainsAny(p, " \t") {
			t.Errorf("blank in path %q", p)
		}
	}

	// Spot checks, from the two CSV files.
	refs := []ref{readRef(t, stats[0].Data), readRef(t, stats[1].Data)}
	row := func(r ref, px, sv string) []string {
		for _, rw := range r.rows {
			if rw[r.col["pxname"]] == px && rw[r.col["svname"]] == sv {
				return rw
			}
		}
		t.Fatalf("no row %s/%s", px, sv)
		return nil
	}
	cell := func(i int, px, sv, col string) float64 {
		v, _ := refs[i].num(row(refs[i], px, sv), col)
		return v
	}
	check := func(path string, want float64) {
		t.Helper()
		if v, ok := got[path]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", path, v, ok, want)
		}
	}
	absent := func(path string) {
		t.Helper()
		if v, ok := got[path]; ok {
			t.Errorf("%s = %v, want no line", path, v)
		}
	}
	sum := func(px, sv, col string) float64 { return cell(0, px, sv, col) + cell(1, px, sv, col) }
	check("p.frontend.www_example_com.h1_bytes_in", sum("www.example.com", "FRONTEND", "h1_bytes_in"))
	check("p.frontend.www_example_com.conn_tot", sum("www.example.com", "FRONTEND", "conn_tot"))
	check("p.frontend.www_example_com.wrew", 0)
	check("p.backend.app.connect", sum("app", "BACKEND", "connect"))
	check("p.backend.app.h1_open_connections", sum("app", "BACKEND", "h1_open_connections"))
	check("p.backend.app.lastsess", math.Min(cell(0, "app", "BACKEND", "lastsess"), cell(1, "app", "BACKEND", "lastsess")))
	check("p.backend.app.uweight", (cell(0, "app", "BACKEND", "uweight")+cell(1, "app", "BACKEND", "uweight"))/2)
	check("p.backend.app.server.app1.connect", sum("app", "app1", "connect"))
	check("p.backend.app.server.app1.srv_icur", sum("app", "app1", "srv_icur"))
	check("p.backend.app.server.app1.qtime_max", math.Max(cell(0, "app", "app1", "qtime_max"), cell(1, "app", "app1", "qtime_max")))
	check("p.server.app2_dc1.connect", sum("app", "app2.dc1", "connect"))
	info := []Info{ParseInfo(infos[0].Data), ParseInfo(infos[1].Data)}
	check("p.daemon.Jobs", info[0]["Jobs"]+info[1]["Jobs"])
	check("p.daemon.Unstoppable_Jobs", info[0]["Unstoppable Jobs"]+info[1]["Unstoppable Jobs"])
	check("p.daemon.TotalBytesOut", info[0]["TotalBytesOut"]+info[1]["TotalBytesOut"])
	check("p.daemon.PoolAlloc_bytes", info[0]["PoolAlloc_bytes"]+info[1]["PoolAlloc_bytes"])
	check("p.daemon.Start_time_sec", math.Max(info[0]["Start_time_sec"], info[1]["Start_time_sec"])) // a duration: max
	check("p.daemon.process.1.Jobs", info[0]["Jobs"])
	// The server that never had a session (lastsess -1 in both) has no
	// age; the frontends have no queue (empty cells).
	absent("p.backend.static.server.s1.lastsess")
	absent("p.frontend.www_example_com.qcur")
	absent("p.frontend.www_example_com.qtime_max")
	// Keys, statuses, configuration, names and codes are never emitted.
	for _, name := range []string{"pid", "iid", "sid", "type", "status", "mode", "act", "bck", "agg_server_status", "agg_check_status", "check_rise"} {
		absent("p.backend.app.server.app1." + name)
		if name != "act" && name != "bck" {
			absent("p.backend.app." + name)
		}
	}
	for _, name := range []string{"Pid", "Process_num", "Nbthread", "Nbproc", "Tainted", "Uptime", "Build_info", "Version"} {
		absent("p.daemon." + name)
		absent("p.daemon.process.1." + name)
	}

	// Metrics* = 1 + every line of the block, the extra ones included.
	count := map[string]float64{}
	for p := range got {
		switch {
		case strings.HasPrefix(p, "p.daemon."):
			count["MetricsHAProxy"]++
		case strings.HasPrefix(p, "p.frontend."):
			count["MetricsFrontend"]++
		case strings.HasPrefix(p, "p.server."),
			strings.HasPrefix(p, "p.backend.") && (strings.Contains(p, ".server.") || strings.HasSuffix(p, ".TotalServers")):
			count["MetricsServer"]++
		case strings.HasPrefix(p, "p.backend."):
			count["MetricsBackend"]++
		}
	}
	if len(count) != 4 {
		t.Fatalf("blocks %v", count)
	}
	for c, n := range count {
		check("p.haproxystats."+c, n+1)
	}
	if len(extra) < 150 {
		t.Errorf("only %d extra lines", len(extra))
	}
	golden(t, filepath.Join(dir, "all-metrics.golden"), lines(ms))
}

// With all-metrics off, Sites built for it give the original's output,
// byte for byte, on every golden input.
func TestAllMetricsOffUnchanged(t *testing.T) {
	n := readTyped(t, "testdata/hap26typed")
	cases := map[string]*Options{"hap26": {Prefix: "p", PerProcess: true, Percentages: true, AggrServers: true}}
	for name, o := range options13() {
		cases["example13/"+name] = o
	}
	for name, o := range cases {
		dir := "testdata/example13"
		if name == "hap26" {
			dir = "testdata/hap26"
		}
		infos, stats := readDir(t, dir)
		withNatures := *o
		withNatures.Natures = n // without AllMetrics, natures change nothing
		want := lines(run(t, dir, o))
		if got := lines(runAll(t, infos, stats, n, &withNatures)); !bytes.Equal(got, want) {
			t.Errorf("%s: all-metrics off differs from the default output", name)
		}
	}
}

// A hand-made HAProxy 3.x pair of processes, with columns no built-in
// table knows: a new static column of each nature before "-", and QUIC
// module counters after it. Frontend web; backend app with server s1
// (traffic in process 1 only) and s2 (no traffic anywhere); backend b2
// with a server also called s1.
const (
	hap3Header = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,status,weight,act,bck,lbtot,type,rate,qtime,ctime,rtime,ttime,h3req,x_queue_peak,x_rtt_avg,x_idle_min,proto,-,quic_rxbuf_full,quic_conn_opening,\n"
	hap3Stat1  = hap3Header +
		"web,FRONTEND,,,1,5,100,10,1000,2000,OPEN,,,,,0,1,,,,,7,3,20,4,tcp,-,4,1,\n" +
		"app,s1,0,2,1,3,,6,600,700,UP,1,1,0,6,2,0,1,2,3,4,,9,30,2,,-,2,0,\n" +
		"app,s2,0,0,0,0,,0,0,0,UP,1,1,0,0,2,0,0,0,0,0,,1,99,7,,-,0,0,\n" +
		"app,BACKEND,0,2,1,3,200,6,600,700,UP,2,2,0,6,1,0,1,2,3,4,,9,30,2,,-,2,0,\n" +
		"b2,s1,0,0,0,1,,1,1,1,UP,1,1,0,1,2,0,0,0,0,0,,11,10,5,,-,1,0,\n" +
		"b2,BACKEND,0,0,0,1,200,1,1,1,UP,1,1,0,1,1,0,0,0,0,0,,11,10,5,,-,1,0,\n\n"
	hap3Stat2 = hap3Header +
		"web,FRONTEND,,,2,6,100,20,3000,4000,OPEN,,,,,0,2,,,,,8,5,40,6,tcp,-,6,2,\n" +
		"app,s1,0,1,0,1,,0,0,0,UP,1,1,0,0,2,0,0,0,0,0,,4,50,1,,-,3,0,\n" +
		"app,s2,0,0,0,0,,0,0,0,UP,1,1,0,0,2,0,0,0,0,0,,2,98,3,,-,0,0,\n" +
		"app,BACKEND,0,1,0,1,200,0,0,0,UP,2,2,0,0,1,0,0,0,0,0,,4,50,1,,-,3,0,\n" +
		"b2,s1,0,0,0,1,,2,1,1,UP,1,1,0,2,2,0,0,0,0,0,,13,20,6,,-,1,0,\n" +
		"b2,BACKEND,0,0,0,1,200,2,1,1,UP,1,1,0,2,1,0,0,0,0,0,,13,20,6,,-,1,0,\n\n"
	hap3Info1 = "Name: HAProxy\nVersion: 3.0.5\nProcess_num: 1\nPid: 10\nUptime_sec: 100\nCurrConns: 1\nQuicConns: 3\nPeakQuicConns: 8\n\n"
	hap3Info2 = "Name: HAProxy\nVersion: 3.0.5\nProcess_num: 2\nPid: 11\nUptime_sec: 90\nCurrConns: 2\nQuicConns: 4\nPeakQuicConns: 5\n\n"

	hap3InfoTyped = `0.Name.1:POS:str:HAProxy
1.Version.1:POS:str:3.0.5
5.Process_num.1:KGP:u32:1
6.Pid.1:SGP:u32:10
8.Uptime_sec.1:MDP:u32:100
17.CurrConns.1:MGP:u32:1
90.QuicConns.1:MGP:u32:3
91.PeakQuicConns.1:MMP:u32:8

`
	hap3StatTyped = `F.2.0.0.pxname.1:KNS:str:web
F.2.0.1.svname.1:KNS:str:FRONTEND
F.2.0.7.stot.1:MCP:u64:10
F.2.0.110.h3req.1:MCP:u64:7
F.2.0.120.x_queue_peak.1:MMP:u32:3
F.2.0.121.x_rtt_avg.1:MaP:u32:20
F.2.0.122.x_idle_min.1:MmP:u32:4
F.2.0.123.proto.1:SGP:str:tcp
F.2.0.125.quic_rxbuf_full.1:MCP:u64:4
F.2.0.126.quic_conn_opening.1:MGP:u64:1
L.2.1.0.pxname.1:KNS:str:web
B.3.0.0.pxname.1:KNS:str:app
B.3.0.120.x_queue_peak.1:MMP:u32:9
B.3.0.121.x_rtt_avg.1:MaP:u32:30
B.3.0.122.x_idle_min.1:MmP:u32:2
B.3.0.125.quic_rxbuf_full.1:MCP:u64:2
B.3.0.126.quic_conn_opening.1:MGP:u64:0
S.3.1.19.act.1:SGP:u32:1
S.3.1.120.x_queue_peak.1:MMP:u32:9
S.3.1.121.x_rtt_avg.1:MaP:u32:30
S.3.1.122.x_idle_min.1:MmP:u32:2
S.3.1.125.quic_rxbuf_full.1:MCP:u64:2
S.3.1.126.quic_conn_opening.1:MGP:u64:0

`
)

func hap3Files() (infos, stats []File) {
	return []File{{Name: "a1.sock_info", Data: []byte(hap3Info1)}, {Name: "a2.sock_info", Data: []byte(hap3Info2)}},
		[]File{{Name: "a1.sock_stat", Data: []byte(hap3Stat1)}, {Name: "a2.sock_stat", Data: []byte(hap3Stat2)}}
}

func hap3Natures(t testing.TB) *Natures {
	t.Helper()
	ni, err := ParseTypedInfo([]byte(hap3InfoTyped))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := ParseTypedStat([]byte(hap3StatTyped))
	if err != nil {
		t.Fatal(err)
	}
	return Merge(ni, ns)
}

// New columns of a later HAProxy appear, aggregated by the nature its
// typed dumps give them: counters summed, maxima as max, minima as min,
// averages as means (only over processes with traffic for backends and
// servers). Without typed dumps they are skipped, and logged once.
func TestAllMetricsHAProxy3(t *testing.T) {
	infos, stats := hap3Files()
	n := hap3Natures(t)
	if n.Version != "3.0.5" {
		t.Errorf("Version = %q", n.Version)
	}
	o := &Options{Prefix: "p", AggrServers: true, PerProcess: true, AllMetrics: true, Natures: n}
	got := index(runAll(t, infos, stats, n, o))
	want := map[string]float64{
		"p.frontend.web.h3req":               7 + 8, // built-in and learned: counter
		"p.frontend.web.x_queue_peak":        5,     // max
		"p.frontend.web.x_rtt_avg":           30,    // frontend: mean over all
		"p.frontend.web.x_idle_min":          4,     // min
		"p.frontend.web.quic_rxbuf_full":     4 + 6, // module counter after "-"
		"p.frontend.web.quic_conn_opening":   1 + 2, // gauge
		"p.backend.app.x_queue_peak":         9,     // max
		"p.backend.app.x_rtt_avg":            30,    // only process 1 had traffic
		"p.backend.app.quic_rxbuf_full":      2 + 3, // counter
		"p.backend.app.server.s1.x_rtt_avg":  30,    // only process 1 had traffic
		"p.backend.app.server.s1.x_idle_min": 1,
		"p.backend.b2.x_rtt_avg":             15, // traffic in both
		"p.server.s1.x_queue_peak":           13, // across app and b2
		"p.server.s1.x_rtt_avg":              (30 + 10 + 20) / 3.0,
		"p.server.s1.quic_rxbuf_full":        2 + 3 + 1 + 1,
		"p.server.s1.x_idle_min":             1,
		"p.daemon.QuicConns":                 3 + 4,
		"p.daemon.PeakQuicConns":             8,
		"p.daemon.process.2.PeakQuicConns":   5,
		"p.daemon.CurrConns":                 3, // the original's line, unchanged
		"p.daemon.Uptime_sec":                95,
	}
	for p, w := range want {
		if v, ok := got[p]; !ok || v != w {
			t.Errorf("%s = %v (present %v), want %v", p, v, ok, w)
		}
	}
	for _, p := range []string{
		"p.backend.app.server.s2.x_rtt_avg", // no traffic anywhere
		"p.frontend.web.proto", "p.backend.app.server.s1.act", "p.daemon.Pid",
		"p.daemon.Process_num", "p.frontend.web.qcur",
	} {
		if v, ok := got[p]; ok {
			t.Errorf("%s = %v, want no line", p, v)
		}
	}

	// Without typed dumps, the columns no built-in table knows are
	// skipped, never guessed, and logged once.
	unknownLogged.Clear()
	var logbuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o = &Options{Prefix: "p", AllMetrics: true, Log: log}
	for range 2 {
		got = index(runAll(t, infos, stats, nil, o))
	}
	if got["p.frontend.web.h3req"] != 15 {
		t.Errorf("h3req = %v, want 15 from the built-in table", got["p.frontend.web.h3req"])
	}
	for p := range got {
		if strings.Contains(p, "x_") || strings.Contains(p, "quic") || strings.Contains(p, "QuicConns") {
			t.Errorf("%s emitted without a known nature", p)
		}
	}
	// Once per kind of row (the header is the same for all three) and
	// field, however many snapshots.
	for field, want := range map[string]int{"field=x_rtt_avg\n": 3, "field=quic_rxbuf_full\n": 3, "kind=server field=x_idle_min\n": 1, "kind=info field=QuicConns\n": 1} {
		if c := strings.Count(logbuf.String(), field); c != want {
			t.Errorf("%q logged %d times, want %d:\n%s", field, c, want, logbuf.String())
		}
	}
}

// The Encoder writes the extra lines too, byte for byte as the metrics.
func TestAllMetricsEncoder(t *testing.T) {
	infos, stats := hap3Files()
	n := hap3Natures(t)
	o := &Options{Prefix: "p", AggrServers: true, AllMetrics: true, Natures: n}
	ms := runAll(t, infos, stats, n, o)
	s, err := ParseSitesAll(stats, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc := NewEncoder(nil)
	if err := enc.Daemon(infos, ts13, o); err != nil {
		t.Fatal(err)
	}
	enc.Frontends(s, ts13, o)
	enc.Backends(s, ts13, o)
	if err := enc.Servers(s, ts13, o); err != nil {
		t.Fatal(err)
	}
	if want := appendLines(nil, ms); !bytes.Equal(enc.Bytes(), want) {
		t.Errorf("Encoder:\n%s\nwant:\n%s", enc.Bytes(), want)
	}
}
