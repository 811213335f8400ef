package prometheus

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

const (
	prefix13 = "loadbalancers.lb-01_example_com.haproxy"
	ts13     = 1500000000
	dir13    = "../stats/testdata/example13"
)

var (
	discard = slog.New(slog.DiscardHandler)
	update  = flag.Bool("update", false, "rewrite testdata/example13.prom")
)

// selfStats are self-statistics as process and pull add them to every
// snapshot, one of each name haproxystats emits.
var selfStats = map[string]float64{
	"WallClockTimeHAProxy": 0.000041, "WallClockTimeFrontends": 0.000012,
	"WallClockTimeBackends": 0.00001, "WallClockTimeServers": 0.000025,
	"WallClockTimeAllStats": 0.000105, "TotalWallClockTime": 0.000187,
	"SnapshotsWaiting": 3, "SnapshotsFailed": 1, "FilesRejected": 2, "DeliveryRetries": 4,
	"GraphiteLinesSent": 123456, "GraphiteLinesDropped": 7, "GraphiteConnectFailures": 5, "GraphiteLinesQueued": 509,
	"PullRoundsCommitted": 42, "PullRoundsFailed": 2, "PullRoundsSkipped": 9, "PullWallClockTime": 0.0031,
	"KafkaRecordsProduced": 40, "KafkaBytesProduced": 40960, "KafkaProduceErrors": 1,
	"KafkaSnapshotsRefused": 1, "KafkaRecordsBuffered": 0, "KafkaProduceLatencyLastSeconds": 0.012,
	"MasterWorkers": 1, "MasterOldWorkers": 1, "MasterOldestWorkerAge": 300, "MasterReloads": 4,
}

// render processes the example13 snapshot as haproxystats-process does,
// with edit applied to every show stat reply, and adds selfStats.
func render(t testing.TB, o *stats.Options, ts int64, edit func(string) string) []metric.Metric {
	t.Helper()
	var infos, stat []stats.File
	for _, name := range []string{"admin1.sock", "admin2.sock"} {
		info, err := os.ReadFile(filepath.Join(dir13, name+"_info"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.ReadFile(filepath.Join(dir13, name+"_stat"))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			st = []byte(edit(string(st)))
		}
		infos = append(infos, stats.File{Name: name + "_info", Data: info})
		stat = append(stat, stats.File{Name: name + "_stat", Data: st})
	}
	ms, err := stats.Daemon(nil, infos, ts, o)
	if err != nil {
		t.Fatal(err)
	}
	sites, err := stats.ParseSites(stat)
	if err != nil || len(sites.Rejected) > 0 {
		t.Fatalf("ParseSites: %v %v", err, sites.Rejected)
	}
	ms = sites.Frontends(ms, ts, o)
	ms = sites.Backends(ms, ts, o)
	ms = sites.Servers(ms, ts, o)
	for _, name := range slices.Sorted(mapKeys(selfStats)) {
		ms = append(ms, metric.Metric{Path: o.Prefix + ".haproxystats." + name, Value: selfStats[name], Time: ts})
	}
	return ms
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func allOptions() *stats.Options {
	return &stats.Options{Prefix: prefix13, PerProcess: true, Percentages: true, AggrServers: true}
}

// scrape fetches url and parses the text exposition.
func scrape(t testing.TB, url string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, body)
	}
	return body, mfs
}

// id writes a sample as name{label="value",...}, labels sorted, empty
// values left out (Prometheus drops them).
func id(name string, labels []Label) string {
	var ls []string
	for _, l := range labels {
		if l.Value != "" {
			ls = append(ls, fmt.Sprintf("%s=%q", l.Name, l.Value))
		}
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

type sample struct {
	typ   dto.MetricType
	value float64
	ms    int64 // timestamp
}

// samples indexes the scraped samples by id.
func samples(t testing.TB, mfs map[string]*dto.MetricFamily) map[string]sample {
	t.Helper()
	out := map[string]sample{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []Label
			for _, lp := range m.GetLabel() {
				ls = append(ls, Label{lp.GetName(), lp.GetValue()})
			}
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				t.Errorf("%s: unexpected type %v", name, mf.GetType())
			}
			k := id(name, ls)
			if _, dup := out[k]; dup {
				t.Errorf("%s exposed twice", k)
			}
			out[k] = sample{mf.GetType(), v, m.GetTimestampMs()}
		}
	}
	return out
}

func dtoType(v prom.ValueType) dto.MetricType {
	switch v {
	case prom.CounterValue:
		return dto.MetricType_COUNTER
	case prom.GaugeValue:
		return dto.MetricType_GAUGE
	}
	return dto.MetricType_UNTYPED
}

// checkAgainstGraphite checks that every Graphite datapoint of ms is a
// sample of the scrape with the same value (after the documented unit
// change), type and time, and that the scrape has nothing else.
func checkAgainstGraphite(t *testing.T, tr *Translator, ms []metric.Metric, got map[string]sample) {
	t.Helper()
	want := map[string]bool{}
	for _, m := range ms {
		s, ok := tr.Translate(m.Path)
		if !ok {
			t.Errorf("%s: not translated", m.Path)
			continue
		}
		k := id(s.Name, s.Labels)
		want[k] = true
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s (%s) missing from the scrape", k, m.Path)
		case g.value != m.Value*s.Scale:
			t.Errorf("%s = %v, want %v × %v (Graphite %s)", k, g.value, m.Value, s.Scale, m.Path)
		case g.typ != dtoType(s.Type):
			t.Errorf("%s is a %v, want %v", k, g.typ, dtoType(s.Type))
		case g.ms != m.Time*1000:
			t.Errorf("%s has timestamp %d ms, want %d s", k, g.ms, m.Time)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s scraped, but is no Graphite datapoint", k)
		}
	}
}

// promtoolBinary is $HAPROXYSTATS_PROMTOOL or promtool in $PATH, "" when
// there is none (make test installs it: Debian package prometheus).
func promtoolBinary() string {
	if bin := os.Getenv("HAPROXYSTATS_PROMTOOL"); bin != "" {
		return bin
	}
	bin, _ := exec.LookPath("promtool")
	return bin
}

const noPromtool = "promtool not installed (Debian package prometheus; make test installs it): exposition not linted"

// promtool runs `promtool check metrics` on an exposition, if promtool is
// installed.
func promtool(t *testing.T, body []byte) {
	t.Helper()
	bin := promtoolBinary()
	if bin == "" {
		t.Log(noPromtool)
		return
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPromtool lints the reviewed exposition of example13 (and says so
// when it cannot).
func TestPromtool(t *testing.T) {
	if promtoolBinary() == "" {
		t.Skip(noPromtool)
	}
	body, err := os.ReadFile("testdata/example13.prom")
	if err != nil {
		t.Fatal(err)
	}
	promtool(t, body)
}

func TestScrapeExample13(t *testing.T) {
	o := allOptions()
	ms := render(t, o, ts13, nil)
	sink := New(*o, discard)
	if err := sink.Send(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	body, mfs := scrape(t, srv.URL)
	got := samples(t, mfs)
	checkAgainstGraphite(t, NewTranslator(*o), ms, got)
	if len(got) != len(ms) {
		t.Errorf("%d samples for %d Graphite datapoints", len(got), len(ms))
	}

	// The names and values, written out by hand.
	const C, G = dto.MetricType_COUNTER, dto.MetricType_GAUGE
	for _, c := range []struct {
		id    string
		typ   dto.MetricType
		value float64
	}{
		{`haproxy_frontend_sessions_total{frontend="www_example_com"}`, C, 160},
		{`haproxy_frontend_current_sessions{frontend="www_example_com"}`, G, 4},
		{`haproxy_frontend_http_responses_total{code="2xx",frontend="www_example_com"}`, C, 145},
		{`haproxy_frontend_http_responses_total{code="other",frontend="www_example_com"}`, C, 0},
		{`haproxy_frontend_http_requests_total{frontend="www_example_com"}`, C, 160},
		{`haproxy_frontend_bytes_in_total{frontend="www_example_com"}`, C, 8000},
		{`haproxy_frontend_connections_rate_max{frontend="www_example_com"}`, G, 31},
		{`haproxy_frontend_limit_sessions{frontend="www_example_com"}`, G, 4000},
		{`haproxy_backend_servers{backend="app"}`, G, 2},
		{`haproxy_backend_active_servers{backend="app"}`, G, 2},
		{`haproxy_backend_loadbalanced_total{backend="app"}`, C, 155},
		{`haproxy_backend_connection_errors_total{backend="app"}`, C, 1},
		{`haproxy_backend_response_time_average_seconds{backend="app"}`, G, 0.03},
		{`haproxy_backend_total_time_average_seconds{backend="app"}`, G, 0.045},
		{`haproxy_backend_downtime_seconds_total{backend="app"}`, C, 0},
		{`haproxy_server_sessions_total{backend="app",server="app2_dc1"}`, C, 45},
		{`haproxy_server_current_sessions{backend="app",server="app1"}`, G, 2},
		{`haproxy_server_check_failures_total{backend="app",server="app1"}`, C, 0},
		{`haproxy_server_connect_time_average_seconds{backend="app",server="app1"}`, G, 0.0015},
		{`haproxy_server_weight{backend="app",server="app1"}`, G, 1},
		{`haproxy_aggregated_server_sessions_total{server="app1"}`, C, 110},
		{`haproxy_aggregated_server_bytes_out_total{server="app2_dc1"}`, C, 9000},
		{`haproxy_process_requests_total{}`, C, 23500},
		{`haproxy_process_current_connections{}`, G, 450},
		{`haproxy_process_idle_time_percent{}`, G, 87.5},
		{`haproxy_process_uptime_seconds{}`, G, 600.5},
		{`haproxy_process_max_fds{}`, G, 8070},
		{`haproxy_process_cpu_usage_percent_percentile{percentile="75"}`, G, 20},
		{`haproxy_process_cpu_usage_percent_stddev{}`, G, 10.606601717798213},
		{`haproxy_process_connections_limit_usage_percent{}`, G, 11},
		{`haproxy_per_process_current_connections{process="2"}`, G, 150},
		{`haproxy_per_process_connections_total{process="1"}`, C, 15000},
		{`haproxy_per_process_cpu_usage_percent{process="2"}`, G, 20},
		{`haproxy_per_process_connection_rate_limit_usage_percent{process="1"}`, G, 25},
		{`haproxystats_snapshot_metrics{block="server"}`, G, 130},
		{`haproxystats_processing_seconds{stage="total"}`, G, 0.000187},
		{`haproxystats_pull_rounds_total{result="skipped"}`, C, 9},
		{`haproxystats_pull_round_seconds{}`, G, 0.0031},
		{`haproxystats_snapshots_waiting{}`, G, 3},
		{`haproxystats_graphite_lines_dropped_total{}`, C, 7},
		{`haproxystats_kafka_records_buffered{}`, G, 0},
		{`haproxy_master_reloads_total{}`, C, 4},
	} {
		g, ok := got[c.id]
		if !ok || g.typ != c.typ || g.value != c.value || g.ms != ts13*1000 {
			t.Errorf("%s = %+v (present %v), want %v %v at %d", c.id, g, ok, c.typ, c.value, ts13)
		}
	}
	// The naming rule: counters, and only they, end in _total; no
	// family is left untyped for this snapshot.
	for name, mf := range mfs {
		if (mf.GetType() == dto.MetricType_COUNTER) != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %v", name, mf.GetType())
		}
		if mf.GetType() == dto.MetricType_UNTYPED {
			t.Errorf("%s is untyped", name)
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}
	t.Logf("%d families, %d samples", len(mfs), len(got))
	// The whole exposition: review a diff like code, then go test -update.
	const golden = "testdata/example13.prom"
	if *update {
		if err := os.WriteFile(golden, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(body, want) {
		t.Errorf("exposition differs from %s (%v); review, then go test -update", golden, err)
	}
	promtool(t, body)
}

// A server removed from HAProxy's configuration is gone from the next
// scrape: nothing stale lingers. Snapshots never go back in time.
func TestServerDisappears(t *testing.T) {
	o := allOptions()
	sink := New(*o, discard)
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	if _, mfs := scrape(t, srv.URL); len(mfs) != 0 {
		t.Errorf("%d families before any snapshot, want none", len(mfs))
	}

	sink.Send(context.Background(), render(t, o, ts13, nil))
	_, mfs := scrape(t, srv.URL)
	before := samples(t, mfs)
	if _, ok := before[`haproxy_server_sessions_total{backend="app",server="app2_dc1"}`]; !ok {
		t.Fatal("app2_dc1 not in the first scrape")
	}

	drop := regexp.MustCompile(`(?m)^app,app2\.dc1,.*\n`)
	edit := func(s string) string { return drop.ReplaceAllString(s, "") }
	ms2 := render(t, o, ts13+10, edit)
	sink.Send(context.Background(), ms2)
	// A late, older snapshot changes nothing.
	sink.Send(context.Background(), render(t, o, ts13+5, nil))
	_, mfs = scrape(t, srv.URL)
	after := samples(t, mfs)
	checkAgainstGraphite(t, NewTranslator(*o), ms2, after)
	for k, s := range after {
		if strings.Contains(k, `server="app2_dc1"`) {
			t.Errorf("%s still exposed after the server was removed", k)
		}
		if s.ms != (ts13+10)*1000 {
			t.Errorf("%s at %d ms, want the newest snapshot's %d s", k, s.ms, ts13+10)
		}
	}
	if s := after[`haproxy_backend_servers{backend="app"}`]; s.value != 1 {
		t.Errorf("haproxy_backend_servers{backend=app} = %v, want 1", s.value)
	}
	if _, ok := after[`haproxy_server_sessions_total{backend="app",server="app1"}`]; !ok {
		t.Error("app1 gone too")
	}
	if len(after) >= len(before) {
		t.Errorf("%d samples after removing a server, %d before", len(after), len(before))
	}
}

// Send never waits for scrapes, and concurrent sends and scrapes settle
// on the newest snapshot.
func TestConcurrentSendScrape(t *testing.T) {
	o := &stats.Options{Prefix: prefix13}
	sink := New(*o, discard)
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	snaps := make([][]metric.Metric, 20)
	for i := range snaps {
		snaps[i] = render(t, o, ts13+int64(i), nil)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(snaps); i += 4 {
				sink.Send(context.Background(), snaps[i])
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for range 5 {
				scrape(t, srv.URL)
			}
		})
	}
	wg.Wait()
	_, mfs := scrape(t, srv.URL)
	for k, s := range samples(t, mfs) {
		if s.ms != (ts13+19)*1000 {
			t.Fatalf("%s at %d ms, want the newest snapshot %d", k, s.ms, ts13+19)
		}
	}
}

// With grouping, a proxy's series carry its group as a label, once,
// whether the grouped path is written alone or beside the ungrouped one.
func TestGrouping(t *testing.T) {
	plain := allOptions()
	ref := samples(t, scrapeOnce(t, plain, render(t, plain, ts13, nil)))
	for _, double := range []bool{true, false} {
		t.Run(fmt.Sprintf("double-writes=%v", double), func(t *testing.T) {
			o := allOptions()
			o.Groups = &stats.Grouping{
				Namespace:    "flavor",
				DoubleWrites: double,
				Frontend:     []stats.Group{{Name: "www", Re: regexp.MustCompile(`^www_`)}},
				Backend:      []stats.Group{{Name: "apps", Re: regexp.MustCompile(`^ap`)}},
				Server:       []stats.Group{{Name: "two", Re: regexp.MustCompile(`_dc1$`)}},
			}
			ms := render(t, o, ts13, nil)
			got := samples(t, scrapeOnce(t, o, ms))
			grouped := 0
			for _, m := range ms {
				if strings.HasPrefix(m.Path, prefix13+".flavor.") {
					grouped++
				}
			}
			if grouped == 0 {
				t.Fatal("no grouped path in the snapshot")
			}
			// The same samples as without grouping, plus the group label.
			if len(got) != len(ref) {
				t.Errorf("%d samples, %d without grouping", len(got), len(ref))
			}
			group := regexp.MustCompile(`,?group="[^"]*"`)
			for k, s := range got {
				plainID := strings.Replace(group.ReplaceAllString(k, ""), "{,", "{", 1)
				if r, ok := ref[plainID]; !ok || r.value != s.value {
					t.Errorf("%s = %v; without grouping %s = %v (present %v)", k, s.value, plainID, r.value, ok)
				}
			}
			for _, k := range []string{
				`haproxy_frontend_sessions_total{frontend="www_example_com",group="www"}`,
				`haproxy_backend_sessions_total{backend="app",group="apps"}`,
				`haproxy_backend_servers{backend="app",group="apps"}`,
				`haproxy_server_sessions_total{backend="app",group="apps",server="app1"}`,
				`haproxy_aggregated_server_sessions_total{group="two",server="app2_dc1"}`,
				`haproxy_aggregated_server_sessions_total{server="app1"}`,
				`haproxy_process_requests_total{}`,
			} {
				if _, ok := got[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
		})
	}
}

func scrapeOnce(t *testing.T, o *stats.Options, ms []metric.Metric) map[string]*dto.MetricFamily {
	t.Helper()
	sink := New(*o, discard)
	sink.Send(context.Background(), ms)
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	body, mfs := scrape(t, srv.URL)
	if o.Groups != nil {
		promtool(t, body)
	}
	return mfs
}

func TestTranslate(t *testing.T) {
	tr := NewTranslator(stats.Options{Prefix: "ns.host.haproxy"})
	f := func(path, want string, typ prom.ValueType, scale float64) {
		t.Helper()
		s, ok := tr.Translate(path)
		if want == "" {
			if ok {
				t.Errorf("Translate(%q) = %s, want no series", path, id(s.Name, s.Labels))
			}
			return
		}
		if got := id(s.Name, s.Labels); !ok || got != want || s.Type != typ || s.Scale != scale {
			t.Errorf("Translate(%q) = %s %v ×%v (ok %v), want %s %v ×%v", path, got, s.Type, s.Scale, ok, want, typ, scale)
		}
	}
	f("ns.host.haproxy.frontend.fe.stot", `haproxy_frontend_sessions_total{frontend="fe"}`, counter, 1)
	f("ns.host.haproxy.backend.be.server.s1.hrsp_5xx", `haproxy_server_http_responses_total{backend="be",code="5xx",server="s1"}`, counter, 1)
	f("ns.host.haproxy.backend.server.server.server.qtime", `haproxy_server_queue_time_average_seconds{backend="server",server="server"}`, gauge, 0.001)
	f("ns.host.haproxy.backend.be.TotalServers", `haproxy_backend_servers{backend="be"}`, gauge, 1)
	// A metric both summed and averaged (backend-metrics = weight).
	f("ns.host.haproxy.backend.be.weight_y", `haproxy_backend_weight{backend="be"}`, gauge, 1)
	f("ns.host.haproxy.backend.be.weight_x", `haproxy_backend_weight_x{backend="be"}`, untyped, 1)
	f("ns.host.haproxy.daemon.Memmax_MB", `haproxy_process_max_memory_bytes{}`, gauge, 1<<20)
	f("ns.host.haproxy.daemon.99PercentileCpuUsagePct", `haproxy_process_cpu_usage_percent_percentile{percentile="99"}`, gauge, 1)
	f("ns.host.haproxy.daemon.process.12.Ulimit-n", `haproxy_per_process_max_fds{process="12"}`, gauge, 1)
	// Fields and names haproxystats may learn later: untyped, still there.
	f("ns.host.haproxy.daemon.PoolAlloc_MB", `haproxy_process_pool_alloc_mb{}`, untyped, 1)
	f("ns.host.haproxy.frontend.fe.wrew", `haproxy_frontend_wrew{frontend="fe"}`, untyped, 1)
	f("ns.host.haproxy.haproxystats.PrometheusHTTPScrapes", `haproxystats_prometheus_http_scrapes{}`, untyped, 1)
	// Shapes haproxystats never emits.
	for _, p := range []string{
		"other.host.haproxy.frontend.fe.stot", "ns.host.haproxy", "ns.host.haproxy.frontend.fe",
		"ns.host.haproxy.frontend.fe.a.b", "ns.host.haproxy.backend.be.server.s1",
		"ns.host.haproxy.backend.be.x.y", "ns.host.haproxy.daemon.process.1",
		"ns.host.haproxy.nope.x.y", "ns.host.haproxy.haproxystats.", "ns.host.haproxy.frontend..stot",
	} {
		f(p, "", 0, 0)
	}

	// Grouping, with a namespace that could pass for a block name.
	gt := NewTranslator(stats.Options{Prefix: "p", Groups: &stats.Grouping{
		Namespace: "backend",
		Backend:   []stats.Group{{Name: "g"}}, Frontend: []stats.Group{{Name: "fg"}}, Server: []stats.Group{{Name: "sg"}},
	}})
	g := func(path, want string) {
		t.Helper()
		s, ok := gt.Translate(path)
		if got := id(s.Name, s.Labels); !ok || got != want {
			t.Errorf("Translate(%q) = %s (ok %v), want %s", path, got, ok, want)
		}
	}
	g("p.backend.g.backend.be.stot", `haproxy_backend_sessions_total{backend="be",group="g"}`)
	g("p.backend.g.backend.be.server.s.stot", `haproxy_server_sessions_total{backend="be",group="g",server="s"}`)
	g("p.backend.fg.frontend.fe.stot", `haproxy_frontend_sessions_total{frontend="fe",group="fg"}`)
	g("p.backend.sg.server.s.stot", `haproxy_aggregated_server_sessions_total{group="sg",server="s"}`)
	g("p.backend.be.stot", `haproxy_backend_sessions_total{backend="be"}`)
	g("p.backend.be.server.s.stot", `haproxy_server_sessions_total{backend="be",server="s"}`)
	g("p.daemon.CumReq", `haproxy_process_requests_total{}`)
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"SnapshotsWaiting": "snapshots_waiting", "HTTPReqRate": "http_req_rate",
		"Ulimit-n": "ulimit_n", "PoolAlloc_MB": "pool_alloc_mb", "wrew": "wrew",
		"Cpu2Usage": "cpu2_usage", "weight_x": "weight_x",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every metric a metric list may name, every show info field and every
// self-statistic has a family of its own, consistent within a family.
func TestSpecs(t *testing.T) {
	type fam struct {
		typ  prom.ValueType
		help string
	}
	check := func(what, prefix string, specs map[string]spec, names ...[]string) {
		t.Helper()
		for _, list := range names {
			for _, n := range list {
				if _, ok := specs[n]; !ok {
					t.Errorf("%s metric %s has no family", what, n)
				}
			}
		}
		fams := map[string]fam{}
		for n, sp := range specs {
			name := prefix + sp.name
			if !model.LegacyValidation.IsValidMetricName(name) {
				t.Errorf("%s: %s is not a valid name", n, name)
			}
			if (sp.typ == counter) != strings.HasSuffix(name, "_total") || sp.typ == untyped {
				t.Errorf("%s: %s is of type %v", n, name, sp.typ)
			}
			if sp.help == "" || sp.scale == 0 || math.IsNaN(sp.scale) {
				t.Errorf("%s: %s has help %q, scale %v", n, name, sp.help, sp.scale)
			}
			if f, ok := fams[name]; ok && f != (fam{sp.typ, sp.help}) {
				t.Errorf("%s: family %s is %v %q elsewhere, %v %q here", n, name, f.typ, f.help, sp.typ, sp.help)
			}
			fams[name] = fam{sp.typ, sp.help}
		}
	}
	keys := func(m map[string]bool) []string { return slices.Sorted(mapKeys(m)) }
	check("frontend", "haproxy_frontend_", frontendSpecs, keys(stats.ValidFrontendMetrics))
	check("backend", "haproxy_backend_", backendSpecs, keys(stats.ValidBackendMetrics), []string{"TotalServers"})
	check("server", "haproxy_server_", serverSpecs, keys(stats.ValidServerMetrics))
	check("daemon", "haproxy_process_", daemonSpecs, stats.DaemonMetrics, stats.DaemonAvgMetrics)
	check("self", "haproxystats_", selfSpecs)
	check("master", "haproxy_master_", masterSpecs)
	for name := range selfStats {
		_, self := selfSpecs[name]
		_, master := masterSpecs[name]
		if !self && !master {
			t.Errorf("self-statistic %s has no family", name)
		}
	}
}

const (
	webUser = "prometheus"
	webPass = "s3cret"
	// bcrypt of webPass, cost 4.
	webHash = "$2a$04$cgntOsf5OY8zBFTXS2HPwOIo45ieyY98RsvVMKo4b3R1hHZvy.bZG"
)

// Listen serves the metrics at the configured path, behind the basic
// authentication of the web configuration file, and shuts down promptly.
func TestListen(t *testing.T) {
	web := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(web, []byte("basic_auth_users:\n  "+webUser+": "+webHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &stats.Options{Prefix: prefix13}
	sink := New(*o, discard)
	sink.Send(context.Background(), render(t, o, ts13, nil))
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/prom/metrics", WebConfigFile: web}, sink.Handler(), discard)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String()
	get := func(path string, auth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if auth {
			req.SetBasicAuth(webUser, webPass)
		}
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/prom/metrics", false); code != http.StatusUnauthorized {
		t.Errorf("without credentials: status %d, want 401", code)
	}
	if code, body := get("/prom/metrics", true); code != 200 || !strings.Contains(body, `haproxy_frontend_sessions_total{frontend="www_example_com"} 160 1500000000000`) {
		t.Errorf("with credentials: status %d, body\n%s", code, body)
	}
	if code, body := get("/", true); code != 200 || !strings.Contains(body, `href="/prom/metrics"`) {
		t.Errorf("/: status %d, body %s", code, body)
	}
	if code, _ := get("/metrics", true); code != http.StatusNotFound {
		t.Errorf("/metrics: status %d, want 404", code)
	}

	// An idle keep-alive connection does not hold up the shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Shutdown took %v", took)
	}
	if _, err := http.Get(base + "/prom/metrics"); err == nil {
		t.Error("still serving after Shutdown")
	}
}

// With tls_server_config the endpoint speaks HTTPS only.
func TestListenTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	cert, key, web := filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key"), filepath.Join(dir, "web.yml")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	os.WriteFile(web, []byte("tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+key+"\n"), 0o600)
	o := &stats.Options{Prefix: prefix13}
	sink := New(*o, discard)
	sink.Send(context.Background(), render(t, o, ts13, nil))
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics", WebConfigFile: web}, sink.Handler(), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`haproxy_backend_servers{backend="app"} 2 1500000000000`)) {
		t.Errorf("over TLS: %s\n%s", resp.Status, body)
	}
	if resp, err := client.Get("http://" + s.Addr().String() + "/metrics"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served metrics with TLS configured")
		}
		resp.Body.Close()
	}
}

// selfSigned returns a PEM certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "haproxystats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestListenErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "web.yml")
	os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent.pem\n  key_file: /nonexistent.key\n"), 0o600)
	if _, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics", WebConfigFile: bad}, http.NotFoundHandler(), discard); err == nil ||
		!strings.Contains(err.Error(), "web-config-file") {
		t.Errorf("bad web config: err %v", err)
	}
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics"}, http.NotFoundHandler(), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := Listen(config.Prometheus{Listen: s.Addr().String(), Path: "/metrics"}, http.NotFoundHandler(), discard); err == nil {
		t.Error("listening twice on one port succeeded")
	}
}

// 200 scrapes at once all get the snapshot, the same bytes, from one
// encoding per variant asked for. Before, eight were served at a time and
// the rest got an undocumented 503.
func TestConcurrentScrapesShareOneEncoding(t *testing.T) {
	sink := New(stats.Options{Prefix: prefix13}, discard)
	sink.Send(context.Background(), snapshotOf(t, 10, 20, ts13))
	srv := httptest.NewServer(sink.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	var mu sync.Mutex
	bodies := map[string]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			resp, err := client.Get(srv.URL) // gzip, as Prometheus asks
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			h := sha256.New()
			io.Copy(h, resp.Body)
			mu.Lock()
			defer mu.Unlock()
			bodies[fmt.Sprintf("%d %x", resp.StatusCode, h.Sum(nil))]++
		})
	}
	wg.Wait()
	if len(bodies) != 1 {
		t.Fatalf("%d different answers: %v", len(bodies), slices.Collect(maps.Values(bodies)))
	}
	for k, n := range bodies {
		if !strings.HasPrefix(k, "200 ") || n != 200 {
			t.Fatalf("%d answers %q, want 200 answers with status 200", n, k[:3])
		}
	}
	if n := sink.encodings.Load(); n != 1 {
		t.Errorf("%d encodings for 200 scrapes of one variant, want 1", n)
	}
	// Another variant: encoded once more, the same metrics.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Contains(plain, []byte("haproxy_server_")) {
		t.Errorf("identity scrape: encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(plain))
	}
	if n := sink.encodings.Load(); n != 2 {
		t.Errorf("%d encodings after a second variant, want 2", n)
	}
}
