package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/cli"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

func runArgs(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cli.Exit(run(ctx, func() {}, args, &o, &e), &e)
	return code, o.String(), e.String()
}

// defaults is the exact -p output of the original (BEHAVIOR.md §2.2),
// which internal/config's tests pin byte for byte; here the command's
// wiring is checked against it.
var defaults = func() string {
	var b bytes.Buffer
	config.PrintDefaults(&b, config.ProcessProgram)
	return b.String()
}()

// emptyConf is a configuration file with nothing in it: given with -f,
// it keeps a test from reading the machine's /etc/haproxystats.conf.
func emptyConf(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "empty.conf")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPrintDefaults(t *testing.T) {
	code, out, _ := runArgs(context.Background(), "-f", emptyConf(t), "-p")
	if code != 0 || out != defaults {
		t.Fatalf("-p: exit %d, output differs from the original's:\n%s", code, out)
	}
}

func TestDirMustBeDirectory(t *testing.T) {
	code, _, errOut := runArgs(context.Background(), "-f", emptyConf(t), "-d", filepath.Join(t.TempDir(), "nope"), "-P")
	if code != 1 || errOut == "" {
		t.Fatalf("-d on a missing directory: exit %d, stderr %q", code, errOut)
	}
}

func TestSrcDirChecked(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "p.conf")
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	os.WriteFile(conf, []byte("[process]\nsrc-dir = "+missing+"\n"), 0o644)
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	if code != 1 || !strings.Contains(errOut, "read and write access is not granted for '"+missing+"'") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// A real start: a queued snapshot reaches carbon and leaves the spool;
// SIGTERM (ctx) then exits 0.
func TestRunDeliversAndStops(t *testing.T) {
	base := t.TempDir()
	snap := filepath.Join(base, "incoming", "1500000000")
	haproxytest.WriteExample(t, snap)
	carbon := haproxytest.NewCarbon(t)
	conf := filepath.Join(base, "p.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[process]\nsrc-dir = %s/incoming\n[graphite]\nserver = 127.0.0.1\nport = %d\nprefix-hostname = false\n", base, carbon.Port())), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr bytes.Buffer
	go func() { done <- cli.Exit(run(ctx, func() {}, []string{"-f", conf}, &bytes.Buffer{}, &stderr), &stderr) }()
	lines := carbon.WaitLines(t, 150, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(snap); os.IsNotExist(err) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A second processor on the same spool would send every snapshot
	// twice: it exits 1 at once, naming the first.
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	if want := fmt.Sprintf("another haproxystats-process (pid %d) is working on %s/incoming", os.Getpid(), base); code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("second instance: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, want 0; log:\n%s", code, stderr.String())
	}
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Errorf("snapshot still queued after delivery")
	}
	want := "loadbalancers.haproxy.frontend.www_example_com.stot 160 1500000000"
	found := false
	for _, l := range carbon.Lines() {
		found = found || l == want
	}
	if !found {
		t.Errorf("carbon did not receive %q among %d lines (first: %q)", want, len(lines), lines[0])
	}
}
