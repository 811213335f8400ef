package spool

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func mkdirs(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseName(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if _, ok := ParseName(in); ok != want {
			t.Errorf("ParseName(%q) ok = %v, want %v", in, ok, want)
		}
	}
	f("1500000000", true)
	f("0", true)
	f("", false)
	f(".1500000000", false)
	f("failed", false)
	f("15e8", false)
	f("-1", false)
	f("99999999999999999999", false)
	for _, ts := range []int64{0, 1500000000, 1<<63 - 1} {
		if got, ok := ParseName(Name(ts)); !ok || got != ts {
			t.Errorf("ParseName(Name(%d)) = %d, %v", ts, got, ok)
		}
	}
}

func TestScanOldestFirst(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, "1500000010", "999999999", "1500000002", "failed", ".hidden")
	os.WriteFile(filepath.Join(d, "1500000003"), nil, 0o644) // a file, not a snapshot
	got, err := Scan(d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(d, "999999999"), filepath.Join(d, "1500000002"), filepath.Join(d, "1500000010")}
	if !slices.Equal(got, want) {
		t.Fatalf("Scan = %v, want %v", got, want)
	}
}

func TestCommit(t *testing.T) {
	base := t.TempDir()
	tmp, dst := filepath.Join(base, "tmp"), filepath.Join(base, "incoming")
	mkdirs(t, base, "tmp/1500000000", "incoming")
	os.WriteFile(filepath.Join(tmp, "1500000000", "a_info"), []byte("x"), 0o644)
	p, err := Commit(filepath.Join(tmp, "1500000000"), dst)
	if err != nil || p != filepath.Join(dst, "1500000000") {
		t.Fatalf("Commit = %q, %v", p, err)
	}
	if b, _ := os.ReadFile(filepath.Join(p, "a_info")); string(b) != "x" {
		t.Fatalf("committed content = %q", b)
	}
	mkdirs(t, base, "tmp/1500000000")
	if _, err := Commit(filepath.Join(tmp, "1500000000"), dst); !errors.Is(err, ErrExists) {
		t.Fatalf("second Commit of the same name = %v, want ErrExists", err)
	}
}

func TestQuarantineAndRemove(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, "in/1500000000", "in/1500000001")
	q, err := Quarantine(filepath.Join(d, "in", "1500000000"), filepath.Join(d, "failed"))
	if err != nil || q != filepath.Join(d, "failed", "1500000000") {
		t.Fatalf("Quarantine = %q, %v", q, err)
	}
	if err := Remove(filepath.Join(d, "in", "1500000001")); err != nil {
		t.Fatal(err)
	}
	if n, _ := Count(filepath.Join(d, "in")); n != 0 {
		t.Fatalf("Count after quarantine and remove = %d", n)
	}
}

func TestFiles(t *testing.T) {
	d := filepath.Join(t.TempDir(), "replies") // any name: hsbench's snapshots are not named like the spool's
	mkdirs(t, d, "c.sock_stat")                // a directory is no reply file
	for _, n := range []string{"b.sock_stat", "a.sock_stat", "a.sock_info", ".x_stat", "manifest", "_stat", "a.sock_stattyped"} {
		os.WriteFile(filepath.Join(d, n), nil, 0o644)
	}
	got, _ := Files(d, Stat)
	if want := []string{filepath.Join(d, "a.sock_stat"), filepath.Join(d, "b.sock_stat")}; !slices.Equal(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	if _, err := Files(filepath.Join(d, "1500000001"), Stat); !errors.Is(err, ErrVanished) {
		t.Errorf("Files of a missing snapshot = %v, want ErrVanished", err)
	}
}

// waitLong bounds every wait for an event that must come: it only ends
// a failing test, so it is generous for a busy machine.
const waitLong = 30 * time.Second

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return p
	case <-time.After(waitLong):
		t.Fatalf("no snapshot announced within %v", waitLong)
	}
	return ""
}

func TestWatch(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "incoming")
	mkdirs(t, base, "incoming/1500000002", "incoming/1500000001", "tmp/1500000003")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gone := &onMessage{msg: "watched directory disappeared; waiting for it to come back", seen: make(chan struct{})}
	ch, err := Watch(ctx, dir, slog.New(gone))
	if err != nil {
		t.Fatal(err)
	}
	// What was there, oldest first.
	if got := next(t, ch); got != filepath.Join(dir, "1500000001") {
		t.Fatalf("first = %s", got)
	}
	if got := next(t, ch); got != filepath.Join(dir, "1500000002") {
		t.Fatalf("second = %s", got)
	}
	// A rename in (what pull does), a mkdir, and names to ignore.
	os.Mkdir(filepath.Join(dir, "not-a-snapshot"), 0o755)
	os.WriteFile(filepath.Join(dir, "1500000009"), nil, 0o644)
	if err := os.Rename(filepath.Join(base, "tmp", "1500000003"), filepath.Join(dir, "1500000003")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got != filepath.Join(dir, "1500000003") {
		t.Fatalf("renamed-in = %s", got)
	}
	mkdirs(t, dir, "1500000004")
	if got := next(t, ch); got != filepath.Join(dir, "1500000004") {
		t.Fatalf("created = %s", got)
	}
	// The spool directory is removed and recreated: the watch follows.
	os.RemoveAll(dir)
	select { // the watch must see it gone before it comes back
	case <-gone.seen:
	case <-time.After(waitLong):
		t.Fatal("the watch did not see the spool directory go")
	}
	mkdirs(t, dir, "1500000005")
	if got := next(t, ch); got != filepath.Join(dir, "1500000005") {
		t.Fatalf("after recreate = %s", got)
	}
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(waitLong):
		t.Fatal("channel not closed after cancel")
	}
}

// onMessage is a slog.Handler that closes seen when msg is logged: a
// test waits on it for an event only the log tells.
type onMessage struct {
	msg  string
	seen chan struct{}
	once sync.Once
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *onMessage) WithGroup(string) slog.Handler            { return h }

func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}

func TestWatchMissingDir(t *testing.T) {
	if _, err := Watch(context.Background(), filepath.Join(t.TempDir(), "nope"), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Watch of a missing directory succeeded")
	}
}

// A second holder of the same lock fails at once, naming the first's
// pid; pull and process locks on one directory do not conflict; a
// released lock can be taken again.
func TestLock(t *testing.T) {
	d := t.TempDir()
	a, err := TakeLock(d, "haproxystats-pull")
	if err != nil {
		t.Fatal(err)
	}
	_, err = TakeLock(d, "haproxystats-pull")
	if err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), LockFile("haproxystats-pull")) {
		t.Errorf("second lock = %v, want an error naming the holder's pid and the file", err)
	}
	b, err := TakeLock(d, "haproxystats-process")
	if err != nil {
		t.Errorf("process lock beside pull's = %v", err)
	}
	a.Release()
	b.Release()
	c, err := TakeLock(d, "haproxystats-pull")
	if err != nil {
		t.Errorf("lock after release = %v", err)
	}
	c.Release()
	if n, _ := Count(d); n != 0 {
		t.Errorf("the lock files count as %d snapshots", n)
	}
	if _, err := TakeLock(filepath.Join(d, "missing"), "x"); err == nil {
		t.Error("lock in a missing directory: no error")
	}
}
