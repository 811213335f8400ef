package e2e

import (
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
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// TestGraphiteDashboard feeds a real Graphite (Debian's graphite-carbon
// and graphite-web) from a real haproxy through both daemons, resolves
// each variable of contrib/grafana/haproxystats-graphite.json with
// graphite-web's find API, as Grafana does, and asks the render API for
// every target of every panel: each must return a non-null datapoint.
// With HAPROXYSTATS_SCREENSHOT set to a file name, it also writes
// graphite-web's PNG of one panel there (the picture of docs/metrics.md).
func TestGraphiteDashboard(t *testing.T) {
	carbon, err := exec.LookPath("carbon-cache")
	if err != nil {
		t.Fatal("carbon-cache not installed (Debian package graphite-carbon; make test installs it)")
	}
	// Debian's python3, the one graphite-web is installed for, even when
	// another one comes first in PATH.
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import graphite.settings, django").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Fatal("graphite-web not installed (Debian package graphite-web; make test installs it)")
	}
	hbin := haproxytest.HAProxyBinary(t)
	front, app, dead, logPort := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 2, httpDefaults+fmt.Sprintf(`frontend www
    bind 127.0.0.1:%[1]d
    option httplog
    log 127.0.0.1:%[4]d local0
    default_backend app
backend app
    server up 127.0.0.1:%[2]d check inter 200ms
    server down 127.0.0.1:%[3]d check inter 200ms fall 1
    server maint 127.0.0.1:%[2]d disabled
listen origin
    bind 127.0.0.1:%[2]d
    http-request return status 404 content-type text/plain string no if { path_beg /missing }
    http-request return status 503 content-type text/plain string no if { path_beg /fail }
    http-request return status 200 content-type text/plain string ok
`, front, app, dead, logPort))

	dir := t.TempDir()
	linePort, queryPort, webPort := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	carbonLog := startCarbon(t, carbon, dir, linePort, queryPort)
	web := startGraphiteWeb(t, python, dir, webPort, queryPort)

	// The dashboard's tree: the host name level, status-metrics for its
	// status panels, [logs] for its latency panels.
	dlogs := pipeline{pull: "socket-dir = " + h.SocketDir, process: "status-metrics = true", sections: fmt.Sprintf("[logs]\nlisten = udp://127.0.0.1:%d\n", logPort), port: linePort, ns: "e2edash", workers: 2, hostname: true}.start(t)
	dlogs = append(dlogs, carbonLog, web.log)

	// Traffic until the test ends (at most 2 minutes, 20 requests a
	// second): 200s, 404s and 503s for the response codes; the checks
	// begin once 8 rounds are in Graphite.
	stopTraffic := make(chan struct{})
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for i := 0; i < 2400; i++ {
			select {
			case <-stopTraffic:
				return
			case <-time.After(50 * time.Millisecond): // the traffic's pace, not a wait
			}
			path := [...]string{"/", "/", "/", "/missing", "/", "/", "/fail", "/", "/", "/"}[i%10]
			if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", front, path)); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	t.Cleanup(func() { close(stopTraffic); <-trafficDone })
	// Pull's log first, a file read, so that graphite-web is asked only
	// once the rounds are there.
	haproxytest.WaitFor(t, "8 rounds committed", 2*time.Minute, dlogs, func() bool {
		return committedRounds(dlogs[0]) >= 8
	})
	const rounds = "e2edash.*.haproxy.haproxystats.TotalWallClockTime"
	haproxytest.WaitFor(t, "8 rounds in Graphite: graphite-web renders 8 points of "+rounds, 2*time.Minute, dlogs, func() bool {
		return web.nonNull(t, rounds) >= 8
	})

	var d struct {
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			Title   string
			Targets []struct{ Target string }
		}
		Annotations struct {
			List []struct {
				Name   string
				Target struct{ Target string }
			}
		}
	}
	path := filepath.Join("..", "contrib", "grafana", "haproxystats-graphite.json")
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &d) != nil {
		t.Fatalf("dashboard %s: %v", path, err)
	}
	// The variables, in order, each from the values the find API gives
	// for its query with the variables before it substituted: the run's
	// namespace, backend app (it has the servers), else the first value.
	values := map[string]string{}
	subst := func(s string) string {
		names := slices.Collect(func(yield func(string) bool) {
			for k := range values {
				if !yield(k) {
					return
				}
			}
		})
		sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) }) // $server before $s...
		for _, k := range names {
			s = strings.ReplaceAll(s, "$"+k, values[k])
		}
		return s
	}
	prefer := map[string]string{"namespace": "e2edash", "frontend": "www", "backend": "app", "server": "up"}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := subst(v.Query)
		var found []string
		haproxytest.Poll(30*time.Second, func() bool {
			found = web.find(t, q)
			return len(found) > 0 && (prefer[v.Name] == "" || slices.Contains(found, prefer[v.Name]))
		})
		if len(found) == 0 {
			t.Fatalf("variable $%s: graphite-web finds nothing for %s", v.Name, q)
		}
		values[v.Name] = found[0]
		if p := prefer[v.Name]; p != "" && slices.Contains(found, p) {
			values[v.Name] = p
		}
	}
	t.Logf("dashboard variables from graphite-web: %v", values)

	// Each alternative of a {a,b,...} list is a target of its own: a
	// panel that draws act, bck and TotalServers must draw all three.
	checked, panels, empty := 0, 0, 0
	for _, p := range d.Panels {
		if len(p.Targets) > 0 {
			panels++
		}
		var targets []string
		for _, tg := range p.Targets {
			targets = append(targets, expandBraces(subst(tg.Target))...)
		}
		for _, target := range targets {
			var n int
			haproxytest.Poll(30*time.Second, func() bool {
				n = web.nonNull(t, target)
				return n > 0
			})
			checked++
			if n == 0 {
				empty++
				t.Errorf("panel %q: graphite-web renders no non-null datapoint for %s", p.Title, target)
			}
		}
	}
	t.Logf("graphite-web render API: %d targets (every alternative of a {…} list apart) of %d panels checked, %d without a non-null datapoint", checked, panels, empty)

	// The annotations' targets mark only what went wrong (a snapshot not
	// ready, a bucket without a host), so they may render no point here:
	// graphite-web must take them all the same.
	for _, a := range d.Annotations.List {
		var series []struct{ Target string }
		if target := subst(a.Target.Target); !web.get(t, "/render?format=json&from=-5min&noCache=1&target="+url.QueryEscape(target), &series) {
			t.Errorf("annotation %q: graphite-web does not render %s", a.Name, target)
		}
	}
	if len(d.Annotations.List) == 0 {
		t.Error("the dashboard has no annotation")
	}

	if shot := os.Getenv("HAPROXYSTATS_SCREENSHOT"); shot != "" {
		target := subst(`aliasByNode(scaleToSeconds(nonNegativeDerivative($namespace.$host.haproxy.frontend.$frontend.hrsp_{1xx,2xx,3xx,4xx,5xx,other}),1),4,5)`)
		resp, err := http.Get(web.base + "/render?from=-25s&width=800&height=300&format=png&areaMode=stacked&title=" + url.QueryEscape("Frontend www: responses/s by code") + "&target=" + url.QueryEscape(target))
		if err != nil {
			t.Fatal(err)
		}
		png, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(png), "\x89PNG") {
			t.Fatalf("PNG render: %s, %d bytes", resp.Status, len(png))
		}
		os.WriteFile(shot, png, 0o644)
	}
}

// expandBraces returns s with its first {a,b,...} list replaced by each
// alternative in turn, recursively: every target without a list.
func expandBraces(s string) []string {
	i := strings.IndexByte(s, '{')
	j := strings.IndexByte(s[i+1:], '}')
	if i < 0 || j < 0 {
		return []string{s}
	}
	var out []string
	for _, alt := range strings.Split(s[i+1:i+1+j], ",") {
		out = append(out, expandBraces(s[:i]+alt+s[i+2+j:])...)
	}
	return out
}

// startCarbon runs carbon-cache with its configuration and whisper files
// under dir, receiving lines on 127.0.0.1:linePort and answering
// graphite-web's cache queries on queryPort, and returns its log.
func startCarbon(t *testing.T, bin, dir string, linePort, queryPort int) haproxytest.LogFile {
	t.Helper()
	confDir, storage := filepath.Join(dir, "conf"), filepath.Join(dir, "storage")
	for _, d := range []string{confDir, filepath.Join(storage, "whisper"), filepath.Join(dir, "log")} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(confDir, "carbon.conf"), []byte(fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/
LOCAL_DATA_DIR = %[1]s/whisper/
WHITELISTS_DIR = %[1]s/lists/
CONF_DIR = %[2]s/
LOG_DIR = %[3]s/
PID_DIR = %[3]s/
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[4]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[5]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[6]d
LOG_LISTENER_CONN_SUCCESS = False
LOG_CACHE_HITS = False
`, storage, confDir, filepath.Join(dir, "log"), linePort, haproxytest.FreePort(t), queryPort)), 0o644)
	os.WriteFile(filepath.Join(confDir, "storage-schemas.conf"), []byte("[all]\npattern = .*\nretentions = 1s:1h\n"), 0o644)
	log := background(t, haproxytest.Command(bin, "--config="+filepath.Join(confDir, "carbon.conf"), "--nodaemon", "start"), "carbon-cache")
	waitListening(t, linePort, "carbon-cache", log)
	return log
}

// graphiteWeb is a running graphite-web.
type graphiteWeb struct {
	base string
	log  haproxytest.LogFile
}

// startGraphiteWeb runs graphite-web (Django's server) on 127.0.0.1:port,
// reading the whisper files under dir and carbon-cache's points not yet
// written through queryPort. Its settings are a module of the test's own
// that imports Debian's and points every directory into dir.
func startGraphiteWeb(t *testing.T, python, dir string, port, queryPort int) *graphiteWeb {
	t.Helper()
	storage := filepath.Join(dir, "storage")
	os.WriteFile(filepath.Join(dir, "hs_graphite_settings.py"), []byte(fmt.Sprintf(`from graphite.settings import *
SECRET_KEY = 'haproxystats-e2e'
STORAGE_DIR = %[1]q
WHISPER_DIR = %[1]q + '/whisper/'
CERES_DIR = %[1]q + '/ceres/'
RRD_DIR = %[1]q + '/rrd/'
STANDARD_DIRS = [WHISPER_DIR]
INDEX_FILE = %[1]q + '/index'
LOG_DIR = %[2]q
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': %[3]q}}
CARBONLINK_HOSTS = ['127.0.0.1:%[4]d']
ALLOWED_HOSTS = ['127.0.0.1']
DEBUG = False
`, storage, filepath.Join(dir, "log")+"/", filepath.Join(dir, "graphite.db"), queryPort)), 0o644)
	env := append(os.Environ(), "DJANGO_SETTINGS_MODULE=hs_graphite_settings", "PYTHONPATH="+dir)
	migrate := exec.Command(python, "-m", "django", "migrate", "--run-syncdb", "--noinput")
	migrate.Env, migrate.Dir = env, dir
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("graphite-web: django migrate: %v\n%s", err, out)
	}
	cmd := haproxytest.Command(python, "-m", "django", "runserver", "--noreload", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env, cmd.Dir = env, dir
	log := background(t, cmd, "graphite-web")
	waitListening(t, port, "graphite-web", log)
	return &graphiteWeb{base: fmt.Sprintf("http://127.0.0.1:%d", port), log: log}
}

// find returns the names of the nodes query matches, as Grafana's
// variables get them (/metrics/find).
func (g *graphiteWeb) find(t *testing.T, query string) []string {
	t.Helper()
	var nodes []struct{ Text string }
	if !g.get(t, "/metrics/find?query="+url.QueryEscape(query), &nodes) {
		return nil
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Text)
	}
	sort.Strings(out)
	return out
}

// nonNull returns how many non-null datapoints the render API gives for
// target over the last five minutes.
func (g *graphiteWeb) nonNull(t *testing.T, target string) int {
	t.Helper()
	var series []struct {
		Datapoints [][2]*float64
	}
	if !g.get(t, "/render?format=json&from=-5min&noCache=1&target="+url.QueryEscape(target), &series) {
		return 0
	}
	n := 0
	for _, s := range series {
		for _, p := range s.Datapoints {
			if p[0] != nil {
				n++
			}
		}
	}
	return n
}

func (g *graphiteWeb) get(t *testing.T, path string, v any) bool {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(g.base + path)
	if err != nil {
		t.Logf("graphite-web %s: %v", path, err)
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Logf("graphite-web %s: %s\n%.500s", path, resp.Status, b)
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Logf("graphite-web %s: %v\n%.500s", path, err, b)
		return false
	}
	return true
}

// waitListening waits for what to listen on 127.0.0.1:port; log is
// its log, shown if it does not.
func waitListening(t *testing.T, port int, what string, log fmt.Stringer) {
	t.Helper()
	haproxytest.WaitFor(t, fmt.Sprintf("%s listens on 127.0.0.1:%d", what, port), 2*time.Minute, log, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}
