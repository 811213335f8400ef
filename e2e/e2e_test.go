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

var (
	bins      string // directory with the built commands, built with -race
	plainBins string // the same built as make build builds them, for figures of memory
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "haproxystats-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, build := range [][]string{
		{"build", "-race", "-o", dir + "/"},
		{"build", "-o", dir + "/plain/"},
	} {
		out, err := exec.Command("go", append(build, "../cmd/haproxystats-pull", "../cmd/haproxystats-process")...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build commands: %v\n%s", err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	bins, plainBins = dir, filepath.Join(dir, "plain")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon runs one of the built commands until the test ends, then stops
// it with SIGTERM and checks that it exits 0 promptly.
func daemon(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	return daemonFrom(t, bins, name, args...)
}

// daemonFrom is daemon for the command built in dir.
func daemonFrom(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := haproxytest.Command(filepath.Join(dir, name), args...)
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
	log := relayLog(out)
	haproxytest.WaitFor(t, "carbon-c-relay starts", 30*time.Second, log, func() bool {
		b, _ := os.ReadFile(string(log))
		return bytes.Contains(b, []byte("startup sequence complete"))
	})
	return port, out
}

// relayLog is the log of the carbon-c-relay relay started to write out.
func relayLog(out string) haproxytest.LogFile {
	return haproxytest.LogFile(filepath.Join(filepath.Dir(out), "relay.log"))
}

// logOf is the log of a command daemon started.
func logOf(cmd *exec.Cmd) haproxytest.LogFile {
	return haproxytest.LogFile(cmd.Stdout.(*os.File).Name())
}

// logs are the logs of a test's daemons, shown one after the other, as
// WaitFor shows one.
type logs []haproxytest.LogFile

func (l logs) String() string {
	var b strings.Builder
	for _, f := range l {
		fmt.Fprintf(&b, "==> %s <==\n%s\n", filepath.Base(string(f)), f)
	}
	return b.String()
}

// committedRounds returns how many snapshots the haproxystats-pull whose
// log is log committed.
func committedRounds(log haproxytest.LogFile) int {
	b, _ := os.ReadFile(string(log))
	return bytes.Count(b, []byte(`msg="statistics are stored"`))
}

var lineRE = regexp.MustCompile(`^[A-Za-z0-9_.:~-]+ -?[0-9]+(\.[0-9]+)? [0-9]+$`)

// readGraphite parses the relay's file into snapshot time → path → value,
// checking that every line is well formed. A last line without its
// newline is one the relay is still writing: it is left for the next
// read.
func readGraphite(t *testing.T, file string) map[int64]map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	snaps := map[int64]map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
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

// completeSnapshots returns the seconds of the complete snapshots under
// prefix in the relay's file at out, oldest first, and the file's
// snapshots as readGraphite returns them. A snapshot is complete once its
// TotalWallClockTime is there: the process daemon sends it last.
func completeSnapshots(t *testing.T, out, prefix string) ([]int64, map[int64]map[string]float64) {
	t.Helper()
	snaps := readGraphite(t, out)
	var stamps []int64
	for ts, m := range snaps {
		if _, ok := m[prefix+"haproxystats.TotalWallClockTime"]; ok {
			stamps = append(stamps, ts)
		}
	}
	slices.Sort(stamps)
	return stamps, snaps
}

// statField returns the value of column col in the row pxname/svname of
// socket's show stat, "" when there is none.
func statField(t *testing.T, socket, pxname, svname, col string) string {
	t.Helper()
	reply := haproxytest.Query(t, socket, "show stat")
	idx := columnIndex(reply, col)
	for _, l := range strings.Split(string(reply), "\n")[1:] {
		if f := strings.Split(l, ","); idx >= 0 && len(f) > idx && f[0] == pxname && f[1] == svname {
			return f[idx]
		}
	}
	return ""
}

// idle reports whether socket's show stat shows no current session
// (scur 0) on every row of the proxies for which counted is true: their
// counters of the requests made so far are final.
func idle(t *testing.T, socket string, counted func(pxname string) bool) bool {
	t.Helper()
	reply := haproxytest.Query(t, socket, "show stat")
	scur := columnIndex(reply, "scur")
	for _, l := range strings.Split(strings.TrimSpace(string(reply)), "\n")[1:] {
		if f := strings.Split(l, ","); counted(f[0]) && (scur < 0 || len(f) <= scur || f[scur] != "0") {
			return false
		}
	}
	return true
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
	// Every request has ended in haproxy too: the counters compared
	// below are final.
	for _, sock := range h.Sockets {
		haproxytest.WaitFor(t, "no session left in www.example.com and app on "+sock, time.Minute, nil, func() bool {
			return idle(t, sock, func(px string) bool { return px == "www.example.com" || px == "app" })
		})
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
	proc := daemon(t, "haproxystats-process", "-f", conf)
	pull := daemon(t, "haproxystats-pull", "-f", conf)
	dlogs := logs{logOf(pull), logOf(proc), relayLog(out)}

	const prefix = "e2e.haproxy."
	var stamps []int64
	var snaps map[int64]map[string]float64
	haproxytest.WaitFor(t, "3 complete snapshots in carbon-c-relay's file", 2*time.Minute, dlogs, func() bool {
		stamps, snaps = completeSnapshots(t, out, prefix)
		return len(stamps) >= 3
	})
	// The newest complete snapshot: no traffic since the burst, so the
	// counters equal what the sockets report now.
	m := snaps[stamps[len(stamps)-1]]
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
	// Pull goes on committing, and the sender confirms a snapshot a
	// second after writing it, at its next write: a snapshot Graphite
	// had whole leaves the spool then, and those before it are gone.
	newest := stamps[len(stamps)-1]
	haproxytest.WaitFor(t, fmt.Sprintf("no snapshot of second %d or earlier in incoming/", newest), time.Minute, dlogs, func() bool {
		paths, err := spool.Scan(filepath.Join(base, "incoming"))
		if err != nil {
			return false
		}
		for _, p := range paths {
			if ts, _ := spool.ParseName(filepath.Base(p)); ts <= newest {
				return false
			}
		}
		return true
	})
	if _, err := os.Stat(filepath.Join(base, "failed")); err == nil {
		t.Error("a snapshot was quarantined")
	}
}

// background starts cmd, a server a test needs (carbon-cache,
// graphite-web, Prometheus), its output in a log of the test's own,
// which it returns; it is killed when the test ends, and its log shown
// when the test failed.
func background(t *testing.T, cmd *exec.Cmd, name string) haproxytest.LogFile {
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
	return haproxytest.LogFile(logf.Name())
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

// start runs the pair until the test ends, and returns their logs, pull's
// first.
func (pl pipeline) start(t *testing.T) logs {
	t.Helper()
	base := t.TempDir()
	tail := strings.Replace(daemonsConf(base, max(pl.workers, 1), pl.port, pl.ns), "[graphite]\n", pl.process+"\n[graphite]\n", 1)
	if pl.hostname {
		tail = strings.Replace(tail, "prefix-hostname = false", "prefix-hostname = true", 1)
	}
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[DEFAULT]\nloglevel = info\n[pull]\n%s\npull-interval = 1\npull-timeout = 0.8\n%s%s", pl.pull, tail, pl.sections)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	proc := daemon(t, "haproxystats-process", "-f", conf)
	pull := daemon(t, "haproxystats-pull", "-f", conf)
	return logs{logOf(pull), logOf(proc)}
}

// settled waits up to timeout for two snapshots of second since or
// later in the relay's file at out that have every path of has, and
// returns the older one, which the relay has written whole. log, when
// not nil, is shown if they do not come.
func settled(t *testing.T, out string, since int64, timeout time.Duration, log fmt.Stringer, has ...string) (int64, map[string]float64) {
	t.Helper()
	var ts int64
	var snap map[string]float64
	haproxytest.WaitFor(t, fmt.Sprintf("two snapshots of second %d or later with %v in Graphite", since, has), timeout, log, func() bool {
		snaps := readGraphite(t, out)
		var full []int64
		for ts, lines := range snaps {
			if ts >= since && !slices.ContainsFunc(has, func(p string) bool { _, ok := lines[p]; return !ok }) {
				full = append(full, ts)
			}
		}
		if len(full) < 2 {
			return false
		}
		slices.Sort(full)
		ts, snap = full[0], snaps[full[0]]
		return true
	})
	return ts, snap
}

// httpDefaults is the defaults section of the tests' haproxy
// configurations in HTTP mode.
const httpDefaults = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
`
