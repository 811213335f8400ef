package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// The fault suite: each fault runs the real daemons against real haproxy
// processes and a real carbon-c-relay on 127.0.0.1, and accounts for every
// snapshot pull committed: was it received by carbon, once or more, and
// how long after the fault ended was the backlog delivered.
//
// HAPROXYSTATS_FAULTS=long (make faults) makes the carbon outage 300 s;
// the short form (make test) uses 60 s.

type faultRow struct {
	fault                           string
	expected, received, lost, dupes int
	discarded                       int
	recovery                        time.Duration
	note                            string
}

var (
	faultMu   sync.Mutex
	faultRows []faultRow
)

func record(r faultRow) {
	faultMu.Lock()
	defer faultMu.Unlock()
	faultRows = append(faultRows, r)
}

func printFaultTable() {
	faultMu.Lock()
	defer faultMu.Unlock()
	if len(faultRows) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-34s %8s %8s %5s %10s %9s %9s  %s\n", "fault", "expected", "received", "lost", "duplicated", "discarded", "recovery", "note")
	for _, r := range faultRows {
		fmt.Fprintf(&b, "%-34s %8d %8d %5d %10d %9d %8.1fs  %s\n", r.fault, r.expected, r.received, r.lost, r.dupes, r.discarded, r.recovery.Seconds(), r.note)
	}
	fmt.Print(b.String())
	if f := os.Getenv("HAPROXYSTATS_FAULTS_TABLE"); f != "" {
		os.WriteFile(f, []byte(b.String()), 0o644)
	}
}

// daemonProc is one run of a built command whose log goes to a file.
type daemonProc struct {
	cmd *exec.Cmd
	log string
}

// faultEnv is everything one fault needs.
type faultEnv struct {
	t                   *testing.T
	base, conf, sockets string
	fake                *haproxytest.Socket
	haproxy             *haproxytest.HAProxy
	relayBin            string
	relayPort           int
	relayCmd            *exec.Cmd
	outs                []string // every carbon-c-relay output file so far
	pulls, procs        []*daemonProc
	stat                []byte // what the fake socket answers to show stat when normal
	quarantined         int    // snapshots the fault is expected to put in failed/
}

func newFaultEnv(t *testing.T, spoolDir string) *faultEnv {
	t.Helper()
	hbin, rbin := haproxytest.HAProxyBinary(t), haproxytest.RelayBinary(t)
	front := haproxytest.FreePort(t)
	h := haproxytest.StartHAProxy(t, hbin, 2, fmt.Sprintf(haproxytest.Defaults+`frontend www
    bind 127.0.0.1:%d
    default_backend app
backend app
    server app1 127.0.0.1:%d
`, front, front+1))
	e := &faultEnv{t: t, base: t.TempDir(), sockets: h.SocketDir, haproxy: h, relayBin: rbin, relayPort: haproxytest.FreePort(t)}
	// A third, fake, process in the same socket-dir: it replays what the
	// first real one answers, and can hang or truncate on demand.
	e.stat = haproxytest.Query(t, h.Sockets[0], "show stat")
	e.fake = haproxytest.UnixSocket(t, h.SocketDir, "admin3.sock", haproxytest.Query(t, h.Sockets[0], "show info"), e.stat)
	if spoolDir == "" {
		spoolDir = e.base
	}
	e.conf = filepath.Join(e.base, "haproxystats.conf")
	os.WriteFile(e.conf, []byte(fmt.Sprintf(`[DEFAULT]
loglevel = info
[pull]
socket-dir = %s
pull-interval = 1
pull-timeout = 0.5
timeout = 0.2
max-reply-size = 16777216
dst-dir = %[2]s/incoming
tmp-dst-dir = %[2]s/incoming.tmp
[process]
src-dir = %[2]s/incoming
workers = 2
[graphite]
server = 127.0.0.1
port = %d
namespace = faults
prefix-hostname = false
retries = 1
interval = 0.2
delay = 1
`, h.SocketDir, spoolDir, e.relayPort)), 0o644)
	os.MkdirAll(filepath.Join(spoolDir, "incoming"), 0o755)
	e.startRelay()
	e.startProcess()
	e.startPull()
	t.Cleanup(e.stopAll)
	return e
}

func (e *faultEnv) start(name string, list *[]*daemonProc) {
	e.t.Helper()
	log := filepath.Join(e.base, fmt.Sprintf("%s.%d.log", name, len(*list)))
	f, err := os.Create(log)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := haproxytest.Command(filepath.Join(bins, name), "-f", e.conf)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	*list = append(*list, &daemonProc{cmd, log})
}

func (e *faultEnv) startPull()    { e.start("haproxystats-pull", &e.pulls) }
func (e *faultEnv) startProcess() { e.start("haproxystats-process", &e.procs) }

func (e *faultEnv) startRelay() {
	e.t.Helper()
	out := filepath.Join(e.base, fmt.Sprintf("graphite.%d.txt", len(e.outs)))
	conf := out + ".conf"
	os.WriteFile(conf, []byte(fmt.Sprintf("listen type linemode 127.0.0.1:%d proto tcp ;\ncluster g file %s ;\nmatch * send to g stop ;\n", e.relayPort, out)), 0o644)
	e.relayCmd = haproxytest.Command(e.relayBin, "-f", conf, "-s", "-l", out+".log")
	if err := e.relayCmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.outs = append(e.outs, out)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, _ := os.ReadFile(out + ".log"); strings.Contains(string(b), "startup sequence complete") {
			return
		}
	}
	e.t.Fatal("carbon-c-relay did not start")
}

func (e *faultEnv) stopRelay() {
	e.relayCmd.Process.Signal(syscall.SIGTERM)
	e.relayCmd.Wait()
	e.relayCmd = nil
}

func kill9(p *daemonProc) {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// stopGraceful sends SIGTERM and expects exit status 0.
func (e *faultEnv) stopGraceful(p *daemonProc) {
	e.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(p.log)
			e.t.Errorf("%s: exit %v after SIGTERM\n%s", p.cmd.Path, err, tail(string(b), 20))
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		e.t.Errorf("%s did not stop within 20s", p.cmd.Path)
	}
}

func (e *faultEnv) stopAll() {
	for _, list := range [][]*daemonProc{e.pulls, e.procs} {
		for _, p := range list {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
		}
	}
	if e.relayCmd != nil {
		e.stopRelay()
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var committedRE = regexp.MustCompile(`msg="statistics are stored" dir=\S*/(\d+) `)

// committed returns the snapshots pull logged as committed, by name.
func (e *faultEnv) committed() []int64 {
	var out []int64
	for _, p := range e.pulls {
		b, _ := os.ReadFile(p.log)
		for _, m := range committedRE.FindAllStringSubmatch(string(b), -1) {
			ts, _ := strconv.ParseInt(m[1], 10, 64)
			out = append(out, ts)
		}
	}
	slices.Sort(out)
	return out
}

// count greps every log of the command name for substr.
func (e *faultEnv) count(list []*daemonProc, substr string) int {
	n := 0
	for _, p := range list {
		b, _ := os.ReadFile(p.log)
		n += strings.Count(string(b), substr)
	}
	return n
}

// received reads what carbon got: the complete snapshots (those with
// their TotalWallClockTime line, the last of a snapshot) and the number
// of path+timestamp pairs received more than once.
func (e *faultEnv) received() (complete map[int64]bool, dupes, roundsFailed int) {
	complete = map[int64]bool{}
	seen := map[string]int{}
	e.eachLine(func(path, value, ts string) {
		key := path + " " + ts
		if seen[key]++; seen[key] == 2 {
			dupes++
		}
		if strings.HasSuffix(path, ".haproxystats.PullRoundsFailed") {
			v, _ := strconv.Atoi(value)
			roundsFailed = max(roundsFailed, v)
		}
		if strings.HasSuffix(path, ".haproxystats.TotalWallClockTime") {
			t, _ := strconv.ParseInt(ts, 10, 64)
			complete[t] = true
		}
	})
	return complete, dupes, roundsFailed
}

// eachLine calls f with the fields of every line carbon received, and
// fails the test for a line that is not "path value timestamp".
func (e *faultEnv) eachLine(f func(path, value, ts string)) {
	for _, out := range e.outs {
		file, err := os.Open(out)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) != 3 {
				e.t.Errorf("malformed line %q", sc.Text())
				continue
			}
			f(fs[0], fs[1], fs[2])
		}
		file.Close()
	}
}

// lines counts every line carbon received.
func (e *faultEnv) lines() int {
	n := 0
	for _, out := range e.outs {
		b, _ := os.ReadFile(out)
		n += strings.Count(string(b), "\n")
	}
	return n
}

// waitDelivered waits until every snapshot committed so far reached
// carbon, and returns how long that took.
func (e *faultEnv) waitDelivered(timeout time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < timeout {
		got, _, _ := e.received()
		all := true
		for _, ts := range e.committed() {
			all = all && got[ts]
		}
		if all {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}

// finish stops pull, lets process drain the queue, stops it, and
// accounts for every committed snapshot.
func (e *faultEnv) finish(name string, recovery time.Duration, note string, dupesAllowed int) faultRow {
	e.t.Helper()
	for _, p := range e.pulls {
		if p.cmd.ProcessState == nil {
			e.stopGraceful(p)
		}
	}
	e.waitDelivered(60 * time.Second)
	time.Sleep(1500 * time.Millisecond) // the relay writes its file in batches
	for _, p := range e.procs {
		if p.cmd.ProcessState == nil {
			e.stopGraceful(p)
		}
	}
	// discarded: pull's own PullRoundsFailed counter, as carbon received it.
	got, dupes, failed := e.received()
	row := faultRow{fault: name, recovery: recovery, note: note, dupes: dupes, discarded: failed}
	for _, ts := range e.committed() {
		row.expected++
		if got[ts] {
			row.received++
		} else {
			row.lost++
		}
	}
	record(row)
	if row.expected == 0 {
		e.t.Errorf("%s: no snapshot was committed at all", name)
	}
	if row.lost != 0 {
		e.t.Errorf("%s: %d of %d committed snapshots never reached carbon", name, row.lost, row.expected)
	}
	if dupesAllowed < 0 {
		// The Graphite sender re-sends what it confirmed in its last
		// ReplayWindow (10 s) when it finds the connection dead: at a 1 s
		// interval, about ten snapshots' lines; allow twelve.
		perSnapshot := 0
		if len(got) > 0 {
			perSnapshot = e.lines() / len(got)
		}
		dupesAllowed = 12 * perSnapshot
	}
	if row.dupes > dupesAllowed {
		e.t.Errorf("%s: %d lines received twice, want at most %d", name, row.dupes, dupesAllowed)
	}
	if left, _ := os.ReadDir(filepath.Join(filepath.Dir(e.conf), "failed")); len(left) != e.quarantined {
		e.t.Errorf("%s: %d snapshots quarantined, want %d", name, len(left), e.quarantined)
	}
	return row
}

func TestFaults(t *testing.T) {
	outage := 60 * time.Second
	if os.Getenv("HAPROXYSTATS_FAULTS") == "long" {
		outage = 300 * time.Second
	}
	if s, err := strconv.Atoi(os.Getenv("HAPROXYSTATS_FAULTS_OUTAGE")); err == nil {
		outage = time.Duration(s) * time.Second // for quick runs while developing
	}
	t.Cleanup(printFaultTable)

	t.Run("carbon-c-relay stopped", func(t *testing.T) {
		e := newFaultEnv(t, "")
		time.Sleep(3 * time.Second)
		e.stopRelay()
		time.Sleep(outage)
		queued, _ := spool.Count(filepath.Join(e.base, "incoming"))
		e.startRelay()
		rec := e.waitDelivered(2 * outage)
		e.finish(fmt.Sprintf("carbon-c-relay stopped %ds", int(outage.Seconds())), rec,
			fmt.Sprintf("%d snapshots waited on disk; up to 10 s before the stop re-sent", queued), -1)
	})

	t.Run("process SIGKILL mid-dispatch", func(t *testing.T) {
		e := newFaultEnv(t, "")
		time.Sleep(3500 * time.Millisecond)
		kill9(e.procs[0])
		time.Sleep(3 * time.Second)
		e.startProcess()
		rec := e.waitDelivered(30 * time.Second)
		// Snapshots in hand when killed may be sent twice: harmless,
		// Graphite keeps one value per path and timestamp.
		e.finish("haproxystats-process SIGKILL", rec, "restarted after 3 s", 2*400)
	})

	t.Run("pull SIGKILL mid-round", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.fake.Set(haproxytest.Normal, 300*time.Millisecond) // rounds last 0.3 s
		time.Sleep(3 * time.Second)
		// kill inside a round: rounds start on whole-second slots
		// relative to start, so sample until a tmp directory exists.
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if d, _ := os.ReadDir(filepath.Join(e.base, "incoming.tmp")); len(d) > 0 {
				break
			}
		}
		kill9(e.pulls[0])
		debris, _ := os.ReadDir(filepath.Join(e.base, "incoming.tmp"))
		e.startPull()
		time.Sleep(2 * time.Second)
		if d, _ := os.ReadDir(filepath.Join(e.base, "incoming.tmp")); len(d) > 1 {
			t.Errorf("tmp-dst-dir still holds %d entries after restart", len(d))
		}
		rec := e.waitDelivered(30 * time.Second)
		e.finish("haproxystats-pull SIGKILL", rec, fmt.Sprintf("%d partial round(s) left by the kill, cleaned at restart", len(debris)), 0)
	})

	t.Run("one socket hung", func(t *testing.T) {
		e := newFaultEnv(t, "")
		time.Sleep(2 * time.Second)
		e.fake.Set(haproxytest.Hang, 0)
		time.Sleep(4 * time.Second)
		e.fake.Set(haproxytest.Normal, 0)
		rec := e.waitDelivered(30 * time.Second)
		time.Sleep(2 * time.Second)
		row := e.finish("one stats socket hung 4 s", rec, "rounds with the hung socket discarded", 0)
		if row.discarded == 0 {
			t.Error("no round was discarded while a socket hung")
		}
	})

	t.Run("one socket truncated", func(t *testing.T) {
		e := newFaultEnv(t, "")
		time.Sleep(2 * time.Second)
		e.fake.Set(haproxytest.Truncate, 0)
		time.Sleep(3 * time.Second)
		e.fake.Set(haproxytest.Normal, 0)
		rec := e.waitDelivered(30 * time.Second)
		time.Sleep(2 * time.Second)
		row := e.finish("one socket truncated CSV 3 s", rec, "truncated rounds discarded, socket named in log", 0)
		if row.discarded == 0 || e.count(e.pulls, "admin3.sock") == 0 {
			t.Error("truncated replies were not detected and logged with the socket name")
		}
	})

	t.Run("haproxy reloaded", func(t *testing.T) {
		e := newFaultEnv(t, "")
		time.Sleep(2 * time.Second)
		for i := range 3 { // three reloads, one second apart
			e.haproxy.Reload(t, i%2)
			time.Sleep(time.Second)
		}
		time.Sleep(2 * time.Second)
		rec := e.waitDelivered(30 * time.Second)
		e.finish("haproxy reloaded 3 times (-sf)", rec, "socket replaced under pull each time", 0)
	})

	t.Run("disk full", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to mount a small tmpfs as the queue")
		}
		mnt := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
		e := newFaultEnv(t, mnt)
		time.Sleep(2 * time.Second)
		// The consumer is down (or slow) and the disk fills up.
		e.stopGraceful(e.procs[0])
		filler := filepath.Join(mnt, "filler")
		exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run() // until ENOSPC
		time.Sleep(4 * time.Second)
		os.Remove(filler)
		time.Sleep(2 * time.Second)
		e.startProcess()
		rec := e.waitDelivered(30 * time.Second)
		row := e.finish("disk full 4 s (tmpfs queue)", rec, "rounds abandoned while full, error logged once, resumed after", 0)
		if row.discarded == 0 {
			t.Error("no round counted as failed while the disk was full")
		}
		if n := e.count(e.pulls, "cannot write snapshot, rounds are discarded"); n != 1 {
			b, _ := os.ReadFile(e.pulls[0].log)
			t.Errorf("disk-full error logged %d times, want once; pull log:\n%s", n, tail(string(b), 30))
		}
		if e.count(e.pulls, "writing snapshots works again") != 1 {
			t.Error("recovery from disk full not logged")
		}
		if row.expected < 5 {
			t.Errorf("only %d snapshots committed: pulling did not resume", row.expected)
		}
	})

	t.Run("slow carbon", testSlowCarbon)
	t.Run("hostile", testHostile)
}
