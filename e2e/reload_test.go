package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	hlog := new(haproxytest.Buffer) // written by exec's copier while the test reads it
	hp.Stdout, hp.Stderr = hlog, hlog
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
	// oldWorkers is how many old workers show proc lists, -1 when it
	// cannot be read (the master re-executes itself on reload).
	oldWorkers := func() int {
		procs, err := haproxy.ParseProc(masterCmd("show proc"))
		if err != nil {
			return -1
		}
		n := 0
		for _, w := range procs.Workers {
			if w.Old {
				n++
			}
		}
		return n
	}

	port, out := relay(t, rbin)
	base := t.TempDir()
	conf := filepath.Join(base, "haproxystats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[pull]
servers = master://%s
pull-interval = 1
pull-timeout = 0.8
`, master)+daemonsConf(base, 1, port, "reload")), 0o644)
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	proc := daemon(t, "haproxystats-process", "-f", conf)
	pull := daemon(t, "haproxystats-pull", "-f", conf)
	dlogs := logs{logOf(pull), logOf(proc), relayLog(out)}

	const prefix = "reload.haproxy."
	// rounds waits until Graphite has n complete snapshots after second
	// since whose MasterOldWorkers is old, and returns the second of the
	// last of them. The phases below wait for 3 + 3 + 2 + 2 of them,
	// so Graphite holds at least 10 by construction.
	rounds := func(what string, n int, since int64, old float64) int64 {
		t.Helper()
		var last int64
		haproxytest.WaitFor(t, fmt.Sprintf("%d complete snapshots %s (after second %d, MasterOldWorkers %v) in Graphite", n, what, since, old), 2*time.Minute, dlogs, func() bool {
			stamps, snaps := completeSnapshots(t, out, prefix)
			k := 0
			for _, ts := range stamps {
				if v, ok := snaps[ts][prefix+"haproxystats.MasterOldWorkers"]; ts > since && ok && v == old {
					k, last = k+1, ts
				}
			}
			return k >= n
		})
		return last
	}

	// Steady traffic, one request every 20 ms, until the test stops it.
	// A request counts as sent once answered; the client's timeout is
	// longer than any phase, so that none haproxy counted goes uncounted
	// here on a busy machine.
	var sent atomic.Int64
	stop := make(chan struct{})
	var traffic sync.WaitGroup
	traffic.Go(func() {
		client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond): // the traffic's pace, not a wait
			}
			if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", front)); err == nil {
				resp.Body.Close()
				sent.Add(1)
			}
		}
	})
	stopTraffic := sync.OnceFunc(func() {
		close(stop)
		traffic.Wait()
	})
	t.Cleanup(stopTraffic)
	// One request held by the silent backend keeps the old worker alive.
	hc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", slow))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	fmt.Fprintf(hc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	haproxytest.WaitFor(t, "the held request reaches the silent backend", time.Minute, hlog, func() bool { return silent.Held() == 1 })

	before := rounds("before the reload", 3, 0, 0)
	masterCmd("reload") // the operator's reload
	haproxytest.WaitFor(t, "show proc lists the old worker", time.Minute, hlog, func() bool { return oldWorkers() == 1 })
	during := rounds("with the old worker", 3, before, 1)
	silent.Release() // the held request ends: the old worker exits
	hc.Close()
	haproxytest.WaitFor(t, "show proc lists no old worker", time.Minute, hlog, func() bool { return oldWorkers() == 0 })
	rounds("after the old worker exited", 2, during, 0)
	stopTraffic()
	rounds("without traffic", 2, time.Now().Unix(), 0) // pulled after the last request

	stamps, snaps := completeSnapshots(t, out, prefix)
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
