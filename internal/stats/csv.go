package stats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/haproxystats-go/haproxystats/internal/dump"
)

// The reasons a show stat reply is rejected, shared with the checker
// haproxystats-pull runs (package dump). They are wrapped in a
// *ParseError; test them with errors.Is.
var (
	ErrEmpty        = dump.ErrEmpty
	ErrNoHeader     = dump.ErrNoHeader
	ErrNoColumn     = dump.ErrNoColumn
	ErrFieldCount   = dump.ErrFieldCount
	ErrQuote        = dump.ErrQuote
	ErrNoName       = dump.ErrNoName
	ErrSecondHeader = dump.ErrSecondHeader
	ErrLongRecord   = dump.ErrLongRecord
)

// ParseError is a show stat reply that cannot be used, and why.
type ParseError = dump.ParseError

// stat is a show stat reply whose structure has been checked: it has a
// header, every record has as many fields as the header and every record
// has a proxy and a server name. Only then may its rows be aggregated, so
// a truncated or corrupt reply never contributes half its numbers.
//
// The reply is either all in memory (data) or read from src a window at
// a time, once to check it and once more to aggregate it: 64 KiB instead
// of the whole reply (4 MB for 10 000 servers) are then in memory.
type stat struct {
	data     []byte      // the whole reply; nil when it is read from src
	src      io.ReaderAt // the reply's size bytes, when data is nil
	size     int64
	win      []byte   // the window src is read through
	cols     []string // header names, "# " removed; "" for unnamed columns
	nf       int      // fields per record, the trailing empty one included
	body     int64    // offset of the first record after the header
	bodyLine int      // lines before body
	rows     int      // data records
	px, sv   int      // column indexes of pxname and svname
}

// window is the size a reply read from a file is read by, grown for a
// longer record. A line of show stat is under 2 KB.
const window = 64 << 10

// col returns the index of the first column called name, or -1.
func (s *stat) col(name string) int {
	for i, c := range s.cols {
		if c == name {
			return i
		}
	}
	return -1
}

// reader returns a reader positioned at offset off of s's reply, line
// lines into it.
func (s *stat) reader(off int64, line int) reader {
	if s.data != nil {
		return reader{data: s.data, pos: int(off), line: line}
	}
	return reader{data: s.win[:0], base: off, src: s.src, size: s.size, line: line}
}

// keepWindow keeps r's window, grown perhaps, for s's next read.
func (s *stat) keepWindow(r *reader) {
	if s.data == nil {
		s.win = r.data[:0]
	}
}

// scanStat checks the structure of a show stat reply (the CSV format of
// the HAProxy management guide, section 9.1): a first line starting with
// "# " naming the columns, then one record per line. Blank lines are
// skipped; fields may be double-quoted (HAProxy never quotes, but a quoted
// field may then hold commas, quotes or newlines). A record whose field
// count differs from the header's rejects the whole reply.
func scanStat(data []byte) (*stat, error) {
	return scan(&stat{data: data, size: int64(len(data))})
}

// scanFrom is scanStat for the size bytes of src, read through win
// (grown as needed; it is left in the stat, for its records and for the
// next reply). An error that is not a *ParseError is src's: the reply
// could not be read.
func scanFrom(src io.ReaderAt, size int64, win []byte) (*stat, error) {
	if cap(win) == 0 {
		win = make([]byte, 0, window)
	}
	return scan(&stat{src: src, size: size, win: win})
}

func scan(s *stat) (*stat, error) {
	if s.size == 0 {
		return nil, &ParseError{Err: ErrEmpty}
	}
	r := s.reader(0, 0)
	defer s.keepWindow(&r)
	// The header is the first non-blank line.
	for {
		line, begin, ok := r.nextLine()
		if !ok {
			if r.err != nil {
				return nil, r.err
			}
			return nil, &ParseError{Err: ErrNoHeader}
		}
		if len(trimCR(line)) == 0 {
			continue
		}
		if !bytes.HasPrefix(line, []byte("# ")) {
			return nil, &ParseError{Line: r.line, Err: ErrNoHeader}
		}
		r.pos, r.line = begin, r.line-1
		break
	}
	fields, line, err := r.record(true, -1)
	if err != nil {
		return nil, err
	}
	s.nf, s.body, s.bodyLine = len(fields), r.offset(), r.line
	s.cols = make([]string, len(fields))
	for i, f := range fields {
		s.cols[i] = string(f)
	}
	s.cols[0] = s.cols[0][len("# "):]
	if s.px, s.sv = s.col("pxname"), s.col("svname"); s.px < 0 || s.sv < 0 {
		missing := "pxname"
		if s.px >= 0 {
			missing = "svname"
		}
		return nil, &ParseError{Line: line, Err: fmt.Errorf("%w %s", ErrNoColumn, missing)}
	}
	names := max(s.px, s.sv) + 1
	for {
		fields, line, err := r.record(false, names)
		if err == errEOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		if r.hash {
			return nil, &ParseError{Line: line, Err: ErrSecondHeader}
		}
		if r.n != s.nf {
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: %d, header has %d", ErrFieldCount, r.n, s.nf)}
		}
		if len(fields[s.px]) == 0 || len(fields[s.sv]) == 0 {
			return nil, &ParseError{Line: line, Err: ErrNoName}
		}
		s.rows++
	}
}

// errChanged is a reply read from a file that no longer has the records
// it had when it was checked.
var errChanged = errors.New("the reply changed since it was checked")

// records calls fn for every data record of s, with fields holding at
// least the first want fields (all of them when want < 0). The slices are
// only valid during the call. s has been checked, so an error is only a
// reply read from src that could not be read again, or that changed.
func (s *stat) records(want int, fn func(fields [][]byte)) error {
	r := s.reader(s.body, s.bodyLine)
	defer s.keepWindow(&r)
	for {
		fields, line, err := r.record(true, want)
		if err == errEOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(fields) < want {
			return fmt.Errorf("%w: line %d has %d fields", errChanged, line, len(fields))
		}
		fn(fields)
	}
}

var errEOF = errors.New("EOF")

// reader splits CSV records out of a reply without copying unquoted
// fields: they are sub-slices of data.
type reader struct {
	data    []byte      // the reply, or the window of it read so far
	pos     int         // offset in data of the next unread byte
	base    int64       // offset in the reply of data[0]
	src     io.ReaderAt // where the rest of the reply is read from; nil: data is all of it
	size    int64       // the reply's size, when src is not nil
	err     error       // why src could not be read
	line    int         // number of lines started so far
	n       int         // field count of the last record
	hash    bool        // the last record starts with "# "
	fields  [][]byte
	scratch []byte // unquoted text of quoted records
	ends    []int  // field ends in scratch
}

// offset is the offset in the reply of the next unread byte.
func (r *reader) offset() int64 { return r.base + int64(r.pos) }

// more reads the next part of the reply into the window, keeping what
// follows pos (which becomes 0), and reports whether it read anything.
// The window doubles when what it keeps fills it. A read that fails sets
// err.
func (r *reader) more() bool {
	end := r.base + int64(len(r.data))
	if r.src == nil || r.err != nil || end >= r.size {
		return false
	}
	buf := r.data[:cap(r.data)]
	n := copy(buf, r.data[r.pos:])
	if n == len(buf) {
		buf = slices.Grow(buf, len(buf))
		buf = buf[:cap(buf)]
	}
	want := int(min(int64(len(buf)-n), r.size-end))
	m, err := r.src.ReadAt(buf[n:n+want], end)
	if m < want {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("read at offset %d: %w", end, err)
		return false
	}
	r.base += int64(r.pos)
	r.data, r.pos = buf[:n+m], 0
	return true
}

// nextLine returns the next line and its offset in data, reading more
// of the reply as needed. It returns false at the end of the reply, and
// when more of it could not be read (err).
func (r *reader) nextLine() ([]byte, int, bool) {
	for r.pos >= len(r.data) {
		if !r.more() {
			return nil, 0, false
		}
	}
	for {
		rest := r.data[r.pos:]
		i := bytes.IndexByte(rest, '\n')
		if i > dump.MaxRecord || i < 0 && len(rest) > dump.MaxRecord {
			r.err = &ParseError{Line: r.line + 1, Err: ErrLongRecord}
			return nil, 0, false
		}
		if i >= 0 {
			begin := r.pos
			r.line++
			r.pos += i + 1
			return rest[:i], begin, true
		}
		if r.more() {
			continue
		}
		if r.err != nil {
			return nil, 0, false
		}
		begin := r.pos
		r.line++
		r.pos = len(r.data)
		return rest, begin, true
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// record reads the next non-blank record and returns its first fields and
// the line it starts on. With split false only the first want fields are
// returned, but r.n is always the record's full field count; with split
// true, at least want fields (all when want < 0).
func (r *reader) record(split bool, want int) ([][]byte, int, error) {
	for {
		line, begin, ok := r.nextLine()
		if !ok {
			if r.err != nil {
				return nil, 0, r.err
			}
			return nil, 0, errEOF
		}
		line = trimCR(line)
		if len(line) == 0 {
			continue
		}
		if bytes.IndexByte(line, '"') >= 0 {
			r.pos, r.line = begin, r.line-1
			return r.quoted()
		}
		r.hash = bytes.HasPrefix(line, []byte("# "))
		start := r.line
		if !split {
			r.n = bytes.Count(line, []byte{','}) + 1
		}
		r.fields = splitFields(r.fields[:0], line, want)
		if split && want < 0 {
			r.n = len(r.fields)
		}
		return r.fields, start, nil
	}
}

// splitFields appends the comma-separated fields of line to fields,
// stopping after want of them when want >= 0.
//
// Most cells are a few bytes long, too short for IndexByte to pay: the
// line is read eight bytes at a time, and the commas of each word found
// with the "has zero byte" bit trick on the word XOR ",,,,,,,,".
func splitFields(fields [][]byte, line []byte, want int) [][]byte {
	switch {
	case want == 0:
		return fields
	case want < 0:
		want = len(line) + 1 // more than the fields there can be
	}
	const (
		commas = 0x2c2c2c2c2c2c2c2c
		ones   = 0x0101010101010101
		highs  = 0x8080808080808080
	)
	from, i := 0, 0
	for ; i+8 <= len(line); i += 8 {
		y := binary.LittleEndian.Uint64(line[i:]) ^ commas
		m := (y - ones) &^ y & highs
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			m &= m - 1
			// A borrow may flag a byte above a real comma: check.
			if line[j] != ',' {
				continue
			}
			fields = append(fields, line[from:j])
			from = j + 1
			if len(fields) == want {
				return fields
			}
		}
	}
	for ; i < len(line); i++ {
		if line[i] == ',' {
			fields = append(fields, line[from:i])
			from = i + 1
			if len(fields) == want {
				return fields
			}
		}
	}
	return append(fields, line[from:])
}

// quoted reads a record that holds a double quote, which may span lines.
// A field that starts with '"' runs to the next lone '"' ("" is one
// quote); it must be followed by ',' or the end of the record. A quote
// inside an unquoted field is an ordinary character. Of a reply read
// from a file, up to dump.MaxRecord bytes past the record's start are
// read first: a record that does not end within them is refused
// (ErrLongRecord), as is a longer one in memory.
func (r *reader) quoted() ([][]byte, int, error) {
	for len(r.data)-r.pos <= dump.MaxRecord && r.more() {
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	d := r.data
	// cut: d ends before the reply does, so a record that runs to d's
	// end is longer than dump.MaxRecord.
	cut := r.src != nil && r.base+int64(len(d)) < r.size
	begin := r.pos
	r.hash = bytes.HasPrefix(d[r.pos:], []byte("# "))
	i := r.pos
	r.line++
	start := r.line
	tooLong := &ParseError{Line: start, Err: ErrLongRecord}
	// end ends the record at i: d's end, or the newline at i.
	end := func(i int) ([][]byte, int, error) {
		if i-begin > dump.MaxRecord || i >= len(d) && cut {
			return nil, start, tooLong
		}
		r.pos = min(i+1, len(d))
		return r.split(), start, nil
	}
	r.scratch, r.ends = r.scratch[:0], r.ends[:0]
	for {
		if i < len(d) && d[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(d[i:], '"')
				if j < 0 {
					r.pos = len(d)
					if cut {
						return nil, start, tooLong
					}
					return nil, start, &ParseError{Line: start, Err: fmt.Errorf("%w: no closing quote", ErrQuote)}
				}
				seg := d[i : i+j]
				r.line += bytes.Count(seg, []byte{'\n'})
				r.scratch = append(r.scratch, seg...)
				i += j + 1
				if i < len(d) && d[i] == '"' {
					r.scratch = append(r.scratch, '"')
					i++
					continue
				}
				break
			}
			r.ends = append(r.ends, len(r.scratch))
			if i+1 < len(d) && d[i] == '\r' && d[i+1] == '\n' {
				i++
			} else if i+1 == len(d) && d[i] == '\r' {
				i++
			}
			switch {
			case i >= len(d), d[i] == '\n':
				return end(i)
			case d[i] == ',':
				i++
				continue
			}
			r.pos = i
			return nil, start, &ParseError{Line: r.line, Err: fmt.Errorf("%w: %q after closing quote", ErrQuote, d[i])}
		}
		j := bytes.IndexAny(d[i:], ",\n")
		if j < 0 {
			r.scratch = append(r.scratch, trimCR(d[i:])...)
			r.ends = append(r.ends, len(r.scratch))
			return end(len(d))
		}
		if d[i+j] == '\n' {
			r.scratch = append(r.scratch, trimCR(d[i:i+j])...)
			r.ends = append(r.ends, len(r.scratch))
			return end(i + j)
		}
		r.scratch = append(r.scratch, d[i:i+j]...)
		r.ends = append(r.ends, len(r.scratch))
		i += j + 1
	}
}

func (r *reader) split() [][]byte {
	r.fields = r.fields[:0]
	from := 0
	for _, e := range r.ends {
		r.fields = append(r.fields, r.scratch[from:e:e])
		from = e
	}
	r.n = len(r.fields)
	return r.fields
}

// parseNum reads a cell as a number. An empty cell, a pandas missing-value
// token (NaN, NA, null, ...) or any text that is not a finite decimal
// number is missing: ok is false and v is 0.
func parseNum(b []byte) (v float64, ok bool) {
	// Fast path: an optional '-' and up to 15 digits, exact in a float64.
	neg := false
	d := b
	if len(d) > 0 && d[0] == '-' {
		neg, d = true, d[1:]
	}
	if n := len(d); n > 0 && n <= 15 {
		var u uint64
		for _, c := range d {
			if c < '0' || c > '9' {
				goto slow
			}
			u = u*10 + uint64(c-'0')
		}
		v = float64(u)
		if neg {
			v = -v
		}
		return v, true
	}
slow:
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 64 || bytes.ContainsAny(b, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
