package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxy"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// A reload of a busy HAProxy in master-worker mode: pull reaches the old
// worker through the master CLI while it drains a held request, and the
// summed counters in Graphite never go backwards, also when the old
// worker exits and its counts leave HAProxy's own numbers.
func TestReloadNoDip(t *testing.T) {
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	dir := t.TempDir()
	silent := haproxytest.NewSilent(t) // keeps a request, and the old worker, alive
	front, slow, app := haproxytest.FreePort(t), haproxytest.FreePort(t), haproxytest.FreePort(t)
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(haproxytest.Defaults+`frontend www
    bind 127.0.0.1:%d
    default_backend app
frontend slow
    bind 127.0.0.1:%d
    default_backend silent
backend app
    server a1 127.0.0.1:%d
backend silent
    server s1 %s
listen app-server
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string ok
`, front, slow, app, silent.Addr(), app)), 0o644)
	master := filepath.Join(dir, "master.sock")
	hp := haproxytest.Command(hbin, "-W", "-db", "-S", master, "-f", cfgFile)
	var hlog bytes.Buffer
	hp.Stdout, hp.Stderr = &hlog, &hlog
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Process.Kill(); hp.Wait() })
	cli := haproxy.Client{Timeout: time.Second, Interval: 100 * time.Millisecond, Retries: 100, BufferSize: 4096}
	masterCmd := func(cmd string) []byte {
		var b bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cli.Fetch(ctx, config.Server{Network: "unix", Address: master}, cmd, &b)
		return b.Bytes()
	}
	masterCmd("show proc") // waits for the master CLI

	port, out := relay(t, rbin)
	base := t.TempDir()
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[pull]
servers = master://%s
pull-interval = 1
pull-timeout = 0.8
`, master)+daemonsConf(base, 1, port, "reload")), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	daemon(t, "haproxystats-process", "-f", conf)
	daemon(t, "haproxystats-pull", "-f", conf)

	// Steady, bounded traffic: one request every 20 ms, at most 1000.
	var sent atomic.Int64
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	traffic.Go(func() {
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for range 1000 {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", front)); err == nil {
				resp.Body.Close()
				sent.Add(1)
			}
		}
	})
	// One request held by the silent backend keeps the old worker alive.
	hc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", slow))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	fmt.Fprintf(hc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")

	time.Sleep(3 * time.Second)
	masterCmd("reload") // the operator's reload
	time.Sleep(4 * time.Second)
	silent.Release() // the held request ends: the old worker exits
	hc.Close()
	time.Sleep(4 * time.Second)
	close(stop)
	traffic.Wait()
	time.Sleep(3 * time.Second) // two more rounds without traffic

	const prefix = "reload.haproxy."
	snaps := readGraphite(t, out)
	var stamps []int64
	for ts, m := range snaps {
		if _, ok := m[prefix+"haproxystats.TotalWallClockTime"]; ok {
			stamps = append(stamps, ts)
		}
	}
	slices.Sort(stamps)
	if len(stamps) < 10 {
		t.Fatalf("%d complete snapshots in Graphite, want at least 10\nhaproxy:\n%s", len(stamps), hlog.String())
	}
	var oldSeen, oldGoneAfter bool
	prev := map[string]float64{}
	for _, ts := range stamps {
		m := snaps[ts]
		if m[prefix+"haproxystats.MasterOldWorkers"] == 1 {
			oldSeen = true
		} else if oldSeen && m[prefix+"haproxystats.MasterOldWorkers"] == 0 {
			oldGoneAfter = true
		}
		for _, c := range []string{"frontend.www.stot", "frontend.www.req_tot", "backend.app.stot", "frontend.www.hrsp_2xx", "daemon.CumReq"} {
			v, ok := m[prefix+c]
			if !ok {
				t.Errorf("snapshot %d: %s missing", ts, c)
				continue
			}
			if v < prev[c] {
				t.Errorf("snapshot %d: %s went backwards from %v to %v", ts, c, prev[c], v)
			}
			prev[c] = v
		}
	}
	if !oldSeen || !oldGoneAfter {
		t.Errorf("old worker count: seen 1 = %v, then 0 = %v; want 1 → 0", oldSeen, oldGoneAfter)
	}
	if got := prev["frontend.www.stot"]; got != float64(sent.Load()) {
		t.Errorf("frontend stot in the last snapshot = %v, want the %d requests sent across both workers", got, sent.Load())
	}
	t.Logf("%d snapshots, %d requests, last frontend stot %v", len(stamps), sent.Load(), prev["frontend.www.stot"])
}
