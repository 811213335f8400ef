package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// testHostile runs the hostile inputs of the fault suite: replies and
// spool contents that are not what HAProxy and haproxystats-pull write,
// with the real daemons, haproxy and carbon-c-relay of the suite.
func testHostile(t *testing.T) {
	t.Run("endless reply", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		atSize := func() int { return e.count(e.pulls, "larger than max-reply-size") }
		want := atSize() + 3
		stop := make(chan struct{})
		stopSampling := sync.OnceFunc(func() { close(stop) })
		defer stopSampling()
		peaks := make(chan int64, 1)
		go func() { peaks <- dirPeak(filepath.Join(e.base, "incoming.tmp"), stop) }()
		e.fake.Set(haproxytest.Endless, 0)
		haproxytest.WaitFor(t, "pull discards 3 rounds at max-reply-size", faultWait, e.logs(), func() bool { return atSize() >= want })
		e.fake.Set(haproxytest.Normal, 0)
		stopSampling()
		peak := <-peaks
		rec := e.waitDelivered(faultWait)
		e.waitSelf("PullRoundsFailed", float64(e.discardedRounds()))
		row := e.finish("a socket streaming 3 GB of rows", rec,
			fmt.Sprintf("rounds discarded at max-reply-size (16 MiB here); tmp-dst-dir peak %.1f MB (info and stat both endless)", float64(peak)/1e6))
		if row.discarded == 0 || e.count(e.pulls, "max-reply-size") == 0 {
			t.Error("no round discarded at max-reply-size")
		}
		// Both of the socket's replies stream: two bounded replies, and
		// the real sockets' small ones.
		if peak > 2*(16<<20)+(1<<20) {
			t.Errorf("tmp-dst-dir reached %d bytes, want at most two 16 MiB replies and the small ones", peak)
		}
	})

	t.Run("injection", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		e.fake.SetReply("show stat", withRow(e.stat, "www,FRONTEND,", `"evil`+"\n"+`lb.injected.metric 31337 1700000000`+"\n"+`x",FRONTEND,`))
		e.waitCommitted(3) // the last two rounds began after the reply changed
		e.fake.SetReply("show stat", e.stat)
		rec := e.waitDelivered(faultWait)
		row := e.finish("a pxname holding Graphite lines", rec, "")
		evil, injected, badBytes := 0, 0, 0
		e.eachLine(func(path, value, ts string) {
			if strings.Contains(path, "evil_lb_injected_metric_31337_1700000000_x") {
				evil++
			}
			if strings.HasPrefix(path, "lb") || value == "31337" {
				injected++
			}
			for _, c := range []byte(path) {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-:.", c) >= 0) {
					badBytes++
				}
			}
		})
		if evil == 0 {
			t.Error("the hostile name reached no path: the reply was not used")
		}
		if injected+badBytes > 0 {
			t.Errorf("%d injected lines, %d path bytes outside the set", injected, badBytes)
		}
		row.note = fmt.Sprintf("%d lines under one harmless path component, 0 injected", evil)
		rerecord(row)
	})

	t.Run("bad rows", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		// One field fewer in a row, then two dumps run together: pull
		// discards both.
		e.fake.SetReply("show stat", withRow(e.stat, "www,FRONTEND,", "www,FRONTEND"))
		e.waitDiscarded(2)
		e.fake.SetReply("show stat", append(bytes.TrimSuffix(e.stat, []byte("\n")), e.stat...))
		e.waitDiscarded(2)
		e.fake.SetReply("show stat", e.stat)
		rec := e.waitDelivered(faultWait)
		e.waitSelf("PullRoundsFailed", float64(e.discardedRounds()))
		row := e.finish("wrong field count, doubled header", rec, "")
		rejected := e.selfMax("FilesRejected")
		if row.discarded == 0 {
			t.Error("no round discarded for the broken replies")
		}
		if rejected != 0 {
			t.Errorf("process rejected %v committed reply files: pull committed a broken reply", rejected)
		}
		row.note = fmt.Sprintf("rounds discarded by pull, FilesRejected %v: no dip in any sum", rejected)
		rerecord(row)
	})

	t.Run("poisoned snapshot", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		// An old snapshot, first in the queue: its replies are a FIFO
		// and a link to an endless device.
		tmp := filepath.Join(e.base, "poison")
		os.Mkdir(tmp, 0o755)
		if err := syscall.Mkfifo(filepath.Join(tmp, "admin1.sock_info"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Symlink("/dev/zero", filepath.Join(tmp, "admin1.sock_stat"))
		start := time.Now()
		if err := os.Rename(tmp, filepath.Join(e.base, "incoming", "1000000000")); err != nil {
			t.Fatal(err)
		}
		haproxytest.WaitFor(t, "the poisoned snapshot is quarantined", faultWait, e.logs(), func() bool {
			_, err := os.Stat(filepath.Join(e.base, "failed", "1000000000"))
			return err == nil
		})
		// When, process says: finer than the wait sees it.
		took := e.loggedAt(e.procs[0], "snapshot cannot be processed, moved aside for inspection").Sub(start)
		e.quarantined = 1
		e.waitCommitted(2) // the queue behind it goes on
		rec := e.waitDelivered(faultWait)
		e.finish("FIFO and /dev/zero link as replies", rec, fmt.Sprintf("quarantined to failed/ in %d ms, the queue behind it delivered", took.Milliseconds()))
	})

	t.Run("second instances", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		for _, name := range []string{"haproxystats-pull", "haproxystats-process"} {
			ctx, cancel := context.WithTimeout(context.Background(), faultWait) // bounds a failing test only
			cmd := exec.CommandContext(ctx, filepath.Join(bins, name), "-f", e.conf)
			out, err := cmd.CombinedOutput()
			cancel()
			if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "another "+name+" (pid ") {
				t.Errorf("second %s: exit %d (%v), want 1 naming the running one's pid; output:\n%s", name, code, err, tail(string(out), 10))
			}
		}
		e.waitCommitted(2) // the first ones go on
		rec := e.waitDelivered(faultWait)
		e.finish("a second pull and a second process", rec, "both exit 1 naming the holder's pid; nothing sent twice")
	})

	t.Run("overflowing sums", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		// Two sockets whose frontend stot is 1e308: the sum is +Inf.
		huge := withField(e.stat, "www,FRONTEND,", "stot", "1e308")
		info := haproxytest.Query(t, e.haproxy.Sockets[0], "show info")
		e.fake.SetReply("show stat", huge)
		second := haproxytest.UnixSocket(t, e.sockets, "admin4.sock", info, huge)
		e.waitCommitted(3) // the last two rounds began with both sockets
		second.Close()
		os.Remove(filepath.Join(e.sockets, "admin4.sock"))
		e.fake.SetReply("show stat", e.stat)
		rec := e.waitDelivered(faultWait)
		e.waitSelf("ValuesNonFinite", 1)
		row := e.finish("two replies whose sum overflows", rec, "")
		nonFinite := 0
		e.eachLine(func(path, value, ts string) {
			if v, err := strconv.ParseFloat(value, 64); err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				nonFinite++
			}
		})
		dropped := e.selfMax("ValuesNonFinite")
		if nonFinite > 0 || dropped == 0 {
			t.Errorf("%d non-finite values reached carbon, ValuesNonFinite %v", nonFinite, dropped)
		}
		row.note = fmt.Sprintf("0 Inf/NaN reached carbon; ValuesNonFinite %v", dropped)
		rerecord(row)
	})
}

// withRow returns reply with the row that begins with prefix also given
// again, beginning with repl instead: a row added before the trailing
// empty line (repl keeps the field count), or one cut short.
func withRow(reply []byte, prefix, repl string) []byte {
	var out []byte
	for line := range bytes.Lines(reply) {
		out = append(out, line...)
		if bytes.HasPrefix(line, []byte(prefix)) {
			out = append(out, repl...)
			out = append(out, line[len(prefix):]...)
		}
	}
	return out
}

// withField returns reply with field col of the row beginning with prefix
// set to v.
func withField(reply []byte, prefix, col, v string) []byte {
	i := columnIndex(reply, col)
	var out []byte
	for line := range bytes.Lines(reply) {
		if bytes.HasPrefix(line, []byte(prefix)) && i >= 0 {
			fs := strings.Split(string(line), ",")
			fs[i] = v
			line = []byte(strings.Join(fs, ","))
		}
		out = append(out, line...)
	}
	return out
}

// dirPeak samples the bytes of the files under dir until stop is closed
// and returns the most it saw.
func dirPeak(dir string, stop <-chan struct{}) int64 {
	var peak int64
	for {
		select {
		case <-stop:
			return peak
		default:
		}
		var n int64
		filepath.WalkDir(dir, func(_ string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				if fi, err := de.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		peak = max(peak, n)
		// A measurement, not a wait: how often the sampler looks, fine
		// enough to see a reply of 16 MiB before pull deletes it.
		time.Sleep(5 * time.Millisecond)
	}
}

// loggedAt returns when p first logged msg, to the millisecond its log
// gives, or the zero time.
func (e *faultEnv) loggedAt(p *daemonProc, msg string) time.Time {
	b, _ := os.ReadFile(p.log)
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, `msg="`+msg+`"`) {
			ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
			at, _ := time.Parse(time.RFC3339Nano, ts)
			return at
		}
	}
	return time.Time{}
}

// selfMax returns the largest value carbon received for the
// self-statistic name.
func (e *faultEnv) selfMax(name string) float64 {
	var m float64
	e.eachLine(func(path, value, _ string) {
		if strings.HasSuffix(path, ".haproxystats."+name) {
			v, _ := strconv.ParseFloat(value, 64)
			m = max(m, v)
		}
	})
	return m
}

// rerecord replaces the last recorded row, named as r, with r (its note
// known only after finish).
func rerecord(r faultRow) {
	faultMu.Lock()
	defer faultMu.Unlock()
	for i := len(faultRows) - 1; i >= 0; i-- {
		if faultRows[i].fault == r.fault {
			faultRows[i] = r
			return
		}
	}
}
