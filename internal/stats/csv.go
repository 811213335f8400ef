package stats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
)

// ParseError is a show stat reply that cannot be used, and why.
type ParseError = dump.ParseError

// stat is a show stat reply whose structure has been checked: it has a
// header, every record has as many fields as the header and every record
// has a proxy and a server name. Only then may its rows be aggregated, so
// a truncated or corrupt reply never contributes half its numbers.
type stat struct {
	data     []byte
	cols     []string // header names, "# " removed; "" for unnamed columns
	nf       int      // fields per record, the trailing empty one included
	body     int      // offset of the first record after the header
	bodyLine int      // lines before body
	rows     int      // data records
	px, sv   int      // column indexes of pxname and svname
}

// col returns the index of the first column called name, or -1.
func (s *stat) col(name string) int {
	for i, c := range s.cols {
		if c == name {
			return i
		}
	}
	return -1
}

// scanStat checks the structure of a show stat reply (the CSV format of
// the HAProxy management guide, section 9.1): a first line starting with
// "# " naming the columns, then one record per line. Blank lines are
// skipped; fields may be double-quoted (HAProxy never quotes, but a quoted
// field may then hold commas, quotes or newlines). A record whose field
// count differs from the header's rejects the whole reply.
func scanStat(data []byte) (*stat, error) {
	if len(data) == 0 {
		return nil, &ParseError{Err: ErrEmpty}
	}
	r := reader{data: data}
	// The header is the first non-blank line.
	for {
		begin := r.pos
		line, ok := r.nextLine()
		if !ok {
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
	s := &stat{data: data, nf: len(fields), body: r.pos, bodyLine: r.line}
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
		begin := r.pos
		fields, line, err := r.record(false, names)
		if err == errEOF {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(bytes.TrimLeft(s.data[begin:], "\r\n"), []byte("# ")) {
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

// records calls fn for every data record of s, with fields holding at
// least the first want fields (all of them when want < 0). The slices are
// only valid during the call. s has been checked, so no error can occur.
func (s *stat) records(want int, fn func(fields [][]byte)) {
	r := reader{data: s.data, pos: s.body, line: s.bodyLine}
	for {
		fields, _, err := r.record(true, want)
		if err != nil {
			return
		}
		fn(fields)
	}
}

var errEOF = errors.New("EOF")

// reader splits CSV records out of a reply without copying unquoted
// fields: they are sub-slices of data.
type reader struct {
	data    []byte
	pos     int // offset of the next unread byte
	line    int // number of lines started so far
	n       int // field count of the last record
	fields  [][]byte
	scratch []byte // unquoted text of quoted records
	ends    []int  // field ends in scratch
}

func (r *reader) nextLine() ([]byte, bool) {
	if r.pos >= len(r.data) {
		return nil, false
	}
	rest := r.data[r.pos:]
	r.line++
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		r.pos += i + 1
		return rest[:i], true
	}
	r.pos = len(r.data)
	return rest, true
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
		begin := r.pos
		line, ok := r.nextLine()
		if !ok {
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
// inside an unquoted field is an ordinary character.
func (r *reader) quoted() ([][]byte, int, error) {
	d := r.data
	i := r.pos
	r.line++
	start := r.line
	r.scratch, r.ends = r.scratch[:0], r.ends[:0]
	for {
		if i < len(d) && d[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(d[i:], '"')
				if j < 0 {
					r.pos = len(d)
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
			case i >= len(d):
				r.pos = i
				return r.split(), start, nil
			case d[i] == '\n':
				r.pos = i + 1
				return r.split(), start, nil
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
			r.pos = len(d)
			return r.split(), start, nil
		}
		if d[i+j] == '\n' {
			r.scratch = append(r.scratch, trimCR(d[i:i+j])...)
			r.ends = append(r.ends, len(r.scratch))
			r.pos = i + j + 1
			return r.split(), start, nil
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
