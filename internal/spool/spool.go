// Package spool is the on-disk queue between haproxystats-pull and
// haproxystats-process. A snapshot is a directory named after the Unix
// second of its pull round, holding one `<socket>_info` and one
// `<socket>_stat` file per HAProxy stats socket and, on first contact
// with a socket or when its HAProxy version changed, its typed dumps
// `<socket>_infotyped` and `<socket>_stattyped`.
//
// The puller builds a snapshot in a staging directory, fsyncs its files,
// and commits it with one rename into the spool directory, then fsyncs the
// spool directory: a reader never sees a partial snapshot, and a committed
// one survives a crash. The processor removes a snapshot only after every
// sink accepted its metrics. Names that are not Unix seconds are ignored.
package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// Name returns the directory name of the snapshot taken at Unix second ts.
func Name(ts int64) string { return strconv.FormatInt(ts, 10) }

// ParseName returns the Unix second a snapshot directory name stands for,
// and false for any name that is not one (hidden files, "failed", ...).
func ParseName(name string) (int64, bool) {
	if name == "" || len(name) > 19 {
		return 0, false
	}
	for _, c := range []byte(name) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(name, 10, 64)
	return ts, err == nil
}

// Scan returns the paths of the snapshot directories in dir, oldest first.
func Scan(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scan spool %s: %w", dir, err)
	}
	type snap struct {
		ts   int64
		path string
	}
	var snaps []snap
	for _, e := range entries {
		ts, ok := ParseName(e.Name())
		if !ok {
			continue
		}
		// A directory, or a symlink named as one: pull never writes a
		// link, so Load refuses it and process quarantines it rather
		// than follow it somewhere else.
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		snaps = append(snaps, snap{ts, filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(snaps, func(a, b snap) int { return int(max(-1, min(1, a.ts-b.ts))) })
	paths := make([]string, len(snaps))
	for i, s := range snaps {
		paths[i] = s.path
	}
	return paths, nil
}

// Count returns how many snapshot directories wait in dir.
func Count(dir string) (int, error) {
	paths, err := Scan(dir)
	return len(paths), err
}

// ErrExists means a snapshot with the same name is already in the spool,
// which happens only when the clock went backwards.
var ErrExists = errors.New("a snapshot with that name is already queued")

// Commit moves the complete snapshot directory tmp into spoolDir under
// its own base name, and makes the rename durable. tmp's files must have
// been synced already (see files.SyncDir). tmp and spoolDir must be on the same
// filesystem, so that the move is one atomic rename.
func Commit(tmp, spoolDir string) (string, error) {
	dst := filepath.Join(spoolDir, filepath.Base(tmp))
	if _, err := os.Lstat(dst); err == nil {
		return "", fmt.Errorf("commit snapshot %s: %w", dst, ErrExists)
	}
	if err := files.SyncDir(tmp); err != nil {
		return "", fmt.Errorf("commit snapshot %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("commit snapshot: %w", err)
	}
	if err := files.SyncDir(spoolDir); err != nil {
		return dst, fmt.Errorf("commit snapshot %s: %w", dst, err)
	}
	return dst, nil
}

// Clean removes every snapshot directory left in a staging directory by
// a crash or a kill, and returns their paths.
func Clean(tmpDir string) ([]string, error) {
	entries, err := os.ReadDir(tmpDir)
	if err != nil {
		return nil, fmt.Errorf("clean %s: %w", tmpDir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if _, ok := ParseName(e.Name()); !ok {
			continue
		}
		p := filepath.Join(tmpDir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("remove leftover %s: %w", p, err))
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// Remove deletes a processed snapshot and makes the removal durable.
// A snapshot that is already gone is not an error.
func Remove(snapshot string) error {
	if err := os.RemoveAll(snapshot); err != nil {
		return fmt.Errorf("remove snapshot: %w", err)
	}
	return files.SyncDir(filepath.Dir(snapshot))
}

// Quarantine moves a snapshot that cannot be processed into failedDir,
// creating it, so that it is kept for inspection and out of the queue.
func Quarantine(snapshot, failedDir string) (string, error) {
	if err := os.MkdirAll(failedDir, 0o755); err != nil {
		return "", fmt.Errorf("quarantine %s: %w", snapshot, err)
	}
	dst := filepath.Join(failedDir, filepath.Base(snapshot))
	if _, err := os.Lstat(dst); err == nil {
		dst += "." + strconv.Itoa(os.Getpid())
	}
	if err := os.Rename(snapshot, dst); err != nil {
		return "", fmt.Errorf("quarantine %s: %w", snapshot, err)
	}
	return dst, files.SyncDir(filepath.Dir(snapshot))
}

// A Lock is held by the one daemon of a kind working on a spool
// directory: a second haproxystats-pull on the same dst-dir would commit
// rounds half-pulled by the first, a second haproxystats-process on the
// same src-dir would send every snapshot twice.
type Lock struct{ f *os.File }

// LockFile is the name of the lock file that the daemon called who takes
// in a spool directory: hidden, so that no reader takes it for a
// snapshot.
func LockFile(who string) string { return "." + who + ".lock" }

// TakeLock takes the lock of who on the spool directory dir, without
// waiting: flock on dir/LockFile(who), which then holds the pid of its
// holder. When another process holds it, the error names that process's
// pid and the file. The kernel lets go of the lock when the process
// ends, however it ends.
//
// The spool may be writable by others than the daemon, so the lock file
// is opened as the files of a snapshot are: never through a symlink,
// without blocking on a FIFO, and only when it is a regular file
// (files.ErrNotRegular otherwise). A link planted there would otherwise have
// its target, any file the daemon may write, truncated to the pid; a
// dangling one would create its target.
func TakeLock(dir, who string) (*Lock, error) {
	path := filepath.Join(dir, LockFile(who))
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o644)
	if errors.Is(err, unix.ELOOP) {
		err = files.ErrNotRegular // a symlink
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = files.ErrNotRegular
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("another %s (pid %s) is working on %s: it holds the lock %s", who, pid, dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f}, nil
}

// Release lets go of the lock; the file stays, for the next holder.
func (l *Lock) Release() error { return l.f.Close() }
