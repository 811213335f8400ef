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
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

func runArgs(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = cli.Exit(run(ctx, func() {}, nil, args, &o, &e), &e)
	return code, o.String(), e.String()
}

// defaults is the exact -p output of the original (BEHAVIOR.md §2.2),
// which internal/config's tests pin byte for byte; here the command's
// wiring is checked against it.
var defaults = func() string {
	var b bytes.Buffer
	config.PrintDefaults(&b, config.PullProgram)
	return b.String()
}()

func TestFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.conf")
	empty := filepath.Join(dir, "empty.conf") // keeps -p from reading the machine's /etc/haproxystats.conf
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args       []string
		code       int
		out, errIn string
	}{
		{[]string{"-v"}, 0, cli.VersionLine() + "\n", ""},
		{[]string{"--version"}, 0, cli.VersionLine() + "\n", ""},
		{[]string{"-h"}, 0, "Pulls statistics from HAProxy daemon over UNIX/TCP socket(s), master\nCLIs and stats pages", ""},
		{[]string{"-h"}, 0, "ships every snapshot to Kafka.\n\nUsage:", ""},
		{[]string{"-f", empty, "-p"}, 0, defaults, ""},
		{[]string{"-f" + missing, "-p"}, 1, "", "none.conf"}, // named explicitly: must exist
		{[]string{"-p", "-P"}, 1, "", "Usage:\n    haproxystats-pull [-f <file> ] [-p | -P]"},
		{[]string{"-d", dir}, 1, "", "Usage:"},
		{[]string{"--bogus"}, 1, "", "unknown option --bogus"},
		{[]string{"extra"}, 1, "", "Usage:"},
		{[]string{"-f"}, 1, "", "needs a value"},
	} {
		code, out, errOut := runArgs(ctx, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.errIn) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want code %d, stdout containing %q, stderr containing %q",
				c.args, code, out, errOut, c.code, c.out, c.errIn)
		}
	}
	if _, out, _ := runArgs(ctx, "-f", empty, "-p"); out != defaults {
		t.Errorf("-p output differs from the original's:\n%s", out)
	}
}

func TestInvalidConfigAllProblems(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "bad.conf")
	os.WriteFile(conf, []byte("[pull]\nworkers = 0\npull-interval = 10.5\nsocket-dir = "+dir+"\n"), 0o644)
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{"option:'workers'", "option:'pull-interval'", "'10.5'"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n") + 1; n != 2 {
		t.Errorf("%d lines on stderr, want one per problem (2):\n%s", n, errOut)
	}
}

// A real start: one round committed, then SIGTERM (ctx) exits 0 promptly.
func TestRunAndStop(t *testing.T) {
	base := t.TempDir()
	sockets := filepath.Join(base, "sockets")
	os.Mkdir(sockets, 0o755)
	haproxytest.UnixSocket(t, sockets, "admin1.sock",
		[]byte("Name: HAProxy\nProcess_num: 1\n\n"), []byte("# pxname,svname,stot,\nweb,FRONTEND,1,\n\n"))
	conf := filepath.Join(base, "h.conf")
	os.WriteFile(conf, []byte("[paths]\nbase-dir = "+base+"\n[pull]\nsocket-dir = "+sockets+
		"\ndst-dir = ${paths:base-dir}/incoming\ntmp-dst-dir = ${paths:base-dir}/incoming.tmp\npull-interval = 1\n"), 0o644)
	const bound = 30 * time.Second // only ends a failing test
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr haproxytest.Buffer
	go func() {
		done <- cli.Exit(run(ctx, func() {}, nil, []string{"-f", conf}, &bytes.Buffer{}, &stderr), &stderr)
	}()
	haproxytest.WaitFor(t, "a snapshot committed", bound, &stderr, func() bool {
		n, _ := spool.Count(filepath.Join(base, "incoming"))
		return n > 0
	})
	// A second puller on the same spool would commit rounds the first
	// is pulling: it exits 1 at once, naming the first, and cleans
	// nothing.
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	if want := fmt.Sprintf("another haproxystats-pull (pid %d) is working on %s/incoming", os.Getpid(), base); code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("second instance: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after signal, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(bound):
		t.Fatalf("no exit within %v of the signal; log:\n%s", bound, stderr.String())
	}
	if n, _ := spool.Count(filepath.Join(base, "incoming")); n == 0 {
		t.Fatalf("no snapshot committed; log:\n%s", stderr.String())
	}
	if e, _ := os.ReadDir(filepath.Join(base, "incoming.tmp")); len(e) != 0 {
		t.Errorf("debris in tmp-dst-dir: %v", e)
	}
}

// SIGHUP reloads: a new socket-dir is pulled from the next round on; a
// new dst-dir is logged as needing a restart and the old one kept; a
// configuration that does not load is logged and the old one kept; the
// daemon runs on through all of it and exits 0 on SIGTERM.
func TestReloadOnHUP(t *testing.T) {
	base := t.TempDir()
	for _, s := range []string{"a", "b"} {
		dir := filepath.Join(base, s)
		os.Mkdir(dir, 0o755)
		haproxytest.UnixSocket(t, dir, s+".sock",
			[]byte("Name: HAProxy\nProcess_num: 1\n\n"), []byte("# pxname,svname,stot,\nweb,FRONTEND,1,\n\n"))
	}
	conf := filepath.Join(base, "h.conf")
	write := func(socketDir, dst, extra string) {
		os.WriteFile(conf, []byte("[pull]\nsocket-dir = "+filepath.Join(base, socketDir)+"\ndst-dir = "+filepath.Join(base, dst)+
			"\ntmp-dst-dir = "+filepath.Join(base, "tmp")+"\npull-interval = 1\n"+extra), 0o644)
	}
	write("a", "incoming", "")
	incoming := filepath.Join(base, "incoming")
	// pulled reports whether a snapshot in incoming holds sock's reply.
	pulled := func(sock string) bool {
		snaps, _ := os.ReadDir(incoming)
		for _, s := range snaps {
			if _, err := os.Stat(filepath.Join(incoming, s.Name(), sock+".sock_stat")); err == nil {
				return true
			}
		}
		return false
	}
	const bound = 30 * time.Second // only ends a failing test
	var stderr haproxytest.Buffer
	wait := func(what string, ok func() bool) {
		t.Helper()
		haproxytest.WaitFor(t, what, bound, &stderr, ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reload := make(chan struct{}, 1)
	done := make(chan int)
	go func() {
		done <- cli.Exit(run(ctx, func() {}, reload, []string{"-f", conf}, &bytes.Buffer{}, &stderr), &stderr)
	}()
	wait("a round of socket a", func() bool { return pulled("a") })

	write("b", "elsewhere", "loglevel = debug\n")
	reload <- struct{}{}
	wait("a round of socket b after the reload", func() bool { return pulled("b") })
	wait("the reload logged", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	log := stderr.String()
	if !strings.Contains(log, "needs a restart") || !strings.Contains(log, "option=dst-dir") {
		t.Errorf("the dst-dir change is not logged as needing a restart:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(base, "elsewhere")); err == nil {
		t.Error("the new dst-dir was used without a restart")
	}
	wait("debug logging after the reload", func() bool { return strings.Contains(stderr.String(), "level=DEBUG") })

	os.WriteFile(conf, []byte("[pull]\nworkers = 0\n"), 0o644)
	before, _ := spool.Count(incoming)
	reload <- struct{}{}
	wait("the failed reload logged", func() bool { return strings.Contains(stderr.String(), "configuration not reloaded") })
	wait("rounds after the failed reload", func() bool { n, _ := spool.Count(incoming); return n > before })

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after SIGTERM, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(bound):
		t.Fatalf("no exit within %v of SIGTERM; log:\n%s", bound, stderr.String())
	}
}
