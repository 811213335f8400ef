package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	fleetrecord "github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// The hostile inputs of the doors opened since the fault suite was
// written (#29), against the daemons as make build builds them (no
// -race, so that their peak RSS is their own): each asserts the figure
// the fix brought, and logs it for the table of docs/operations.md.

// peakMB is the peak RSS (VmHWM) of process pid, in MB.
func peakMB(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("/proc/%d/status has no VmHWM", pid)
	return 0
}

// endlessHeader is a show stat reply whose first line never ends: a
// header naming pxname and svname, then 'a' up to 512 MiB, or until the
// reader goes.
func endlessHeader(w io.Writer) {
	if _, err := io.WriteString(w, "# pxname,svname,"); err != nil {
		return
	}
	piece := bytes.Repeat([]byte("a"), 64<<10)
	for sent := 0; sent < 512<<20; sent += len(piece) {
		if _, err := w.Write(piece); err != nil {
			return
		}
	}
}

// pullConf is a configuration for haproxystats-pull alone, with servers
// or socket-dir in source, one round a second, under base.
func pullConf(t *testing.T, base, source string) string {
	t.Helper()
	conf := filepath.Join(base, "haproxystats.conf")
	os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
	os.WriteFile(conf, []byte(fmt.Sprintf("[pull]\n%s\npull-interval = 1\npull-timeout = 0.9\ntimeout = 0.5\nretries = 0\n%s",
		source, daemonsConf(base, 1, 2003, "doors"))), 0o644)
	return conf
}

// discarded counts the rounds a haproxystats-pull log says it discarded.
func discarded(log haproxytest.LogFile) int {
	b, _ := os.ReadFile(string(log))
	return bytes.Count(b, []byte(`msg="failed to pull stats, round discarded"`))
}

func TestHostileDoors(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile doors run the built daemons")
	}
	info := haproxytest.Example(t, "admin1.sock_info")

	// A header that never ends, over a stats socket and over a stats
	// page: pull refuses the reply past 1 MiB and discards the rounds,
	// with its memory its own (it had held the header whole: 1.12 GB).
	t.Run("endless header", func(t *testing.T) {
		for _, door := range []string{"socket", "stats page"} {
			t.Run(door, func(t *testing.T) {
				base := t.TempDir()
				var source string
				if door == "socket" {
					dir := filepath.Join(base, "sockets")
					os.Mkdir(dir, 0o755)
					ln, err := net.Listen("unix", filepath.Join(dir, "hostile.sock"))
					if err != nil {
						t.Fatal(err)
					}
					defer ln.Close()
					haproxytest.Serve(ln, func(c net.Conn) {
						cmd, _ := bufio.NewReader(c).ReadString('\n')
						if strings.HasPrefix(cmd, "show info") {
							c.Write(info)
							return
						}
						endlessHeader(c)
					})
					source = "socket-dir = " + dir
				} else {
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { endlessHeader(w) })}
					go srv.Serve(ln)
					defer srv.Close()
					source = "servers = http://" + ln.Addr().String() + "/stats"
				}
				pull := daemonFrom(t, plainBins, "haproxystats-pull", "-f", pullConf(t, base, source))
				log := logOf(pull)
				haproxytest.WaitFor(t, "3 rounds discarded", 2*time.Minute, log, func() bool { return discarded(log) >= 3 })
				peak := peakMB(t, pull.Process.Pid)
				b, _ := os.ReadFile(string(log))
				t.Logf("%s: an endless header: %d rounds discarded, pull peaked at %.1f MB", door, discarded(log), peak)
				if !bytes.Contains(b, []byte("record longer than")) {
					t.Errorf("the rounds were not refused for their header; log:\n%s", log)
				}
				if n, _ := spool.Count(filepath.Join(base, "incoming")); n != 0 {
					t.Errorf("%d rounds committed with an endless header", n)
				}
				if peak > 64 {
					t.Errorf("pull peaked at %.1f MB, want under 64", peak)
				}
			})
		}
	})

	// A header-only show stat file of 200 MB beside a valid show info,
	// in the spool: process rejects it, counted, past 1 MiB of it (it
	// had held it whole, 560 MB, and counted nothing).
	t.Run("header-only file in the spool", func(t *testing.T) {
		base := t.TempDir()
		snap := filepath.Join(base, "incoming", strconv.FormatInt(time.Now().Unix(), 10))
		if err := os.MkdirAll(snap, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(snap, "a.sock_info"), info, 0o644)
		f, err := os.Create(filepath.Join(snap, "a.sock_stat"))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		endlessHeader(&limited{w, 200 << 20})
		w.Flush()
		f.Close()
		carbon := haproxytest.NewCarbon(t)
		conf := filepath.Join(base, "haproxystats.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf("[pull]\nsocket-dir = %s\n%s", base, daemonsConf(base, 1, carbon.Port(), "doors"))), 0o644)
		proc := daemonFrom(t, plainBins, "haproxystats-process", "-f", conf)
		haproxytest.WaitFor(t, "the snapshot delivered and its reply counted as rejected", 2*time.Minute, logOf(proc), func() bool {
			return hasLine(carbon, "doors.haproxy.haproxystats.FilesRejected 1 ") // counted once, since start
		})
		peak := peakMB(t, proc.Process.Pid)
		t.Logf("a 200 MB header-only show stat file: rejected, process peaked at %.1f MB", peak)
		if peak > 64 {
			t.Errorf("process peaked at %.1f MB, want under 64", peak)
		}
	})

	// Fleet records that inflate to hundreds of MB: a show info reply of
	// 160 MiB of zeros, a show stat reply of as much, a header-only show
	// stat reply of 160 MiB; then a valid record, which is delivered.
	// The consumer peaks under 128 MB (it had reached 694 MB).
	t.Run("fleet records that inflate", func(t *testing.T) {
		base := t.TempDir()
		os.MkdirAll(filepath.Join(base, "incoming"), 0o755)
		kc := haproxytest.Broker(t, "snaps", 1)
		now := time.Now().Unix()
		var header bytes.Buffer
		endlessHeader(&limited{&header, 160 << 20})
		for i, files := range []map[string][]byte{
			{"a.sock_info": make([]byte, 160<<20), "a.sock_stat": haproxytest.Example(t, "admin1.sock_stat")},
			{"a.sock_info": info, "a.sock_stat": make([]byte, 160<<20)},
			{"a.sock_info": info, "a.sock_stat": header.Bytes()},
			{"a.sock_info": info, "a.sock_stat": haproxytest.Example(t, "admin1.sock_stat")},
		} {
			rec := fleetrecord.Record{Host: fmt.Sprintf("lb-%d.ams", i), Cluster: "ams", Epoch: now}
			for _, name := range []string{"a.sock_info", "a.sock_stat"} {
				rec.Files = append(rec.Files, spool.File{Name: name, Data: files[name]})
			}
			b, err := fleetrecord.Encode(rec)
			if err != nil {
				t.Fatal(err)
			}
			haproxytest.Produce(t, kc.ListenAddrs(), "snaps", []byte("ams"), b)
			t.Logf("record %d: %d bytes, inflating to %d", i, len(b), fleetrecord.DecodedSize(b))
		}
		header.Reset()
		carbon := haproxytest.NewCarbon(t)
		conf := filepath.Join(base, "haproxystats.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf("[pull]\nsocket-dir = %s\n%s[kafka]\nbrokers = %s\nsnapshot-topic = snaps\nmetrics-sink = false\n[fleet]\ninterval = 1\ngrace = 0.5\n",
			base, strings.NewReplacer("[process]\n", "[process]\nsource = kafka\n", "prefix-hostname = false\n", "").Replace(daemonsConf(base, 1, carbon.Port(), "doors")), strings.Join(kc.ListenAddrs(), ","))), 0o644)
		proc := daemonFrom(t, plainBins, "haproxystats-process", "-f", conf)
		haproxytest.WaitFor(t, "the valid record behind the bombs delivered", 2*time.Minute, logOf(proc), func() bool {
			return hasLine(carbon, "doors.lb-3_ams.haproxy.frontend.www_example_com.stot ")
		})
		peak := peakMB(t, proc.Process.Pid)
		t.Logf("fleet records inflating to 160 MiB (show info, show stat, a header-only show stat), then a valid one: delivered, consumer peaked at %.1f MB", peak)
		if peak > 128 {
			t.Errorf("the consumer peaked at %.1f MB, want under 128", peak)
		}
		if hasLine(carbon, "doors.lb-0_ams.haproxy.frontend.www_example_com.stot ") {
			t.Error("the record with a 160 MiB show info was rendered")
		}
	})

	// A symlink planted at a daemon's lock path, dangling or not: the
	// daemon exits 1 naming it, and the link's target is neither
	// truncated nor created.
	t.Run("lock file a symlink", func(t *testing.T) {
		for _, name := range []string{"haproxystats-pull", "haproxystats-process"} {
			for _, dangling := range []bool{false, true} {
				base := t.TempDir()
				incoming := filepath.Join(base, "incoming")
				os.MkdirAll(incoming, 0o755)
				target := filepath.Join(t.TempDir(), "precious")
				if !dangling {
					os.WriteFile(target, []byte("precious\n"), 0o600)
				}
				lock := filepath.Join(incoming, spool.LockFile(name))
				if err := os.Symlink(target, lock); err != nil {
					t.Fatal(err)
				}
				conf := pullConf(t, base, "socket-dir = "+base)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				out, err := exec.CommandContext(ctx, filepath.Join(plainBins, name), "-f", conf).CombinedOutput()
				cancel()
				if code := exitCode(err); code != 1 || !strings.Contains(string(out), lock) {
					t.Errorf("%s with its lock a symlink (dangling %v): exit %d, want 1 naming %s; output:\n%s", name, dangling, code, lock, out)
				}
				b, err := os.ReadFile(target)
				if dangling && err == nil || !dangling && string(b) != "precious\n" {
					t.Errorf("%s: the link's target is %q (%v) after the daemon ran", name, b, err)
				}
			}
		}
	})
}

// limited writes to w until n bytes were written, then fails.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), l.n)]
	n, err := l.w.Write(p)
	l.n -= n
	return n, err
}

// hasLine reports whether carbon received a line starting with prefix.
func hasLine(c *haproxytest.Carbon, prefix string) bool {
	for _, l := range c.Lines() {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// exitCode is the exit status err gives, -1 when it is not an exit.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
