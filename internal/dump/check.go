package dump

import (
	"bytes"
	"fmt"
	"io"
)

// StatChecker passes a show stat reply through to W while it checks, as
// the reply streams, what stats.ParseStat checks before it uses a reply: a
// first line starting with "# " that names pxname and svname, then
// records with as many fields as the header, each with a proxy and a
// server name, and no second header. haproxystats-pull commits a round
// only with replies that pass, so that haproxystats-process never
// aggregates a round without one of its HAProxy processes. Quoted fields
// are followed as stats.ParseStat follows them. The zero value with W set is
// ready; Close reports the first problem.
type StatChecker struct {
	W io.Writer
	// FailFast makes Write fail with the first problem as soon as it is
	// found, without writing to W: the rest of a reply that is not a
	// complete dump need not be read.
	FailFast bool

	err     error
	line    int  // newlines so far
	start   int  // line the current record starts on
	nf      int  // fields per record, from the header; 0 before it
	px, sv  int  // column indexes of pxname and svname
	last    int  // max(px, sv): past it, commas are only counted
	fields  int  // commas of the current record so far, outside quotes
	inQuote bool // inside a quoted field
	width   int  // bytes of the current record so far
	head    [2]byte
	name    []byte // the header line, until it ends
	field   int    // bytes in the current field so far
	empty   bool   // pxname or svname of the current record is empty

	quoteFree bool // the write being scanned holds no quote
}

// Write implements io.Writer: it checks p and writes it to W.
func (c *StatChecker) Write(p []byte) (int, error) {
	if c.err == nil {
		c.scan(p)
	}
	if c.err != nil && c.FailFast {
		return 0, c.err
	}
	return c.W.Write(p)
}

// Failed returns the first problem found so far, nil if none: unlike
// Close, it does not end the reply.
func (c *StatChecker) Failed() error { return c.err }

// Close returns the first problem of the reply, as a *ParseError, or
// nil. A reply cut inside a quoted field is one.
func (c *StatChecker) Close() error {
	switch {
	case c.err != nil:
		return c.err
	case c.inQuote:
		return &ParseError{Line: c.start, Err: ErrQuote}
	case c.width > 0:
		c.endRecord() // no final newline: the caller checks completeness
	}
	if c.err == nil && c.nf == 0 {
		return &ParseError{Err: ErrNoHeader}
	}
	return c.err
}

func (c *StatChecker) scan(p []byte) {
	c.quoteFree = bytes.IndexByte(p, '"') < 0 // HAProxy never quotes: one look a write
	for len(p) > 0 && c.err == nil {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		c.segment(seg)
		if i < 0 || c.err != nil {
			return
		}
		p = p[i+1:]
		c.line++
		if c.inQuote {
			c.width++ // a newline inside a quoted field: the record goes on
			continue
		}
		c.endRecord()
	}
}

// segment takes part of a line, without its newline.
func (c *StatChecker) segment(seg []byte) {
	if len(seg) == 0 {
		return
	}
	if c.width == 0 {
		c.start = c.line + 1
	}
	if c.width+len(seg) > MaxRecord {
		c.err = &ParseError{Line: c.start, Err: ErrLongRecord}
		return
	}
	for i := 0; i < len(seg) && c.width+i < 2; i++ {
		c.head[c.width+i] = seg[i]
	}
	if c.nf == 0 {
		c.name = append(c.name, seg...)
	}
	for len(seg) > 0 {
		if !c.inQuote && c.nf > 0 {
			// Outside quotes, up to the next quote: the name fields one
			// IndexByte each, then the commas counted as fast as the
			// machine counts bytes.
			q := len(seg)
			if !c.quoteFree {
				if q = bytes.IndexByte(seg, '"'); q < 0 {
					q = len(seg)
				}
			}
			part := seg[:q]
			c.width += q
			for c.fields <= c.last && len(part) > 0 {
				i := bytes.IndexByte(part, ',')
				if i < 0 {
					c.field += textLen(part)
					part = nil
					break
				}
				c.field += textLen(part[:i])
				c.endField()
				part = part[i+1:]
			}
			c.fields += bytes.Count(part, []byte{','})
			if seg = seg[q:]; len(seg) == 0 {
				return
			}
		}
		b := seg[0]
		seg = seg[1:]
		c.width++
		switch {
		case b == '"':
			c.inQuote = !c.inQuote
		case b == ',' && !c.inQuote:
			c.endField()
		case b != '\r':
			c.field++
		}
	}
}

// textLen is the length of b without its carriage returns.
func textLen(b []byte) int { return len(b) - bytes.Count(b, []byte{'\r'}) }

func (c *StatChecker) endField() {
	if c.nf > 0 && (c.fields == c.px || c.fields == c.sv) && c.field == 0 {
		c.empty = true
	}
	c.fields++
	c.field = 0
}

// endRecord ends a line outside quotes: the end of a record, or a blank
// line.
func (c *StatChecker) endRecord() {
	defer func() { c.fields, c.width, c.field, c.empty, c.head = 0, 0, 0, false, [2]byte{} }()
	if c.width == 0 || c.width == 1 && c.head[0] == '\r' {
		return // blank
	}
	if c.fields <= c.last {
		c.endField() // the record ends inside the names
	} else {
		c.fields++
	}
	header := c.head == [2]byte{'#', ' '}
	switch {
	case c.nf == 0 && !header:
		c.err = &ParseError{Line: c.start, Err: ErrNoHeader}
	case c.nf == 0:
		c.header()
	case header:
		c.err = &ParseError{Line: c.start, Err: ErrSecondHeader}
	case c.fields != c.nf:
		c.err = &ParseError{Line: c.start, Err: fmt.Errorf("%w: %d, header has %d", ErrFieldCount, c.fields, c.nf)}
	case c.empty:
		c.err = &ParseError{Line: c.start, Err: ErrNoName}
	}
}

// header takes the columns of the header line.
func (c *StatChecker) header() {
	c.nf = c.fields
	c.px, c.sv = -1, -1
	cols := bytes.Split(bytes.TrimSuffix(bytes.TrimPrefix(c.name, []byte("# ")), []byte("\r")), []byte{','})
	for i, col := range cols {
		switch string(col) {
		case "pxname":
			if c.px < 0 {
				c.px = i
			}
		case "svname":
			if c.sv < 0 {
				c.sv = i
			}
		}
	}
	c.name = nil
	c.last = max(c.px, c.sv)
	if c.px < 0 || c.sv < 0 {
		missing := "pxname"
		if c.px >= 0 {
			missing = "svname"
		}
		c.err = &ParseError{Line: c.start, Err: fmt.Errorf("%w %s", ErrNoColumn, missing)}
	}
}
