package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// TestStickTables: a real haproxy with two stick tables, filled by real
// requests (one source address, three Host headers). With
// sticktable-metrics = true Graphite gets each table's size and used,
// and the Prometheus endpoint has haproxy_sticktable_size and _used with
// the values, names, type and labels of HAProxy's own exporter on the
// same haproxy.
func TestStickTables(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front, promex := haproxytest.FreePort(t), haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 1, httpDefaults+fmt.Sprintf(`frontend promex
    bind 127.0.0.1:%[2]d
    http-request use-service prometheus-exporter
frontend www
    bind 127.0.0.1:%[1]d
    http-request track-sc0 src table per_ip
    http-request track-sc1 req.hdr(host) table per_host
    http-request return status 200 content-type text/plain string ok
backend per_ip
    stick-table type ip size 1k expire 10m store http_req_rate(10s)
backend per_host
    stick-table type string len 64 size 200 expire 10m store http_req_cnt
`, front, promex))
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, host := range []string{"a.example", "b.example", "c.example", "a.example"} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", front), nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	port, out := relay(t, rbin)
	promPort := haproxytest.FreePort(t)
	dlogs := pipeline{pull: "socket-dir = " + h.SocketDir, process: "sticktable-metrics = true",
		sections: fmt.Sprintf("[prometheus]\nlisten = 127.0.0.1:%d\n", promPort), port: port, ns: "e2e"}.start(t)
	_, snap := settled(t, out, 0, 2*time.Minute, append(dlogs, relayLog(out)), "e2e.haproxy.sticktable.per_host.used")
	for path, want := range map[string]float64{
		"e2e.haproxy.sticktable.per_host.size": 200, "e2e.haproxy.sticktable.per_host.used": 3,
		"e2e.haproxy.sticktable.per_ip.size": 1024, "e2e.haproxy.sticktable.per_ip.used": 1,
	} {
		if got, ok := snap[path]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
		}
	}

	// The endpoint exposes a snapshot: the Graphite sink and the
	// exposition take each snapshot concurrently.
	var err error
	if !haproxytest.Poll(time.Minute, func() bool {
		s, e := scrapeProm(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort))
		err = e
		return e == nil && s.ts > 0
	}) {
		t.Fatalf("no snapshot exposed within a minute (err %v); logs:\n%s", err, dlogs)
	}
	ours, err := scrapeProm(t, fmt.Sprintf("http://127.0.0.1:%d/metrics?scope=sticktable", promPort))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := scrapeProm(t, fmt.Sprintf("http://127.0.0.1:%d/metrics?scope=sticktable", promex))
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for id, v := range theirs.samples {
		if !strings.HasPrefix(id, "haproxy_sticktable_") {
			continue
		}
		if got, ok := ours.samples[id]; !ok || got != v {
			t.Errorf("%s: ours %v (present %v), promex %v", id, got, ok, v)
		}
		matched++
	}
	for _, name := range []string{"haproxy_sticktable_size", "haproxy_sticktable_used"} {
		o, p := ours.fams[name], theirs.fams[name]
		if o == nil || p == nil || o.GetType() != p.GetType() || o.GetHelp() != p.GetHelp() {
			t.Errorf("family %s: ours %v, promex %v", name, o, p)
		}
	}
	t.Logf("Graphite: per_host used %v of %v, per_ip used %v of %v; Prometheus: %d stick table series, each equal to promex's",
		snap["e2e.haproxy.sticktable.per_host.used"], snap["e2e.haproxy.sticktable.per_host.size"],
		snap["e2e.haproxy.sticktable.per_ip.used"], snap["e2e.haproxy.sticktable.per_ip.size"], matched)
	if matched != 4 {
		t.Errorf("promex has %d stick table series, want 4 (2 tables × size, used)", matched)
	}
	for name := range ours.fams {
		if !strings.HasPrefix(name, "haproxy_sticktable_") {
			t.Errorf("scope=sticktable exposes %s", name)
		}
	}
}
