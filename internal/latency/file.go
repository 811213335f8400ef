package latency

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strconv"
)

// The file a Set is written to and read from, one line each, fields
// separated by one space:
//
//	haproxystats-latency 1
//	dropped <SeriesDropped>
//	h <scope> <proxy> <server> <timer> <count> <sum> <max> <aborted> <exact> <offset> <buckets>
//	t <scope> <proxy> <server> <state> <n>
//
// <scope> is frontend, backend or server; <server> is - but for a
// server. Names are escaped: every byte outside [A-Za-z0-9._:@~+-] as
// %XX, and a name that is "-" alone as %2D, so that no name can split a
// field or a line. <exact> is the counts of 0 to 15 ms, comma-separated,
// without the trailing zeros ("-" when all are); <buckets> the counts of
// the buckets from index <offset> on ("-" when none). Objects come in
// Each's order: the same Set gives the same bytes.
const fileHeader = "haproxystats-latency 1"

// Bounds of ReadFrom: what a Set written by WriteTo never passes.
const maxLine = 64 << 10 // two escaped names of MaxName bytes and every bucket fit

// WriteTo writes s in the file format above.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	n := int64(0)
	line := make([]byte, 0, 512)
	flush := func() error {
		line = append(line, '\n')
		k, err := bw.Write(line)
		n += int64(k)
		line = line[:0]
		return err
	}
	line = append(line, fileHeader...)
	if err := flush(); err != nil {
		return n, err
	}
	line = append(line, "dropped "...)
	line = strconv.AppendUint(line, s.dropped, 10)
	if err := flush(); err != nil {
		return n, err
	}
	var err error
	s.Each(func(o Object, t Timer, h *Histogram) {
		if err != nil {
			return
		}
		line = appendObject(append(line, "h "...), o)
		line = append(line, ' ')
		line = append(line, t.String()...)
		for _, v := range []uint64{h.count, h.sum, uint64(h.max), h.aborted} {
			line = strconv.AppendUint(append(line, ' '), v, 10)
		}
		line = append(line, ' ')
		lo, hi, ok := h.span()
		lastExact := int32(-1)
		for k := int32(0); ok && k <= min(hi, firstBucketSlot-1); k++ {
			if h.slot(k) > 0 {
				lastExact = k
			}
		}
		if lastExact < 0 {
			line = append(line, '-')
		} else {
			for k := int32(0); k <= lastExact; k++ {
				if k > 0 {
					line = append(line, ',')
				}
				line = strconv.AppendUint(line, h.slot(k), 10)
			}
		}
		if !ok || hi < firstBucketSlot {
			line = append(line, " 0 -"...)
		} else {
			first := max(lo, firstBucketSlot)
			for h.slot(first) == 0 {
				first++
			}
			line = strconv.AppendInt(append(line, ' '), int64(bucketOfSlot(first)), 10)
			line = appendCounts(append(line, ' '), h.counts[first-h.offset:hi-h.offset+1])
		}
		err = flush()
	})
	if err != nil {
		return n, err
	}
	s.EachTermination(func(o Object, state string, c uint64) {
		if err != nil {
			return
		}
		line = appendObject(append(line, "t "...), o)
		line = append(line, ' ')
		line = appendName(line, state)
		line = strconv.AppendUint(append(line, ' '), c, 10)
		err = flush()
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func appendObject(b []byte, o Object) []byte {
	b = append(b, o.Scope.String()...)
	b = appendName(append(b, ' '), o.Proxy)
	if o.Scope != ScopeServer {
		return append(b, " -"...)
	}
	return appendName(append(b, ' '), o.Server)
}

func appendCounts(b []byte, cs []uint64) []byte {
	if len(cs) == 0 {
		return append(b, '-')
	}
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, c, 10)
	}
	return b
}

const hexDigits = "0123456789ABCDEF"

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '@' || c == '~' || c == '+' || c == '-'
}

func appendName(b []byte, name string) []byte {
	if name == "-" {
		return append(b, "%2D"...)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; plain(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// unescape reverses appendName.
func unescape(f []byte) (string, error) {
	if len(f) == 0 || len(f) > 3*MaxName {
		return "", fmt.Errorf("name of %d bytes", len(f))
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '%':
			if i+2 >= len(f) {
				return "", errors.New("truncated %-escape")
			}
			v, err := strconv.ParseUint(string(f[i+1:i+3]), 16, 8)
			if err != nil || !isUpperHex(f[i+1]) || !isUpperHex(f[i+2]) {
				return "", fmt.Errorf("bad %%-escape %q", f[i:i+3])
			}
			if plain(byte(v)) && !(byte(v) == '-' && len(f) == 3) {
				return "", fmt.Errorf("needless %%-escape %q", f[i:i+3]) // one way to write a name
			}
			out = append(out, byte(v))
			i += 2
		case plain(c):
			out = append(out, c)
		default:
			return "", fmt.Errorf("byte %q not escaped", c)
		}
	}
	if string(out) == "-" && string(f) == "-" {
		return "", errors.New(`"-" where a name is wanted`)
	}
	if len(out) > MaxName {
		return "", fmt.Errorf("name of %d bytes, over %d", len(out), MaxName)
	}
	return string(out), nil
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// ReadFrom reads a file WriteTo wrote and merges it into s, within s's
// bound. A file that is not one (another version, a line out of place, a
// count that does not add up, an index out of range, a number out of
// range) is an error naming the line; s may then hold part of it: read
// into a new Set and Merge it once it was read whole. Within a line, counts
// that would overflow are refused; across lines (the same histogram twice)
// and into what s already holds, they add up saturating, as Merge does.
func (s *Set) ReadFrom(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var n int64
	lineNo := 0
	fail := func(format string, args ...any) (int64, error) {
		return n, fmt.Errorf("latency file, line %d: %s", lineNo, fmt.Sprintf(format, args...))
	}
	var h Histogram
	var f, parts [][]byte // ReadFrom's fields, reused line after line
	sawDropped := false
	for sc.Scan() {
		line := sc.Bytes()
		n += int64(len(line)) + 1
		lineNo++
		if lineNo == 1 {
			if string(line) != fileHeader {
				return fail("not a latency file of version 1: %.40q", line)
			}
			continue
		}
		f = split(f[:0], line, ' ')
		switch {
		case len(f) == 2 && string(f[0]) == "dropped" && !sawDropped && lineNo == 2:
			d, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return fail("dropped: %v", err)
			}
			sawDropped = true
			if d > 0 {
				s.dropped, s.used = addSat(s.dropped, d), true
			}
		case len(f) == 12 && string(f[0]) == "h" && sawDropped:
			o, err := parseObject(f[1:4])
			if err != nil {
				return fail("%v", err)
			}
			t, ok := TimerOf(string(f[4]))
			if !ok {
				return fail("unknown timer %.10q", f[4])
			}
			h.Reset()
			if err := parseHistogram(&h, f[5:], &parts); err != nil {
				return fail("%v", err)
			}
			s.mergeHistogram(o, t, &h)
		case len(f) == 6 && string(f[0]) == "t" && sawDropped:
			o, err := parseObject(f[1:4])
			if err != nil {
				return fail("%v", err)
			}
			st, err := unescape(f[4])
			if err != nil || len(st) != 2 || termState([2]byte{st[0], st[1]}) != [2]byte{st[0], st[1]} {
				return fail("termination state %.12q", f[4])
			}
			c, err := strconv.ParseUint(string(f[5]), 10, 64)
			if err != nil || c == 0 {
				return fail("termination count %.24q", f[5])
			}
			s.mergeTerm(o, [2]byte{st[0], st[1]}, c)
		default:
			return fail("unexpected line %.60q", line)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			lineNo++
			return fail("longer than %d bytes", maxLine)
		}
		return n, err
	}
	if !sawDropped {
		return fail("truncated: no dropped line")
	}
	return n, nil
}

// split appends to dst the fields of b separated by sep, as bytes.Split
// does, without a new slice per line.
func split(dst [][]byte, b []byte, sep byte) [][]byte {
	for {
		i := bytes.IndexByte(b, sep)
		if i < 0 {
			return append(dst, b)
		}
		dst = append(dst, b[:i])
		b = b[i+1:]
	}
}

func parseObject(f [][]byte) (Object, error) {
	var o Object
	sc := slices.Index(scopeNames[:], string(f[0]))
	if sc < 0 {
		return o, fmt.Errorf("unknown scope %.10q", f[0])
	}
	o.Scope = Scope(sc)
	var err error
	if o.Proxy, err = unescape(f[1]); err != nil {
		return o, fmt.Errorf("proxy: %w", err)
	}
	if o.Scope != ScopeServer {
		if string(f[2]) != "-" {
			return o, fmt.Errorf("a %s with a server", o.Scope)
		}
		return o, nil
	}
	if o.Server, err = unescape(f[2]); err != nil {
		return o, fmt.Errorf("server: %w", err)
	}
	return o, nil
}

// parseHistogram reads count, sum, max, aborted, exact, offset and
// buckets into h, an empty histogram, and checks that they agree: the
// counts add up to count, and max is in the last slot or bucket that
// counted something.
func parseHistogram(h *Histogram, f [][]byte, parts *[][]byte) error {
	var v [4]uint64
	for i := range v {
		var err error
		if v[i], err = strconv.ParseUint(string(f[i]), 10, 64); err != nil {
			return fmt.Errorf("field %d: %v", 6+i, err)
		}
	}
	if v[2] > MaxMillis {
		return fmt.Errorf("max %d over %d", v[2], uint64(MaxMillis))
	}
	h.count, h.sum, h.max, h.aborted = v[0], v[1], int64(v[2]), v[3]
	var total uint64
	add := func(c uint64) error {
		if total+c < total {
			return errors.New("counts overflow")
		}
		total += c
		return nil
	}
	top, inBucket := int64(-1), false // the last exact slot, or bucket index, that counted
	if string(f[4]) != "-" {
		*parts = split((*parts)[:0], f[4], ',')
		parts := *parts
		if len(parts) > ExactBelow {
			return fmt.Errorf("%d exact slots", len(parts))
		}
		for i, p := range parts {
			c, err := strconv.ParseUint(string(p), 10, 64)
			if err != nil {
				return fmt.Errorf("exact slot %d: %v", i, err)
			}
			if i == len(parts)-1 && c == 0 {
				return errors.New("exact slots end with 0")
			}
			if err := add(c); err != nil {
				return err
			}
			if c > 0 {
				h.cover(int32(i), int32(i))
				h.counts[int32(i)-h.offset] = c
				top = int64(i)
			}
		}
	}
	off, err := strconv.ParseInt(string(f[5]), 10, 32)
	if err != nil {
		return fmt.Errorf("offset: %v", err)
	}
	if string(f[6]) != "-" {
		*parts = split((*parts)[:0], f[6], ',')
		parts := *parts
		lo, hi := int32(off), int32(off)+int32(len(parts))-1
		if off < int64(minIndex) || len(parts) > int(maxIndex-minIndex+1) || hi > maxIndex {
			return fmt.Errorf("buckets %d to %d outside %d to %d", off, int64(off)+int64(len(parts))-1, minIndex, maxIndex)
		}
		h.cover(firstBucketSlot+lo-minIndex, firstBucketSlot+hi-minIndex)
		for i, p := range parts {
			c, err := strconv.ParseUint(string(p), 10, 64)
			if err != nil {
				return fmt.Errorf("bucket %d: %v", i, err)
			}
			if (i == 0 || i == len(parts)-1) && c == 0 {
				return errors.New("buckets begin or end with 0")
			}
			if err := add(c); err != nil {
				return err
			}
			h.counts[firstBucketSlot+lo-minIndex+int32(i)-h.offset] = c
			top, inBucket = int64(lo)+int64(i), true
		}
	} else if off != 0 {
		return errors.New("an offset without buckets")
	}
	if total != h.count {
		return fmt.Errorf("counts add up to %d, not count %d", total, h.count)
	}
	if h.count+h.aborted == 0 {
		return errors.New("an empty histogram")
	}
	switch {
	case h.count == 0:
		if h.max != 0 || h.sum != 0 {
			return errors.New("max or sum without a value")
		}
	case !inBucket:
		if h.max != top {
			return fmt.Errorf("max %d is not in the last exact slot that counted, %d", h.max, top)
		}
	default:
		if h.max < ExactBelow || index(h.max) != int32(top) {
			return fmt.Errorf("max %d is not in the last bucket that counted, %d", h.max, top)
		}
	}
	// The sum of count values of at most max, max among them (a sum that
	// saturated passes: count × max then overflows too).
	if hi, lo := bits.Mul64(h.count, uint64(h.max)); h.sum < uint64(h.max) || hi == 0 && h.sum > lo {
		return fmt.Errorf("sum %d of %d values of at most %d", h.sum, h.count, h.max)
	}
	return nil
}
