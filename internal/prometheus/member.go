package prometheus

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/klauspost/compress/flate"
)

// A member is one gzip member (RFC 1952) written as its text is
// appended. The text is deflated every chunk bytes without state between
// chunks (flate.StatelessDeflate), so a member being written holds at most
// chunk bytes of text beside its compressed output: the exposition of
// 10 000 servers, 54 MB of text, is never in memory as text, only as its
// 4 MB of gzip. The compressed bytes go to an arena the members of one
// exposition share, so that they take no more room than they need.
type member struct {
	arena *arena
	text  []byte
	out   [][]byte // pieces of the arena, in order
	crc   uint32
	size  uint32 // ISIZE: the text's length modulo 2^32
}

// chunk is the text deflated at once. Measured on 10 000 servers: 16 KiB
// compresses to 4.06 MB where one gzip stream at BestSpeed gives 3.89 MB,
// in less time.
const chunk = 16 << 10

// gzipHeader is a member's header: deflate, no name, no time, OS unknown.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// empty reports whether nothing was written to m.
func (m *member) empty() bool { return len(m.text) == 0 && len(m.out) == 0 }

// header appends a family's HELP and TYPE lines to m.
func (m *member) header(name, help string, t typ) {
	m.room(2*len(name) + len(help) + 32)
	m.text = appendHeader(m.text, name, help, t)
}

// sample appends one line to m: see appendSample.
func (m *member) sample(name string, labels []byte, k, val string, v float64, ts []byte) {
	m.room(len(name) + len(labels) + len(k) + len(val) + 32 + len(ts))
	m.text = appendSample(m.text, name, labels, k, val, v, ts)
}

// room makes room for about n more bytes of text: the text grows up to a
// chunk, then is deflated each time it is one.
func (m *member) room(n int) {
	if len(m.text)+n <= cap(m.text) {
		return
	}
	if cap(m.text) >= chunk && len(m.text) > 0 {
		m.deflate(false)
		if n <= cap(m.text) {
			return
		}
	}
	grown := make([]byte, len(m.text), max(min(2*cap(m.text), chunk), 1<<10, len(m.text)+n))
	copy(grown, m.text)
	m.text = grown
}

func (m *member) deflate(last bool) {
	if len(m.out) == 0 {
		m.Write(gzipHeader[:])
	}
	m.crc = crc32.Update(m.crc, crc32.IEEETable, m.text)
	m.size += uint32(len(m.text))
	flate.StatelessDeflate(m, m.text, last, nil) // Write does not fail
	m.text = m.text[:0]
}

// Write appends compressed bytes to m's output in the arena.
func (m *member) Write(p []byte) (int, error) {
	piece := m.arena.put(p)
	if k := len(m.out) - 1; k >= 0 && adjacent(m.out[k], piece) {
		m.out[k] = m.out[k][:len(m.out[k])+len(piece)]
	} else {
		m.out = append(m.out, piece)
	}
	return len(p), nil
}

// adjacent reports whether b starts where a ends, in one slab.
func adjacent(a, b []byte) bool {
	return cap(a) > len(a) && len(b) > 0 && &a[:len(a)+1][len(a)] == &b[0]
}

// close ends m and returns its pieces.
func (m *member) close() [][]byte {
	m.deflate(true)
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], m.crc)
	binary.LittleEndian.PutUint32(trailer[4:], m.size)
	m.Write(trailer[:])
	out := m.out
	m.text, m.out = nil, nil
	return out
}

// An arena hands out pieces of slabs filled one after the other.
type arena struct{ slab []byte }

const slabSize = 256 << 10

// put copies p into the arena.
func (a *arena) put(p []byte) []byte {
	if len(p) > cap(a.slab)-len(a.slab) {
		a.slab = make([]byte, 0, max(slabSize, len(p)))
	}
	n := len(a.slab)
	a.slab = append(a.slab, p...)
	return a.slab[n:len(a.slab):cap(a.slab)]
}
