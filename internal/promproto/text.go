package promproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Writer writes delimited MetricFamily messages to an io.Writer, each
// family in one Write. It keeps its buffers from one call to the next;
// one goroutine at a time may use it.
type Writer struct {
	w    io.Writer
	br   *bufio.Reader
	long []byte // a line longer than br's buffer
	fam  family // the family being encoded
	m    []byte // the metric being encoded
	val  []byte // a label value, unescaped

	cur  current
	seen map[string]seen // by family name, the families of this Text

	// The quantile or bound of the sample being read, when it has one.
	special    float64
	hasSpecial bool

	// The series of a summary or histogram family being read, in the
	// order they came, and the index of each by its labels (LabelPair
	// fields).
	series   []series
	byLabels map[string]int
}

// seen is a family Text has begun: the line of its first line, and the
// Metric field of its samples once it has ended.
type seen struct {
	line int
	typ  protowire.Number
}

// current is the family Text is encoding.
type current struct {
	name    string // "" when none
	typ     protowire.Number
	hasType bool
	hasHelp bool
	samples int
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// A ParseError is a line of a text exposition that Text cannot convert.
type ParseError struct {
	Line int // from 1
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("text exposition, line %d: %v", e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Text converts a text exposition (format 0.0.4) read from r into
// MetricFamily messages, writing each family as soon as its last sample
// is read: its memory is that of the largest family, whatever the size
// of the exposition.
//
// The families must be contiguous (# HELP and # TYPE, in either order,
// then the samples; a family's name again after another family is an
// error), as our sink writes them. A sample without # TYPE is untyped.
// Counter, gauge and untyped samples keep their labels in their order,
// their value, and their timestamp in ms when they have one. The lines
// of a summary or histogram (the runtime metrics of client_golang have
// one) are gathered by their labels into one Metric each, as expfmt's
// text parser gathers them; they are the only samples held until their
// family ends. A family without samples is left out, as expfmt leaves
// it out. Other comments and blank lines are skipped.
//
// A line that cannot be converted ends Text with a *ParseError; the
// families before it have been written.
func (w *Writer) Text(r io.Reader) error {
	if w.br == nil {
		w.br = bufio.NewReaderSize(r, 64<<10)
	} else {
		w.br.Reset(r)
	}
	defer w.br.Reset(nil) // let r go
	// Nothing of a Text that failed half way is kept.
	w.cur = current{}
	w.seen = make(map[string]seen)
	clear(w.series)
	w.series = w.series[:0]
	clear(w.byLabels)
	for n := 1; ; n++ {
		line, rerr := w.readLine()
		if len(line) > 0 {
			if err := w.textLine(line, n); err != nil {
				var werr writeError
				if errors.As(err, &werr) {
					return werr.err
				}
				return &ParseError{Line: n, Err: err}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read text exposition, line %d: %w", n, rerr)
		}
	}
	return w.endFamily()
}

// writeError is an error of the Writer's io.Writer, which Text returns
// as it is.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

// readLine returns the next line without its '\n', valid until the next
// call, and io.EOF after the last.
func (w *Writer) readLine() ([]byte, error) {
	line, err := w.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		w.long = append(w.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = w.br.ReadSlice('\n')
			w.long = append(w.long, line...)
		}
		line = w.long
	}
	if err == nil {
		line = line[:len(line)-1]
	}
	return line, err
}

func (w *Writer) textLine(line []byte, n int) error {
	line = trimLeft(line)
	switch {
	case len(line) == 0:
		return nil
	case line[0] == '#':
		return w.comment(line[1:], n)
	}
	return w.sample(line, n)
}

// comment converts a # HELP or # TYPE line, and skips any other comment.
func (w *Writer) comment(line []byte, n int) error {
	kw, rest := token(line)
	isHelp := string(kw) == "HELP"
	if !isHelp && string(kw) != "TYPE" {
		return nil
	}
	name, rest := token(rest)
	if !validMetricName(name) {
		return fmt.Errorf("# %s: invalid metric name %q", kw, name)
	}
	if len(rest) == 0 {
		return nil // no help or type: a comment, as expfmt has it
	}
	if err := w.family(name, n); err != nil {
		return err
	}
	c := &w.cur
	if isHelp {
		if c.hasHelp {
			return fmt.Errorf("second # HELP for %s", name)
		}
		c.hasHelp = true
		help, err := unescapeHelp(w.m[:0], rest)
		if err != nil {
			return fmt.Errorf("# HELP %s: %w", name, err)
		}
		w.m = help
		w.fam = appendBytes(w.fam, familyHelp, help)
		return nil
	}
	if c.hasType {
		return fmt.Errorf("second # TYPE for %s", name)
	}
	if c.samples > 0 {
		return fmt.Errorf("# TYPE for %s after its samples", name)
	}
	typ, rest := token(rest)
	if len(rest) > 0 {
		return fmt.Errorf("# TYPE %s: %q after the type", name, rest)
	}
	switch strings.ToLower(string(typ)) {
	case "counter":
		c.typ = metricCounter
	case "gauge":
		c.typ = metricGauge
	case "untyped":
		c.typ = metricUntyped
	case "summary":
		c.typ = metricSummary
	case "histogram":
		c.typ = metricHistogram
	default:
		return fmt.Errorf("# TYPE %s: unknown type %q", name, typ)
	}
	c.hasType = true
	return nil
}

// family makes name the current family, ending the one before when it
// is another.
func (w *Writer) family(name []byte, n int) error {
	if w.cur.name != "" && string(name) == w.cur.name {
		return nil
	}
	if err := w.endFamily(); err != nil {
		return writeError{err}
	}
	if f, ok := w.seen[string(name)]; ok {
		return fmt.Errorf("family %s again, after other families since line %d", name, f.line)
	}
	w.cur = current{name: string(name), typ: metricUntyped}
	w.seen[w.cur.name] = seen{line: n}
	w.fam = newFamily(w.fam)
	w.fam = appendBytes(w.fam, familyName, name)
	return nil
}

// endFamily writes the current family, if it has samples.
func (w *Writer) endFamily() error {
	c := w.cur
	w.cur = current{}
	if c.name == "" {
		return nil
	}
	w.seen[c.name] = seen{line: w.seen[c.name].line, typ: c.typ}
	if c.samples == 0 {
		return nil
	}
	t := typeUntyped
	switch c.typ {
	case metricCounter:
		t = typeCounter
	case metricGauge:
		t = typeGauge
	case metricSummary:
		t = typeSummary
		w.appendSeries(false)
	case metricHistogram:
		t = typeHistogram
		w.appendSeries(true)
	}
	w.fam = appendVarint(w.fam, familyType, uint64(t))
	if err := w.fam.writeTo(w.w); err != nil {
		return fmt.Errorf("write family %s: %w", c.name, err)
	}
	return nil
}

// The role of a sample line in its family.
const (
	roleValue  = iota // the name alone: a value, or a summary's quantile
	roleSum           // name_sum of a summary or histogram
	roleCount         // name_count
	roleBucket        // name_bucket of a histogram
)

// sample converts a sample line: name, labels in braces, value,
// timestamp.
func (w *Writer) sample(line []byte, n int) error {
	i := 0
	for i < len(line) && nameByte(line[i], i == 0, true) {
		i++
	}
	name := line[:i]
	if len(name) == 0 {
		return fmt.Errorf("no metric name at %q", line)
	}
	role := w.role(name)
	if role == roleValue && string(name) != w.cur.name {
		if base := w.partOf(name); base != nil {
			return fmt.Errorf("%s: family %s again, after other families since line %d", name, base, w.seen[string(base)].line)
		}
		if err := w.family(name, n); err != nil {
			return err
		}
	}
	// The label of a summary's quantile or a histogram's bound is not
	// one of the series' labels.
	special := ""
	switch w.cur.typ {
	case metricSummary:
		special = "quantile"
	case metricHistogram:
		special = "le"
	}
	rest := line[i:]
	if len(rest) > 0 && rest[0] != '{' && !blank(rest[0]) {
		return fmt.Errorf("invalid metric name %q", line[:i+1])
	}
	rest = trimLeft(rest)
	m := w.m[:0]
	w.hasSpecial = false
	if len(rest) > 0 && rest[0] == '{' {
		var err error
		m, rest, err = w.appendLabels(m, rest[1:], special)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	val, rest := token(rest)
	v, err := parseValue(val)
	if err != nil {
		return fmt.Errorf("%s: value %q: %w", name, val, err)
	}
	var ms int64
	hasTs := len(rest) > 0
	if hasTs {
		ts, rest := token(rest)
		if len(rest) > 0 {
			return fmt.Errorf("%s: %q after the timestamp", name, rest)
		}
		if ms, err = parseInt(ts); err != nil {
			return fmt.Errorf("%s: timestamp %q: %w", name, ts, err)
		}
	}
	w.m = m
	w.cur.samples++
	if special != "" {
		return w.point(name, role, v, hasTs, ms)
	}
	m = appendValue(m, w.cur.typ, v)
	if hasTs {
		m = appendVarint(m, metricTimestamp, uint64(ms))
	}
	w.m = m
	w.fam = appendBytes(w.fam, familyMetric, m)
	return nil
}

// role tells whether name is the _sum, _count or _bucket of the current
// family, a summary or a histogram.
func (w *Writer) role(name []byte) int {
	c := &w.cur
	if c.typ != metricSummary && c.typ != metricHistogram || len(name) <= len(c.name) || string(name[:len(c.name)]) != c.name {
		return roleValue
	}
	switch string(name[len(c.name):]) {
	case "_sum":
		return roleSum
	case "_count":
		return roleCount
	case "_bucket":
		if c.typ == metricHistogram {
			return roleBucket
		}
	}
	return roleValue
}

// partOf returns the name of the summary or histogram, ended before,
// whose _sum, _count or _bucket name is, or nil.
func (w *Writer) partOf(name []byte) []byte {
	for _, suffix := range []string{"_sum", "_count", "_bucket"} {
		base, ok := bytes.CutSuffix(name, []byte(suffix))
		if !ok {
			continue
		}
		switch w.seen[string(base)].typ {
		case metricHistogram:
			return base
		case metricSummary:
			if suffix != "_bucket" {
				return base
			}
		}
	}
	return nil
}

// appendLabels appends the LabelPair fields of the labels at the start
// of s, which follows '{', and returns what follows the '}'. A label
// named special (when not "") is not appended: its value, a float, goes
// to w.special.
func (w *Writer) appendLabels(m, s []byte, special string) ([]byte, []byte, error) {
	for {
		s = trimLeft(s)
		if len(s) > 0 && s[0] == '}' {
			return m, s[1:], nil
		}
		i := 0
		for i < len(s) && nameByte(s[i], i == 0, false) {
			i++
		}
		name := s[:i]
		if len(name) == 0 {
			return m, nil, fmt.Errorf("invalid label name at %q", s)
		}
		s = trimLeft(s[i:])
		if len(s) == 0 || s[0] != '=' {
			return m, nil, fmt.Errorf("label %s: no '='", name)
		}
		s = trimLeft(s[1:])
		if len(s) == 0 || s[0] != '"' {
			return m, nil, fmt.Errorf("label %s: value not quoted", name)
		}
		var err error
		w.val, s, err = unescapeLabel(w.val[:0], s[1:])
		if err != nil {
			return m, nil, fmt.Errorf("label %s: %w", name, err)
		}
		if special != "" && string(name) == special {
			if w.special, err = parseValue(w.val); err != nil {
				return m, nil, fmt.Errorf("label %s: %q: %w", name, w.val, err)
			}
			w.hasSpecial = true
		} else {
			m = appendLabel(m, name, w.val)
		}
		s = trimLeft(s)
		switch {
		case len(s) > 0 && s[0] == ',':
			s = s[1:]
		case len(s) > 0 && s[0] == '}':
		default:
			return m, nil, fmt.Errorf("label %s: no ',' or '}' after its value", name)
		}
	}
}

// unescapeLabel appends the label value at the start of s, which follows
// its opening quote, unescaped (\\, \" and \n), to b, and returns what
// follows the closing quote.
func unescapeLabel(b, s []byte) ([]byte, []byte, error) {
	start := len(b)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			if !utf8.Valid(b[start:]) {
				return b, nil, errors.New("value not UTF-8")
			}
			return b, s[i+1:], nil
		case '\\':
			i++
			if i == len(s) {
				return b, nil, errors.New("value not closed")
			}
			switch s[i] {
			case '\\', '"':
				b = append(b, s[i])
			case 'n':
				b = append(b, '\n')
			default:
				return b, nil, fmt.Errorf("invalid escape \\%c", s[i])
			}
		default:
			b = append(b, c)
		}
	}
	return b, nil, errors.New("value not closed")
}

// unescapeHelp appends the help text s unescaped to b: \\, \n and \"
// as expfmt reads them; any other backslash is an error.
func unescapeHelp(b, s []byte) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i++; i == len(s) {
				return b, errors.New("help ends with a backslash")
			}
			switch c = s[i]; c {
			case '\\', '"':
			case 'n':
				c = '\n'
			default:
				return b, fmt.Errorf("invalid escape \\%c in help", c)
			}
		}
		b = append(b, c)
	}
	if !utf8.Valid(b) {
		return b, errors.New("help not UTF-8")
	}
	return b, nil
}

// parseValue parses a sample value as the text format has it: a Go
// float, NaN, +Inf or -Inf, but none of the hexadecimal floats or
// underscores strconv also takes. Whole numbers are parsed without
// strconv, which would allocate.
func parseValue(s []byte) (float64, error) {
	if len(s) > 0 && len(s) <= 15 {
		var v uint64
		i := 0
		neg := s[0] == '-'
		if neg || s[0] == '+' {
			i++
		}
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			v = v*10 + uint64(s[i]-'0')
		}
		if i == len(s) && (len(s) > 1 || !neg && s[0] != '+') {
			if neg {
				return -float64(v), nil
			}
			return float64(v), nil
		}
	}
	if len(s) == 0 {
		return 0, errors.New("missing")
	}
	if bytes.ContainsAny(s, "pPxX_") {
		return 0, errors.New("not a decimal float")
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return 0, errors.Unwrap(err)
	}
	return v, nil
}

// parseInt parses a timestamp, in ms.
func parseInt(s []byte) (int64, error) {
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return 0, errors.Unwrap(err)
	}
	return v, nil
}

// nameByte reports whether c may be in a name at this place: metric
// names [a-zA-Z_:][a-zA-Z0-9_:]*, label names the same without ':'.
func nameByte(c byte, first, colon bool) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' ||
		c == ':' && colon || !first && '0' <= c && c <= '9'
}

func validMetricName(s []byte) bool {
	for i, c := range s {
		if !nameByte(c, i == 0, true) {
			return false
		}
	}
	return len(s) > 0
}

func blank(c byte) bool { return c == ' ' || c == '\t' }

func trimLeft(s []byte) []byte {
	for len(s) > 0 && blank(s[0]) {
		s = s[1:]
	}
	return s
}

// token returns the word at the start of s (after blanks) and what
// follows it after blanks: nothing when only blanks follow.
func token(s []byte) (tok, rest []byte) {
	s = trimLeft(s)
	i := 0
	for i < len(s) && !blank(s[i]) {
		i++
	}
	return s[:i], trimLeft(s[i:])
}
