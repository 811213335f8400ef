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
	code = cli.Exit(run(ctx, func() {}, nil, args, &o, &e), &e)
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
	const bound = 30 * time.Second // only ends a failing test
	d := startDaemon(conf)
	lines := carbon.WaitLines(t, 150, bound)
	haproxytest.WaitFor(t, "the delivered snapshot leaves the spool", bound, &d.stderr, func() bool {
		_, err := os.Stat(snap)
		return os.IsNotExist(err)
	})
	// A second processor on the same spool would send every snapshot
	// twice: it exits 1 at once, naming the first.
	code, _, errOut := runArgs(context.Background(), "-f", conf)
	if want := fmt.Sprintf("another haproxystats-process (pid %d) is working on %s/incoming", os.Getpid(), base); code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("second instance: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d, want 0; log:\n%s", code, d.stderr.String())
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

// SIGHUP reloads: an exclusion file and a new namespace apply to the next
// snapshot; a new Graphite port is logged as needing a restart and the
// old one kept; a configuration that does not load is logged and the old
// one kept; the daemon runs on and exits 0 on SIGTERM.
func TestReloadOnHUP(t *testing.T) {
	base := t.TempDir()
	incoming := filepath.Join(base, "incoming")
	os.MkdirAll(incoming, 0o755)
	carbon := haproxytest.NewCarbon(t)
	conf := filepath.Join(base, "p.conf")
	exclude := filepath.Join(base, "exclude")
	os.WriteFile(exclude, []byte("www.example.com\n"), 0o644)
	write := func(extra string, port int) {
		os.WriteFile(conf, []byte(fmt.Sprintf("[process]\nsrc-dir = %s\n%s[graphite]\nserver = 127.0.0.1\nport = %d\nprefix-hostname = false\n", incoming, extra, port)), 0o644)
	}
	write("", carbon.Port())
	d := startDaemon(conf)
	has := func(path string, ts int64) bool {
		want := fmt.Sprintf(" %d", ts)
		for _, l := range carbon.Lines() {
			if strings.HasPrefix(l, path+" ") && strings.HasSuffix(l, want) {
				return true
			}
		}
		return false
	}
	const bound = 30 * time.Second // only ends a failing test
	wait := func(what string, ok func() bool) {
		t.Helper()
		haproxytest.WaitFor(t, what, bound, &d.stderr, ok)
	}
	// queue commits a snapshot as pull does: written aside, then renamed.
	queue := func(name string) {
		t.Helper()
		stage := filepath.Join(base, "stage", name)
		haproxytest.WriteExample(t, stage)
		if err := os.Rename(stage, filepath.Join(incoming, name)); err != nil {
			t.Fatal(err)
		}
	}
	queue("1500000000")
	wait("the first snapshot", func() bool { return has("loadbalancers.haproxy.frontend.www_example_com.stot", 1500000000) })

	write("exclude-frontends = "+exclude+"\n", carbon.Port()+1)
	os.WriteFile(conf, append(must(os.ReadFile(conf)), []byte("namespace = reloaded\n")...), 0o644)
	d.reload <- struct{}{}
	wait("the reload logged", func() bool { return strings.Contains(d.stderr.String(), "configuration reloaded") })
	queue("1500000010")
	wait("the second snapshot, under the new namespace", func() bool { return has("reloaded.haproxy.backend.app.stot", 1500000010) })
	if log := d.stderr.String(); !strings.Contains(log, "needs a restart") || !strings.Contains(log, "[graphite] server, port") {
		t.Errorf("the Graphite port change is not logged as needing a restart:\n%s", log)
	}
	if log := d.stderr.String(); !strings.Contains(log, `msg="configuration reloaded" changed="[[process] exclude-frontends [graphite] namespace]"`) {
		t.Errorf("the reload does not say what changed in place:\n%s", log)
	}

	os.WriteFile(conf, []byte("[process]\nworkers = 0\n"), 0o644)
	d.reload <- struct{}{}
	wait("the failed reload logged", func() bool { return strings.Contains(d.stderr.String(), "configuration not reloaded") })
	queue("1500000020")
	wait("a snapshot after the failed reload, as before it", func() bool { return has("reloaded.haproxy.backend.app.stot", 1500000020) })
	// Checked once a later snapshot arrived: carbon has read every line of
	// the second one by then, as they came before on the same connection.
	if has("reloaded.haproxy.frontend.www_example_com.stot", 1500000010) {
		t.Error("the frontend excluded by the reload is still sent")
	}

	if code := d.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0; log:\n%s", code, d.stderr.String())
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// -h says everything the daemon does, not only Graphite: a newcomer read
// "pushes them to Graphite" and looked no further for Prometheus.
func TestHelpSaysWhatItDoes(t *testing.T) {
	code, out, errOut := runArgs(context.Background(), "-h")
	if code != 0 || errOut != "" {
		t.Fatalf("-h: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Graphite", "local-store", "Kafka", "Prometheus", "fleet mode", "source = kafka", "Usage:\n    haproxystats-process [-f <file>] [-d <dir>] [-p | -P]"} {
		if !strings.Contains(out, want) {
			t.Errorf("-h does not say %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) >= 80 {
			t.Errorf("-h line of 80 columns or more: %q", line)
		}
	}
}

// daemon is haproxystats-process run with a configuration file as main
// runs it, in the test's process: reload is SIGHUP, stop is SIGTERM.
type daemon struct {
	reload chan struct{}
	stderr haproxytest.Buffer // its log
	cancel context.CancelFunc
	done   chan int
}

// startDaemon runs haproxystats-process -f conf until stop.
func startDaemon(conf string) *daemon {
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{reload: make(chan struct{}, 1), cancel: cancel, done: make(chan int)}
	go func() {
		d.done <- cli.Exit(run(ctx, func() {}, d.reload, []string{"-f", conf}, &bytes.Buffer{}, &d.stderr), &d.stderr)
	}()
	return d
}

// stop ends the daemon as SIGTERM does and returns its exit status.
func (d *daemon) stop() int {
	d.cancel()
	return <-d.done
}
