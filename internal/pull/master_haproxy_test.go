package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxy"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// Real HAProxy 2.6 in master-worker mode: a request held open by a silent
// backend keeps the old worker alive after a reload; pull collects it
// through the master CLI while it drains, and stops when it is gone.
func TestRealMasterWorkerReload(t *testing.T) {
	bin := haproxytest.HAProxyBinary(t)
	dir := t.TempDir()
	// A backend that accepts and never answers, so a request stays in
	// flight across the reload.
	silent := haproxytest.NewSilent(t)
	front := haproxytest.FreePort(t)
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`global
    stats socket %s/worker.sock mode 600 level user
`+haproxytest.Defaults+`frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server s1 %s
`, dir, front, silent.Addr())), 0o644)
	master := filepath.Join(dir, "master.sock")
	cmd := haproxytest.Command(bin, "-W", "-db", "-S", master, "-f", cfgFile)
	var logs haproxytest.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	haproxytest.WaitFor(t, "master CLI up", waitLong, &logs, func() bool {
		c, err := net.Dial("unix", master)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// One request in flight on the first worker.
	client, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", front))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	fmt.Fprintf(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	haproxytest.WaitFor(t, "request reached the backend", waitLong, &logs, func() bool { return silent.Held() > 0 })

	// reload is sent by the test (an operator), never by pull. The master
	// re-executes itself: its CLI refuses connections for a moment.
	// HAProxy 2.6 answers reload with nothing at all.
	query(master, "reload")
	cfg := testConfig(t)
	cfg.Servers = []config.Server{{Network: "unix", Address: master, Name: "master.sock", Master: true}}
	p := newPuller(t, cfg)
	var snap string
	haproxytest.WaitFor(t, "an old worker listed after reload", waitLong, showProc{master, &logs}, func() bool { return workers(master) == 2 })
	p.Round(context.Background(), time.Unix(1500000000, 0))
	snap = filepath.Join(cfg.DstDir, "1500000000")
	st, err := spool.ReadPullStats(snap)
	if err != nil || st["MasterOldWorkers"] != 1 || st["MasterWorkers"] != 1 || st["MasterReloads"] < 1 {
		t.Fatalf("pull stats = %v, %v; want one current and one old worker\n%s", st, err, logs.String())
	}
	// The old worker's reply shows the request it is still serving.
	var oldScur int
	files, _ := spool.Files(snap, spool.Stat)
	if len(files) != 2 {
		t.Fatalf("stat files = %v, want one per worker", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "fe,FRONTEND,") {
				var scur int
				fmt.Sscanf(strings.Split(line, ",")[4], "%d", &scur)
				oldScur += scur
			}
		}
	}
	if oldScur != 1 {
		t.Errorf("frontend scur over both workers = %d, want the 1 request held by the old worker", oldScur)
	}

	// The request ends: the old worker exits and is no longer listed.
	silent.Release()
	client.Close()
	haproxytest.WaitFor(t, "old worker gone", waitLong, &logs, func() bool { return workers(master) == 1 })
	p.Round(context.Background(), time.Unix(1500000001, 0))
	st, _ = spool.ReadPullStats(filepath.Join(cfg.DstDir, "1500000001"))
	if st["MasterOldWorkers"] != 0 || st["MasterWorkers"] != 1 {
		t.Fatalf("after drain: pull stats = %v, want 0 old workers", st)
	}
}

// query sends one command to a CLI socket; unlike haproxytest.Query it
// returns errors, for a master CLI that is restarting.
func query(socket, cmd string) ([]byte, error) {
	var buf bytes.Buffer
	c := haproxy.Client{Timeout: time.Second, Interval: 100 * time.Millisecond, Retries: 50, BufferSize: 4096}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Fetch(ctx, config.Server{Network: "unix", Address: socket}, cmd, &buf)
	if err != nil && !errors.Is(err, haproxy.ErrIncomplete) {
		return buf.Bytes(), err
	}
	return buf.Bytes(), nil
}

// workers returns how many workers the master lists, -1 if it cannot say.
func workers(master string) int {
	out, err := query(master, "show proc")
	if err != nil {
		return -1
	}
	procs, err := haproxy.ParseProc(out)
	if err != nil {
		return -1
	}
	return len(procs.Workers)
}

// showProc is what WaitFor shows when the master's workers are not as
// awaited: its show proc, then haproxy's output.
type showProc struct {
	master string
	logs   fmt.Stringer
}

func (s showProc) String() string {
	out, err := query(s.master, "show proc")
	return fmt.Sprintf("show proc %q %v\nhaproxy:\n%s", out, err, s.logs)
}
