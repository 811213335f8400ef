package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/prometheus"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// promScrape is one scrape of the endpoint: the exposition, its samples
// by name{labels}, and the snapshot time they carry.
type promScrape struct {
	body    []byte
	samples map[string]float64
	types   map[string]dto.MetricType // by family
	ts      int64                     // Unix seconds; 0 if the samples disagree
}

// seriesID writes name{label="value",...}, labels sorted, empty values
// left out.
func seriesID(name string, labels []prometheus.Label) string {
	var ls []string
	for _, l := range labels {
		if l.Value != "" {
			ls = append(ls, fmt.Sprintf("%s=%q", l.Name, l.Value))
		}
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func scrapeProm(t *testing.T, url string) (*promScrape, error) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, body)
	}
	s := &promScrape{body: body, samples: map[string]float64{}, types: map[string]dto.MetricType{}}
	first := true
	for name, mf := range mfs {
		s.types[name] = mf.GetType()
		for _, m := range mf.GetMetric() {
			var ls []prometheus.Label
			for _, lp := range m.GetLabel() {
				ls = append(ls, prometheus.Label{Name: lp.GetName(), Value: lp.GetValue()})
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			s.samples[seriesID(name, ls)] = v
			ts := m.GetTimestampMs() / 1000
			if first {
				s.ts, first = ts, false
			} else if ts != s.ts {
				s.ts = 0
			}
		}
	}
	return s, nil
}

// A running haproxystats-process with [prometheus]: after a real haproxy
// snapshot its scrape parses, passes promtool, and holds exactly the
// Graphite lines carbon received for that snapshot; a server removed from
// haproxy's configuration (edit, then reload with -sf) is gone from the
// next scrape.
func TestPrometheusEndpoint(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, app := haproxytest.FreePort(t), haproxytest.FreePort(t)
	haproxyConf := func(servers string) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend www.example.com
    bind 127.0.0.1:%d
    default_backend app
backend app
%slisten app-server
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, front, servers, app)
	}
	app1 := fmt.Sprintf("    server app1 127.0.0.1:%d\n", app)
	app2 := fmt.Sprintf("    server app2.dc1 127.0.0.1:%d\n", app)
	h := haproxytest.StartHAProxy(t, hbin, 2, haproxyConf(app1+app2))
	port, out := relay(t, rbin)

	const requests = 100
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range requests {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", front))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}

	base := t.TempDir()
	promPort := haproxytest.FreePort(t)
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = info
[paths]
base-dir = %s
[pull]
socket-dir = %s
pull-interval = 1
pull-timeout = 0.8
dst-dir = ${paths:base-dir}/incoming
tmp-dst-dir = ${paths:base-dir}/incoming.tmp
[process]
src-dir = ${paths:base-dir}/incoming
workers = 2
per-process-metrics = true
aggr-server-metrics = true
calculate-percentages = true
[graphite]
server = 127.0.0.1
port = %d
namespace = e2e
prefix-hostname = false
[prometheus]
listen = 127.0.0.1:%d
`, base, h.SocketDir, port, promPort)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	daemon(t, "haproxystats-process", "-f", conf)
	daemon(t, "haproxystats-pull", "-f", conf)
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	tr := prometheus.NewTranslator(stats.Options{Prefix: "e2e.haproxy"})

	// waitSnapshot scrapes until a snapshot taken after since is exposed
	// and carbon has all its lines, and returns both.
	waitSnapshot := func(since int64) (*promScrape, map[string]float64) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		var last string
		for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			s, err := scrapeProm(t, url)
			if err != nil {
				last = err.Error()
				continue
			}
			if s.ts <= since {
				last = fmt.Sprintf("newest exposed snapshot %d, want one after %d", s.ts, since)
				continue
			}
			// The last line of a snapshot is TotalWallClockTime.
			for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				g := readGraphite(t, out)[s.ts]
				if _, ok := g["e2e.haproxy.haproxystats.TotalWallClockTime"]; ok {
					return s, g
				}
			}
		}
		t.Fatalf("no snapshot after %d exposed and delivered to carbon within 40s: %s", since, last)
		return nil, nil
	}
	// compare checks that the scrape is the Graphite snapshot, sample for
	// line.
	compare := func(s *promScrape, graphite map[string]float64) {
		t.Helper()
		want := map[string]bool{}
		for path, v := range graphite {
			se, ok := tr.Translate(path)
			if !ok {
				t.Errorf("Graphite line %s has no series", path)
				continue
			}
			id := seriesID(se.Name, se.Labels)
			want[id] = true
			got, ok := s.samples[id]
			if !ok {
				t.Errorf("%s (Graphite %s = %v) not scraped", id, path, v)
			} else if got != v*se.Scale {
				t.Errorf("%s = %v, Graphite %s = %v (× %v)", id, got, path, v, se.Scale)
			}
			if typ := s.types[se.Name]; typ != wantType(se.Name) {
				t.Errorf("%s is a %v", se.Name, typ)
			}
		}
		for id := range s.samples {
			if !want[id] {
				t.Errorf("%s scraped, but carbon got no line for it", id)
			}
		}
		if len(s.samples) != len(graphite) {
			t.Errorf("%d samples scraped, %d lines in Graphite", len(s.samples), len(graphite))
		}
	}

	s, graphite := waitSnapshot(0)
	compare(s, graphite)
	t.Logf("snapshot %d: %d samples scraped, %d Graphite lines", s.ts, len(s.samples), len(graphite))
	for id, want := range map[string]float64{
		`haproxy_frontend_sessions_total{frontend="www_example_com"}`:                  requests,
		`haproxy_frontend_http_responses_total{code="2xx",frontend="www_example_com"}`: requests,
		`haproxy_backend_loadbalanced_total{backend="app"}`:                            requests,
		`haproxy_backend_servers{backend="app"}`:                                       2,
		`haproxy_server_sessions_total{backend="app",server="app2_dc1"}`:               sumColumn(t, h.Sockets, "app", "app2.dc1", "stot"),
		`haproxy_aggregated_server_sessions_total{server="app1"}`:                      sumColumn(t, h.Sockets, "app", "app1", "stot"),
	} {
		if got, ok := s.samples[id]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", id, got, ok, want)
		}
	}
	for _, id := range []string{
		`haproxy_process_requests_total{}`, `haproxy_per_process_current_connections{process="2"}`,
		`haproxy_process_cpu_usage_percent_percentile{percentile="50"}`, `haproxystats_snapshots_waiting{}`,
		`haproxystats_pull_rounds_total{result="skipped"}`, `haproxystats_graphite_lines_sent_total{}`,
		`haproxystats_processing_seconds{stage="total"}`,
	} {
		if _, ok := s.samples[id]; !ok {
			t.Errorf("%s not scraped", id)
		}
	}
	promtoolCheck(t, s.body)

	// Remove app2.dc1 from the configuration and reload both processes.
	h.WriteConfig(t, haproxyConf(app1))
	h.Reload(t, 0)
	h.Reload(t, 1)
	reloaded := time.Now().Unix()
	s, graphite = waitSnapshot(reloaded)
	compare(s, graphite)
	t.Logf("after the reload, snapshot %d: %d samples scraped, %d Graphite lines", s.ts, len(s.samples), len(graphite))
	for id := range s.samples {
		if strings.Contains(id, `server="app2_dc1"`) {
			t.Errorf("%s still scraped after app2.dc1 was removed", id)
		}
	}
	if got := s.samples[`haproxy_backend_servers{backend="app"}`]; got != 1 {
		t.Errorf(`haproxy_backend_servers{backend="app"} = %v after the reload, want 1`, got)
	}
	if _, ok := s.samples[`haproxy_server_sessions_total{backend="app",server="app1"}`]; !ok {
		t.Error("app1 not scraped after the reload")
	}
	promtoolCheck(t, s.body)
}

// wantType is the type the family name calls for: counters, and only
// they, end in _total.
func wantType(name string) dto.MetricType {
	if strings.HasSuffix(name, "_total") {
		return dto.MetricType_COUNTER
	}
	return dto.MetricType_GAUGE
}

// promtoolCheck runs `promtool check metrics` (Debian package prometheus,
// which make test installs) on an exposition.
func promtoolCheck(t *testing.T, body []byte) {
	t.Helper()
	bin := os.Getenv("HAPROXYSTATS_PROMTOOL")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("promtool"); err != nil {
			t.Log("promtool not installed (Debian package prometheus; make test installs it): exposition not linted")
			return
		}
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
