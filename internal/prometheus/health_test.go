package prometheus

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/health"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// The health families are read at the scrape, without a time, whatever
// snapshot is exposed; a snapshot that carries the same self-statistics
// does not expose them a second time.
func TestHealthFamilies(t *testing.T) {
	x := exposition13(t, ts13, nil)
	x.Self = append(x.Self, stats.Sample{Name: "Ready", Value: 0}, stats.Sample{Name: "NewestSnapshotAge", Value: 12},
		stats.Sample{Name: "QueueSnapshots", Value: 2}, stats.Sample{Name: "SinksFailingSeconds", Value: 0})
	sink := newSink(t, x)
	st := health.Status{
		Live: true, Ready: false, Reasons: []string{"x"},
		NewestAge: 47 * time.Second, Queue: 3, SinksFailing: 75 * time.Second,
		Sinks:      []health.SinkStatus{{Name: "graphite", Failing: 75 * time.Second}, {Name: "kafka", Failing: 80 * time.Second}},
		Clusters:   []health.Cluster{{Name: "ams", Hosts: 4, Missing: 1}},
		Thresholds: health.Thresholds{MaxAge: 30 * time.Second, MaxQueue: 30, MaxSinksFailing: time.Minute},
	}
	var mu sync.Mutex
	sink.Health(func() health.Status { mu.Lock(); defer mu.Unlock(); return st })
	srv := httptest.NewServer(sink)
	defer srv.Close()
	body, mfs, got := scrape(t, srv.URL)
	for id, want := range map[string]float64{
		"haproxystats_live{}":                                                   1,
		"haproxystats_ready{}":                                                  0,
		"haproxystats_newest_snapshot_age_seconds{}":                            47,
		"haproxystats_queue_snapshots{}":                                        3,
		"haproxystats_sinks_failing_seconds{}":                                  75,
		`haproxystats_sink_failing_seconds{sink="graphite"}`:                    75,
		`haproxystats_sink_failing_seconds{sink="kafka"}`:                       80,
		`haproxystats_ready_threshold{condition="newest_snapshot_age_seconds"}`: 30,
		`haproxystats_ready_threshold{condition="queue_snapshots"}`:             30,
		`haproxystats_ready_threshold{condition="sinks_failing_seconds"}`:       60,
		`haproxystats_fleet_hosts{cluster="ams"}`:                               4,
		`haproxystats_fleet_hosts_missing{cluster="ams"}`:                       1,
		`haproxystats_snapshots_waiting{}`:                                      3, // the snapshot's own, still there
		`haproxy_frontend_sessions_total{proxy="www.example.com"}`:              160,
	} {
		if v, ok := got[id]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", id, v, ok, want)
		}
	}
	for _, name := range []string{"haproxystats_ready", "haproxystats_newest_snapshot_age_seconds", "haproxystats_queue_snapshots", "haproxystats_sinks_failing_seconds"} {
		mf := mfs[name]
		if len(mf.GetMetric()) != 1 || mf.GetMetric()[0].TimestampMs != nil || mf.GetType().String() != "GAUGE" {
			t.Errorf("%s: %v, want one gauge sample without a time", name, mf)
		}
		if n := strings.Count(string(body), "# TYPE "+name+" "); n != 1 {
			t.Errorf("%s has %d TYPE lines", name, n)
		}
	}
	haproxytest.Promtool(t, body)

	mu.Lock()
	st.Ready, st.NewestAge = true, 2*time.Second // read again at the next scrape
	mu.Unlock()
	if _, _, got := scrape(t, srv.URL); got["haproxystats_ready{}"] != 1 || got["haproxystats_newest_snapshot_age_seconds{}"] != 2 {
		t.Errorf("second scrape: ready %v, age %v; want 1, 2", got["haproxystats_ready{}"], got["haproxystats_newest_snapshot_age_seconds{}"])
	}
}

// The endpoint's server answers /healthz and /readyz, behind its web
// configuration like the metrics, and its page links to them.
func TestListenHealth(t *testing.T) {
	m := health.New(health.Thresholds{MaxAge: time.Hour, MaxQueue: 0, MaxSinksFailing: time.Hour, MaxStall: time.Hour})
	m.SetQueue("snapshots waiting in src-dir", func() int { return 1 })
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics"}, newSink(t, exposition13(t, ts13, nil)), m.Handler(), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || body != "1 snapshots waiting in src-dir, more than 0\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, `href="/readyz"`) || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("/: %d %s", code, body)
	}
	if code, _ := get("/livez"); code != 404 {
		t.Errorf("/livez: %d, want 404", code)
	}
}

// Every family the alert rules of contrib/prometheus use is one the
// endpoint exposes: in the example's scrape with the health families, or
// a self-statistic's.
func TestAlertRulesUseExposedFamilies(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join("..", "..", "contrib", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	x := exposition13(t, ts13, nil)
	x.Latency = latencySet(10)
	sink := newSink(t, x)
	sink.Health(func() health.Status {
		return health.Status{Sinks: []health.SinkStatus{{Name: "graphite"}}, Clusters: []health.Cluster{{Name: "ams"}}}
	})
	srv := httptest.NewServer(sink)
	defer srv.Close()
	_, mfs, _ := scrape(t, srv.URL)
	exposed := map[string]bool{}
	for name, mf := range mfs {
		exposed[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			exposed[name+"_bucket"] = true
		}
	}
	for _, sp := range selfSpecs {
		exposed["haproxystats_"+sp.name] = true
	}
	names := regexp.MustCompile(`\bhaproxy(?:stats)?_[a-z_]+`).FindAllString(string(rules), -1)
	if len(names) < 15 {
		t.Fatalf("only %d family names in alerts.yml", len(names))
	}
	for _, name := range names {
		if !exposed[name] {
			t.Errorf("alerts.yml uses %s, which the endpoint does not expose", name)
		}
	}
}
