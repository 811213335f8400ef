package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// TestExcludeServerStates: a real haproxy with a server-template
// backend of 1 000 slots, disabled (MAINT) until 10 are put in service
// through the admin socket, as service discovery does. With
// exclude-server-states = MAINT, Graphite gets the 10 servers and
// TotalServers 1 000 (ServersMaint 990), and the Prometheus endpoint
// exposes the same 10 servers, as its no-maint query would.
func TestExcludeServerStates(t *testing.T) {
	const slots, used = 1000, 10
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, origin := haproxytest.FreePort(t), haproxytest.FreePort(t)
	admin := filepath.Join(t.TempDir(), "admin.sock") // not in socket-dir: pulled once, through the user socket
	h := haproxytest.StartHAProxy(t, hbin, 1, fmt.Sprintf(`global
    stats socket %[1]s mode 600 level admin
`, admin)+httpDefaults+fmt.Sprintf(`frontend www
    bind 127.0.0.1:%[2]d
    default_backend pool
backend pool
    server-template app 1-%[4]d 127.0.0.1:%[3]d disabled
listen origin
    bind 127.0.0.1:%[3]d
    http-request return status 200 content-type text/plain string ok
`, admin, front, origin, slots))
	for i := 1; i <= used; i++ {
		adminCommand(t, admin, fmt.Sprintf("set server pool/app%d state ready", i))
	}
	port, out := relay(t, rbin)

	promPort := haproxytest.FreePort(t)
	dlogs := pipeline{pull: "socket-dir = " + h.SocketDir, process: "status-metrics = true\nexclude-server-states = MAINT",
		sections: fmt.Sprintf("[prometheus]\nlisten = 127.0.0.1:%d\n", promPort), port: port, ns: "e2e", workers: 2}.start(t)
	_, snap := settled(t, out, 0, 2*time.Minute, append(dlogs, relayLog(out)), "e2e.haproxy.backend.pool.TotalServers")
	servers := map[string]bool{}
	for path := range snap {
		if rest, ok := strings.CutPrefix(path, "e2e.haproxy.backend.pool.server."); ok {
			servers[strings.Split(rest, ".")[0]] = true
		}
	}
	t.Logf("Graphite, one snapshot: %d servers of backend pool (%d lines in all), TotalServers %v, ServersMaint %v, ServersNoCheck %v",
		len(servers), len(snap), snap["e2e.haproxy.backend.pool.TotalServers"], snap["e2e.haproxy.backend.pool.ServersMaint"], snap["e2e.haproxy.backend.pool.ServersNoCheck"])
	if len(servers) != used {
		t.Errorf("Graphite has %d servers of pool, want the %d in service", len(servers), used)
	}
	for i := 1; i <= used; i++ {
		if !servers[fmt.Sprintf("app%d", i)] {
			t.Errorf("server app%d, in service, is not in Graphite", i)
		}
	}
	for path, want := range map[string]float64{
		"e2e.haproxy.backend.pool.TotalServers":   slots,
		"e2e.haproxy.backend.pool.ServersMaint":   slots - used,
		"e2e.haproxy.backend.pool.ServersNoCheck": used,
	} {
		if got, ok := snap[path]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
		}
	}

	// Prometheus: the same servers, with or without no-maint.
	for _, query := range []string{"", "?no-maint"} {
		var s *promScrape
		var err error
		if !haproxytest.Poll(time.Minute, func() bool {
			s, err = scrapeProm(t, fmt.Sprintf("http://127.0.0.1:%d/metrics%s", promPort, query))
			return err == nil && s.ts > 0
		}) {
			t.Fatalf("scrape%s: no snapshot exposed within a minute (err %v); logs:\n%s", query, err, dlogs)
		}
		exposed := map[string]bool{}
		for id := range s.samples {
			if rest, ok := strings.CutPrefix(id, `haproxy_server_status{proxy="pool",server="`); ok {
				exposed[rest[:strings.IndexByte(rest, '"')]] = true
			}
		}
		if len(exposed) != used {
			t.Errorf("scrape%s: %d servers of pool exposed, want %d", query, len(exposed), used)
		}
	}
}
