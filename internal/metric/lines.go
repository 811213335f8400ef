package metric

import "io"

// Lines is the datapoints of one snapshot as Graphite plaintext lines,
// which can be written any number of times. Sinks that need only the
// lines (Graphite, local-store) take a snapshot this way, so that a large
// one is rendered as it is written instead of being held in memory as
// metrics: see the process package.
type Lines interface {
	// WriteTo writes every line to w, whole lines in each Write call, in
	// pieces of bounded size. Every call writes the same lines in the
	// same order: the Graphite sender resumes a batch on a new connection
	// by leaving out the lines an earlier one delivered. An error that is
	// not w's means the lines could not be rendered (a SourceError): w
	// may have got some of them.
	io.WriterTo
	// Len is how many lines WriteTo writes.
	Len() int
	// Time is the timestamp of every line.
	Time() int64
}

// Retained is implemented by Lines that hold something (the process
// daemon's snapshot directory) for as long as anyone may write them
// again. A sink that keeps a Lines after its Send returned calls Retain
// before Send returns, and Release once when it lets go of it for good.
type Retained interface {
	Retain()
	Release()
}

// SourceError is the error of a Lines that could not render its lines,
// as opposed to an error of the writer it wrote them to.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "render lines: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Slice is a Lines made of metrics held in memory; Time is that of the
// first one.
type Slice []Metric

// Len returns len(s).
func (s Slice) Len() int { return len(s) }

// Time returns the time of s[0], or 0 when s is empty.
func (s Slice) Time() int64 {
	if len(s) == 0 {
		return 0
	}
	return s[0].Time
}

// sliceChunk is how many bytes of lines Slice.WriteTo gathers per Write.
const sliceChunk = 64 << 10

// WriteTo writes the lines of s to w in pieces of about 64 KiB. When w
// has an AvailableBuffer (a *bufio.Writer), lines are formatted straight
// into it.
func (s Slice) WriteTo(w io.Writer) (int64, error) {
	type availableBuffer interface{ AvailableBuffer() []byte }
	var n int64
	if bw, ok := w.(availableBuffer); ok {
		for i := range s {
			m, err := w.Write(s[i].AppendLine(bw.AvailableBuffer()))
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
		return n, nil
	}
	buf := make([]byte, 0, sliceChunk+512)
	for i := range s {
		buf = s[i].AppendLine(buf)
		if len(buf) >= sliceChunk || i == len(s)-1 {
			m, err := w.Write(buf)
			n += int64(m)
			if err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	return n, nil
}
