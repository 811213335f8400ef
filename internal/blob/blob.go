// Package blob keeps bytes that may be big (a show stat reply of 10 000
// servers, a fleet record, a compressed exposition) in memory or in a
// file, and reads them the same way: a *Blob is an io.ReaderAt of a
// known Size with an explicit end (Release). Where bytes go is decided in
// one place, Spill, at one threshold; nothing is closed by the garbage
// collector.
package blob

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// A Blob is bytes in memory, in a file, or both (the first bytes in the
// file, the last ones in memory while they are written). It is written
// once, by one goroutine, then read by any number (ReadAt is safe for
// concurrent use once Done was called). It holds references: the last
// Release closes its file and drops its memory.
type Blob struct {
	spill  *Spill   // nil: never moves to a file
	f      *os.File // nil: every byte is in memory
	onFile int64    // the bytes [0, onFile) are in f
	slab   []byte   // the bytes being written, [end-len(slab), end)
	kept   []kept   // bytes in memory that are not in f, in order
	end    int64    // the size
	err    error    // why bytes that were to go to a file are in memory
	done   bool
	refs   atomic.Int32
}

type kept struct {
	off int64
	b   []byte
}

// slabSize is how many bytes are gathered in memory before they go to
// the file in one write.
const slabSize = 256 << 10

// Bytes returns a Blob holding p, in memory, without copying it; p must
// not change afterwards. It holds one reference.
func Bytes(p []byte) *Blob {
	b := &Blob{end: int64(len(p)), done: true}
	if len(p) > 0 {
		b.kept = []kept{{b: p}}
	}
	b.refs.Store(1)
	return b
}

// File returns a Blob of the first size bytes of f, which it owns: the
// last Release closes it. It holds one reference.
func File(f *os.File, size int64) *Blob {
	b := &Blob{f: f, onFile: size, end: size, done: true}
	b.refs.Store(1)
	return b
}

// Spill decides where the bytes of the Blobs it makes go: in memory
// until a Blob holds Threshold bytes, then, with all its bytes so far,
// to a file with no name in Dir, so that they are in the page cache,
// which the kernel writes back and drops when it needs the memory, and
// not on the heap. When the file cannot be made or written (a full
// disk), the bytes stay in memory and the log says so once until a file
// is written again. The zero Spill keeps everything in memory.
type Spill struct {
	Dir       string // "": memory only
	Threshold int64  // bytes from which a Blob is in a file; 0: from its first write
	What      string // what the bytes are, for the log: "big replies", "the exposition"
	Log       *slog.Logger
	failed    atomic.Bool
}

// New returns an empty Blob to Write to, then call Done. It holds one
// reference.
func (s *Spill) New() *Blob {
	b := &Blob{spill: s}
	b.refs.Store(1)
	return b
}

// Copy returns a Blob holding a copy of p (in a file if p is at least
// Threshold bytes).
func (s *Spill) Copy(p []byte) *Blob {
	b := s.New()
	if int64(len(p)) < s.Threshold || s.Dir == "" {
		b.slab = make([]byte, 0, len(p)) // one allocation of the right size
	}
	b.Write(p)
	b.Done()
	return b
}

// failedWrite notes that err keeps bytes in memory, and logs it once
// until a file is written again.
func (s *Spill) failedWrite(err error) {
	if !s.failed.Swap(true) && s.Log != nil {
		s.Log.Warn(s.What+" kept in memory until a file can be written", "dir", s.Dir, "err", err)
	}
}

// wrote notes that a file was written: a later failure is logged again.
func (s *Spill) wrote() {
	if s.failed.Swap(false) && s.Log != nil {
		s.Log.Info(s.What+" written to a file again", "dir", s.Dir)
	}
}

// Write appends p. It never fails: bytes a file cannot take stay in
// memory (Err says why).
func (b *Blob) Write(p []byte) (int, error) {
	if b.done {
		panic("BUG: blob: Write after Done")
	}
	n := len(p)
	for len(p) > 0 {
		room := max(slabSize, cap(b.slab)) - len(b.slab)
		if room == 0 {
			b.seal()
			continue
		}
		k := min(room, len(p))
		b.slab = append(b.slab, p[:k]...)
		b.end += int64(k)
		p = p[k:]
	}
	return n, nil
}

// WriteString is Write for a string.
func (b *Blob) WriteString(s string) (int, error) {
	n := len(s)
	for len(s) > 0 {
		k := min(len(s), slabSize)
		b.Write([]byte(s[:k]))
		s = s[k:]
	}
	return n, nil
}

// Done ends the writing: the Blob is read from now on.
func (b *Blob) Done() {
	if b.done {
		return
	}
	b.seal()
	b.done = true
	b.slab = nil
}

// seal moves the slab being filled out of the way: to the file when the
// Blob is there or reaches its Spill's threshold, else into kept.
func (b *Blob) seal() {
	if len(b.slab) == 0 {
		return
	}
	if b.f == nil && b.err == nil && b.spill != nil && b.spill.Dir != "" && b.end >= b.spill.Threshold {
		b.toFile()
	}
	if b.f != nil && b.err == nil && b.onFile == b.end-int64(len(b.slab)) {
		_, err := b.f.Write(b.slab)
		if err == nil {
			b.onFile = b.end
			b.slab = b.slab[:0] // reused
			b.spill.wrote()
			return
		}
		b.fail(fmt.Errorf("write %s: %w", b.f.Name(), err))
	}
	b.kept = append(b.kept, kept{off: b.end - int64(len(b.slab)), b: b.slab})
	b.slab = nil
}

// toFile makes the Blob's file and writes there what it kept in memory.
func (b *Blob) toFile() {
	f, err := files.UnnamedFile(b.spill.Dir)
	if err != nil {
		b.fail(err)
		return
	}
	b.f = f
	for _, k := range b.kept {
		if _, err := f.Write(k.b); err != nil {
			b.fail(fmt.Errorf("write %s: %w", f.Name(), err))
			return
		}
		b.onFile += int64(len(k.b))
	}
	b.kept = nil
}

// fail keeps what is not in the file in memory from now on.
func (b *Blob) fail(err error) {
	b.err = err
	if b.spill != nil {
		b.spill.failedWrite(err)
	}
}

// Size returns how many bytes the Blob holds.
func (b *Blob) Size() int64 { return b.end }

// InFile reports whether some of the Blob's bytes are in a file.
func (b *Blob) InFile() bool { return b.onFile > 0 }

// Err returns why bytes meant for a file are in memory, or nil.
func (b *Blob) Err() error { return b.err }

// ErrReleased is the error of reading a Blob after its last Release.
var ErrReleased = errors.New("blob: read after its last release")

// ReadAt reads the Blob's bytes from off.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	if b.refs.Load() <= 0 {
		return 0, ErrReleased
	}
	n := 0
	for n < len(p) {
		if off >= b.end {
			return n, io.EOF
		}
		var k int
		if off < b.onFile {
			m := min(int64(len(p)-n), b.onFile-off)
			var err error
			if k, err = b.f.ReadAt(p[n:n+int(m)], off); err != nil && k < int(m) {
				return n + k, fmt.Errorf("read %s: %w", b.f.Name(), err)
			}
		} else if m := b.inMemory(off); m != nil {
			k = copy(p[n:], m)
		} else {
			panic(fmt.Sprintf("BUG: blob: offset %d of %d in neither file (%d bytes) nor memory", off, b.end, b.onFile))
		}
		n += k
		off += int64(k)
	}
	return n, nil
}

// inMemory returns the bytes from off to the end of the piece in memory
// that holds off, or nil.
func (b *Blob) inMemory(off int64) []byte {
	for _, k := range b.kept {
		if off >= k.off && off < k.off+int64(len(k.b)) {
			return k.b[off-k.off:]
		}
	}
	if base := b.end - int64(len(b.slab)); off >= base {
		return b.slab[off-base:]
	}
	return nil
}

// ReadAll returns the Blob's bytes: the memory itself when they are in
// one piece there, else a copy.
func (b *Blob) ReadAll() ([]byte, error) {
	if p, ok := b.InMemory(); ok {
		return p, nil
	}
	p := make([]byte, b.end)
	_, err := b.ReadAt(p, 0)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return p, err
}

// Retain adds a reference and returns b.
func (b *Blob) Retain() *Blob {
	if !b.retain() {
		panic("BUG: blob: Retain after the last Release")
	}
	return b
}

// retain adds a reference unless the last was given back.
func (b *Blob) retain() bool {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back a reference; the last closes the file and drops the
// memory.
func (b *Blob) Release() {
	switch n := b.refs.Add(-1); {
	case n < 0:
		panic("BUG: blob: Release of a blob already released")
	case n == 0:
		if b.f != nil {
			b.f.Close()
		}
		b.kept, b.slab = nil, nil
	}
}

// InMemory returns the Blob's bytes when they are in memory in one piece
// (what stats.Builder scans in place).
func (b *Blob) InMemory() ([]byte, bool) {
	if b.onFile == 0 && b.done && len(b.kept) <= 1 && b.refs.Load() > 0 {
		if len(b.kept) == 0 {
			return []byte{}, true
		}
		return b.kept[0].b, true
	}
	return nil, false
}
