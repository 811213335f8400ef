package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// The custom log-format of the test's third frontend: the timers of
// httplog with words around them, in another order than httplog's.
const customFormat = `%ci [%tr] %ft %b/%s TR=%TR Tw=%Tw Tc=%Tc Tr=%Tr Ta=%Ta %ST %tsc`

// latencyConfig is the haproxy configuration of TestLatencyFromLogs:
// an HTTP frontend with option httplog that logs over UDP, a TCP one
// with option tcplog that logs over a unix datagram socket, and one
// with customFormat over UDP; each logs a second time to the test's
// capture, over UDP.
func latencyConfig(httpPort, tcpPort, customPort, origin, tcpOrigin, pullUDP int, pullUnix string, capture int) string {
	return fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s

frontend fe_http
    bind 127.0.0.1:%[1]d
    option httplog
    log 127.0.0.1:%[6]d local0
    log 127.0.0.1:%[8]d local0
    default_backend be_app

backend be_app
    balance roundrobin
    server s1 127.0.0.1:%[4]d
    server s2 127.0.0.1:%[4]d

frontend fe_tcp
    mode tcp
    bind 127.0.0.1:%[2]d
    option tcplog
    log %[7]s local0
    log 127.0.0.1:%[8]d local0
    default_backend be_tcp

backend be_tcp
    mode tcp
    server t1 127.0.0.1:%[5]d

frontend fe_custom
    bind 127.0.0.1:%[3]d
    log-format "%[9]s"
    log 127.0.0.1:%[6]d local0
    log 127.0.0.1:%[8]d local0
    default_backend be_custom

backend be_custom
    server c1 127.0.0.1:%[4]d
`, httpPort, tcpPort, customPort, origin, tcpOrigin, pullUDP, pullUnix, capture, customFormat)
}

// origin serves HTTP on 127.0.0.1: /wait/<ms> answers after <ms>
// milliseconds, /close closes the connection without an answer (HAProxy
// logs Tr = -1 and SH). Its waiting is the traffic under test, not a
// test waiting for an event.
func origin(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		ms, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/wait/"))
		if err != nil || ms < 0 || ms > 5000 {
			http.Error(w, "bad wait", http.StatusBadRequest)
			return
		}
		time.Sleep(time.Duration(ms) * time.Millisecond) // the response time under test, not a wait
		io.WriteString(w, "ok\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// tcpOrigin serves TCP on 127.0.0.1: it reads "<ms>\n", waits <ms>
// milliseconds, answers "ok\n" and closes.
func tcpOrigin(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go haproxytest.Serve(ln, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return
		}
		ms, _ := strconv.Atoi(strings.TrimSpace(line))
		time.Sleep(time.Duration(min(max(ms, 0), 5000)) * time.Millisecond) // the session time under test, not a wait
		io.WriteString(c, "ok\n")
	})
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// captureLogs receives HAProxy's log datagrams on 127.0.0.1 and keeps
// their messages (the syslog header cut off).
type captureLogs struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	lines []string
}

func newCapture(t *testing.T) *captureLogs {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	c := &captureLogs{conn: conn}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msg := strings.TrimRight(string(buf[:n]), "\n\x00")
			if i := strings.Index(msg, "]: "); i >= 0 {
				msg = msg[i+3:]
			}
			c.mu.Lock()
			c.lines = append(c.lines, msg)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *captureLogs) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

func (c *captureLogs) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// exactTimers is what the test computes from the captured lines, on its
// own: per object ("backend.be_app", "backend.be_app.server.s1",
// "frontend.fe_http") and timer, the values; the aborted ones (-1)
// apart; the termination states.
type exactTimers struct {
	values  map[string][]int64 // "<object>.timers.<T>" → values
	aborted map[string]int
	states  map[string]int // "<object>.termination.<tt>" → count
	httpTr  []int64        // every Tr of fe_http, for halog
}

// exactOf parses the captured lines of the three frontends.
func exactOf(t *testing.T, lines []string) *exactTimers {
	t.Helper()
	e := &exactTimers{values: map[string][]int64{}, aborted: map[string]int{}, states: map[string]int{}}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Fatalf("captured log line too short: %q", line)
		}
		fe := strings.TrimSuffix(f[2], "~")
		be, srv, _ := strings.Cut(f[3], "/")
		var names []string
		var timers []string
		var state string
		switch fe {
		case "fe_http":
			names, timers, state = []string{"TR", "Tw", "Tc", "Tr", "Ta"}, strings.Split(f[4], "/"), f[9]
		case "fe_tcp":
			names, timers, state = []string{"Tw", "Tc", "Tt"}, strings.Split(f[4], "/"), f[6]
		case "fe_custom":
			names, state = []string{"TR", "Tw", "Tc", "Tr", "Ta"}, f[10]
			for _, kv := range f[4:9] {
				_, v, _ := strings.Cut(kv, "=")
				timers = append(timers, v)
			}
		default:
			t.Fatalf("captured log line of an unknown frontend: %q", line)
		}
		objects := []string{"frontend." + fe, "backend." + be}
		if srv != "<NOSRV>" {
			objects = append(objects, "backend."+be+".server."+srv)
		}
		for i, name := range names {
			v, err := strconv.ParseInt(strings.TrimPrefix(timers[i], "+"), 10, 64)
			if err != nil {
				t.Fatalf("timer %s of %q: %v", name, line, err)
			}
			if fe == "fe_http" && name == "Tr" && v >= 0 {
				e.httpTr = append(e.httpTr, v)
			}
			for _, o := range objects {
				key := o + ".timers." + name
				if v < 0 {
					e.aborted[key]++
				} else {
					e.values[key] = append(e.values[key], v)
				}
			}
		}
		for _, o := range objects {
			e.states[o+".termination."+state[:2]]++
		}
	}
	for _, vs := range e.values {
		slices.Sort(vs)
	}
	slices.Sort(e.httpTr)
	return e
}

// nearestRank is the exact percentile p (in percent) of the sorted
// values: the smallest value with at least p % of the values at or
// below it.
func nearestRank(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// withinError reports whether got is within 4.5 % of exact, and equal to
// it below 16 ms.
func withinError(got float64, exact int64) bool {
	if exact < 16 {
		return got == float64(exact)
	}
	return math.Abs(got-float64(exact)) <= 0.045*float64(exact)
}

// udpQueue returns the bytes waiting in the receive queue of the UDP
// socket bound to 127.0.0.1:port (/proc/net/udp), -1 when none is.
func udpQueue(port int) int {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == want {
			_, rx, _ := strings.Cut(f[4], ":")
			n, _ := strconv.ParseInt(rx, 16, 64)
			return int(n)
		}
	}
	return -1
}

// traffic sends n requests with waits drawn by wait, 16 at a time, and
// returns how many got an answer.
func traffic(t *testing.T, n int, send func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				if send(i) == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return ok
}

// waits draws n waits in milliseconds: a third below 16 ms (where the
// percentiles are exact), the rest spread from 16 ms to 400 ms.
func waits(r *rand.Rand, n int) []int {
	out := make([]int, n)
	for i := range out {
		if r.IntN(3) == 0 {
			out[i] = r.IntN(16)
		} else {
			out[i] = 16 + int(math.Exp(r.Float64()*math.Log(385)))
		}
	}
	return out
}

// TestLatencyFromLogs runs two haproxy processes whose three frontends
// log their requests to haproxystats-pull's [logs] listeners (UDP and
// unixgram; option httplog, option tcplog and a custom log-format), and
// to the test's own capture. Known traffic with response times chosen
// per request goes through. Every percentile haproxystats-process sends
// to carbon-c-relay, per frontend, backend and server and timer, is
// within 4.5 % of the exact nearest-rank one the test computes from the
// captured lines (exact below 16 ms), and halog, HAProxy's own log
// analyser, agrees with the test's arithmetic. A real Prometheus with
// native histograms computes histogram_quantile within one bucket of
// the exact value. Then a haproxy process is killed mid-round and
// restarted: the rounds that fail commit their log lines alone, and no
// line is lost.
func TestLatencyFromLogs(t *testing.T) {
	bin := haproxytest.HAProxyBinary(t)
	relayBin := haproxytest.RelayBinary(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not installed (Debian package prometheus; make test installs it)")
	}
	halog, err := exec.LookPath("halog")
	if err != nil {
		t.Fatal("halog not installed (Debian package haproxy ships it in /usr/sbin)")
	}
	base := t.TempDir()
	capture := newCapture(t)
	pullUDP := haproxytest.FreePort(t)
	pullUnix := filepath.Join(base, "log.sock")
	httpPort, tcpPort, customPort := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, bin, 2, latencyConfig(httpPort, tcpPort, customPort, origin(t), tcpOrigin(t), pullUDP, pullUnix, capture.port()))

	port, out := relay(t, relayBin)
	promPort := haproxytest.FreePort(t)
	conf := filepath.Join(base, "haproxystats.conf")
	writeConf := func(interval int) {
		os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = info
[pull]
socket-dir = %s
pull-interval = %d
pull-timeout = 0.8
%s
[prometheus]
listen = 127.0.0.1:%d
[logs]
listen = udp://127.0.0.1:%d, unixgram://%s
format = %s
`, h.SocketDir, interval, daemonsConf(base, 2, port, "e2e"), promPort, pullUDP, pullUnix, customFormat)), 0o644)
	}
	writeConf(3600) // one round at start, the next when the test says
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	proc := daemon(t, "haproxystats-process", "-f", conf)
	pull := daemon(t, "haproxystats-pull", "-f", conf)
	dlogs := logs{logOf(pull), logOf(proc), relayLog(out)}
	haproxytest.WaitFor(t, "pull's first round", 30*time.Second, dlogs, func() bool { return committedRounds(logOf(pull)) >= 1 })
	haproxytest.WaitFor(t, "pull's unixgram socket", 30*time.Second, dlogs, func() bool {
		st, err := os.Stat(pullUnix)
		return err == nil && st.Mode()&os.ModeSocket != 0
	})

	// The traffic: TCP first (its lines come over the unix socket, long
	// read when the round is taken), then HTTP and the custom format.
	r := rand.New(rand.NewPCG(31, 2026))
	// A connection each: Go's client sends a request again when a reused
	// connection closes before the answer (/close does that), which would
	// make two log lines of one request.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(port int, path string) error {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	const nTCP, nHTTP, nCustom, nClosed = 150, 600, 300, 20
	tcpWaits, httpWaits, customWaits := waits(r, nTCP), waits(r, nHTTP), waits(r, nCustom)
	traffic(t, nTCP, func(i int) error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "%d\n", tcpWaits[i])
		_, err = io.ReadAll(c)
		return err
	})
	traffic(t, nHTTP+nCustom+nClosed, func(i int) error {
		switch {
		case i < nHTTP:
			return get(httpPort, "/wait/"+strconv.Itoa(httpWaits[i]))
		case i < nHTTP+nCustom:
			return get(customPort, "/wait/"+strconv.Itoa(customWaits[i-nHTTP]))
		}
		return get(httpPort, "/close") // aborted: Tr -1, SH
	})
	total := nTCP + nHTTP + nCustom + nClosed
	haproxytest.WaitFor(t, fmt.Sprintf("the capture has the %d log lines", total), 30*time.Second, dlogs, func() bool { return len(capture.all()) >= total })
	haproxytest.WaitFor(t, "pull read every datagram of its UDP socket", 30*time.Second, dlogs, func() bool { return udpQueue(pullUDP) == 0 })
	lines := capture.all()
	if len(lines) != total {
		t.Fatalf("the capture has %d log lines, want %d", len(lines), total)
	}
	exact := exactOf(t, lines)

	// halog, HAProxy's own log analyser, over the captured httplog lines
	// as a syslog file has them: its Tr percentiles are the test's.
	var logFile bytes.Buffer
	for _, l := range lines {
		if strings.Contains(l, " fe_http ") {
			fmt.Fprintf(&logFile, "Dec  8 01:02:03 localhost haproxy[1]: %s\n", l)
		}
	}
	cmd := exec.Command(halog, "-pct", "-q")
	cmd.Stdin = &logFile
	pct, err := cmd.Output()
	if err != nil {
		t.Fatalf("halog -pct: %v", err)
	}
	checked := 0
	for _, row := range strings.Split(string(pct), "\n") {
		f := strings.Fields(row)
		if len(f) < 6 || !slices.Contains([]string{"50.0", "90.0", "95.0", "99.0"}, f[0]) {
			continue
		}
		p, _ := strconv.ParseFloat(f[0], 64)
		tr, _ := strconv.ParseInt(f[4], 10, 64)
		rank := int(math.Ceil(p / 100 * float64(len(exact.httpTr))))
		lo, hi := exact.httpTr[max(rank-2, 0)], exact.httpTr[min(rank, len(exact.httpTr)-1)]
		if tr < lo || tr > hi {
			t.Errorf("halog -pct: Tr p%s = %d, the test's nearest rank %d (ranks around it %d..%d)", f[0], tr, nearestRank(exact.httpTr, p), lo, hi)
		}
		checked++
	}
	if checked != 4 {
		t.Fatalf("halog -pct gave %d of the 4 percentiles looked for:\n%s", checked, pct)
	}

	// One round now carries every line: a reload with a short interval
	// starts the cadence again, at once.
	writeConf(1)
	pull.Process.Signal(syscall.SIGHUP)
	const prefix = "e2e.haproxy."
	var ts int64
	var snap map[string]float64
	haproxytest.WaitFor(t, "a complete snapshot with be_app's Tr in Graphite", 60*time.Second, logLinesIn{dlogs, out}, func() bool {
		stamps, snaps := completeSnapshots(t, out, prefix)
		for _, s := range stamps {
			if _, ok := snaps[s][prefix+"backend.be_app.timers.Tr.count"]; ok {
				ts, snap = s, snaps[s]
				return true
			}
		}
		return false
	})
	table := []string{}
	compared := 0
	for key, vs := range exact.values {
		if got, ok := snap[prefix+key+".count"]; !ok || got != float64(len(vs)) {
			t.Errorf("%s.count = %v (sent: %v), exact %d", key, got, ok, len(vs))
			continue
		}
		for _, p := range []float64{50, 75, 90, 95, 99, 99.9} {
			name := "p" + strings.Replace(strconv.FormatFloat(p, 'f', -1, 64), ".", "", 1)
			got, ok := snap[prefix+key+"."+name]
			want := nearestRank(vs, p)
			if !ok || !withinError(got, want) {
				t.Errorf("%s.%s = %v (sent: %v), exact %d", key, name, got, ok, want)
			}
			compared++
			if strings.HasPrefix(key, "backend.") && (p == 50 || p == 99) {
				table = append(table, fmt.Sprintf("%-40s %-5s exact %4d  reported %7.2f  (%+.2f %%)", key, name, want, got, 100*(got-float64(want))/math.Max(float64(want), 1)))
			}
		}
		if got := snap[prefix+key+".max"]; got != float64(vs[len(vs)-1]) {
			t.Errorf("%s.max = %v, exact %d", key, got, vs[len(vs)-1])
		}
	}
	for key, n := range exact.aborted {
		if got := snap[prefix+key+".aborted"]; got != float64(n) {
			t.Errorf("%s.aborted = %v, exact %d", key, got, n)
		}
	}
	for key, n := range exact.states {
		if got := snap[prefix+key]; got != float64(n) {
			t.Errorf("%s = %v, exact %d", key, got, n)
		}
	}
	for _, self := range []struct {
		name string
		want float64
	}{{"LogLinesParsed", float64(total)}, {"LogLinesUnparsed", 0}, {"LogLinesDropped", 0}, {"LogSeriesDropped", 0}} {
		if got := snap[prefix+"haproxystats."+self.name]; got != self.want {
			t.Errorf("%s = %v in the round of second %d, want %v", self.name, got, ts, self.want)
		}
	}
	slices.Sort(table)
	t.Logf("%d percentiles compared, round of second %d:\n%s", compared, ts, strings.Join(table, "\n"))
	if compared < 6*10 {
		t.Errorf("only %d percentiles compared", compared)
	}

	// The endpoint's text form passes promtool; a real Prometheus with
	// native histograms gets the same distribution.
	text := scrapeText(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort))
	if !bytes.Contains(text, []byte(`haproxystats_backend_timer_seconds_bucket{proxy="be_app",timer="Tr",le="0.001"}`)) {
		t.Errorf("the text exposition has no classic buckets of be_app's Tr")
	}
	haproxytest.Promtool(t, text)
	checkNativeQuantiles(t, promBin, promPort, exact)
	stopPoke := make(chan struct{})
	poked := make(chan struct{})
	go func() { // new lines between the scrapes, for rate()
		defer close(poked)
		for i := 0; i < 3000; i++ {
			select {
			case <-stopPoke:
				return
			case <-time.After(20 * time.Millisecond): // the traffic's pace, not a wait
			}
			get(httpPort, "/wait/"+strconv.Itoa(i%40))
		}
	}()
	checkLatencyPanels(t, promBin, promPort)
	close(stopPoke)
	<-poked

	// HAProxy killed mid-round: the rounds whose sockets fail are
	// discarded, their log lines committed alone; then it comes back.
	// No line is lost: the counts of every round add up to the lines.
	beforeKill := len(capture.all())
	more := waits(r, 200)
	var extra int
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		h.Kill(t, 1)
		// Requests keep coming (to the process alive) until a round
		// failed with log lines to commit.
		haproxytest.Poll(30*time.Second, func() bool {
			if get(httpPort, "/wait/1") == nil {
				extra++
			}
			b, _ := os.ReadFile(string(logOf(pull)))
			return bytes.Contains(b, []byte("latency histograms stored in a snapshot of their own"))
		})
	}()
	ok := traffic(t, len(more), func(i int) error { return get(httpPort, "/wait/"+strconv.Itoa(more[i])) })
	<-killed
	b, _ := os.ReadFile(string(logOf(pull)))
	if !bytes.Contains(b, []byte("latency histograms stored in a snapshot of their own")) {
		t.Fatalf("no round failed while haproxy was down; log:\n%s", dlogs)
	}
	h.Restart(t, 1)
	ok += extra + traffic(t, 50, func(i int) error { return get(httpPort, "/wait/1") })
	haproxytest.WaitFor(t, "the capture has the lines of the answered requests", 30*time.Second, dlogs, func() bool { return len(capture.all()) >= beforeKill+ok })
	var want int
	haproxytest.WaitFor(t, "the rounds' counts of be_app's Ta add up to the lines captured", 60*time.Second, dlogs, func() bool {
		want = len(exactOf(t, capture.all()).values["backend.be_app.timers.Ta"])
		sum := 0.0
		for _, m := range readGraphite(t, out) {
			sum += m[prefix+"backend.be_app.timers.Ta.count"]
		}
		return sum == float64(want)
	})
	t.Logf("haproxy process killed and restarted: %d requests answered meanwhile, the rounds' counts of be_app's Ta add up to the %d lines captured", ok, want)
}

// logLinesIn shows the logs, then the LogLines* counters Graphite got.
type logLinesIn struct {
	logs logs
	out  string
}

func (l logLinesIn) String() string {
	b, _ := os.ReadFile(l.out)
	var counters []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, ".haproxystats.Log") {
			counters = append(counters, line)
		}
	}
	return l.logs.String() + "\n==> LogLines* in Graphite <==\n" + strings.Join(counters[max(0, len(counters)-12):], "\n")
}

// scrapeText scrapes url in the text format.
func scrapeText(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startPrometheus runs a real Prometheus scraping the endpoint on
// promPort every second, with flags, and returns its query function.
func startPrometheus(t *testing.T, bin string, promPort int, flags ...string) (query func(string) ([]float64, error), log haproxytest.LogFile) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: haproxy\n    static_configs:\n      - targets: [\"127.0.0.1:%d\"]\n", promPort)), 0o644)
	port := haproxytest.FreePort(t)
	cmd := haproxytest.Command(bin, append([]string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)}, flags...)...)
	log = background(t, cmd, "prometheus")
	client := &http.Client{Timeout: 5 * time.Second}
	return func(q string) ([]float64, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", port, url.QueryEscape(q)))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Error  string
			Data   struct {
				Result []struct {
					Value [2]any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, err
		}
		if r.Status != "success" {
			return nil, fmt.Errorf("%s", r.Error)
		}
		var out []float64
		for _, res := range r.Data.Result {
			s, _ := res.Value[1].(string)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("value %q: %w", s, err)
			}
			out = append(out, v)
		}
		return out, nil
	}, log
}

// checkLatencyPanels runs a real Prometheus without native histograms,
// which scrapes the text format and its classic buckets, and checks that
// every query of the latency panels of the Prometheus dashboard, and
// the expression of the HAProxyBackendSlow alert, have data.
func checkLatencyPanels(t *testing.T, bin string, promPort int) {
	t.Helper()
	query, log := startPrometheus(t, bin, promPort)
	exprs := dashboardExprs(t, filepath.Join("..", "contrib", "grafana", "haproxystats-prometheus.json"), true)
	exprs = append(exprs, `histogram_quantile(0.99, sum by (job, instance, proxy, le) (rate(haproxystats_backend_timer_seconds_bucket{timer="Tr"}[5m])))`)
	// rate() needs two scrapes, and new lines between them.
	haproxytest.WaitFor(t, "Prometheus (text format) has two scrapes of the latency histograms", time.Minute, log, func() bool {
		vs, err := query(exprs[0])
		return err == nil && len(vs) > 0 && !math.IsNaN(vs[0])
	})
	for _, q := range exprs {
		vs, err := query(q)
		// A backend without requests in the window has no quantile (NaN);
		// be_app has requests all along.
		if err != nil || !slices.ContainsFunc(vs, func(v float64) bool { return !math.IsNaN(v) }) {
			t.Errorf("latency panel query %s: %v (err %v)", q, vs, err)
		}
	}
	t.Logf("real Prometheus, text format: %d queries of the latency panels and alert with data", len(exprs))
}

// checkNativeQuantiles runs a real Prometheus 2.42 with native
// histograms scraping the endpoint on promPort, and checks
// histogram_count and histogram_quantile of every backend's and
// server's timers against the exact values: the count exactly, the
// quantiles within one schema-3 bucket (Prometheus interpolates inside
// the bucket, 9.05 % wide).
func checkNativeQuantiles(t *testing.T, bin string, promPort int, exact *exactTimers) {
	t.Helper()
	queryAll, log := startPrometheus(t, bin, promPort, "--enable-feature=native-histograms")
	query := func(q string) (float64, bool) {
		vs, err := queryAll(q)
		if err != nil || len(vs) != 1 {
			return 0, false
		}
		return vs[0], true
	}
	series := func(key string) string {
		parts := strings.Split(key, ".")
		timer := parts[len(parts)-1]
		if len(parts) == 6 { // backend.<be>.server.<srv>.timers.<T>
			return fmt.Sprintf(`haproxystats_server_timer_seconds{proxy=%q,server=%q,timer=%q}`, parts[1], parts[3], timer)
		}
		return fmt.Sprintf(`haproxystats_%s_timer_seconds{proxy=%q,timer=%q}`, parts[0], parts[1], timer)
	}
	first := series("backend.be_app.timers.Tr")
	haproxytest.WaitFor(t, "Prometheus has the native histogram "+first, 60*time.Second, log, func() bool {
		n, ok := query("histogram_count(" + first + ")")
		return ok && n == float64(len(exact.values["backend.be_app.timers.Tr"]))
	})
	width := math.Pow(2, 1.0/8)
	checked := 0
	for key, vs := range exact.values {
		if strings.HasPrefix(key, "frontend.") {
			continue
		}
		s := series(key)
		if n, ok := query("histogram_count(" + s + ")"); !ok || n != float64(len(vs)) {
			t.Errorf("histogram_count(%s) = %v (ok %v), exact %d", s, n, ok, len(vs))
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			got, ok := query(fmt.Sprintf("histogram_quantile(%g, %s)", q, s))
			want := float64(nearestRank(vs, q*100)) / 1e3
			inBucket := got >= want/width && got <= want*width
			if want == 0 { // the zero bucket: Prometheus reports within it
				inBucket = got >= 0 && got < 0.001
			}
			if !ok || !inBucket {
				t.Errorf("histogram_quantile(%g, %s) = %v s (ok %v), exact %v s: not within one bucket", q, s, got, ok, want)
			}
			checked++
		}
	}
	t.Logf("real Prometheus, native histograms: %d quantiles within one bucket of the exact values", checked)
}
