package prometheus

import (
	"bufio"
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
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

const (
	prefix13 = "loadbalancers.lb-01_example_com.haproxy"
	ts13     = 1500000000
	dir13    = "../stats/testdata/example13"
)

var discard = slog.New(slog.DiscardHandler)

// selfStats are self-statistics as process and pull add them.
var selfStats = []stats.Sample{
	{Name: "TotalWallClockTime", Value: 0.000187}, {Name: "WallClockTimeServers", Value: 0.000025},
	{Name: "SnapshotsWaiting", Value: 3}, {Name: "GraphiteLinesSent", Value: 123456},
	{Name: "PullRoundsCommitted", Value: 42}, {Name: "PullRoundsSkipped", Value: 9},
	{Name: "MasterReloads", Value: 4}, {Name: "SomethingNew", Value: 1},
}

// exposition13 is the example13 snapshot (two processes) as
// haproxystats-process gives it to the sink, with edit applied to every
// show stat reply.
func exposition13(t testing.TB, ts int64, edit func(string) string) *stats.Exposition {
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
	return exposeFiles(t, ts, infos, stat)
}

func exposeFiles(t testing.TB, ts int64, infos, stat []stats.File) *stats.Exposition {
	t.Helper()
	b := stats.Builder{All: true}
	for _, f := range stat {
		b.Add(f.Name, stats.Bytes(f.Data), int64(len(f.Data)))
	}
	sites, err := b.Sites()
	if err != nil || len(sites.Rejected) > 0 {
		t.Fatalf("Sites: %v %v", err, sites.Rejected)
	}
	return &stats.Exposition{Time: ts, Infos: infos, Sites: sites, Self: selfStats, Options: &stats.Options{Prefix: prefix13}}
}

// bigExposition is backends of servers each, and as many frontends, in
// two processes.
func bigExposition(t testing.TB, backends, servers int, ts int64) *stats.Exposition {
	t.Helper()
	var files []stats.File
	for i, data := range stats.GenerateStat(2, backends, backends, servers, 1) {
		files = append(files, stats.File{Name: string(rune('a'+i)) + ".sock_stat", Data: data})
	}
	return exposeFiles(t, ts, nil, files)
}

func newSink(t testing.TB, x *stats.Exposition) *Sink {
	t.Helper()
	s := New("test", "abc123", t.TempDir(), discard)
	if err := s.Expose(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	return s
}

// scrape GETs url and parses the exposition into families and samples
// by name{labels}.
func scrape(t testing.TB, url string) ([]byte, map[string]*dto.MetricFamily, map[string]float64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != textFormat {
		t.Errorf("Content-Type %q", ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	samples := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			samples[id(name, m)] = m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return body, mfs, samples
}

func id(name string, m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// The example13 snapshot: promex's names and labels with HAProxy's
// names, counters summed over the two processes, times in seconds; every
// value of a family made of one show stat column is the value of the
// Graphite line of that column, from the same rows.
func TestExample13(t *testing.T) {
	x := exposition13(t, ts13, nil)
	srv := httptest.NewServer(newSink(t, x))
	defer srv.Close()
	body, mfs, got := scrape(t, srv.URL)
	for series, want := range map[string]float64{
		`haproxy_frontend_sessions_total{proxy="www.example.com"}`:                  160,
		`haproxy_frontend_http_responses_total{code="2xx",proxy="www.example.com"}`: 145,
		`haproxy_frontend_status{proxy="www.example.com",state="UP"}`:               1,
		`haproxy_backend_status{proxy="app",state="UP"}`:                            1,
		`haproxy_backend_status{proxy="app",state="DOWN"}`:                          0,
		`haproxystats_backend_servers{proxy="app"}`:                                 2,
		`haproxy_process_build_info{version="1.8.14"}`:                              1,
		`haproxy_process_nbproc{}`:                                                  2,
		`haproxystats_processing_seconds{stage="total"}`:                            0.000187,
		`haproxystats_pull_rounds_total{result="skipped"}`:                          9,
		`haproxystats_master_reloads_total{}`:                                       4,
		`haproxystats_something_new{}`:                                              1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	for name, mf := range mfs {
		if mf.GetType() == dto.MetricType_COUNTER != strings.HasSuffix(name, "_total") && name != "haproxy_process_failed_resolutions" {
			t.Errorf("%s is a %v", name, mf.GetType())
		}
		for _, m := range mf.GetMetric() {
			if strings.HasPrefix(name, "haproxy_") && m.GetTimestampMs() != ts13*1000 {
				t.Errorf("%s carries time %d", id(name, m), m.GetTimestampMs())
			}
		}
	}
	// The Graphite lines of the same Sites.
	o := &stats.Options{Prefix: "p", AllMetrics: true}
	c := stats.NewCollector(nil)
	x.Sites.WalkFrontends(c, ts13, o)
	x.Sites.WalkBackends(c, ts13, o)
	x.Sites.WalkServers(c, ts13, o)
	graphite := map[string]float64{}
	for _, m := range c.Done() {
		graphite[m.Path] = m.Value
	}
	compared := 0
	for k, fams := range [][]family{frontendFamilies, backendFamilies, serverFamilies} {
		kind := []string{"frontend", "backend", "server"}[k]
		for _, f := range fams {
			if f.special != fromCols || len(f.cols) != 1 {
				continue
			}
			mf := mfs["haproxy_"+kind+"_"+f.name]
			for _, m := range mf.GetMetric() {
				var px, sv string
				for _, l := range m.GetLabel() {
					if l.GetName() == "proxy" {
						px = l.GetValue()
					} else {
						sv = l.GetValue()
					}
				}
				path := "p.frontend." + metric.Sanitize(px) + "." + f.cols[0]
				switch kind {
				case "backend":
					path = "p.backend." + metric.Sanitize(px) + "." + f.cols[0]
				case "server":
					path = "p.backend." + metric.Sanitize(px) + ".server." + metric.Sanitize(sv) + "." + f.cols[0]
				}
				gv, ok := graphite[path]
				if !ok {
					gv, ok = graphite[path+"_y"] // summed and averaged: the mean
				}
				if !ok {
					continue // a column Graphite has no path for (qlimit)
				}
				compared++
				if v := m.GetGauge().GetValue() + m.GetCounter().GetValue(); v != gv*f.scale {
					t.Errorf("%s = %v, Graphite %s = %v", id(mf.GetName(), m), v, path, gv)
				}
			}
		}
	}
	if compared < 100 {
		t.Errorf("only %d samples compared with Graphite", compared)
	}
	haproxytest.Promtool(t, body)
}

// A proxy a.b and a proxy a_b are one Graphite path (merged, as the
// original merges them) but two Prometheus series, named as HAProxy
// names them.
func TestRawNames(t *testing.T) {
	const header = "# pxname,svname,stot,status,type,check_status,check_code\n"
	st := header + "a.b,BACKEND,3,UP,1,,\na_b,BACKEND,4,UP,1,,\na.b,s.1,3,UP,2,L7OK,200\na_b,s.1,4,DOWN,2,L4CON,\n"
	x := exposeFiles(t, ts13, nil, []stats.File{{Name: "a.sock_stat", Data: []byte(st)}})
	srv := httptest.NewServer(newSink(t, x))
	defer srv.Close()
	_, _, got := scrape(t, srv.URL)
	for series, want := range map[string]float64{
		`haproxy_backend_sessions_total{proxy="a.b"}`:                        3,
		`haproxy_backend_sessions_total{proxy="a_b"}`:                        4,
		`haproxy_server_sessions_total{proxy="a.b",server="s.1"}`:            3,
		`haproxy_server_status{proxy="a_b",server="s.1",state="DOWN"}`:       1,
		`haproxy_server_check_status{proxy="a.b",server="s.1",state="L7OK"}`: 1,
		`haproxy_server_check_code{proxy="a.b",server="s.1"}`:                200,
		`haproxy_server_check_code{proxy="a_b",server="s.1"}`:                0,
		`haproxy_backend_agg_server_status{proxy="a_b",state="DOWN"}`:        1,
		`haproxy_backend_agg_check_status{proxy="a.b",state="L7OK"}`:         1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	c := stats.NewCollector(nil)
	x.Sites.WalkBackends(c, ts13, &stats.Options{Prefix: "p"})
	for _, m := range c.Done() {
		if m.Path == "p.backend.a_b.stot" && m.Value != 7 {
			t.Errorf("Graphite %s = %v, want 7 (a.b and a_b merged)", m.Path, m.Value)
		}
	}
}

// Status as promex models it: one series per state, 1 for the current
// one; a server DRAIN, MAINT (via a tracked server too), NOLB, "no check"
// (UP), and a frontend STOP (DOWN).
func TestStatus(t *testing.T) {
	const header = "# pxname,svname,status,type\n"
	st := header + "f,FRONTEND,STOP,0\nb,BACKEND,DOWN,1\n" +
		"b,drain,DRAIN,2\nb,maint,MAINT (via x/y),2\nb,nolb,NOLB,2\nb,nocheck,no check,2\nb,going,UP 1/3,2\n"
	srv := httptest.NewServer(newSink(t, exposeFiles(t, ts13, nil, []stats.File{{Name: "a.sock_stat", Data: []byte(st)}})))
	defer srv.Close()
	body, _, got := scrape(t, srv.URL)
	for server, state := range map[string]string{"drain": "DRAIN", "maint": "MAINT", "nolb": "NOLB", "nocheck": "UP", "going": "UP"} {
		for _, s := range serverStateNames {
			want := b2f(s == state)
			if v, ok := got[fmt.Sprintf(`haproxy_server_status{proxy="b",server=%q,state=%q}`, server, s)]; !ok || v != want {
				t.Errorf("server %s state %s = %v (present %v), want %v", server, s, v, ok, want)
			}
		}
	}
	if got[`haproxy_frontend_status{proxy="f",state="DOWN"}`] != 1 || got[`haproxy_backend_status{proxy="b",state="DOWN"}`] != 1 {
		t.Errorf("a stopped frontend and a DOWN backend are not DOWN:\n%s", body)
	}
	if got[`haproxy_backend_agg_server_status{proxy="b",state="UP"}`] != 2 {
		t.Errorf("agg_server_status UP = %v, want 2", got[`haproxy_backend_agg_server_status{proxy="b",state="UP"}`])
	}
}

// scope= and no-maint, as promex has them.
func TestQueryFilters(t *testing.T) {
	st := "# pxname,svname,stot,status,type\nf,FRONTEND,1,OPEN,0\nb,BACKEND,2,UP,1\nb,m,1,MAINT,2\nb,u,1,UP,2\n"
	x := exposeFiles(t, ts13, []stats.File{{Name: "a.sock_info", Data: []byte("Version: 2.6.12\nNbproc: 1\n")}}, []stats.File{{Name: "a.sock_stat", Data: []byte(st)}})
	srv := httptest.NewServer(newSink(t, x))
	defer srv.Close()
	_, mfs, got := scrape(t, srv.URL+"?scope=backend&scope=global")
	for name := range mfs {
		if strings.HasPrefix(name, "haproxy_server_") || strings.HasPrefix(name, "haproxy_frontend_") {
			t.Errorf("scope=backend&scope=global exposes %s", name)
		}
	}
	if _, ok := got[`haproxy_process_nbproc{}`]; !ok {
		t.Error("scope=global leaves out the process")
	}
	if _, ok := got[`haproxy_backend_sessions_total{proxy="b"}`]; !ok {
		t.Error("scope=backend leaves out the backend")
	}
	_, _, got = scrape(t, srv.URL+"?no-maint")
	if _, ok := got[`haproxy_server_sessions_total{proxy="b",server="m"}`]; ok {
		t.Error("no-maint exposes the server in maintenance")
	}
	if _, ok := got[`haproxy_server_sessions_total{proxy="b",server="u"}`]; !ok {
		t.Error("no-maint leaves out a server up")
	}
	resp, err := http.Get(srv.URL + "?scope=stick")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"stick"`) {
		t.Errorf("unknown scope: %s %s", resp.Status, b)
	}
}

// A newer snapshot replaces the exposed one, its removed server gone; an
// older one given late does not.
func TestNewestSnapshotWins(t *testing.T) {
	sink := newSink(t, exposition13(t, ts13, nil))
	srv := httptest.NewServer(sink)
	defer srv.Close()
	drop := func(st string) string {
		var keep []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(l, "app,app2") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	sink.Expose(context.Background(), exposition13(t, ts13+10, drop))
	sink.Expose(context.Background(), exposition13(t, ts13-10, nil))
	body, _, got := scrape(t, srv.URL)
	if bytes.Contains(body, []byte(`server="app2`)) {
		t.Errorf("a server removed in the newest snapshot is still exposed")
	}
	if got[`haproxystats_backend_servers{proxy="app"}`] != 1 {
		t.Errorf("servers of app = %v, want 1", got[`haproxystats_backend_servers{proxy="app"}`])
	}
	if !bytes.Contains(body, []byte(fmt.Sprint(" ", (ts13+10)*1000, "\n"))) {
		t.Error("not the newest snapshot's time")
	}
}

// Exposing while scrapes run is safe (go test -race), and every scrape
// parses: it never sees half a snapshot.
func TestConcurrentExposeScrape(t *testing.T) {
	sink := newSink(t, exposition13(t, ts13, nil))
	srv := httptest.NewServer(sink)
	defer srv.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			sink.Expose(context.Background(), exposition13(t, ts13+int64(i)+1, nil))
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 10 {
				_, _, got := scrape(t, srv.URL)
				if got[`haproxystats_backend_servers{proxy="app"}`] != 2 {
					t.Error("a scrape misses the servers of app")
				}
			}
		})
	}
	wg.Wait()
}

// Listen serves the metrics at the configured path, behind the basic
// authentication of the web configuration file, and shuts down promptly.
func TestListen(t *testing.T) {
	web := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(web, []byte("basic_auth_users:\n  "+webUser+": "+webHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := newSink(t, exposition13(t, ts13, nil))
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/prom/metrics", WebConfigFile: web}, sink, nil, discard)
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
	if code, body := get("/prom/metrics", true); code != 200 || !strings.Contains(body, `haproxy_frontend_sessions_total{proxy="www.example.com"} 160 1500000000000`) {
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
	sink := newSink(t, exposition13(t, ts13, nil))
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics", WebConfigFile: web}, sink, nil, discard)
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
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`haproxystats_backend_servers{proxy="app"} 2 1500000000000`)) {
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
	if _, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics", WebConfigFile: bad}, http.NotFoundHandler(), nil, discard); err == nil ||
		!strings.Contains(err.Error(), "web-config-file") {
		t.Errorf("bad web config: err %v", err)
	}
	s, err := Listen(config.Prometheus{Listen: "127.0.0.1:0", Path: "/metrics"}, http.NotFoundHandler(), nil, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := Listen(config.Prometheus{Listen: s.Addr().String(), Path: "/metrics"}, http.NotFoundHandler(), nil, discard); err == nil {
		t.Error("listening twice on one port succeeded")
	}
}

// 200 scrapes at once all get the snapshot, the same bytes, from the one
// encoding made when the snapshot was exposed; a scrape without gzip
// makes none either. Before, eight were served at a time and the rest
// got an undocumented 503.
func TestConcurrentScrapesShareOneEncoding(t *testing.T) {
	sink := newSink(t, bigExposition(t, 10, 20, ts13))
	srv := httptest.NewServer(sink)
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
			h := sha256.New() // of the snapshot's lines; the daemon's own move
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "haproxy") && !strings.HasPrefix(sc.Text(), "haproxystats_build_info") {
					h.Write(sc.Bytes())
				}
			}
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
		t.Errorf("%d encodings for one snapshot and 200 scrapes, want 1", n)
	}
	// A scrape without gzip: encoded as it is written, the same metrics.
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
	if n := sink.encodings.Load(); n != 1 {
		t.Errorf("%d encodings after a scrape without gzip, want still 1", n)
	}
}

const (
	webUser = "prometheus"
	webPass = "s3cret"
	// bcrypt of webPass, cost 4.
	webHash = "$2a$04$cgntOsf5OY8zBFTXS2HPwOIo45ieyY98RsvVMKo4b3R1hHZvy.bZG"
)
