// Package files is the file toolbox of the daemons: files opened only
// when regular and without blocking, read within a bound, written
// atomically, state kept as JSON, and files with no name for bytes that
// need not be on the heap. It knows nothing of snapshots or queues.
package files

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotRegular means a file is not a regular file: a symlink, a FIFO,
// a device or a directory. Reading one could block for ever or read
// without end, so none is ever opened.
var ErrNotRegular = errors.New("not a regular file")

// Open opens a file for reading: only a regular file,
// never through a symlink, and without blocking on a FIFO or a device
// (O_NOFOLLOW|O_NONBLOCK, then fstat), so that a file swapped after it
// was listed is refused too. The error is then ErrNotRegular.
func Open(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		err = ErrNotRegular // a symlink
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads the file at path whole, opened with Open, refusing one
// over maxSize bytes (ErrTooBig) before it reads it.
func ReadFile(path string, maxSize int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadOpen(f, path, nil, maxSize)
}

// WriteSynced writes what w writes to the file at path, opened with
// flag (os.O_WRONLY and os.O_CREATE are added) and perm, through a 64
// KiB buffer, then syncs and closes it. It returns the first error.
func WriteSynced(path string, flag int, perm fs.FileMode, w io.WriterTo) error {
	f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, perm)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	_, err = w.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFileAtomic replaces the file at path with data, so that a crash
// leaves either the old contents or the new, never a mix: a temporary
// file in the same directory is written, fsynced, closed and renamed
// over path, and the directory is fsynced.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// ReadState decodes the JSON state file at path into v. A file that does
// not exist, or an empty path, leaves v as it is: (false, nil). A corrupt
// file is an error naming it: the caller decides.
func ReadState(path string, v any) (bool, error) {
	if path == "" {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return false, fmt.Errorf("read state %s: %w", path, err)
	}
	return true, nil
}

// WriteState writes v as JSON into the state file at path with
// WriteFileAtomic; an empty path keeps the state in memory only.
func WriteState(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write state %s: %w", path, err)
	}
	return WriteFileAtomic(path, b, 0o644)
}

// ReadOpen reads f, the open file at path, whole into buf,
// grown as needed, after refusing one over maxSize bytes (CheckSize).
func ReadOpen(f *os.File, path string, buf []byte, maxSize int64) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := CheckSize(path, st.Size(), maxSize); err != nil {
		return nil, err
	}
	n := int(st.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf, nil
}

// ErrTooBig is a file over its bound (CheckSize).
var ErrTooBig = errors.New("too big")

// CheckSize refuses a file of size bytes over maxSize (0: no bound),
// with ErrTooBig.
func CheckSize(path string, size, maxSize int64) error {
	if maxSize > 0 && size > maxSize {
		return fmt.Errorf("%s is %d bytes, over its bound (%d): not read: %w", path, size, maxSize, ErrTooBig)
	}
	return nil
}

// UnnamedFile opens a file in dir that has no name, for bytes that need
// not be on the heap: O_TMPFILE, or where the filesystem has none, a
// file removed as soon as it is made. Its blocks are freed when it is
// closed.
func UnnamedFile(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
	}
	f, err := os.CreateTemp(dir, ".haproxystats-unnamed-*")
	if err != nil {
		return nil, fmt.Errorf("a file with no name in %s: %w", dir, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("a file with no name in %s: %w", dir, err)
	}
	return f, nil
}

// SyncDir fsyncs a directory, making the creation, rename or removal of
// its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// SameFilesystem reports an error when a and b are on different
// filesystems, where a rename is not atomic.
func SameFilesystem(a, b string) error {
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		return fmt.Errorf("stat %s: %w", a, err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		return fmt.Errorf("stat %s: %w", b, err)
	}
	if sa.Dev != sb.Dev {
		return fmt.Errorf("%s and %s are on different filesystems: a file could not move from one to the other with one atomic rename", a, b)
	}
	return nil
}
