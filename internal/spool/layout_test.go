package spool

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

func TestFileNameAndKindOf(t *testing.T) {
	for _, c := range []struct {
		socket string
		kind   Kind
		name   string
	}{
		{"admin1.sock", Info, "admin1.sock_info"},
		{"admin1.sock", Stat, "admin1.sock_stat"},
		{"m.sock@123", InfoTyped, "m.sock@123_infotyped"},
		{"127.0.0.1:9000", StatTyped, "127.0.0.1:9000_stattyped"},
	} {
		if got := FileName(c.socket, c.kind); got != c.name {
			t.Errorf("FileName(%q, %d) = %q, want %q", c.socket, c.kind, got, c.name)
		}
		k, socket, ok := KindOf(c.name)
		if !ok || k != c.kind || socket != c.socket {
			t.Errorf("KindOf(%q) = %d, %q, %v; want %d, %q", c.name, k, socket, ok, c.kind, c.socket)
		}
	}
	for _, name := range []string{"", ".pull-stats", ".a_info", "_info", "_stat", "a_information", "a.sock", "manifest"} {
		if k, s, ok := KindOf(name); ok {
			t.Errorf("KindOf(%q) = %d, %q, true; want no kind", name, k, s)
		}
	}
}

// pathcheck: values only, paths computed, never opened.
func TestLayoutOf(t *testing.T) {
	want := Layout{
		Failed:        "/srv/hs/failed",
		Sent:          "/srv/hs/sent",
		CountersState: "/srv/hs/counters.state",
		NaturesState:  "/srv/hs/natures.state",
		Scratch:       "/srv/hs",
	}
	for _, dir := range []string{"/srv/hs/incoming", "/srv/hs/incoming/", "/srv/hs/./incoming"} {
		if got := LayoutOf(dir); got != want {
			t.Errorf("LayoutOf(%q) = %+v, want %+v", dir, got, want)
		}
	}
}

// A snapshot as pull writes it, with what pull never writes beside it.
func TestLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "1500000000")
	mkdirs(t, dir, ".")
	files := map[string]string{
		"b.sock_info": "i", "a.sock_info": "i", "a.sock_stat": "s", "b.sock_stat": "s",
		"a.sock_infotyped": "it", "a.sock_stattyped": "st", ".x_stat": "hidden", "notes": "n",
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WritePullStats(dir, map[string]float64{"PullRounds": 3, "PullWallClockTime": 0.25}); err != nil {
		t.Fatal(err)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Dir != dir || l.Time != 1500000000 || l.Partial || l.Manifest != nil {
		t.Errorf("Load = %+v", l)
	}
	for k, want := range map[Kind][]string{
		Info: {"a.sock_info", "b.sock_info"}, Stat: {"a.sock_stat", "b.sock_stat"},
		InfoTyped: {"a.sock_infotyped"}, StatTyped: {"a.sock_stattyped"},
	} {
		if got := l.Names(k); !slices.Equal(got, want) {
			t.Errorf("Names(%d) = %q, want %q", k, got, want)
		}
	}
	if got := ParsePullStats(l.PullStats); got["PullRounds"] != 3 || got["PullWallClockTime"] != 0.25 || len(got) != 2 {
		t.Errorf("pull stats = %v", got)
	}

	if err := WriteManifest(dir, []string{"c.sock: connection refused", "d.sock: two\nlines"}); err != nil {
		t.Fatal(err)
	}
	l, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Partial || !slices.Equal(ParseManifest(l.Manifest), []string{"c.sock: connection refused", "d.sock: two lines"}) {
		t.Errorf("partial %v, manifest %q", l.Partial, l.Manifest)
	}

	if _, err := Load(filepath.Join(filepath.Dir(dir), "1500000001")); !errors.Is(err, ErrVanished) {
		t.Errorf("Load of a missing snapshot = %v, want ErrVanished", err)
	}
	mkdirs(t, filepath.Dir(dir), "not-a-snapshot")
	if _, err := Load(filepath.Join(filepath.Dir(dir), "not-a-snapshot")); err == nil || errors.Is(err, ErrVanished) {
		t.Errorf("Load of a directory not named like a snapshot = %v, want an error", err)
	}
	if os.Geteuid() != 0 { // root reads anything
		os.Chmod(filepath.Join(dir, PullStatsFile), 0)
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), PullStatsFile) {
			t.Errorf("Load with an unreadable %s = %v", PullStatsFile, err)
		}
	}
}

func TestPullStatsAndManifestFiles(t *testing.T) {
	dir := t.TempDir()
	if st, err := ReadPullStats(dir); st != nil || err != nil {
		t.Errorf("ReadPullStats without the file = %v, %v", st, err)
	}
	if m, ok, err := ReadManifest(dir); m != nil || ok || err != nil {
		t.Errorf("ReadManifest without the file = %v, %v, %v", m, ok, err)
	}
	want := map[string]float64{"A": 1, "B": 1e-6, "C": 123456789}
	if err := WritePullStats(dir, want); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, PullStatsFile))
	if string(b) != "A: 1\nB: 0.000001\nC: 123456789\n" {
		t.Errorf("%s holds %q", PullStatsFile, b)
	}
	got, err := ReadPullStats(dir)
	if err != nil || len(got) != len(want) || got["B"] != want["B"] || got["C"] != want["C"] {
		t.Errorf("ReadPullStats = %v, %v", got, err)
	}
	// What another writer could leave: skipped line by line.
	bad := ParsePullStats([]byte("ok: 2\nno colon\nbad: x\n: 3\nsp ace: 1\ndot.ted: 1\n"))
	if len(bad) != 1 || bad["ok"] != 2 {
		t.Errorf("ParsePullStats of malformed lines = %v", bad)
	}
	if err := WriteManifest(dir, nil); err != nil {
		t.Fatal(err)
	}
	if m, ok, err := ReadManifest(dir); m != nil || !ok || err != nil {
		t.Errorf("ReadManifest of an empty manifest = %v, %v, %v", m, ok, err)
	}
	if err := WritePullStats(filepath.Join(dir, "missing"), want); err == nil {
		t.Error("WritePullStats into a missing directory: no error")
	}
}

func TestCleanAndSameFilesystem(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, "tmp/1500000000", "tmp/1500000001/x", "tmp/keep")
	removed, err := Clean(filepath.Join(d, "tmp"))
	if err != nil || len(removed) != 2 {
		t.Fatalf("Clean = %v, %v", removed, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(d, "tmp")); len(entries) != 1 || entries[0].Name() != "keep" {
		t.Errorf("left after Clean: %v", entries)
	}
	if _, err := Clean(filepath.Join(d, "missing")); err == nil {
		t.Error("Clean of a missing directory: no error")
	}
	if err := files.SameFilesystem(d, filepath.Join(d, "tmp")); err != nil {
		t.Error(err)
	}
	if err := files.SameFilesystem(d, filepath.Join(d, "missing")); err == nil {
		t.Error("files.SameFilesystem with a missing directory: no error")
	}
	// /proc is another filesystem wherever these tests run.
	var st syscall.Stat_t
	if syscall.Stat("/proc/self", &st) == nil {
		if err := files.SameFilesystem(d, "/proc/self"); err == nil || !strings.Contains(err.Error(), "different filesystems") {
			t.Errorf("files.SameFilesystem across filesystems = %v", err)
		}
	}
}

func TestCountAndRemove(t *testing.T) {
	d := t.TempDir()
	mkdirs(t, d, "1500000000", "1500000001", "failed")
	if n, err := Count(d); n != 2 || err != nil {
		t.Errorf("Count = %d, %v", n, err)
	}
	if _, err := Count(filepath.Join(d, "missing")); err == nil {
		t.Error("Count of a missing directory: no error")
	}
	if err := Remove(filepath.Join(d, "1500000009")); err != nil {
		t.Errorf("Remove of a snapshot already gone = %v", err)
	}
	if _, err := Commit(filepath.Join(d, "missing"), d); err == nil {
		t.Error("Commit of a missing directory: no error")
	}
	// a quarantined name that is taken gets the pid
	mkdirs(t, d, "failed/1500000000")
	q, err := Quarantine(filepath.Join(d, "1500000000"), filepath.Join(d, "failed"))
	if err != nil || !strings.HasPrefix(filepath.Base(q), "1500000000.") {
		t.Errorf("Quarantine over a taken name = %q, %v", q, err)
	}
	if _, err := Quarantine(filepath.Join(d, "1500000001"), filepath.Join(d, "1500000001", "x", "y")); err == nil {
		t.Error("Quarantine into itself: no error")
	}
}

// What pull never writes where a reply or hidden file belongs: the
// snapshot is refused, naming the entry, before anything is opened.
func TestLoadRefusesIrregular(t *testing.T) {
	base := t.TempDir()
	fifo := filepath.Join(base, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, make := range map[string]func(path string) error{
		"a.sock_stat": func(p string) error { return os.Symlink(fifo, p) },
		"a.sock_info": func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"b.sock_stat": func(p string) error { return os.Mkdir(p, 0o755) },
		PullStatsFile: func(p string) error { return os.Symlink("/dev/zero", p) },
	} {
		dir := filepath.Join(base, name, "1500000000")
		mkdirs(t, dir, ".")
		if err := make(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "c.sock_stat"), []byte("x"), 0o644)
		_, err := Load(dir)
		if !errors.Is(err, files.ErrNotRegular) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Load = %v, want files.ErrNotRegular naming it", name, err)
		}
		if _, err := files.ReadFile(filepath.Join(dir, name), 1<<20); !errors.Is(err, files.ErrNotRegular) {
			t.Errorf("%s: ReadFile = %v, want files.ErrNotRegular", name, err)
		}
		if b, err := files.ReadFile(filepath.Join(dir, "c.sock_stat"), 1<<20); err != nil || string(b) != "x" {
			t.Errorf("ReadFile of a regular file = %q, %v", b, err)
		}
	}
}
