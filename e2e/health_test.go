package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// storedRE finds the snapshots pull committed in its log.
var storedRE = regexp.MustCompile(`msg="statistics are stored" dir=\S*/(\d+) `)

// lastStored returns the second of the last snapshot pull logged as
// committed, 0 when none.
func lastStored(logs ...haproxytest.LogFile) int64 {
	var last int64
	for _, log := range logs {
		b, _ := os.ReadFile(string(log))
		for _, m := range storedRE.FindAllSubmatch(b, -1) {
			ts, _ := strconv.ParseInt(string(m[1]), 10, 64)
			last = max(last, ts)
		}
	}
	return last
}

// The readiness probe against the real daemons and a real haproxy: 200
// while pull runs; 503 once pull is stopped and the last snapshot it
// committed is older than 3 pull intervals, the reason naming that
// snapshot; 200 again once pull runs again and a new snapshot is
// delivered. /healthz answers 200 throughout: a processor with nothing
// to do is alive.
func TestReadiness(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, app := haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 1, fmt.Sprintf(httpDefaults+`frontend www
    bind 127.0.0.1:%[1]d
    default_backend app
backend app
    server a1 127.0.0.1:%[2]d
listen app-server
    bind 127.0.0.1:%[2]d
    http-request return status 200 content-type text/plain string ok
`, front, app))
	port, out := relay(t, rbin)
	base := t.TempDir()
	promPort := haproxytest.FreePort(t)
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[pull]
socket-dir = %s
pull-interval = 1
pull-timeout = 0.8
`, h.SocketDir)+daemonsConf(base, 1, port, "ready")+fmt.Sprintf("[prometheus]\nlisten = 127.0.0.1:%d\n", promPort)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	proc := daemon(t, "haproxystats-process", "-f", conf)

	// The first pull is stopped by the test, the second by its cleanup.
	pullLog := filepath.Join(t.TempDir(), "haproxystats-pull.log")
	logf, err := os.Create(pullLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	pull := haproxytest.Command(filepath.Join(bins, "haproxystats-pull"), "-f", conf)
	pull.Stdout, pull.Stderr = logf, logf
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	defer pull.Process.Kill() // if the test ends before it stops it
	dlogs := logs{haproxytest.LogFile(pullLog), logOf(proc), relayLog(out)}

	endpoint := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	probe := func(path string) (int, string) {
		resp, err := http.Get(endpoint + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	type answer struct {
		at   time.Time
		code int
		body string
	}
	var last answer
	const bound = 2 * time.Minute // only ends a failing test
	waitReady := func(what string, code int, ok func(answer) bool) answer {
		t.Helper()
		haproxytest.WaitFor(t, what, bound, dlogs, func() bool {
			c, b := probe("/readyz")
			last = answer{time.Now(), c, b}
			return c == code && ok(last)
		})
		return last
	}

	// Pull runs: snapshots reach carbon, and the processor is ready.
	settled(t, out, 0, bound, dlogs, "ready.haproxy.frontend.www.stot")
	waitReady("/readyz 200 while pull runs", 200, func(a answer) bool { return a.body == "ok\n" })
	if code, body := probe("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz while pull runs: %d %q", code, body)
	}
	_, _, scraped := scrapeHealth(t, endpoint)
	for _, name := range []string{"haproxystats_ready", "haproxystats_newest_snapshot_age_seconds", "haproxystats_queue_snapshots", "haproxystats_sinks_failing_seconds"} {
		if _, ok := scraped[name]; !ok {
			t.Errorf("%s not on the endpoint: %v", name, scraped)
		}
	}
	if scraped["haproxystats_live"] != 1 {
		t.Errorf("haproxystats_live = %v while pull runs", scraped["haproxystats_live"])
	}

	// Pull stops: the last snapshot it committed gets older, and /readyz
	// turns 503 with the reason once it is older than 3 intervals.
	pull.Process.Signal(syscall.SIGTERM)
	if err := pull.Wait(); err != nil {
		t.Fatalf("haproxystats-pull exited with %v after SIGTERM", err)
	}
	stopped := time.Now()
	final := lastStored(haproxytest.LogFile(pullLog))
	if final == 0 {
		t.Fatalf("pull committed nothing; log:\n%s", dlogs)
	}
	reason := regexp.MustCompile(`^newest snapshot delivered ([0-9hms.]+) ago \(([0-9TZ:-]+)\), more than 3s\n$`)
	turned := waitReady("/readyz 503 after pull stopped", 503, func(a answer) bool { return reason.MatchString(a.body) })
	m := reason.FindStringSubmatch(turned.body)
	if want := time.Unix(final, 0).UTC().Format(time.RFC3339); m[2] != want {
		t.Errorf("the reason names snapshot %s, want the last pull committed, %s", m[2], want)
	}
	if age, _ := time.ParseDuration(m[1]); age < 3*time.Second {
		t.Errorf("503 with the snapshot %v old: less than 3 pull intervals", age)
	}
	t.Logf("/readyz 503 %v after pull stopped, %v after its last snapshot (%s): %q",
		turned.at.Sub(stopped).Round(time.Millisecond), turned.at.Sub(time.Unix(final, 0)).Round(time.Millisecond), m[2], turned.body)
	if code, body := probe("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz with nothing to do: %d %q, want 200: idle is alive", code, body)
	}
	_, _, scraped = scrapeHealth(t, endpoint)
	if scraped["haproxystats_ready"] != 0 || scraped["haproxystats_live"] != 1 || scraped["haproxystats_newest_snapshot_age_seconds"] <= 3 {
		t.Errorf("gauges after pull stopped: %v", scraped)
	}

	// Pull runs again: a new snapshot is delivered and /readyz is 200.
	pull2 := daemon(t, "haproxystats-pull", "-f", conf)
	dlogs[0] = logOf(pull2)
	back := waitReady("/readyz 200 after pull restarted", 200, func(answer) bool { return true })
	if restarted := lastStored(logOf(pull2)); restarted <= final {
		t.Errorf("/readyz 200 though pull committed nothing after %d (last: %d)", final, restarted)
	}
	t.Logf("/readyz 200 again %v after pull restarted", back.at.Sub(turned.at).Round(time.Millisecond))
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("/healthz after the restart: %d", code)
	}
}

// scrapeHealth scrapes the endpoint at base and returns the health
// families' samples without labels, by name.
func scrapeHealth(t *testing.T, base string) (int, string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(base + "/metrics?scope=global")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || !strings.HasPrefix(name, "haproxystats_") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.Fields(v)[0], 64); err == nil {
			got[name] = f
		}
	}
	return resp.StatusCode, string(b), got
}
