package stats

import (
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// An Encoder is the Target that writes the datapoints of Daemon,
// Frontends, Backends and Servers directly as Graphite plaintext lines:
// exactly the bytes that
// metric.Metric.AppendLine gives for the metrics those functions return,
// in the same order, but without building a metric.Metric or a path
// string for any of them. For a large configuration those are most of
// the memory and time of a snapshot (make bench shows both paths).
//
// An Encoder made with a nil writer keeps every line in memory, for
// Bytes. One made with a writer holds at most about FlushSize bytes and
// writes whole lines: each Write call gets complete lines, so a snapshot
// can be streamed to a connection in bounded memory. After a write error
// the Encoder discards its output and every method returns that error.
//
// An Encoder is not safe for concurrent use; use one per snapshot.
type Encoder struct {
	w     io.Writer
	size  int // writes happen once buf reaches size bytes
	buf   []byte
	lines int
	err   error

	st   stems
	ts   int64  // of tail
	tail []byte // " <ts>\n"
}

// FlushSize is how many bytes of lines an Encoder with a writer gathers
// before writing them: the size of the Graphite sender's chunks.
const FlushSize = 64 << 10

// NewEncoder returns an Encoder that writes to w, or keeps every line in
// memory when w is nil.
func NewEncoder(w io.Writer) *Encoder {
	e := &Encoder{}
	e.Reset(w)
	if w != nil {
		e.buf = make([]byte, 0, FlushSize+1024)
	}
	return e
}

// Row implements Target.
func (e *Encoder) Row(r Row) {
	e.st.set(&r)
	if r.Time != e.ts || len(e.tail) == 0 {
		e.ts = r.Time
		e.tail = append(e.tail[:0], ' ')
		e.tail = strconv.AppendInt(e.tail, r.Time, 10)
		e.tail = append(e.tail, '\n')
	}
}

// Value implements Target: one line per head of the row, as
// metric.Metric.AppendLine formats it.
func (e *Encoder) Value(field string, v float64) {
	if e.err != nil {
		return
	}
	for i := range e.st.n {
		e.buf = append(e.buf, e.st.stem(i)...)
		e.buf = append(e.buf, field...)
		e.buf = append(e.buf, ' ')
		e.buf = metric.AppendValue(e.buf, v)
		e.buf = append(e.buf, e.tail...)
		e.lines++
	}
	if len(e.buf) >= e.size {
		e.buf = e.write(e.buf)
	}
}

// grow makes room for n lines in memory; an Encoder that writes as it
// goes holds about FlushSize bytes whatever n is.
func (e *Encoder) grow(n, width int) {
	if e.w == nil {
		e.buf = slices.Grow(e.buf, n*(width+lineTail))
	}
}

// Daemon writes the lines Daemon gives. On error nothing is written.
func (e *Encoder) Daemon(infos []File, ts int64, o *Options) error {
	if e.err != nil {
		return e.err
	}
	if err := WalkDaemon(e, infos, ts, o); err != nil {
		return err
	}
	return e.err
}

// Frontends writes the lines s.Frontends gives.
func (e *Encoder) Frontends(s *Sites, ts int64, o *Options) error {
	if e.err == nil {
		s.WalkFrontends(e, ts, o)
	}
	return e.err
}

// Backends writes the lines s.Backends gives.
func (e *Encoder) Backends(s *Sites, ts int64, o *Options) error {
	if e.err == nil {
		s.WalkBackends(e, ts, o)
	}
	return e.err
}

// Servers writes the lines s.Servers gives.
func (e *Encoder) Servers(s *Sites, ts int64, o *Options) error {
	if e.err == nil {
		s.WalkServers(e, ts, o)
	}
	return e.err
}

// Metric writes the line of m, such as a self-statistic.
func (e *Encoder) Metric(m metric.Metric) error {
	if e.err == nil {
		e.lines++
		e.buf = m.AppendLine(e.buf)
		if len(e.buf) >= e.size {
			e.buf = e.write(e.buf)
		}
	}
	return e.err
}

// Flush writes the lines still held to the writer. It does nothing for
// an Encoder without one.
func (e *Encoder) Flush() error {
	if e.err == nil && len(e.buf) > 0 {
		e.buf = e.write(e.buf)
	}
	return e.err
}

// Err returns the first write error; after it the Encoder drops what it
// is given.
func (e *Encoder) Err() error { return e.err }

// Lines returns how many lines were encoded so far, written or not.
func (e *Encoder) Lines() int { return e.lines }

// Bytes returns the lines not written yet: for an Encoder without a
// writer, every line. The slice is valid until the next call.
func (e *Encoder) Bytes() []byte { return e.buf }

// Reset empties the Encoder and makes it write to w, keeping its buffers.
func (e *Encoder) Reset(w io.Writer) {
	*e = Encoder{w: w, size: math.MaxInt, buf: e.buf[:0], st: stems{buf: e.st.buf[:0]}, tail: e.tail[:0]}
	if w != nil {
		e.size = FlushSize
	}
}

// write hands b to the writer and returns b emptied, or keeps b when
// there is no writer. After an error the lines are dropped.
func (e *Encoder) write(b []byte) []byte {
	if e.w == nil {
		return b
	}
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
	return b[:0]
}
