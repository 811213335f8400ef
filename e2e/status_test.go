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

// status-metrics against real haproxy processes: a server that answers
// its checks is up, one whose port nothing listens on is down, one
// `disabled` is in maintenance, one whose check gets a 404 under
// `disable-on-404` is NOLB, one without `check` is not checked, and one
// with `weight 0` is up (HAProxy 2.6 shows DRAIN only for `set server
// ... state drain` or an agent); the backend counts them.
func TestStatusMetrics(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, app, dead, gone := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 2, fmt.Sprintf(haproxytest.Defaults+`frontend www
    bind 127.0.0.1:%[1]d
    default_backend pool
backend pool
    option httpchk GET /health
    http-check disable-on-404
    default-server inter 100ms fall 1 rise 1
    server up 127.0.0.1:%[2]d check
    server down 127.0.0.1:%[3]d check
    server maint 127.0.0.1:%[2]d check disabled
    server nolb 127.0.0.1:%[4]d check
    server weight0 127.0.0.1:%[2]d check weight 0
    server unchecked 127.0.0.1:%[2]d
listen app
    bind 127.0.0.1:%[2]d
    http-request return status 200 content-type text/plain string ok
listen gone
    bind 127.0.0.1:%[4]d
    http-request return status 404 content-type text/plain string gone
`, front, app, dead, gone))
	port, out := relay(t, rbin)
	base := t.TempDir()
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[pull]
socket-dir = %s
pull-interval = 1
pull-timeout = 0.8
`, h.SocketDir)+strings.Replace(daemonsConf(base, 1, port, "st"), "[graphite]", "status-metrics = true\n[graphite]", 1)), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	// The checks settle (inter 100ms, fall 1): every process's show stat
	// says down is DOWN and nolb NOLB.
	for _, sock := range h.Sockets {
		haproxytest.WaitFor(t, "show stat on "+sock+" says pool/down DOWN and pool/nolb NOLB", time.Minute, nil, func() bool {
			return statField(t, sock, "pool", "down", "status") == "DOWN" && statField(t, sock, "pool", "nolb", "status") == "NOLB"
		})
	}
	proc := daemon(t, "haproxystats-process", "-f", conf)
	pull := daemon(t, "haproxystats-pull", "-f", conf)

	const p = "st.haproxy."
	want := map[string]float64{
		"frontend.www.status":                  1,
		"backend.pool.status":                  1,
		"backend.pool.server.up.status":        1,
		"backend.pool.server.down.status":      0,
		"backend.pool.server.maint.status":     5,
		"backend.pool.server.nolb.status":      3,
		"backend.pool.server.weight0.status":   1,
		"backend.pool.server.unchecked.status": 2,
		"backend.pool.ServersUp":               2,
		"backend.pool.ServersDown":             1,
		"backend.pool.ServersMaint":            1,
		"backend.pool.ServersDrain":            0,
		"backend.pool.ServersNoCheck":          1,
		"backend.pool.ServersNoLB":             1,
	}
	// The newest complete snapshot, until it has every status.
	var last map[string]float64
	haproxytest.Poll(2*time.Minute, func() bool {
		stamps, snaps := completeSnapshots(t, out, p)
		if len(stamps) == 0 {
			return false
		}
		last = snaps[stamps[len(stamps)-1]]
		return matches(last, p, want)
	})
	if last == nil {
		t.Fatalf("no complete snapshot reached carbon-c-relay in 2 minutes; logs:\n%s", logs{logOf(pull), logOf(proc), relayLog(out)})
	}
	for path, v := range want {
		if got, ok := last[p+path]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v; show stat says %s", path, got, ok, v, statusColumn(t, h.Sockets[0], path))
		}
	}
	for path := range last {
		if strings.HasPrefix(path, p+"backend.pool.server.") && strings.HasSuffix(path, ".status") {
			if _, ok := want[strings.TrimPrefix(path, p)]; !ok {
				t.Errorf("unexpected status path %s", path)
			}
		}
	}
}

// matches reports whether m has every value of want under prefix p.
func matches(m map[string]float64, p string, want map[string]float64) bool {
	for path, v := range want {
		if got, ok := m[p+path]; !ok || got != v {
			return false
		}
	}
	return true
}

// statusColumn returns what socket's show stat says in the status column
// of the server a status path names, for failure messages.
func statusColumn(t *testing.T, socket, path string) string {
	_, sv, ok := strings.Cut(strings.TrimSuffix(path, ".status"), ".server.")
	if !ok {
		return "-"
	}
	reply := haproxytest.Query(t, socket, "show stat")
	lines := strings.Split(string(reply), "\n")
	col := columnIndex(reply, "status")
	for _, l := range lines[1:] {
		if fs := strings.Split(l, ","); len(fs) > col && col >= 0 && fs[1] == sv {
			return fmt.Sprintf("%q", fs[col])
		}
	}
	return "-"
}
