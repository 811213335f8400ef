package spool

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// A lock file planted as a symlink, dangling or not, or as a FIFO, is
// refused, naming the file: the link's target is neither truncated nor
// created, and taking the lock never blocks.
func TestLockRefusesWhatIsNotAFile(t *testing.T) {
	const who = "haproxystats-pull"
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, lock, target string)
	}{
		{"symlink", func(t *testing.T, lock, target string) {
			if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, lock, target string) {
			if err := os.Symlink(target, lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, lock, _ string) {
			if err := syscall.Mkfifo(lock, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, lock, _ string) {
			if err := os.Mkdir(lock, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, elsewhere := t.TempDir(), t.TempDir()
			lock, target := filepath.Join(dir, LockFile(who)), filepath.Join(elsewhere, "target")
			tc.plant(t, lock, target)
			before, beforeErr := os.ReadFile(target)
			l, err := TakeLock(dir, who)
			if err == nil {
				l.Release()
				t.Fatal("TakeLock took a lock file that is not a regular file")
			}
			if !errors.Is(err, files.ErrNotRegular) && !errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), lock) {
				t.Errorf("error %q: want files.ErrNotRegular naming %s", err, lock)
			}
			after, afterErr := os.ReadFile(target)
			if string(after) != string(before) || (beforeErr == nil) != (afterErr == nil) {
				t.Errorf("the link's target changed: %q (%v) -> %q (%v)", before, beforeErr, after, afterErr)
			}
		})
	}
}

// The lock still works where the file is a regular one: a second taker
// is refused with the holder's pid, and the holder's Release lets the
// next one in.
func TestLockHeldOnce(t *testing.T) {
	dir := t.TempDir()
	l, err := TakeLock(dir, "haproxystats-process")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TakeLock(dir, "haproxystats-process"); err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second TakeLock: %v, want refused naming pid %d", err, os.Getpid())
	}
	l.Release()
	l2, err := TakeLock(dir, "haproxystats-process")
	if err != nil {
		t.Fatalf("TakeLock after Release: %v", err)
	}
	l2.Release()
}
