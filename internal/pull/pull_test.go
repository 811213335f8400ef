package pull

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

var (
	info = []byte("Name: HAProxy\nVersion: 2.6.12\nProcess_num: 1\nIdle_pct: 90\n\n")
	stat = []byte("# pxname,svname,scur,stot,\nweb,FRONTEND,1,10,\n\n")
)

// waitLong bounds every wait for an event that must come: it only ends
// a failing test, so it is generous for a busy machine.
const waitLong = 30 * time.Second

func testConfig(t *testing.T) config.Pull {
	base := t.TempDir()
	return config.Pull{
		// Timeouts far past what a fake socket takes to answer on a busy
		// machine: a test that wants one to expire sets it shorter.
		Retries: 0, Timeout: waitLong / 3, Interval: 10 * time.Millisecond,
		PullTimeout: waitLong / 2, PullInterval: time.Second,
		BufferLimit: 6291456, Workers: 8, QueueSize: 10,
		DstDir: filepath.Join(base, "incoming"), TmpDstDir: filepath.Join(base, "incoming.tmp"),
	}
}

func newPuller(t *testing.T, cfg config.Pull) *Puller {
	t.Helper()
	p := New(cfg, slog.New(slog.DiscardHandler))
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	return p
}

func tcpServer(s *haproxytest.Socket) config.Server {
	host, port := splitHostPort(s.Address)
	return config.Server{Network: "tcp", Address: s.Address, Name: host + ":" + port}
}

func splitHostPort(a string) (string, string) {
	i := bytes.LastIndexByte([]byte(a), ':')
	return a[:i], a[i+1:]
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != spool.LockFile("haproxystats-pull") { // Run's, while it runs and after
			names = append(names, e.Name())
		}
	}
	return names
}

func TestRoundUnixAndTCP(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "admin1.sock", info, stat)
	haproxytest.UnixSocket(t, cfg.SocketDir, "admin2.sock", info, stat)
	os.WriteFile(filepath.Join(cfg.SocketDir, "not-a-socket"), []byte("x"), 0o644)
	tcp := haproxytest.TCPSocket(t, info, stat)
	cfg.Servers = []config.Server{tcpServer(tcp)}
	p := newPuller(t, cfg)

	now := time.Unix(1500000000, 700e6)
	p.Round(context.Background(), now)

	snap := filepath.Join(cfg.DstDir, "1500000000")
	got := readDir(t, snap)
	want := []string{".pull-stats", "127.0.0.1:" + mustPort(tcp) + "_info", "127.0.0.1:" + mustPort(tcp) + "_stat",
		"admin1.sock_info", "admin1.sock_stat", "admin2.sock_info", "admin2.sock_stat"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("snapshot files = %v, want %v", got, want)
	}
	for _, n := range got[1:] {
		b, _ := os.ReadFile(filepath.Join(snap, n))
		want := stat
		if strings.HasSuffix(n, "_info") {
			want = info
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s = %q, want the reply byte for byte %q", n, b, want)
		}
	}
	if p.Committed.Load() != 1 || p.Failed.Load() != 0 {
		t.Errorf("committed %d failed %d, want 1 0", p.Committed.Load(), p.Failed.Load())
	}
	if left := readDir(t, cfg.TmpDstDir); len(left) != 0 {
		t.Errorf("tmp-dst-dir not empty after commit: %v", left)
	}
}

func mustPort(s *haproxytest.Socket) string {
	_, p := splitHostPort(s.Address)
	return p
}

// A round is all or nothing: one misbehaving socket discards everyone's
// data and leaves nothing behind.
func TestRoundDiscarded(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    haproxytest.Behavior
	}{
		{"hung socket past pull-timeout", haproxytest.Hang},
		{"truncated reply", haproxytest.Truncate},
		{"garbage reply", haproxytest.Garbage},
		{"connection closed at once", haproxytest.Refuse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.PullTimeout = 300 * time.Millisecond
			// Only the pull-timeout can end a hung socket's round: one
			// that took the socket timeout instead would take a minute,
			// far past the bound below, which no load reaches.
			cfg.Timeout = time.Minute
			cfg.SocketDir = t.TempDir()
			haproxytest.UnixSocket(t, cfg.SocketDir, "good.sock", info, stat)
			bad := haproxytest.UnixSocket(t, cfg.SocketDir, "bad.sock", info, stat)
			bad.Set(tc.b, 0)
			p := newPuller(t, cfg)

			start := time.Now()
			p.Round(context.Background(), time.Unix(1500000000, 0))
			if took := time.Since(start); took >= waitLong {
				t.Errorf("round took %v, pull-timeout is %v", took, cfg.PullTimeout)
			}
			if got := readDir(t, cfg.DstDir); len(got) != 0 {
				t.Errorf("dst-dir = %v, want nothing committed", got)
			}
			if got := readDir(t, cfg.TmpDstDir); len(got) != 0 {
				t.Errorf("tmp-dst-dir = %v, want no debris", got)
			}
			if p.Failed.Load() != 1 {
				t.Errorf("failed = %d, want 1", p.Failed.Load())
			}
		})
	}
}

func TestRetriesThenSuccess(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = ""
	dir := t.TempDir()
	path := filepath.Join(dir, "late.sock")
	cfg.Servers = []config.Server{{Network: "unix", Address: path, Name: "late.sock"}}
	cfg.Retries = 20
	cfg.Interval = 20 * time.Millisecond
	cfg.PullTimeout = 2 * time.Second
	// The socket is made outside the bubble, when the round asks for it:
	// its accept loop waits on the network, which is no durable block
	// and would keep the bubble's clock still.
	ask, made := make(chan struct{}), make(chan struct{})
	go func() {
		<-ask
		haproxytest.UnixSocket(t, dir, "late.sock", info, stat)
		close(made)
	}()
	synctest.Test(t, func(t *testing.T) {
		p := newPuller(t, cfg)
		done := make(chan struct{})
		go func() {
			p.Round(context.Background(), time.Unix(1500000000, 0))
			close(done)
		}()
		time.Sleep(100 * time.Millisecond) // virtual: five failed attempts
		synctest.Wait()                    // the round waits for its next attempt
		close(ask)
		<-made
		<-done
	})
	if got := readDir(t, cfg.DstDir); !slices.Equal(got, []string{"1500000000"}) {
		t.Fatalf("dst-dir = %v, want the round committed after retries", got)
	}
}

func TestRetriesExhausted(t *testing.T) {
	cfg := testConfig(t)
	cfg.Servers = []config.Server{{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock"), Name: "none.sock"}}
	cfg.Retries = 2
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if p.Failed.Load() != 1 || len(readDir(t, cfg.DstDir)) != 0 {
		t.Fatalf("failed=%d dst=%v, want a discarded round", p.Failed.Load(), readDir(t, cfg.DstDir))
	}
}

func TestQueueSizeSuspendsAndResumes(t *testing.T) {
	cfg := testConfig(t)
	cfg.QueueSize = 2
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
	p := newPuller(t, cfg)
	for i := int64(0); i < 5; i++ {
		p.Round(context.Background(), time.Unix(1500000000+i, 0))
	}
	if got := len(readDir(t, cfg.DstDir)); got != 2 {
		t.Fatalf("queued = %d, want 2 (queue-size)", got)
	}
	if p.Skipped.Load() != 3 {
		t.Fatalf("skipped = %d, want 3", p.Skipped.Load())
	}
	// The processor drains one: pulling resumes.
	os.RemoveAll(filepath.Join(cfg.DstDir, "1500000000"))
	p.Round(context.Background(), time.Unix(1500000010, 0))
	if _, err := os.Stat(filepath.Join(cfg.DstDir, "1500000010")); err != nil {
		t.Fatalf("round after drain not committed: %v", err)
	}
	if p.Skipped.Load() != 3 || p.suspended {
		t.Fatalf("skipped=%d suspended=%v after resume", p.Skipped.Load(), p.suspended)
	}
	// The loss is not silent: the next snapshot carries the count.
	st, err := spool.ReadPullStats(filepath.Join(cfg.DstDir, "1500000010"))
	if err != nil || st["PullRoundsSkipped"] != 3 || st["PullRoundsCommitted"] != 3 {
		t.Fatalf("pull stats = %v, %v; want PullRoundsSkipped 3, PullRoundsCommitted 3", st, err)
	}
}

func TestShutdownMidRound(t *testing.T) {
	cfg := testConfig(t)
	// Far longer than any wait below: a shutdown that waited for the
	// pull-timeout or the next round would show.
	cfg.PullTimeout = time.Hour
	cfg.PullInterval = 2 * time.Hour
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "good.sock", info, stat)
	hung := haproxytest.UnixSocket(t, cfg.SocketDir, "hung.sock", info, stat)
	hung.Set(haproxytest.Hang, 0)
	p := New(cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	haproxytest.WaitFor(t, "the round asks hung.sock", waitLong, nil, func() bool { return len(hung.Commands()) > 0 })
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil on shutdown", err)
		}
	case <-time.After(waitLong):
		t.Fatalf("Run did not return within %v of the signal", waitLong)
	}
	if took := time.Since(stopped); took >= cfg.PullTimeout {
		t.Errorf("shutdown took %v, want it not to wait for the pull-timeout (%v)", took, cfg.PullTimeout)
	}
	if got := readDir(t, cfg.DstDir); len(got) != 0 {
		t.Errorf("dst-dir = %v, want nothing partial", got)
	}
	if got := readDir(t, cfg.TmpDstDir); len(got) != 0 {
		t.Errorf("tmp-dst-dir = %v, want no debris", got)
	}
}

func TestPrepareCleansLeftovers(t *testing.T) {
	cfg := testConfig(t)
	os.MkdirAll(filepath.Join(cfg.TmpDstDir, "1499999999"), 0o755)
	os.WriteFile(filepath.Join(cfg.TmpDstDir, "1499999999", "a_info"), []byte("x"), 0o644)
	newPuller(t, cfg)
	if got := readDir(t, cfg.TmpDstDir); len(got) != 0 {
		t.Fatalf("tmp-dst-dir = %v after start, want leftovers removed", got)
	}
}

// Rounds start at start + k × pull-interval: each second gets one
// snapshot, named after consecutive seconds. It runs on synctest's clock.
func TestRunCadence(t *testing.T) {
	cfg := testConfig(t)
	cfg.PullInterval = time.Second
	cfg.SocketDir = t.TempDir()
	// The socket answers from outside the bubble: its accept loop waits
	// on the network, which is no durable block. While a round waits for
	// its reply the bubble's clock stands still, so however slowly the
	// machine answers, a round takes no time on it.
	haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
	synctest.Test(t, func(t *testing.T) {
		p := New(cfg, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
		defer cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	names := readDir(t, cfg.DstDir)
	if len(names) != 4 {
		t.Fatalf("snapshots = %v, want 4 in 3.5 s at 1 s interval", names)
	}
	for i := 1; i < len(names); i++ {
		a, _ := strconv.Atoi(names[i-1])
		b, _ := strconv.Atoi(names[i])
		if b-a != 1 {
			t.Errorf("snapshots %s and %s are not one interval apart", names[i-1], names[i])
		}
	}
}

// Only read-only commands ever reach HAProxy. The typed dumps are asked
// on first contact; this fake HAProxy does not know them, so they are not
// asked again. The stick tables are listed every round.
func TestOnlyReadOnlyCommands(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	s := haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
	p := newPuller(t, cfg)
	for i := int64(0); i < 3; i++ {
		p.Round(context.Background(), time.Unix(1500000000+i, 0))
	}
	cmds := s.Commands()
	if len(cmds) != 10 {
		t.Fatalf("commands = %v, want 10", cmds)
	}
	for _, c := range cmds {
		if c != "show info" && c != "show stat" && c != "show info typed" && c != "show stat typed" && c != "show table" {
			t.Errorf("command %q sent to HAProxy", c)
		}
	}
}

func TestDuplicateTargetsQueriedOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	s := haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
	other := t.TempDir()
	haproxytest.UnixSocket(t, other, "a.sock", info, stat)
	cfg.Servers = []config.Server{
		{Network: "unix", Address: filepath.Join(cfg.SocketDir, "a.sock"), Name: "a.sock"},
		{Network: "unix", Address: filepath.Join(other, "a.sock"), Name: "a.sock"},
	}
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if got := len(s.Commands()); got != 4 { // show info, show stat, show info typed, show table
		t.Errorf("socket reached twice got %d commands, want 4", got)
	}
	got := readDir(t, filepath.Join(cfg.DstDir, "1500000000"))
	want := []string{".pull-stats", "a.sock_info", "a.sock_stat", "a.sock~2_info", "a.sock~2_stat"}
	if !slices.Equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
}

func TestCountIgnoresOtherEntries(t *testing.T) {
	d := t.TempDir()
	os.Mkdir(filepath.Join(d, "1500000000"), 0o755)
	os.Mkdir(filepath.Join(d, "failed"), 0o755)
	os.WriteFile(filepath.Join(d, "1500000001"), nil, 0o644)
	if n, err := spool.Count(d); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want 1", n, err)
	}
}

// A reply that process would reject (a row with the wrong field count,
// two dumps run together, a row without a server name) discards the
// round like a truncated one: pull never commits a round that process
// would aggregate without one of its HAProxy processes. With
// allow-partial the socket is left out and recorded as missing instead.
func TestBadRowsDiscard(t *testing.T) { // short: socket paths must fit in 108 bytes
	info := []byte("Name: HAProxy\nProcess_num: 1\n\n")
	stat := "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\n\n"
	for name, bad := range map[string]string{
		"count":  "# pxname,svname,stot,bin,\nweb,FRONTEND,1,2,\napp,s1,3,\n\n", // a row with the wrong field count
		"header": stat[:len(stat)-1] + stat,                                     // two dumps run together
		"name":   "# pxname,svname,stot,bin,\nweb,,1,2,\n\n",                    // no server name
	} {
		for _, partial := range []bool{false, true} {
			t.Run(fmt.Sprint(name, partial), func(t *testing.T) {
				cfg := testConfig(t)
				cfg.AllowPartial = partial
				cfg.SocketDir = t.TempDir()
				haproxytest.UnixSocket(t, cfg.SocketDir, "good.sock", info, []byte(stat))
				haproxytest.UnixSocket(t, cfg.SocketDir, "bad.sock", info, []byte(bad))
				p := newPuller(t, cfg)
				p.Round(context.Background(), time.Unix(1500000000, 0))
				got := readDir(t, cfg.DstDir)
				if !partial {
					if len(got) != 0 || p.Failed.Load() != 1 {
						t.Fatalf("dst-dir = %v, failed = %d; want the round discarded", got, p.Failed.Load())
					}
					return
				}
				snap := filepath.Join(cfg.DstDir, "1500000000")
				files := readDir(t, snap)
				if slices.Contains(files, "bad.sock_stat") || !slices.Contains(files, "good.sock_stat") {
					t.Errorf("partial snapshot holds %v", files)
				}
				missing, ok, err := spool.ReadManifest(snap)
				if err != nil || !ok || len(missing) != 1 || !strings.HasPrefix(missing[0], "bad.sock") || !strings.Contains(missing[0], "not a complete dump") {
					t.Errorf("manifest = %q, %v, %v", missing, ok, err)
				}
			})
		}
	}
}

// A reply over max-reply-size stops being read there and discards the
// round: tmp-dst-dir holds nothing of it afterwards, whatever the
// socket would have sent.
func TestReplyOverMaxSize(t *testing.T) {
	info := []byte("Name: HAProxy\nProcess_num: 1\n\n")
	var big bytes.Buffer
	big.WriteString("# pxname,svname,stot,\n")
	for i := 0; big.Len() < 4<<20; i++ {
		fmt.Fprintf(&big, "be%d,s%d,1,\n", i, i)
	}
	big.WriteString("\n")
	cfg := testConfig(t)
	cfg.MaxReplySize = 1 << 20
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "big.sock", info, big.Bytes())
	p := newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if got := readDir(t, cfg.DstDir); len(got) != 0 || p.Failed.Load() != 1 {
		t.Fatalf("dst-dir = %v, failed = %d; want the round discarded", got, p.Failed.Load())
	}
	if got := readDir(t, cfg.TmpDstDir); len(got) != 0 {
		t.Errorf("tmp-dst-dir = %v, want nothing left", got)
	}
	cfg.MaxReplySize = 8 << 20 // the same reply under the bound is committed
	p = newPuller(t, cfg)
	p.Round(context.Background(), time.Unix(1500000010, 0))
	if got := readDir(t, cfg.DstDir); len(got) != 1 {
		t.Errorf("dst-dir = %v, want the round committed", got)
	}
}

// socket-dir entries that are no sockets (a regular file, a FIFO, a
// directory, a link to a file) are skipped and warned about once each;
// a dangling link stands for a socket that should be there, so its round
// is discarded rather than committed without it.
func TestSocketDirOddEntries(t *testing.T) { // short: socket paths must fit in 108 bytes
	cfg := testConfig(t)
	cfg.SocketDir = t.TempDir()
	haproxytest.UnixSocket(t, cfg.SocketDir, "admin1.sock", info, stat)
	dir := cfg.SocketDir
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "dir"), 0o755)
	os.Symlink(filepath.Join(dir, "file"), filepath.Join(dir, "tofile"))
	os.Symlink(filepath.Join(dir, "gone.sock"), filepath.Join(dir, "dangling.sock"))
	var logs bytes.Buffer
	p := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := p.Prepare(); err != nil {
		t.Fatal(err)
	}
	p.Round(context.Background(), time.Unix(1500000000, 0))
	if p.Failed.Load() != 1 || p.Committed.Load() != 0 {
		t.Errorf("with a dangling link: %d failed, %d committed; want the round discarded", p.Failed.Load(), p.Committed.Load())
	}
	os.Remove(filepath.Join(dir, "dangling.sock"))
	p.Round(context.Background(), time.Unix(1500000001, 0))
	if p.Committed.Load() != 1 {
		t.Fatalf("without it: %d committed, want 1", p.Committed.Load())
	}
	got := readDir(t, filepath.Join(cfg.DstDir, "1500000001"))
	if want := []string{".pull-stats", "admin1.sock_info", "admin1.sock_stat"}; !slices.Equal(got, want) {
		t.Errorf("snapshot files = %v, want %v", got, want)
	}
	for _, name := range []string{"file", "fifo", "dir", "tofile"} {
		if n := strings.Count(logs.String(), "name="+name+" type="); n != 1 {
			t.Errorf("%s warned about %d times in two rounds, want once; log:\n%s", name, n, logs.String())
		}
	}
}

// A stopped HAProxy (its sockets gone, or socket-dir itself) is logged
// once when the sockets go missing and once when they are back, not
// every round; the rounds it costs are still counted.
func TestNoSocketsLoggedOnce(t *testing.T) { // short: socket paths must fit in 108 bytes
	count := func(logs *bytes.Buffer, level, msg string) int {
		return strings.Count(logs.String(), "level="+level+" msg=\""+msg+"\"")
	}
	t.Run("socket-dir only", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.SocketDir = filepath.Join(t.TempDir(), "s")
		var logs bytes.Buffer
		p := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err := p.Prepare(); err != nil {
			t.Fatal(err)
		}
		round := int64(1500000000)
		rounds := func(n int) {
			for range n {
				p.Round(context.Background(), time.Unix(round, 0))
				round++
			}
		}
		rounds(5) // socket-dir missing
		if err := os.Mkdir(cfg.SocketDir, 0o755); err != nil {
			t.Fatal(err)
		}
		rounds(5) // socket-dir empty
		if n := count(&logs, "ERROR", msgNoSockets); n != 1 || strings.Count(logs.String(), "level=ERROR") != 1 {
			t.Errorf("10 rounds without sockets: %d ERROR lines %q, want 1 of them; log:\n%s", strings.Count(logs.String(), "level=ERROR"), msgNoSockets, logs.String())
		}
		if !strings.Contains(logs.String(), "err=") {
			t.Errorf("the missing socket-dir is not said; log:\n%s", logs.String())
		}
		if p.Failed.Load() != 10 {
			t.Errorf("PullRoundsFailed = %d, want 10", p.Failed.Load())
		}
		s := haproxytest.UnixSocket(t, cfg.SocketDir, "a.sock", info, stat)
		rounds(3)
		if n := count(&logs, "INFO", "sockets found again"); n != 1 || !strings.Contains(logs.String(), "rounds=10") {
			t.Errorf("sockets back: %d INFO lines \"sockets found again\" (want 1, with rounds=10); log:\n%s", n, logs.String())
		}
		if p.Committed.Load() != 3 {
			t.Errorf("%d rounds committed with the socket back, want 3", p.Committed.Load())
		}
		s.Close()
		os.Remove(filepath.Join(cfg.SocketDir, "a.sock"))
		rounds(4)
		if n := count(&logs, "ERROR", msgNoSockets); n != 2 {
			t.Errorf("HAProxy stopped a second time: %d ERROR lines in all, want 2; log:\n%s", n, logs.String())
		}
	})
	// socket-dir empty while servers still answer: the rounds go on
	// without it, and that too is said once.
	t.Run("socket-dir and servers", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.SocketDir = t.TempDir()
		cfg.Servers = []config.Server{tcpServer(haproxytest.TCPSocket(t, info, stat))}
		var logs bytes.Buffer
		p := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err := p.Prepare(); err != nil {
			t.Fatal(err)
		}
		for i := range int64(6) {
			p.Round(context.Background(), time.Unix(1500000000+i, 0))
		}
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || count(&logs, "ERROR", msgNoDirSockets) != 1 {
			t.Errorf("6 rounds with an empty socket-dir: %d ERROR lines, want 1 %q; log:\n%s", n, msgNoDirSockets, logs.String())
		}
		if p.Committed.Load() != 6 {
			t.Errorf("%d rounds committed, want 6 (servers answer)", p.Committed.Load())
		}
	})
}
