package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
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
	incoming            string // the spool: pull's dst-dir, process's src-dir
	seen                seen   // what carbon received, as far as follow read
	// requeued holds the snapshots, by name, that a process killed with
	// SIGKILL left queued: the next one sends them whole, also the lines
	// the killed one had written.
	requeued map[int64]bool
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
	e.incoming = filepath.Join(spoolDir, "incoming")
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
	log := haproxytest.LogFile(out + ".log")
	haproxytest.WaitFor(e.t, "carbon-c-relay starts", faultWait, log, func() bool {
		return strings.Contains(log.String(), "startup sequence complete")
	})
}

// stopRelay stops the relay with SIGTERM. The relay then writes to its
// file every line it read, but not what it did not read yet: see
// stopRelayDrained.
func (e *faultEnv) stopRelay() {
	e.relayCmd.Process.Signal(syscall.SIGTERM)
	e.relayCmd.Wait()
	e.relayCmd = nil
}

// stopRelayDrained stops the relay once it has read every connection to
// it to its end (the daemons must be stopped), so that its file then
// holds every line it was sent: it writes the file in batches, and only
// what it read before SIGTERM.
func (e *faultEnv) stopRelayDrained() {
	e.t.Helper()
	haproxytest.WaitFor(e.t, "carbon-c-relay reads every connection to its end", faultWait, e.logs(), func() bool {
		return unread(e.relayPort) == 0
	})
	e.stopRelay()
}

// unread counts the TCP connections to 127.0.0.1:port that the listener
// has not closed yet: open, or closed by the client only (CLOSE_WAIT),
// which may still hold bytes the listener did not read.
func unread(port int) int {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0 // not Linux: nothing to wait for
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == local && (f[3] == "01" || f[3] == "08") { // ESTABLISHED, CLOSE_WAIT
			n++
		}
	}
	return n
}

func kill9(p *daemonProc) {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// killProcess kills process p with SIGKILL and notes the snapshots it
// left queued.
func (e *faultEnv) killProcess(p *daemonProc) {
	kill9(p)
	left, _ := spool.Scan(e.incoming)
	if e.requeued == nil {
		e.requeued = map[int64]bool{}
	}
	for _, path := range left {
		ts, _ := spool.ParseName(filepath.Base(path))
		e.requeued[ts] = true
	}
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
	case <-time.After(faultWait): // the daemons bound their own shutdown; this bounds a failing test only
		p.cmd.Process.Kill()
		e.t.Errorf("%s did not stop within %v", p.cmd.Path, faultWait)
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

// faultWait bounds every wait of the fault suite for an event. It only
// bounds a failing test: a busy machine makes every event late.
const faultWait = 2 * time.Minute

// logs shows the logs of every daemon and relay of the fault, as
// WaitFor prints them when an event does not come.
func (e *faultEnv) logs() fmt.Stringer {
	var files []haproxytest.LogFile
	for _, p := range slices.Concat(e.pulls, e.procs) {
		files = append(files, haproxytest.LogFile(p.log))
	}
	for _, out := range e.outs {
		files = append(files, haproxytest.LogFile(out+".log"))
	}
	return logs(files)
}

// waitCommitted waits until pull committed n more snapshots: n more
// rounds. Rounds run one after the other, so the round of the second of
// them began after this call.
func (e *faultEnv) waitCommitted(n int) {
	e.t.Helper()
	want := len(e.committed()) + n
	haproxytest.WaitFor(e.t, fmt.Sprintf("pull commits %d more snapshots", n), faultWait, e.logs(), func() bool {
		return len(e.committed()) >= want
	})
}

// discardedRounds counts the rounds pull logged as discarded because a
// socket failed or answered something that is not a dump.
func (e *faultEnv) discardedRounds() int {
	return e.count(e.pulls, `msg="failed to pull stats, round discarded"`)
}

// waitDiscarded waits until pull logged n more discarded rounds: how long
// a fault of a socket lasts.
func (e *faultEnv) waitDiscarded(n int) {
	e.t.Helper()
	want := e.discardedRounds() + n
	haproxytest.WaitFor(e.t, fmt.Sprintf("pull discards %d more rounds", n), faultWait, e.logs(), func() bool {
		return e.discardedRounds() >= want
	})
}

// waitSelf waits until carbon received the self-statistic name at least
// at min: a counter that pull or process reports in a later snapshot.
func (e *faultEnv) waitSelf(name string, min float64) {
	e.t.Helper()
	haproxytest.WaitFor(e.t, fmt.Sprintf("carbon receives %s of at least %v", name, min), faultWait, e.logs(), func() bool {
		e.follow()
		return e.seen.self[name] >= min
	})
}

// seen is what carbon's files held at the last follow, read as they
// grow: a wait that polls a long backlog reads each line once.
type seen struct {
	read     map[string]int64   // bytes of each file read, up to a whole line
	complete map[int64]bool     // snapshots whose last line arrived
	self     map[string]float64 // the largest value of each self-statistic
}

// follow reads the lines carbon wrote since the last call into e.seen.
func (e *faultEnv) follow() {
	if e.seen.read == nil {
		e.seen = seen{read: map[string]int64{}, complete: map[int64]bool{}, self: map[string]float64{}}
	}
	for _, out := range e.outs {
		f, err := os.Open(out)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.NewSectionReader(f, e.seen.read[out], 1<<62))
		f.Close()
		b = b[:bytes.LastIndexByte(b, '\n')+1] // a line being written waits for the next call
		e.seen.read[out] += int64(len(b))
		for line := range bytes.Lines(b) {
			fs := strings.Fields(string(line))
			if len(fs) != 3 {
				continue // eachLine reports it
			}
			_, name, ok := strings.Cut(fs[0], ".haproxystats.")
			if !ok {
				continue
			}
			v, _ := strconv.ParseFloat(fs[1], 64)
			e.seen.self[name] = max(e.seen.self[name], v)
			if name == "TotalWallClockTime" { // the last line of a snapshot
				ts, _ := strconv.ParseInt(fs[2], 10, 64)
				e.seen.complete[ts] = true
			}
		}
	}
}

// delivered reports whether carbon received every snapshot committed so
// far.
func (e *faultEnv) delivered() bool {
	e.follow()
	for _, ts := range e.committed() {
		if !e.seen.complete[ts] {
			return false
		}
	}
	return true
}

// received reads what carbon got: the complete snapshots (those with
// their TotalWallClockTime line, the last of a snapshot), how many times
// each path+timestamp pair came, and the largest PullRoundsFailed.
func (e *faultEnv) received() (complete map[int64]bool, copies map[string]int, roundsFailed int) {
	complete, copies = map[int64]bool{}, map[string]int{}
	e.eachLine(func(path, value, ts string) {
		copies[path+" "+ts]++
		if strings.HasSuffix(path, ".haproxystats.PullRoundsFailed") {
			v, _ := strconv.Atoi(value)
			roundsFailed = max(roundsFailed, v)
		}
		if strings.HasSuffix(path, ".haproxystats.TotalWallClockTime") {
			t, _ := strconv.ParseInt(ts, 10, 64)
			complete[t] = true
		}
	})
	return complete, copies, roundsFailed
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

// resentRE is what the Graphite sender of process logs when it found its
// connection dead: it then writes again, on a new connection, the lines
// not confirmed yet and those confirmed in its replay window, as many as
// it says.
var resentRE = regexp.MustCompile(`msg="connection found dead: [^"]*".* lines=(\d+)`)

// resent returns how many lines process logged as written again.
func (e *faultEnv) resent() int {
	n := 0
	for _, p := range e.procs {
		b, _ := os.ReadFile(p.log)
		for _, m := range resentRE.FindAllStringSubmatch(string(b), -1) {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
	}
	return n
}

// leftRE is what process logs for a snapshot it stops with, on SIGTERM,
// before its sinks confirmed it: it stays queued, and the next process
// sends it whole, also the lines this one had written.
var leftRE = regexp.MustCompile(`msg="snapshot not delivered before shutdown[^"]*".* dir=\S*/(\d+) `)

// sentAgain returns the snapshots, by name, that a process left queued
// when it stopped: killed (requeued), or stopped before their delivery
// as it logged.
func (e *faultEnv) sentAgain() map[int64]bool {
	again := maps.Clone(e.requeued)
	if again == nil {
		again = map[int64]bool{}
	}
	for _, p := range e.procs {
		b, _ := os.ReadFile(p.log)
		for _, m := range leftRE.FindAllStringSubmatch(string(b), -1) {
			ts, _ := strconv.ParseInt(m[1], 10, 64)
			again[ts] = true
		}
	}
	return again
}

// waitDelivered waits until every snapshot committed so far reached
// carbon, and returns how long that took. It does not fail the test when
// they did not: finish says which were lost.
func (e *faultEnv) waitDelivered(timeout time.Duration) time.Duration {
	start := time.Now()
	haproxytest.Poll(timeout, e.delivered)
	return time.Since(start)
}

// finish stops pull, lets process drain the queue, stops it and the
// relay, and accounts for every committed snapshot.
//
// A line reaches carbon more than once only when haproxystats-process
// wrote it again, so the duplicates allowed are what process says it
// wrote again, exactly: the lines its Graphite sender logged as re-sent
// after finding a connection dead, and one more copy of each line of the
// snapshots a process left queued when it stopped (sentAgain), which the
// next one sends whole.
func (e *faultEnv) finish(name string, recovery time.Duration, note string) faultRow {
	e.t.Helper()
	for _, p := range e.pulls {
		if p.cmd.ProcessState == nil {
			e.stopGraceful(p)
		}
	}
	e.waitDelivered(faultWait)
	for _, p := range e.procs {
		if p.cmd.ProcessState == nil {
			e.stopGraceful(p)
		}
	}
	e.stopRelayDrained()
	// discarded: pull's own PullRoundsFailed counter, as carbon received it.
	got, copies, failed := e.received()
	row := faultRow{fault: name, recovery: recovery, note: note, discarded: failed}
	rerun := e.sentAgain()
	extra := 0 // copies beyond the first, and beyond a second of a snapshot sent again
	for key, n := range copies {
		if n > 1 {
			row.dupes++
		}
		_, ts, _ := strings.Cut(key, " ")
		t, _ := strconv.ParseInt(ts, 10, 64)
		if rerun[t] {
			n--
		}
		extra += max(0, n-1)
	}
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
	if resent := e.resent(); extra > resent {
		e.t.Errorf("%s: %d lines received once more than process sent them (%d path+timestamp pairs more than once, %d snapshots left queued by a process sent again): process logged %d lines re-sent\n%s",
			name, extra, row.dupes, len(rerun), resent, e.logs())
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
	faultMu.Lock()
	faultRows = nil // the table is this run's, also with -count
	faultMu.Unlock()
	t.Cleanup(printFaultTable)

	t.Run("carbon-c-relay stopped", func(t *testing.T) {
		e := newFaultEnv(t, "")
		haproxytest.WaitFor(t, "carbon receives 3 snapshots", faultWait, e.logs(), func() bool {
			e.follow()
			return len(e.seen.complete) >= 3
		})
		e.stopRelay()
		// The outage's length is the fault itself (a relay down for a
		// minute, or five): no event ends it. Nothing is asserted on it;
		// the waits below are for events.
		time.Sleep(outage)
		queued, _ := spool.Count(filepath.Join(e.base, "incoming"))
		e.startRelay()
		rec := e.waitDelivered(2*outage + faultWait)
		row := e.finish(fmt.Sprintf("carbon-c-relay stopped %ds", int(outage.Seconds())), rec, "")
		row.note = fmt.Sprintf("%d snapshots waited on disk; %d lines re-sent, as process logged", queued, e.resent())
		rerecord(row)
	})

	t.Run("process SIGKILL mid-dispatch", func(t *testing.T) {
		e := newFaultEnv(t, "")
		// Mid-dispatch: carbon has the whole of a snapshot that process
		// has not finished with (it waits a second for the connection to
		// stay open before it counts a snapshot as delivered).
		haproxytest.WaitFor(t, "carbon receives 3 snapshots, one of them still queued", faultWait, e.logs(), func() bool {
			e.follow()
			if len(e.seen.complete) < 3 {
				return false
			}
			for ts := range e.seen.complete {
				if _, err := os.Stat(filepath.Join(e.incoming, strconv.FormatInt(ts, 10))); err == nil {
					return true
				}
			}
			return false
		})
		// The next process sends whole every snapshot the killed one left
		// queued: those it had written are received twice. Harmless,
		// Graphite keeps one value per path and timestamp.
		e.killProcess(e.procs[0])
		e.waitCommitted(3) // process stays down for three rounds
		e.startProcess()
		rec := e.waitDelivered(faultWait)
		e.finish("haproxystats-process SIGKILL", rec, fmt.Sprintf("restarted 3 rounds later; %d snapshots left queued sent again", len(e.requeued)))
	})

	t.Run("pull SIGKILL mid-round", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.fake.Set(haproxytest.Normal, 300*time.Millisecond) // rounds last 0.3 s
		e.waitCommitted(2)
		// kill inside a round: a round keeps its tmp directory while it
		// lasts.
		tmp := filepath.Join(e.base, "incoming.tmp")
		haproxytest.WaitFor(t, "a round in progress in tmp-dst-dir", faultWait, e.logs(), func() bool {
			d, _ := os.ReadDir(tmp)
			return len(d) > 0
		})
		kill9(e.pulls[0])
		debris, _ := os.ReadDir(tmp)
		e.startPull()
		e.waitCommitted(1) // the new pull cleans tmp-dst-dir before its first round
		if d, _ := os.ReadDir(tmp); len(d) > 1 {
			t.Errorf("tmp-dst-dir still holds %d entries after restart", len(d))
		}
		for _, d := range debris {
			if _, err := os.Lstat(filepath.Join(tmp, d.Name())); err == nil {
				t.Errorf("the round %s the kill left in tmp-dst-dir is still there after restart", d.Name())
			}
		}
		rec := e.waitDelivered(faultWait)
		e.finish("haproxystats-pull SIGKILL", rec, fmt.Sprintf("%d partial round(s) left by the kill, cleaned at restart", len(debris)))
	})

	t.Run("one socket hung", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		e.fake.Set(haproxytest.Hang, 0)
		e.waitDiscarded(4)
		e.fake.Set(haproxytest.Normal, 0)
		rec := e.waitDelivered(faultWait)
		e.waitSelf("PullRoundsFailed", float64(e.discardedRounds()))
		row := e.finish("one stats socket hung 4 rounds", rec, "rounds with the hung socket discarded")
		if row.discarded == 0 {
			t.Error("no round was discarded while a socket hung")
		}
	})

	t.Run("one socket truncated", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		e.fake.Set(haproxytest.Truncate, 0)
		e.waitDiscarded(3)
		e.fake.Set(haproxytest.Normal, 0)
		rec := e.waitDelivered(faultWait)
		e.waitSelf("PullRoundsFailed", float64(e.discardedRounds()))
		row := e.finish("one socket truncated CSV 3 rounds", rec, "truncated rounds discarded, socket named in log")
		if row.discarded == 0 || e.count(e.pulls, "admin3.sock") == 0 {
			t.Error("truncated replies were not detected and logged with the socket name")
		}
	})

	t.Run("haproxy reloaded", func(t *testing.T) {
		e := newFaultEnv(t, "")
		e.waitCommitted(2)
		for i := range 3 { // three reloads, each followed by rounds with the new process
			e.haproxy.Reload(t, i%2)
			e.waitCommitted(2)
		}
		rec := e.waitDelivered(faultWait)
		e.finish("haproxy reloaded 3 times (-sf)", rec, "socket replaced under pull each time")
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
		e.waitCommitted(2)
		// The consumer is down (or slow) and the disk fills up.
		e.stopGraceful(e.procs[0])
		filler := filepath.Join(mnt, "filler")
		exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run() // until ENOSPC
		haproxytest.WaitFor(t, "pull logs that it cannot write", faultWait, e.logs(), func() bool {
			return e.count(e.pulls, "cannot write snapshot, rounds are discarded") > 0
		})
		// Three more rounds while full: each asks the fake socket.
		rounds := func() int { return strings.Count(strings.Join(e.fake.Commands(), "\n"), "show stat") }
		want := rounds() + 3
		haproxytest.WaitFor(t, "pull runs 3 more rounds with the disk full", faultWait, e.logs(), func() bool { return rounds() >= want })
		os.Remove(filler)
		haproxytest.WaitFor(t, "pull logs that writing works again", faultWait, e.logs(), func() bool {
			return e.count(e.pulls, "writing snapshots works again") > 0
		})
		e.waitCommitted(2) // pulling resumed: 2 before the disk filled, 1 at its recovery, 2 more
		e.startProcess()
		rec := e.waitDelivered(faultWait)
		row := e.finish("disk full 3 rounds (tmpfs queue)", rec, "rounds abandoned while full, error logged once, resumed after")
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
