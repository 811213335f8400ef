package process

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
)

// A snapshot holding a FIFO, a symlink to a FIFO or a symlink to an
// endless device instead of a reply is quarantined with the reason, and
// never blocks a worker: the good snapshot behind it is delivered, and
// Run returns at once when asked.
func TestIrregularFilesQuarantined(t *testing.T) {
	src := spoolWith(t, "1500000000", "1500000010", "1500000020", "1500000030")
	root := t.TempDir()
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	poison := map[string]func(path string) error{
		"1500000000": func(p string) error { os.Remove(p); return syscall.Mkfifo(p, 0o644) },
		"1500000010": func(p string) error { os.Remove(p); return os.Symlink(fifo, p) },
		"1500000020": func(p string) error { os.Remove(p); return os.Symlink("/dev/zero", p) },
	}
	var paths []string
	for name, make := range poison {
		if err := make(filepath.Join(src, name, "admin1.sock_info")); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Join(src, name))
	}
	good := filepath.Join(src, "1500000030")
	paths = append(paths, good)
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	start := time.Now()
	run(t, p, paths, func() bool { return p.Failed.Load() == 3 && !exists(good) })
	if took := time.Since(start); took > waitLong {
		t.Errorf("took %v", took)
	}
	if p.Failed.Load() != 3 {
		t.Errorf("%d snapshots quarantined, want 3", p.Failed.Load())
	}
	for name := range poison {
		if !exists(filepath.Join(p.failedDir(), name)) {
			t.Errorf("snapshot %s not in failed/", name)
		}
	}
	if exists(good) || len(g.snapshot(1500000030)) == 0 {
		t.Error("the good snapshot behind the poisoned ones was not delivered")
	}
	for _, ts := range []int64{1500000000, 1500000010, 1500000020} {
		if n := len(g.snapshot(ts)); n != 0 {
			t.Errorf("snapshot %d: %d metrics sent", ts, n)
		}
	}
}

// A reply swapped for a FIFO after the snapshot was listed is refused
// when opened, without blocking.
func TestOpenRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "a.sock_stat")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := readFile(fifo, 0); done <- err }()
	select {
	case err := <-done:
		if err == nil || transient(err) {
			t.Errorf("reading a FIFO = %v, want a permanent error", err)
		}
	case <-time.After(waitLong):
		t.Fatal("reading a FIFO blocked")
	}
}

// failOpen makes openFile fail for files whose name ends in suffix with
// err, n times (n < 0: always), and restores it when the test ends.
func failOpen(t *testing.T, suffix string, err error, n int) *int {
	t.Helper()
	var mu sync.Mutex
	failed := new(int)
	orig := openFile
	openFile = func(path string) (*os.File, error) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(path, suffix) && (n < 0 || *failed < n) {
			*failed++
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return orig(path)
	}
	t.Cleanup(func() { openFile = orig })
	return failed
}

// A reply that cannot be read for a while (EIO, EMFILE) keeps the
// snapshot on disk and it is retried: delivered whole once readable,
// never with the other replies' sums alone. On both paths: lines
// (Graphite) and metrics in memory (Kafka).
func TestTransientReadErrorRetried(t *testing.T) {
	for _, sinkName := range []string{"graphite", "kafka"} {
		for _, errno := range []syscall.Errno{syscall.EIO, syscall.EMFILE} {
			t.Run(fmt.Sprint(sinkName, "/", errno), func(t *testing.T) {
				want := deliveredWhole(t, sinkName)
				src := spoolWith(t, "1500000000")
				snap := filepath.Join(src, "1500000000")
				failed := failOpen(t, "admin2.sock_stat", errno, 2)
				g := newSink(sinkName)
				p := newProcessor(src, 1, g)
				run(t, p, []string{snap}, func() bool { return !exists(snap) })
				if *failed != 2 || p.ReadRetries.Load() != 2 {
					t.Errorf("failed %d opens, %d read retries; want 2", *failed, p.ReadRetries.Load())
				}
				got := g.snapshot(1500000000)
				if len(got) != want {
					t.Errorf("%d metrics delivered, want the whole snapshot's %d", len(got), want)
				}
				if i := slices.IndexFunc(got, func(m metric.Metric) bool { return strings.HasSuffix(m.Path, ".haproxystats.ReadRetries") }); i < 0 || got[i].Value != 2 {
					t.Errorf("no ReadRetries self-statistic of 2 in the delivered snapshot")
				}
				if sends, _ := g.count(); sends != 1 {
					t.Errorf("%d sends, want 1: nothing before the reply was readable", sends)
				}
				if p.Failed.Load() != 0 {
					t.Errorf("%d quarantined", p.Failed.Load())
				}
			})
		}
	}
}

// A reply that cannot be read for good (EACCES, as for a non-root daemon
// and a file it may not read) quarantines the snapshot: nothing is sent,
// nothing is removed as delivered. So does an error that stays
// transient for maxReadAttempts tries, and a reply that opens but cannot
// be read (a descriptor opened for writing: EBADF at the first pread),
// which is not taken for a rejected reply whose siblings' sums would be
// sent alone.
func TestPermanentReadErrorQuarantined(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		reads bool // the reply opens, and its reads fail
	}{{"EACCES", syscall.EACCES, false}, {"EIO for ever", syscall.EIO, false}, {"EBADF once open", syscall.EBADF, true}} {
		t.Run(c.name, func(t *testing.T) {
			src := spoolWith(t, "1500000000")
			snap := filepath.Join(src, "1500000000")
			if c.reads {
				writeOnly(t, "admin2.sock_stat")
			} else {
				failOpen(t, "admin2.sock_stat", c.err, -1)
			}
			g := newSink("graphite")
			p := newProcessor(src, 1, g)
			p.RetryDelay = time.Millisecond
			run(t, p, []string{snap}, func() bool { return p.Failed.Load() == 1 })
			if p.Failed.Load() != 1 || !exists(filepath.Join(p.failedDir(), "1500000000", "admin2.sock_stat")) {
				t.Errorf("snapshot not quarantined: failed %d", p.Failed.Load())
			}
			if sends, _ := g.count(); sends != 0 {
				t.Errorf("%d sends of a snapshot missing a reply", sends)
			}
			if errors.Is(c.err, syscall.EIO) && p.ReadRetries.Load() != maxReadAttempts {
				t.Errorf("%d read retries, want %d", p.ReadRetries.Load(), maxReadAttempts)
			}
			if p.Rejected.Load() != 0 {
				t.Errorf("%d replies counted as rejected, want none: the reply was never read", p.Rejected.Load())
			}
		})
	}
}

// writeOnly makes openFile open files whose name ends in suffix for
// writing only, so that reading them fails, and restores it when the
// test ends.
func writeOnly(t *testing.T, suffix string) {
	t.Helper()
	orig := openFile
	openFile = func(path string) (*os.File, error) {
		if strings.HasSuffix(path, suffix) {
			return os.OpenFile(path, os.O_WRONLY, 0)
		}
		return orig(path)
	}
	t.Cleanup(func() { openFile = orig })
}

// deliveredWhole is how many metrics the worked example's snapshot gives
// a sink called name when every reply is read.
func deliveredWhole(t *testing.T, name string) int {
	t.Helper()
	src := spoolWith(t, "1500000000")
	snap := filepath.Join(src, "1500000000")
	g := newSink(name)
	p := newProcessor(src, 1, g)
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	n := len(g.snapshot(1500000000))
	if n < 150 {
		t.Fatalf("the whole snapshot gives %d metrics", n)
	}
	return n
}

// A reply file over max-reply-size is never read: its snapshot is
// quarantined and nothing of it is sent.
func TestReplyOverMaxSizeQuarantined(t *testing.T) {
	for _, sinkName := range []string{"graphite", "kafka"} {
		t.Run(sinkName, func(t *testing.T) {
			src := spoolWith(t, "1500000000")
			snap := filepath.Join(src, "1500000000")
			big := filepath.Join(snap, "admin2.sock_stat")
			st, err := os.Stat(big)
			if err != nil {
				t.Fatal(err)
			}
			g := newSink(sinkName)
			p := newProcessor(src, 1, g)
			p.MaxReplySize = st.Size() - 1
			run(t, p, []string{snap}, func() bool { return p.Failed.Load() == 1 })
			if !exists(filepath.Join(p.failedDir(), "1500000000")) {
				t.Error("snapshot not quarantined")
			}
			if sends, _ := g.count(); sends != 0 {
				t.Errorf("%d sends", sends)
			}
		})
	}
}

// A snapshot directory that is a symlink (pull never writes one) is not
// followed: the link itself is quarantined, what it points to is left
// alone, and nothing is sent.
func TestSymlinkedSnapshotQuarantined(t *testing.T) {
	src := spoolWith(t, "1500000000")
	link := filepath.Join(src, "1500000000")
	elsewhere := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(link, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if got, _ := spool.Scan(src); len(got) != 1 {
		t.Fatalf("Scan = %v, want the link, to be refused", got)
	}
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	run(t, p, []string{link}, func() bool { _, err := os.Lstat(link); return err != nil })
	fi, err := os.Lstat(filepath.Join(spool.LayoutOf(src).Failed, "1500000000"))
	if err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("failed/1500000000: %v, %v; want the link itself", fi, err)
	}
	if !exists(filepath.Join(elsewhere, "admin1.sock_stat")) {
		t.Error("the link's target was moved or changed")
	}
	if sends, _ := g.count(); sends != 0 || p.Failed.Load() != 1 {
		t.Errorf("%d sends, %d quarantined; want 0 and 1", sends, p.Failed.Load())
	}
}

// An exclusion file replaced by a FIFO or a device is refused at once
// (excluding nothing, logged), never blocks or floods the worker; a
// symlink to a regular file, as an operator may make, is followed.
func TestExclusionFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	names := filepath.Join(dir, "names")
	os.WriteFile(names, []byte("www\n"), 0o644)
	linked := filepath.Join(dir, "linked")
	os.Symlink(names, linked)
	for _, c := range []struct {
		path string
		want int
	}{{fifo, 0}, {"/dev/zero", 0}, {linked, 1}} {
		done := make(chan map[string]bool, 1)
		go func() { done <- readExclude(c.path, slog.New(slog.DiscardHandler)) }()
		select {
		case got := <-done:
			if len(got) != c.want {
				t.Errorf("%s: %d names, want %d", c.path, len(got), c.want)
			}
		case <-time.After(waitLong):
			t.Fatalf("%s: reading the exclusion file blocked", c.path)
		}
	}
}

// Refusals by a sink and read failures are counted apart: a snapshot
// that a sink refused more times than there are read retries (a long
// carbon outage) still gets its read retries, and is delivered whole
// rather than quarantined at its first read error.
func TestReadRetriesAfterRefusals(t *testing.T) {
	src := spoolWith(t, "1500000000")
	snap := filepath.Join(src, "1500000000")
	var armed atomic.Bool
	var fails atomic.Int32
	orig := openFile
	openFile = func(path string) (*os.File, error) {
		if armed.Load() && strings.HasSuffix(path, "admin2.sock_stat") && fails.Add(1) == 1 {
			return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EIO}
		}
		return orig(path)
	}
	t.Cleanup(func() { openFile = orig })
	g := newSink("graphite")
	g.setFail(errors.New("carbon down"))
	p := newProcessor(src, 1, g)
	p.RetryDelay = 100 * time.Microsecond
	run(t, p, []string{snap}, func() bool {
		if sends, _ := g.count(); sends >= maxReadAttempts+2 && !armed.Load() {
			armed.Store(true)
			g.setFail(nil)
		}
		return !exists(snap)
	})
	if p.Failed.Load() != 0 || fails.Load() == 0 {
		t.Fatalf("%d quarantined, %d read failures; want the read retried after %d refusals", p.Failed.Load(), fails.Load(), maxReadAttempts+2)
	}
	if len(g.snapshot(1500000000)) == 0 {
		t.Error("snapshot not delivered")
	}
}
