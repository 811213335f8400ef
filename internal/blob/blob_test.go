package blob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// content is n bytes that differ from one offset to the next, so that a
// piece read from the wrong place shows.
func content(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// readBack reads b whole through ReadAt in pieces of k bytes.
func readBack(t *testing.T, b *Blob, k int) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, k)
	for off := int64(0); off < b.Size(); {
		n, err := b.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d): %v", off, err)
		}
		if n == 0 {
			t.Fatalf("ReadAt(%d) read nothing", off)
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
	return out
}

func TestSpillThreshold(t *testing.T) {
	for _, c := range []struct {
		name      string
		size      int
		threshold int64
		dir       bool
		inFile    bool
	}{
		{"small stays in memory", 1000, 1 << 20, true, false},
		{"below the threshold over several slabs", 3*slabSize + 5, 4 * slabSize, true, false},
		{"crosses the threshold", 3*slabSize + 5, slabSize, true, true},
		{"threshold 0: a file from the first byte", 10, 0, true, true},
		{"no directory: memory whatever the size", 3*slabSize + 5, 0, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Spill{Threshold: c.threshold}
			if c.dir {
				s.Dir = t.TempDir()
			}
			want := content(c.size)
			b := s.New()
			for p := want; len(p) > 0; { // written in uneven pieces
				k := min(len(p), 1000+len(p)%4099)
				if n, err := b.Write(p[:k]); n != k || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				p = p[k:]
			}
			b.Done()
			if b.Size() != int64(c.size) || b.InFile() != c.inFile || b.Err() != nil {
				t.Errorf("size %d, in file %v, err %v; want %d, %v, nil", b.Size(), b.InFile(), b.Err(), c.size, c.inFile)
			}
			for _, k := range []int{1, 7, 4096, 1 << 20} {
				if got := readBack(t, b, k); !bytes.Equal(got, want) {
					t.Fatalf("read in pieces of %d: bytes differ", k)
				}
			}
			if got, err := b.ReadAll(); err != nil || !bytes.Equal(got, want) {
				t.Errorf("ReadAll: %v, equal %v", err, bytes.Equal(got, want))
			}
			if c.inFile && len(b.kept) != 0 {
				t.Errorf("%d pieces kept in memory beside the file", len(b.kept))
			}
			if c.dir { // the file has no name
				if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
					t.Errorf("files with a name left in the spill directory: %v", entries)
				}
			}
		})
	}
}

func TestCopy(t *testing.T) {
	s := &Spill{Dir: t.TempDir(), Threshold: 100}
	for _, n := range []int{0, 99, 100, 3 * slabSize} {
		p := content(n)
		b := s.Copy(p)
		if got, err := b.ReadAll(); err != nil || !bytes.Equal(got, p) || b.InFile() != (n >= 100) {
			t.Errorf("Copy of %d bytes: %v, equal %v, in file %v", n, err, bytes.Equal(got, p), b.InFile())
		}
		b.Release()
	}
}

// A directory where no file can be made keeps the bytes in memory, says
// why, and logs it once until a file is written again.
func TestSpillFailure(t *testing.T) {
	var logs strings.Builder
	s := &Spill{Dir: filepath.Join(t.TempDir(), "missing"), What: "big replies", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 3 {
		p := content(2*slabSize + 1)
		b := s.Copy(p)
		if got, _ := b.ReadAll(); !bytes.Equal(got, p) || b.InFile() || b.Err() == nil {
			t.Fatalf("equal %v, in file %v, err %v", bytes.Equal(got, p), b.InFile(), b.Err())
		}
	}
	if n := strings.Count(logs.String(), "kept in memory"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if b := s.Copy(content(10)); !b.InFile() {
		t.Error("a file could be made again, but the bytes are in memory")
	}
	if b := s.Copy(content(10)); os.Remove(s.Dir) != nil || b.InFile() != true {
		t.Error("second blob not in a file")
	}
	s.Copy(content(10))
	if n := strings.Count(logs.String(), "kept in memory"); n != 2 {
		t.Errorf("after a file was written again, a new failure logged %d times in all, want 2", n)
	}
	if n := strings.Count(logs.String(), "big replies written to a file again"); n != 1 {
		t.Errorf("the return to files logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestReleaseAndRetain(t *testing.T) {
	s := &Spill{Dir: t.TempDir()}
	b := s.Copy(content(10))
	b.Retain()
	b.Release()
	if _, err := b.ReadAt(make([]byte, 1), 0); err != nil {
		t.Fatalf("read while a reference is held: %v", err)
	}
	f := b.f
	b.Release()
	if _, err := b.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrReleased) {
		t.Errorf("read after the last release = %v, want ErrReleased", err)
	}
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("file after the last release: %v, want closed", err)
	}
	for what, f := range map[string]func(){"Release": b.Release, "Retain": func() { b.Retain() }, "Write": func() { b.Write([]byte("x")) }} {
		func() {
			defer func() {
				if x := recover(); x == nil || !strings.HasPrefix(x.(string), "BUG:") {
					t.Errorf("%s after the last release: recovered %v, want a BUG panic", what, x)
				}
			}()
			f()
		}()
	}
}

func TestBytesAndFile(t *testing.T) {
	if got, _ := Bytes([]byte("xy")).ReadAll(); string(got) != "xy" {
		t.Errorf("Bytes: %q", got)
	}
	if b := Bytes(nil); b.Size() != 0 {
		t.Errorf("Bytes(nil) size %d", b.Size())
	}
	path := filepath.Join(t.TempDir(), "a_stat")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b := File(f, 4) // the first bytes only
	if got, err := b.ReadAll(); err != nil || string(got) != "0123" || b.Size() != 4 || !b.InFile() {
		t.Errorf("File: %q, %v, size %d, in file %v", got, err, b.Size(), b.InFile())
	}
	b.Release()
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the file after the last release: %v, want closed", err)
	}
}

// A file that fails half-way (a full disk) keeps what it holds, and the
// bytes after it stay in memory: the blob reads back whole.
func TestFileFailingHalfWay(t *testing.T) {
	s := &Spill{Dir: t.TempDir()}
	want := content(5*slabSize + 3)
	b := s.New()
	b.Write(want[:2*slabSize+1])
	// The same file, open for reading only: what is written from now on
	// cannot go to it, what is in it can be read.
	ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", b.f.Fd())) // pathcheck: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	b.f.Close()
	b.f = ro
	b.Write(want[2*slabSize+1:])
	b.Done()
	if b.Err() == nil || !b.InFile() || len(b.kept) == 0 {
		t.Fatalf("err %v, in file %v, %d pieces in memory", b.Err(), b.InFile(), len(b.kept))
	}
	for _, k := range []int{1, 4096, 1 << 20} {
		if got := readBack(t, b, k); !bytes.Equal(got, want) {
			t.Fatalf("read in pieces of %d: bytes differ", k)
		}
	}
}

// A Reply opens what it holds, or what it makes from it; its source
// lives until the last holder lets go, and opening it after that is an
// error, not a read of freed bytes.
func TestReply(t *testing.T) {
	src := Bytes([]byte("compressed"))
	made := 0
	lazy := Lazy("a_stat", src, func(s *Blob) (*Blob, error) {
		made++
		p, err := s.ReadAll()
		return Bytes(bytes.ToUpper(p)), err
	})
	held := NewReply("a_info", Bytes([]byte("info")))
	for range 2 {
		if got, err := lazy.ReadAll(); err != nil || string(got) != "COMPRESSED" {
			t.Fatalf("lazy ReadAll = %q, %v", got, err)
		}
	}
	if got, err := held.ReadAll(); err != nil || string(got) != "info" {
		t.Fatalf("held ReadAll = %q, %v", got, err)
	}
	if made != 2 {
		t.Errorf("made %d times, want once per Open", made)
	}
	second := lazy.Retain()
	lazy.Release()
	if _, err := second.Open(); err != nil {
		t.Errorf("Open by the second holder: %v", err)
	}
	second.Release()
	if _, err := lazy.Open(); !errors.Is(err, ErrReleased) {
		t.Errorf("Open after the last Release = %v, want ErrReleased", err)
	}
	if made != 3 {
		t.Errorf("made %d times after the last Release, want 3", made)
	}
}
