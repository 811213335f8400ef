package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

var bins string // directory with the built commands

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "haproxystats-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := exec.Command("go", "build", "-race", "-o", dir+"/", "../cmd/haproxystats-pull", "../cmd/haproxystats-process").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build commands: %v\n%s", err, out)
		os.Exit(1)
	}
	bins = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon runs one of the built commands until the test ends, then stops
// it with SIGTERM and checks that it exits 0 promptly.
func daemon(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := haproxytest.Command(filepath.Join(bins, name), args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, cmd, logf.Name()) })
	return cmd
}

// daemonsConf is the end of a test configuration, after [pull]'s own
// options: the spool under base, [process] with workers, and [graphite]
// to 127.0.0.1:port under namespace, without the host name.
func daemonsConf(base string, workers, port int, namespace string) string {
	return fmt.Sprintf(`dst-dir = %[1]s/incoming
tmp-dst-dir = %[1]s/incoming.tmp
[process]
src-dir = %[1]s/incoming
workers = %[2]d
[graphite]
server = 127.0.0.1
port = %[3]d
namespace = %[4]s
prefix-hostname = false
`, base, workers, port, namespace)
}

func stop(t *testing.T, cmd *exec.Cmd, logName string) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(logName)
			t.Errorf("%s exited with %v after SIGTERM; log:\n%s", cmd.Path, err, b)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Errorf("%s did not exit within 15s of SIGTERM", cmd.Path)
	}
}

func relay(t *testing.T, bin string) (port int, out string) {
	t.Helper()
	dir := t.TempDir()
	port = haproxytest.FreePort(t)
	out = filepath.Join(dir, "graphite.txt")
	conf := filepath.Join(dir, "relay.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen type linemode 127.0.0.1:%d proto tcp ;\ncluster g file %s ;\nmatch * send to g stop ;\n", port, out)), 0o644)
	cmd := haproxytest.Command(bin, "-f", conf, "-s", "-l", filepath.Join(dir, "relay.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(filepath.Join(dir, "relay.log")); bytes.Contains(b, []byte("startup sequence complete")) {
			return port, out
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("carbon-c-relay did not start")
	return 0, ""
}

var lineRE = regexp.MustCompile(`^[A-Za-z0-9_.:~-]+ -?[0-9]+(\.[0-9]+)? [0-9]+$`)

// readGraphite parses the relay's file into snapshot time → path → value,
// checking that every line is well formed.
func readGraphite(t *testing.T, file string) map[int64]map[string]float64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	snaps := map[int64]map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !lineRE.MatchString(line) {
			t.Errorf("malformed Graphite line: %q", line)
			continue
		}
		fs := strings.Fields(line)
		v, _ := strconv.ParseFloat(fs[1], 64)
		ts, _ := strconv.ParseInt(fs[2], 10, 64)
		if snaps[ts] == nil {
			snaps[ts] = map[string]float64{}
		}
		snaps[ts][fs[0]] = v
	}
	return snaps
}

// columnIndex returns the position of column col in the header of the
// show stat reply, or -1.
func columnIndex(reply []byte, col string) int {
	head, _, _ := bytes.Cut(reply, []byte("\n"))
	return slices.Index(strings.Split(strings.TrimPrefix(string(head), "# "), ","), col)
}

// sumColumn adds up one column of one proxy row over the raw show stat
// replies read straight from the sockets.
func sumColumn(t *testing.T, sockets []string, pxname, svname, col string) float64 {
	t.Helper()
	var sum float64
	for _, s := range sockets {
		reply := haproxytest.Query(t, s, "show stat")
		lines := strings.Split(string(reply), "\n")
		idx := columnIndex(reply, col)
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if len(f) > idx && f[0] == pxname && f[1] == svname {
				v, _ := strconv.ParseFloat(f[idx], 64)
				sum += v
			}
		}
	}
	return sum
}

// The whole pipeline with real parts: two haproxy processes sharing their
// ports, a bounded burst of HTTP requests, both daemons, carbon-c-relay.
func TestEndToEnd(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, app := haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 2, fmt.Sprintf(haproxytest.Defaults+`frontend www.example.com
    bind 127.0.0.1:%d
    default_backend app
backend app
    server app1 127.0.0.1:%d
    server app2.dc1 127.0.0.1:%d
listen app-server
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, front, app, app, app))
	port, out := relay(t, rbin)

	const requests = 200
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range requests {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", front))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}

	base := t.TempDir()
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = debug
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
[graphite]
server = 127.0.0.1
port = %d
namespace = e2e
prefix-hostname = false
`, base, h.SocketDir, port)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	daemon(t, "haproxystats-process", "-f", conf)
	daemon(t, "haproxystats-pull", "-f", conf)

	const prefix = "e2e.haproxy."
	var snaps map[int64]map[string]float64
	deadline := time.Now().Add(40 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		snaps = readGraphite(t, out)
		complete := 0
		for _, m := range snaps {
			if _, ok := m[prefix+"haproxystats.TotalWallClockTime"]; ok {
				complete++
			}
		}
		if complete >= 3 {
			break
		}
	}
	if len(snaps) < 3 {
		t.Fatalf("carbon-c-relay received %d snapshots in 40s, want at least 3", len(snaps))
	}
	var last int64
	for ts := range snaps {
		last = max(last, ts)
	}
	// The newest complete snapshot: no traffic since the burst, so the
	// counters equal what the sockets report now.
	var m map[string]float64
	for ts := last; ts > last-5; ts-- {
		if s := snaps[ts]; s[prefix+"haproxystats.TotalWallClockTime"] != 0 || s[prefix+"haproxystats.MetricsServer"] != 0 {
			m = s
			break
		}
	}
	if m == nil {
		t.Fatal("no complete snapshot found")
	}
	for _, c := range []struct {
		path string
		want float64
	}{
		{"frontend.www_example_com.stot", requests},
		{"frontend.www_example_com.req_tot", requests},
		{"frontend.www_example_com.hrsp_2xx", requests},
		{"backend.app.stot", requests},
		{"backend.app.lbtot", requests},
		{"backend.app.TotalServers", 2},
		{"backend.app.server.app1.stot", sumColumn(t, h.Sockets, "app", "app1", "stot")},
		{"backend.app.server.app2_dc1.stot", sumColumn(t, h.Sockets, "app", "app2.dc1", "stot")},
		{"server.app1.stot", sumColumn(t, h.Sockets, "app", "app1", "stot")},
		{"backend.app.bout", sumColumn(t, h.Sockets, "app", "BACKEND", "bout")},
		{"frontend.www_example_com.bin", sumColumn(t, h.Sockets, "www.example.com", "FRONTEND", "bin")},
	} {
		got, ok := m[prefix+c.path]
		if !ok {
			t.Errorf("%s missing from Graphite", c.path)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v in Graphite, want %v", c.path, got, c.want)
		}
	}
	if a, b := m[prefix+"backend.app.server.app1.stot"], m[prefix+"backend.app.server.app2_dc1.stot"]; a+b != requests {
		t.Errorf("servers' stot %v + %v != %d requests", a, b, requests)
	}
	for _, name := range []string{"daemon.CumReq", "daemon.Idle_pct", "daemon.50PercentileCpuUsagePct", "haproxystats.MetricsHAProxy", "haproxystats.WallClockTimeAllStats"} {
		if _, ok := m[prefix+name]; !ok {
			t.Errorf("%s missing from Graphite", name)
		}
	}
	// The spool is drained: nothing lost on the way, nothing left behind.
	time.Sleep(1500 * time.Millisecond)
	if n, _ := spool.Count(filepath.Join(base, "incoming")); n > 2 {
		t.Errorf("%d snapshots still queued in incoming/", n)
	}
	if _, err := os.Stat(filepath.Join(base, "failed")); err == nil {
		t.Error("a snapshot was quarantined")
	}
}

// background starts cmd, a server a test needs (carbon-cache,
// graphite-web, Prometheus), its output in a log of the test's own; it is
// killed when the test ends, and its log shown when the test failed.
func background(t *testing.T, cmd *exec.Cmd, name string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%.4000s", name, b)
		}
	})
}

// pipeline is a haproxystats-pull and haproxystats-process pair on a
// spool of its own, pulling every second and sending to carbon on
// 127.0.0.1:port under namespace (no host name in the paths).
type pipeline struct {
	pull     string // the [pull] sources and options: socket-dir = ..., servers = ...
	process  string // more [process] options
	sections string // more sections, such as [prometheus]
	port     int
	ns       string
	workers  int  // process workers; 0: 1
	hostname bool // prefix-hostname: the host name in the paths
}

// start runs the pair until the test ends.
func (pl pipeline) start(t *testing.T) {
	t.Helper()
	base := t.TempDir()
	tail := strings.Replace(daemonsConf(base, max(pl.workers, 1), pl.port, pl.ns), "[graphite]\n", pl.process+"\n[graphite]\n", 1)
	if pl.hostname {
		tail = strings.Replace(tail, "prefix-hostname = false", "prefix-hostname = true", 1)
	}
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[DEFAULT]\nloglevel = info\n[pull]\n%s\npull-interval = 1\npull-timeout = 0.8\n%s%s", pl.pull, tail, pl.sections)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	daemon(t, "haproxystats-process", "-f", conf)
	daemon(t, "haproxystats-pull", "-f", conf)
}

// settled waits up to timeout for two snapshots of second since or
// later in the relay's file at out that have every path of has, and
// returns the older one, which the relay has written whole.
func settled(t *testing.T, out string, since int64, timeout time.Duration, has ...string) (int64, map[string]float64) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		snaps := readGraphite(t, out)
		var full []int64
		for ts, lines := range snaps {
			if ts >= since && !slices.ContainsFunc(has, func(p string) bool { _, ok := lines[p]; return !ok }) {
				full = append(full, ts)
			}
		}
		if len(full) >= 2 {
			slices.Sort(full)
			return full[0], snaps[full[0]]
		}
	}
	t.Fatalf("no snapshot with %v in Graphite within %v", has, timeout)
	return 0, nil
}

// httpDefaults is the defaults section of the tests' haproxy
// configurations in HTTP mode.
const httpDefaults = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
`
