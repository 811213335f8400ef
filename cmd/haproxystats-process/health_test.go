package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// health-listen serves the probes without [prometheus]: a snapshot
// delivered is ready; once it is older than ready-max-age-intervals pull
// intervals (a reload lowers the bound to 2 s), /readyz says so while
// /healthz stays 200 (nothing to do is alive); a reload that allows more
// makes it ready again.
func TestHealthListen(t *testing.T) {
	base := t.TempDir()
	incoming := filepath.Join(base, "incoming")
	now := time.Now().Unix()
	haproxytest.WriteExample(t, filepath.Join(incoming, strconv.FormatInt(now, 10)))
	carbon := haproxytest.NewCarbon(t)
	port := haproxytest.FreePort(t)
	conf := filepath.Join(base, "p.conf")
	write := func(intervals int) {
		os.WriteFile(conf, []byte(fmt.Sprintf("[pull]\npull-interval = 1\n[process]\nsrc-dir = %s\nhealth-listen = 127.0.0.1:%d\nready-max-age-intervals = %d\n[graphite]\nserver = 127.0.0.1\nport = %d\n",
			incoming, port, intervals, carbon.Port())), 0o644)
	}
	write(1000)
	d := startDaemon(conf)
	probe := func(path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const bound = 30 * time.Second // only ends a failing test
	var code int
	var body string
	haproxytest.WaitFor(t, "/readyz answers 200 once the snapshot was delivered", bound, &d.stderr, func() bool {
		_, err := os.Stat(filepath.Join(incoming, strconv.FormatInt(now, 10)))
		code, body = probe("/readyz")
		return os.IsNotExist(err) && code == 200
	})
	write(2)
	d.reload <- struct{}{}
	haproxytest.WaitFor(t, "/readyz answers 503: the snapshot is older than 2 pull intervals", bound, &d.stderr, func() bool {
		code, body = probe("/readyz")
		return code == 503
	})
	if !strings.HasPrefix(body, "newest snapshot delivered ") || !strings.HasSuffix(body, ", more than 2s\n") || strings.Count(body, "\n") != 1 {
		t.Errorf("/readyz: %q", body)
	}
	if code, body := probe("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	write(1000)
	d.reload <- struct{}{}
	haproxytest.WaitFor(t, "/readyz answers 200 after the reload", bound, &d.stderr, func() bool {
		code, _ := probe("/readyz")
		return code == 200
	})
	if log := d.stderr.String(); !strings.Contains(log, "[process] ready-max-age-intervals") {
		t.Errorf("the reload does not say ready-max-age-intervals changed:\n%s", log)
	}

	// A second daemon cannot take the address: it exits 1 at start, before
	// the spool's lock.
	conf2 := filepath.Join(base, "p2.conf")
	os.MkdirAll(filepath.Join(base, "other"), 0o755)
	os.WriteFile(conf2, []byte(fmt.Sprintf("[process]\nsrc-dir = %s/other\nhealth-listen = 127.0.0.1:%d\n", base, port)), 0o644)
	if code, _, errOut := runArgs(context.Background(), "-f", conf2); code != 1 || !strings.Contains(errOut, "health-listen: listen tcp 127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("health-listen on a port in use: exit %d, stderr %q", code, errOut)
	}

	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0; log:\n%s", code, d.stderr.String())
	}
	if code, _ := probe("/healthz"); code != 0 {
		t.Errorf("health-listen still answers after the exit: %d", code)
	}
}
