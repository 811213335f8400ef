package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// promScrape is one scrape of an endpoint: the exposition, its
// families, its samples by name{labels}, and the snapshot time they carry.
type promScrape struct {
	body    []byte
	fams    map[string]*dto.MetricFamily
	samples map[string]float64
	ts      int64 // Unix seconds of the samples; 0 when they carry none or disagree
}

// seriesID writes name{label="value",...}, labels sorted.
func seriesID(name string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

func scrapeProm(t *testing.T, url string) (*promScrape, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
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
		t.Fatalf("the exposition of %s does not parse: %v", url, err)
	}
	s := &promScrape{body: body, fams: mfs, samples: map[string]float64{}}
	first := true
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s.samples[seriesID(name, m)] = m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			if !strings.HasPrefix(name, "haproxy_") {
				continue
			}
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

// labelKeys returns the label names a family's series carry, sorted.
func labelKeys(mf *dto.MetricFamily) []string {
	var keys []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(keys, l.GetName()) {
				keys = append(keys, l.GetName())
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// promexConf is a haproxy with HAProxy's own exporter on a loopback
// frontend, and servers in every state: up, down (nothing listens),
// maint (disabled) and drain (set so through the admin socket), in a
// backend a.b next to a backend a_b.
func promexConf(admin string, promex, front, app, dead int) string {
	return fmt.Sprintf(`global
    stats socket %[1]s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend promex
    bind 127.0.0.1:%[2]d
    http-request use-service prometheus-exporter
frontend www.example.com
    bind 127.0.0.1:%[3]d
    use_backend a_b if { path_beg /b }
    default_backend a.b
backend a.b
    server up 127.0.0.1:%[4]d check inter 200ms
    server down 127.0.0.1:%[5]d check inter 200ms fall 1
    server maint 127.0.0.1:%[4]d disabled
    server drain 127.0.0.1:%[4]d check inter 200ms
backend a_b
    server s1 127.0.0.1:%[4]d
listen app
    bind 127.0.0.1:%[4]d
    http-request return status 200 content-type text/plain string ok
`, admin, promex, front, app, dead)
}

// TestPrometheusEndpoint runs one real haproxy with its own exporter
// (promex) and haproxystats on the same haproxy, and checks that our
// endpoint is promex's: every family both have carries the same name,
// type and label keys, and every counter the value promex gave between
// two of its scrapes around our snapshot. The statuses of servers UP,
// DOWN, MAINT and DRAIN are right, a.b and a_b are two backends, and a
// real Prometheus server answers every query the haproxy-mixin makes.
func TestPrometheusEndpoint(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	promexPort, front, app, dead := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	admin := filepath.Join(t.TempDir(), "admin.sock") // not in socket-dir: pull must not read it too
	h := haproxytest.StartHAProxy(t, hbin, 1, promexConf(admin, promexPort, front, app, dead))
	port, _ := relay(t, rbin)
	// Let the checks settle before the traffic: show stat says down is
	// DOWN after its one failed check. A request balanced to it before
	// would be a 503, not one of the 2xx counted below.
	haproxytest.WaitFor(t, "show stat says a.b/down DOWN, check L4CON", time.Minute, nil, func() bool {
		return statField(t, h.Sockets[0], "a.b", "down", "status") == "DOWN" &&
			statField(t, h.Sockets[0], "a.b", "down", "check_status") == "L4CON"
	})

	const requests = 100
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range requests {
		path := "/"
		if i%4 == 0 {
			path = "/b"
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", front, path))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}
	adminCommand(t, admin, "set server a.b/drain state drain")
	// Every request has ended in haproxy too: its counters are final.
	haproxytest.WaitFor(t, "no session left in www.example.com, a.b and a_b", time.Minute, nil, func() bool {
		return idle(t, h.Sockets[0], func(px string) bool { return px == "www.example.com" || px == "a.b" || px == "a_b" })
	})

	promPort := haproxytest.FreePort(t)
	dlogs := pipeline{pull: "socket-dir = " + h.SocketDir, sections: fmt.Sprintf("[prometheus]\nlisten = 127.0.0.1:%d\n", promPort), port: port, ns: "e2e", workers: 2}.start(t)
	ours := fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)
	theirs := fmt.Sprintf("http://127.0.0.1:%d/metrics", promexPort)

	// Scrape promex, our snapshot of a later second, promex again.
	before, err := scrapeProm(t, theirs)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Unix()
	var s *promScrape
	if !haproxytest.Poll(2*time.Minute, func() bool {
		s, err = scrapeProm(t, ours)
		return err == nil && s.ts > since
	}) {
		t.Fatalf("no snapshot after %d exposed within 2 minutes (err %v); logs:\n%s", since, err, dlogs)
	}
	after, err := scrapeProm(t, theirs)
	if err != nil {
		t.Fatal(err)
	}
	comparePromex(t, s, before, after)

	for id, want := range map[string]float64{
		`haproxy_server_status{proxy="a.b",server="up",state="UP"}`:                 1,
		`haproxy_server_status{proxy="a.b",server="down",state="DOWN"}`:             1,
		`haproxy_server_status{proxy="a.b",server="maint",state="MAINT"}`:           1,
		`haproxy_server_status{proxy="a.b",server="drain",state="DRAIN"}`:           1,
		`haproxy_server_status{proxy="a.b",server="drain",state="UP"}`:              0,
		`haproxy_server_check_status{proxy="a.b",server="down",state="L4CON"}`:      1,
		`haproxy_backend_agg_server_status{proxy="a.b",state="UP"}`:                 1,
		`haproxy_backend_status{proxy="a_b",state="UP"}`:                            1,
		`haproxy_frontend_status{proxy="www.example.com",state="UP"}`:               1,
		`haproxy_backend_sessions_total{proxy="a_b"}`:                               requests / 4,
		`haproxy_backend_sessions_total{proxy="a.b"}`:                               requests * 3 / 4,
		`haproxy_frontend_http_responses_total{code="2xx",proxy="www.example.com"}`: requests,
		`haproxystats_backend_servers{proxy="a.b"}`:                                 4,
	} {
		if got, ok := s.samples[id]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", id, got, ok, want)
		}
	}
	for _, id := range []string{`haproxystats_processing_seconds{stage="total"}`, `go_goroutines{}`, `haproxystats_pull_rounds_total{result="committed"}`} {
		if _, ok := s.samples[id]; !ok {
			t.Errorf("%s not scraped", id)
		}
	}
	haproxytest.Promtool(t, s.body)

	// promex's query filters.
	only, err := scrapeProm(t, ours+"?scope=server&no-maint")
	if err != nil {
		t.Fatal(err)
	}
	for name := range only.fams {
		if !strings.HasPrefix(name, "haproxy_server_") && !strings.HasPrefix(name, "haproxystats_server_") {
			t.Errorf("scope=server exposes %s", name)
		}
	}
	if _, ok := only.samples[`haproxy_server_status{proxy="a.b",server="maint",state="MAINT"}`]; ok {
		t.Error("no-maint exposes the server in maintenance")
	}
	if _, ok := only.samples[`haproxy_server_status{proxy="a.b",server="up",state="UP"}`]; !ok {
		t.Error("scope=server&no-maint leaves out server up")
	}

	queryMixin(t, ours)
}

// adminCommand sends one command to a haproxy admin socket.
func adminCommand(t *testing.T, sock, cmd string) {
	t.Helper()
	// haproxy makes the sockets of its global section one after the
	// other: StartHAProxy waited for its own, this one may come later.
	var c net.Conn
	haproxytest.WaitFor(t, "haproxy's admin socket "+sock, 30*time.Second, nil, func() bool {
		var err error
		c, err = net.DialTimeout("unix", sock, 2*time.Second)
		return err == nil
	})
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s\n", cmd)
	out, _ := io.ReadAll(c)
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("%s: %s", cmd, s)
	}
}

// promexMoving are promex's families whose values move with the scrapes
// themselves (the exporter's frontend, the connections of our pull), or
// are not counters of the traffic.
func promexMoving(id string) bool {
	return strings.Contains(id, `proxy="promex"`)
}

// comparePromex compares our scrape with promex's two, family by
// family, and logs the table of what matched.
func comparePromex(t *testing.T, s, before, after *promScrape) {
	t.Helper()
	var matched, oursOnly, theirsOnly []string
	for name, mf := range s.fams {
		if !strings.HasPrefix(name, "haproxy_") {
			oursOnly = append(oursOnly, name)
			continue
		}
		them, ok := after.fams[name]
		if !ok {
			oursOnly = append(oursOnly, name)
			t.Errorf("%s is under promex's prefix but promex has no such family", name)
			continue
		}
		matched = append(matched, name)
		if mf.GetType() != them.GetType() {
			t.Errorf("%s: ours is a %v, promex's a %v", name, mf.GetType(), them.GetType())
		}
		if a, b := labelKeys(mf), labelKeys(them); !slices.Equal(a, b) {
			t.Errorf("%s: our label keys %v, promex's %v", name, a, b)
		}
		if mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			id := seriesID(name, m)
			if promexMoving(id) {
				continue
			}
			v := m.GetCounter().GetValue()
			lo, ok1 := before.samples[id]
			hi, ok2 := after.samples[id]
			if !ok1 || !ok2 {
				t.Errorf("%s = %v here, not in promex's scrapes", id, v)
				continue
			}
			if v < lo || v > hi {
				t.Errorf("%s = %v here, promex %v then %v", id, v, lo, hi)
			}
		}
	}
	for name := range after.fams {
		if _, ok := s.fams[name]; !ok {
			theirsOnly = append(theirsOnly, name)
		}
	}
	sort.Strings(matched)
	sort.Strings(oursOnly)
	sort.Strings(theirsOnly)
	var b strings.Builder
	fmt.Fprintf(&b, "families compared with HAProxy's own exporter: %d matched, %d ours only, %d theirs only\n", len(matched), len(oursOnly), len(theirsOnly))
	fmt.Fprintf(&b, "  matched:     %s\n", strings.Join(matched, " "))
	fmt.Fprintf(&b, "  ours only:   %s\n", strings.Join(oursOnly, " "))
	fmt.Fprintf(&b, "  theirs only: %s\n", strings.Join(theirsOnly, " "))
	t.Log(b.String())
	if len(matched) < 150 {
		t.Errorf("only %d families match promex's", len(matched))
	}
}

// queryMixin starts a real Prometheus server (Debian package
// prometheus) that scrapes our endpoint every second, and runs through
// its HTTP API a query for every metric name the haproxy-mixin's
// dashboards and alerts use (testdata/haproxy-mixin-queries.txt), plus
// the status and label queries its panels make: each must return data.
func queryMixin(t *testing.T, target string) {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not installed (Debian package prometheus; make test installs it)")
	}
	u, _ := url.Parse(target)
	_, promPort, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(promPort)
	values, log := startPrometheus(t, bin, port)
	data, err := os.ReadFile(filepath.Join("testdata", "haproxy-mixin-queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			queries = append(queries, line)
		}
	}
	names := len(queries)
	queries = append(queries,
		`haproxy_frontend_status{state="UP"} == 1`, `haproxy_backend_status{state="UP"} == 1`,
		`haproxy_server_status{state="UP"} == 1`, `haproxy_server_status{state="DOWN"} == 1`,
		`haproxy_server_status{state="MAINT"} == 1`, `haproxy_server_status{state="DRAIN"} == 1`,
		`haproxy_server_http_responses_total{code="2xx"}`, `haproxy_backend_http_responses_total{code="2xx"}`,
		`group by (job, instance) (haproxy_process_start_time_seconds)`,
		`count by (proxy) (haproxy_server_status{proxy="a.b"})`,
		`rate(haproxy_frontend_bytes_in_total[5m])`,
	)
	dashboard := dashboardExprs(t, filepath.Join("..", "contrib", "grafana", "haproxystats-prometheus.json"), false)
	queries = append(queries, dashboard...)
	query := func(q string) (int, error) {
		vs, err := values(q)
		return len(vs), err
	}
	// rate() needs two scrapes: wait until it has data.
	haproxytest.WaitFor(t, "Prometheus has two scrapes: rate(haproxy_frontend_bytes_in_total[5m]) has data", 2*time.Minute, log, func() bool {
		n, err := query(`rate(haproxy_frontend_bytes_in_total[5m])`)
		return err == nil && n > 0
	})
	empty := 0
	for _, q := range queries {
		n, err := query(q)
		if err != nil || n == 0 {
			empty++
			t.Errorf("Prometheus query %s: %d series (err %v)", q, n, err)
		}
	}
	t.Logf("real Prometheus: %d queries (%d metric names of the haproxy-mixin, %d status and label queries, %d of contrib/grafana/haproxystats-prometheus.json), %d without data",
		len(queries), names, len(queries)-names-len(dashboard), len(dashboard), empty)
}

// dashboardExprs returns the query of every panel target of the Grafana
// dashboard at path, its variables as Grafana gives them with every value
// selected: $job, $instance, $backend → .*, $__rate_interval → 1m. With
// latency, those of the panels of the latency histograms alone (titles
// "Latency: ..."), which have data only with [logs]; without, the others.
func dashboardExprs(t *testing.T, path string, latency bool) []string {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	if err != nil {
		t.Fatalf("dashboard %s: %v", path, err)
	}
	vars := strings.NewReplacer("$job", ".*", "$instance", ".*", "$backend", ".*", "$__rate_interval", "1m")
	var exprs []string
	for _, p := range d.Panels {
		if strings.HasPrefix(p.Title, "Latency") != latency {
			continue
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, vars.Replace(tg.Expr))
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("dashboard %s has no query", path)
	}
	return exprs
}
