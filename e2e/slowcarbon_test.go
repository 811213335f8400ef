package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// bigConfig is a haproxy configuration with backends × servers servers
// (on ports nothing listens on, and without health checks, so haproxy
// sends them nothing).
func bigConfig(t *testing.T, backends, servers int) string {
	var b strings.Builder
	fmt.Fprintf(&b, haproxytest.Defaults+"frontend www\n    bind 127.0.0.1:%d\n    default_backend b0\n", haproxytest.FreePort(t))
	for i := range backends {
		fmt.Fprintf(&b, "backend b%d\n", i)
		for j := range servers {
			fmt.Fprintf(&b, "    server s%d 127.0.0.1:%d\n", j, 1+(i*servers+j)%1000)
		}
	}
	return b.String()
}

// testSlowCarbon is the fault "slow carbon": a carbon that reads at a
// steady 1 MB/s (a relay behind a 10 Mbit/s link) gets one snapshot of a
// real haproxy with 20 000 servers, with the default write-timeout of
// 1 s: every line once, on one connection. Before, the write timeout
// tripped every few MB, the sender began the snapshot again from its
// first line each time, and it never completed.
func testSlowCarbon(t *testing.T) {
	const backends, servers, rate = 200, 100, 1 << 20
	h := haproxytest.StartHAProxy(t, haproxytest.HAProxyBinary(t), 1, bigConfig(t, backends, servers))
	carbon := haproxytest.NewSlowCarbon(t, rate, 0, nil)
	base := t.TempDir()
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = info
[pull]
socket-dir = %s
pull-interval = 600
pull-timeout = 10
timeout = 5
`, h.SocketDir)+daemonsConf(base, 1, carbon.Port(), "slow")), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	e := &faultEnv{t: t, base: base, conf: conf}
	e.startProcess()
	e.startPull()
	t.Cleanup(e.stopAll)

	// One round: pull-interval is ten minutes.
	haproxytest.WaitFor(t, "pull commits a snapshot", 2*time.Minute, haproxytest.LogFile(e.pulls[0].log), func() bool {
		return len(e.committed()) > 0
	})
	committed := time.Now()
	e.stopGraceful(e.pulls[0])

	const last = "slow.haproxy.haproxystats.TotalWallClockTime "
	if !haproxytest.Poll(5*time.Minute, func() bool { return strings.HasPrefix(carbon.LastLine(), last) }) {
		t.Fatalf("the snapshot did not complete in 5 minutes: %d lines received over %d connections; process log:\n%s",
			len(carbon.Lines()), carbon.Connections(), haproxytest.LogFile(e.procs[0].log))
	}
	lines := carbon.Lines()
	took := carbon.LastRead().Sub(committed)
	e.stopGraceful(e.procs[0])

	distinct := map[string]bool{}
	size, serversSeen := 0, map[string]bool{}
	for _, l := range lines {
		distinct[l] = true
		size += len(l) + 1
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Errorf("malformed line %q", l)
			continue
		}
		// slow.haproxy.backend.<b>.server.<s>.<metric>
		if p := strings.Split(f[0], "."); len(p) == 7 && p[2] == "backend" && p[4] == "server" {
			serversSeen[p[3]+"/"+p[5]] = true
		}
	}
	if len(distinct) != len(lines) {
		t.Errorf("%d lines received, %d distinct: some were sent twice", len(lines), len(distinct))
	}
	if n := carbon.Connections(); n != 1 {
		t.Errorf("%d connections, want 1: a slow carbon is not a dead one", n)
	}
	if len(serversSeen) != backends*servers {
		t.Errorf("lines for %d servers, want %d", len(serversSeen), backends*servers)
	}
	if left, _ := os.ReadDir(filepath.Join(base, "incoming")); len(visible(left)) > 0 {
		t.Errorf("%d snapshots still queued after delivery", len(visible(left)))
	}
	record(faultRow{fault: "carbon reading 1 MB/s, 20k servers", expected: 1, received: 1, recovery: took,
		note: fmt.Sprintf("%d lines sent, %d distinct received, %.1f MB, %d connection(s), done %.0f s after commit",
			len(lines), len(distinct), float64(size)/1e6, carbon.Connections(), took.Seconds())})
	t.Logf("%d lines (%.1f MB) at 1 MB/s delivered %v after the commit", len(lines), float64(size)/1e6, took.Round(time.Second))
}

// visible drops the hidden entries (the lock file) of a directory listing.
func visible(es []os.DirEntry) []os.DirEntry {
	var out []os.DirEntry
	for _, e := range es {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e)
		}
	}
	return out
}
