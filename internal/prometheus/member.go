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
// 4 MB of gzip. The compressed bytes go to the store the members of one
// exposition share (store.go).
type member struct {
	store *store
	text  []byte
	pend  []byte // compressed bytes not yet in the store
	out   []span // pieces of the store's stream, in order
	crc   uint32
	size  uint32 // ISIZE: the text's length modulo 2^32
}

// pieceSize is the compressed bytes a member gathers before they go to
// the store as one piece: a scrape reads each piece from the store's
// file with one pread, a blocking system call, so pieces as small as the
// deflate of one chunk would make a scrape thousands of them
// (BenchmarkScrape shows the cost). The price is up to pieceSize per
// family being written.
const pieceSize = 16 << 10

// A span is a piece of a store's stream.
type span struct {
	off int64
	n   int
}

// chunk is the text deflated at once: large enough that deflating
// chunks without state between them compresses within a few percent of
// one gzip stream at BestSpeed, in less time (BenchmarkExpose).
const chunk = 16 << 10

// gzipHeader is a member's header: deflate, no name, no time, OS unknown.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// empty reports whether nothing was written to m.
func (m *member) empty() bool { return len(m.text) == 0 && len(m.pend) == 0 && len(m.out) == 0 }

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
	m.text = grow(m.text, n, 1<<10, chunk)
}

// grow returns b with room for n more bytes: its capacity doubled, at
// least floor and at most limit, or more when n needs it.
func grow(b []byte, n, floor, limit int) []byte {
	grown := make([]byte, len(b), max(min(2*cap(b), limit), floor, len(b)+n))
	copy(grown, b)
	return grown
}

func (m *member) deflate(last bool) {
	if len(m.out) == 0 && len(m.pend) == 0 {
		m.Write(gzipHeader[:])
	}
	m.crc = crc32.Update(m.crc, crc32.IEEETable, m.text)
	m.size += uint32(len(m.text))
	flate.StatelessDeflate(m, m.text, last, nil) // Write does not fail
	m.text = m.text[:0]
}

// Write appends compressed bytes to m's output, in the store once
// pieceSize of them are gathered.
func (m *member) Write(p []byte) (int, error) {
	if len(m.pend)+len(p) > cap(m.pend) {
		if len(m.pend) >= pieceSize/2 {
			m.flush()
		}
		if len(m.pend)+len(p) > cap(m.pend) {
			m.pend = grow(m.pend, len(p), 512, pieceSize)
		}
	}
	m.pend = append(m.pend, p...)
	return len(p), nil
}

// flush puts the gathered compressed bytes in the store.
func (m *member) flush() {
	if len(m.pend) == 0 {
		return
	}
	off := put(m.store, m.pend)
	if k := len(m.out) - 1; k >= 0 && m.out[k].off+int64(m.out[k].n) == off {
		m.out[k].n += len(m.pend)
	} else {
		m.out = append(m.out, span{off: off, n: len(m.pend)})
	}
	m.pend = m.pend[:0]
}

// close ends m and returns its pieces.
func (m *member) close() []span {
	m.deflate(true)
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], m.crc)
	binary.LittleEndian.PutUint32(trailer[4:], m.size)
	m.Write(trailer[:])
	m.flush()
	out := m.out
	m.text, m.pend, m.out = nil, nil, nil
	return out
}
