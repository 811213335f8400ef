package prometheus

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/haproxystats-go/haproxystats/internal/files"
)

// A store holds the compressed bytes of one exposition, as one stream the
// members put their pieces in, one after the other. It writes the stream
// to a file that has no name, in dir (beside the spool), one slab at a
// time: the 4 MB of gzip of 10 000 servers are then in the page cache,
// which the kernel writes back and drops when it needs the memory, and
// not on the daemon's heap, where the GC's headroom came on top of them
// through the parsing of the next snapshot. The slab being filled is the
// only one in memory. When the file cannot be made or written (a full
// disk), the slabs stay in memory, as they did before there was a file,
// and err says why.
type store struct {
	f      *os.File // nil: everything is in memory
	onFile int64    // the bytes [0, onFile) of the stream are in f
	slab   []byte   // the bytes [end-len(slab), end)
	kept   []kept   // slabs that are not in f, in order
	end    int64    // the stream's length
	err    error    // why the stream is not (all) in f
	refs   atomic.Int32
}

type kept struct {
	off int64
	b   []byte
}

const slabSize = 256 << 10

// newStore returns a store with its file in dir, or with none (and err
// set) when dir is "" or the file cannot be made. It holds one reference.
func newStore(dir string) *store {
	s := &store{}
	s.refs.Store(1)
	if dir != "" {
		s.f, s.err = files.UnnamedFile(dir)
	}
	return s
}

// put appends p to the stream and returns where it starts.
func (s *store) put(p []byte) int64 {
	if len(p) > cap(s.slab)-len(s.slab) {
		s.seal()
		if cap(s.slab) < max(slabSize, len(p)) {
			s.slab = make([]byte, 0, max(slabSize, len(p)))
		}
	}
	off := s.end
	s.slab = append(s.slab, p...)
	s.end += int64(len(p))
	return off
}

// seal moves the slab being filled to the file, or, when there is no
// file or it could not be written, keeps it and starts a new one.
func (s *store) seal() {
	if len(s.slab) == 0 {
		return
	}
	if s.f != nil && s.err == nil {
		_, err := s.f.Write(s.slab)
		if err == nil {
			s.onFile += int64(len(s.slab))
			s.slab = s.slab[:0] // reused
			return
		}
		s.err = fmt.Errorf("writing the exposition to %s: %w", s.f.Name(), err)
	}
	s.kept = append(s.kept, kept{off: s.end - int64(len(s.slab)), b: s.slab})
	s.slab = nil
}

// done ends the writing: the last slab goes to the file.
func (s *store) done() {
	s.seal()
	if s.err == nil {
		s.slab = nil
	}
}

// ReadAt reads the stream.
func (s *store) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		if off >= s.end {
			return n, io.EOF
		}
		var k int
		if off < s.onFile {
			m := min(int64(len(p)-n), s.onFile-off)
			var err error
			if k, err = s.f.ReadAt(p[n:n+int(m)], off); err != nil && k < int(m) {
				return n + k, fmt.Errorf("reading the exposition from %s: %w", s.f.Name(), err)
			}
		} else if b := s.inMemory(off); b != nil {
			k = copy(p[n:], b)
		} else {
			return n, errors.New("exposition: offset out of its slabs")
		}
		n += k
		off += int64(k)
	}
	return n, nil
}

// inMemory returns the bytes from off to the end of the slab in memory
// that holds off, or nil.
func (s *store) inMemory(off int64) []byte {
	for _, kp := range s.kept {
		if off >= kp.off && off < kp.off+int64(len(kp.b)) {
			return kp.b[off-kp.off:]
		}
	}
	if base := s.end - int64(len(s.slab)); off >= base {
		return s.slab[off-base:]
	}
	return nil
}

// acquire takes a reference for a reader; release gives one back, and
// the last closes the file.
func (s *store) acquire() { s.refs.Add(1) }

func (s *store) release() {
	if s.refs.Add(-1) == 0 && s.f != nil {
		s.f.Close()
	}
}
