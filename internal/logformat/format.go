package logformat

import (
	"fmt"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// The log formats of HAProxy's options, exactly as src/log.c declares
// them (default_http_log_format and its siblings; configuration.txt
// §8.2.2 to §8.2.4 quote the same strings). They are the same in HAProxy
// 2.6 and 3.x, except that "option tcplog clf" (TCPLogCLF) is in the 3.x
// sources only.
const (
	HTTPLog    = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
	HTTPSLog   = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`
	HTTPLogCLF = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
	TCPLog     = `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
	TCPLogCLF  = `%{+Q}o %{-Q}ci - - [%T] "TCP " 000 %B "" "" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq "" "" `
)

// autoFormats are the formats "auto" recognises, in the order they are
// tried: the most common first, except that a line of TCPLogCLF also
// fits HTTPLogCLF (with "TCP " as the request and 000 as the status, and
// its timers at the places of others), so TCPLogCLF, whose literal
// "TCP " no HTTP request line has, comes before it.
var autoFormats = [...]string{HTTPLog, TCPLog, HTTPSLog, TCPLogCLF, HTTPLogCLF}

type opKind uint8

const (
	opLit   opKind = iota // text that must be there
	opByte                // opLit of one byte, c
	opSep                 // a space, unless the output already ends with one
	opField               // what one alias or sample expression wrote
	opTimer               // opField of a timer
	opSkip                // opField skipped, unquoted, up to a one-byte stop c
	opName                // opField of a name, up to a one-byte stop c unless quoted
)

type fieldKind uint8

const (
	fieldSkip     fieldKind = iota // read past, recorded nowhere
	fieldFrontend                  // %ft (one trailing '~' stripped) or %f
	fieldBackend                   // %b
	fieldServer                    // %s
	fieldTimer                     // one of latency.Timer
	fieldTerm                      // %tsc (4 characters) or %ts (2)
	fieldCapture                   // %hr or %hs: "{...}", or nothing at all
	fieldCaptures                  // %hrl or %hsl: a list, or nothing at all
)

// op is one step of a compiled log-format.
type op struct {
	kind    opKind
	field   fieldKind
	timer   latency.Timer
	width   int    // fieldTerm: the characters HAProxy writes
	tilde   bool   // fieldFrontend: strip one trailing '~' (%ft)
	quote   bool   // option Q is in effect: the value may be in double quotes
	esc     bool   // option E is in effect: '\' escapes the next character
	toEnd   bool   // only optional fields follow: the value runs to the end
	past    bool   // opSkip, opName, opTimer: step past c, which ends the value
	sepStop bool   // past: c is a separator's space
	lit     []byte // opLit: the text
	c       byte   // opByte: the text; opSkip, opName: the stop; past: the stop
	stop    []byte // opField: the text that ends the value; nil: the line's end
	column  int    // in the format, 1-based, for errors
	name    string // the alias as written, for errors
}

// program is one compiled log-format.
type program struct {
	ops []op
	// lastTerm is the index of the op that ends the last recording field
	// (len(ops) when that field runs to the end of the line). A line cut
	// short after it (HAProxy truncates lines to the log length, 1024
	// bytes by default) still says all this program records.
	lastTerm int
	timers   uint8 // the timers the format carries, as bits of Line.Has
}

// aliases are the aliases HAProxy knows (src/log.c, logformat_aliases),
// with what a Line records of each; the others are skipped.
var aliases = map[string]op{
	"o": {}, "B": {}, "CC": {}, "CS": {}, "H": {}, "ID": {}, "ST": {}, "T": {},
	"Th": {}, "Ti": {}, "Tl": {}, "Tq": {}, "Td": {}, "Ts": {}, "Tu": {}, "U": {},
	"ac": {}, "bc": {}, "bi": {}, "bp": {}, "bq": {}, "ci": {}, "cp": {}, "fc": {},
	"fi": {}, "fp": {}, "HM": {}, "HP": {}, "HPO": {}, "HQ": {}, "HU": {}, "HV": {},
	"lc": {}, "ms": {}, "pid": {}, "r": {}, "rc": {}, "rt": {}, "sc": {}, "si": {},
	"sp": {}, "sq": {}, "sslc": {}, "sslv": {}, "t": {}, "tr": {}, "trg": {}, "trl": {},
	"ft":  {field: fieldFrontend, tilde: true},
	"f":   {field: fieldFrontend},
	"b":   {field: fieldBackend},
	"s":   {field: fieldServer},
	"TR":  {field: fieldTimer, timer: latency.TR},
	"Tw":  {field: fieldTimer, timer: latency.Tw},
	"Tc":  {field: fieldTimer, timer: latency.Tc},
	"Tr":  {field: fieldTimer, timer: latency.Tr},
	"Ta":  {field: fieldTimer, timer: latency.Ta},
	"Tt":  {field: fieldTimer, timer: latency.Tt},
	"tsc": {field: fieldTerm, width: 4},
	"ts":  {field: fieldTerm, width: 2},
	"hr":  {field: fieldCapture},
	"hs":  {field: fieldCapture},
	"hrl": {field: fieldCaptures},
	"hsl": {field: fieldCaptures},
}

// FormatError is a log-format that New cannot use.
type FormatError struct {
	Column int // 1-based, in the string given to New
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("log-format column %d: %s", e.Column, e.Msg)
}

// unquote turns the format as haproxy.cfg has it into the log-format
// string HAProxy compiles: surrounding double quotes go, and the
// backslash escapes of haproxy.cfg (\" \\ \  \# \' \t \n \r) are
// undone. cols[i] is the 1-based column of s[i] in the original.
func unquote(in string) (s []byte, cols []int, err error) {
	start, end := 0, len(in)
	if len(in) >= 2 && (in[0] == '"' && in[len(in)-1] == '"' || in[0] == '\'' && in[len(in)-1] == '\'') {
		start, end = 1, len(in)-1
		if in[0] == '\'' { // haproxy.cfg: no escapes between single quotes
			for i := start; i < end; i++ {
				s, cols = append(s, in[i]), append(cols, i+1)
			}
			return s, cols, nil
		}
	}
	for i := start; i < end; i++ {
		c := in[i]
		if c == '\\' {
			if i+1 >= end {
				return nil, nil, &FormatError{i + 1, "a backslash ends the format"}
			}
			i++
			switch c = in[i]; c {
			case '"', '\\', ' ', '#', '\'', '$':
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			default:
				return nil, nil, &FormatError{i, fmt.Sprintf("unknown escape \\%c", c)}
			}
			s, cols = append(s, c), append(cols, i)
			continue
		}
		s, cols = append(s, c), append(cols, i+1)
	}
	return s, cols, nil
}

// Option bits of %{...}, as HAProxy's node_args_list names them.
const (
	optQ = 1 << iota
	optE
	optX
)

// compile turns a log-format into a program. It follows HAProxy's
// lf_expr_compile with LOG_OPT_MERGE_SPACES, as a proxy's log-format is
// compiled: every space is a separator, and consecutive separators write
// one space.
func compile(format string) (*program, error) {
	s, cols, err := unquote(format)
	if err != nil {
		return nil, err
	}
	var ops []op
	text := func(c byte) {
		if n := len(ops); n > 0 && ops[n-1].kind == opLit {
			ops[n-1].lit = append(ops[n-1].lit, c)
			return
		}
		ops = append(ops, op{kind: opLit, lit: []byte{c}})
	}
	defaults := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' {
			if n := len(ops); n == 0 || ops[n-1].kind != opSep {
				ops = append(ops, op{kind: opSep})
			}
			i++
			continue
		}
		if c != '%' {
			text(c)
			i++
			continue
		}
		col := cols[i]
		i++
		if i < len(s) && s[i] == '%' {
			text('%')
			i++
			continue
		}
		if i < len(s) && s[i] == '(' { // %(name) or %(name:type): an output name
			j := strings.IndexByte(string(s[i:]), ')')
			if j < 0 {
				return nil, &FormatError{col, "no ')' ends the name after '%('"}
			}
			i += j + 1
		}
		opts := defaults
		hasArgs := false
		if i < len(s) && s[i] == '{' {
			j := strings.IndexByte(string(s[i:]), '}')
			if j < 0 {
				return nil, &FormatError{col, "no '}' ends the options after '%{'"}
			}
			for _, a := range strings.Split(string(s[i+1:i+j]), ",") {
				if len(a) < 2 || a[0] != '+' && a[0] != '-' {
					continue // HAProxy ignores what it does not know
				}
				bit := 0
				switch a[1:] {
				case "Q":
					bit = optQ
				case "E":
					bit = optE
				case "X":
					bit = optX
				case "json", "cbor":
					if a[0] == '+' {
						return nil, &FormatError{col, fmt.Sprintf("option %s: encoded log lines are not supported", a)}
					}
				}
				if a[0] == '+' {
					opts |= bit
				} else {
					opts &^= bit
				}
			}
			i += j + 1
			hasArgs = true
		}
		if i >= len(s) {
			return nil, &FormatError{col, "the format ends after '%'"}
		}
		if s[i] == '[' { // a sample expression: to its ']', past (...) and quotes
			j, ok := exprEnd(s, i+1)
			if !ok {
				return nil, &FormatError{col, "no ']' ends the sample expression after '%['"}
			}
			ops = append(ops, op{kind: opField, quote: opts&optQ != 0, esc: opts&optE != 0, column: col, name: "%" + string(s[i:j+1])})
			i = j + 1
			continue
		}
		j := i
		for j < len(s) && (isAlpha(s[j]) || j > i && isDigit(s[j]) || hasArgs && isDigit(s[j])) {
			j++
		}
		name := string(s[i:j])
		if name == "" {
			return nil, &FormatError{col, fmt.Sprintf("'%%' is followed by %q, not an alias; write %%%% for a '%%'", s[i])}
		}
		f, ok := aliases[name]
		if !ok {
			return nil, &FormatError{col, fmt.Sprintf("no such alias %%%s", name)}
		}
		i = j
		if name == "o" { // options for the fields that follow
			defaults = opts
			continue
		}
		if f.field == fieldTimer && opts&optX != 0 {
			return nil, &FormatError{col, fmt.Sprintf("%%%s in hexadecimal (option X) is not supported", name)}
		}
		f.kind, f.quote, f.esc, f.column, f.name = opField, opts&optQ != 0, opts&optE != 0, col, "%"+name
		ops = append(ops, f)
	}
	return link(ops)
}

// link gives each field the text that ends it and checks that the
// program can split a line.
func link(ops []op) (*program, error) {
	p := &program{}
	named := false
	for i := range ops {
		o := &ops[i]
		if o.kind != opField {
			continue
		}
		switch o.field {
		case fieldFrontend, fieldBackend:
			named = true
		case fieldTimer:
			p.timers |= 1 << o.timer
		}
		if i+1 == len(ops) {
			continue // to the end of the line
		}
		switch next := &ops[i+1]; next.kind {
		case opLit:
			o.stop = next.lit
		case opSep:
			o.stop = []byte{' '}
		case opField:
			if o.field != fieldTimer && o.field != fieldTerm {
				return nil, &FormatError{next.column, fmt.Sprintf("%s directly follows %s: nothing tells where %s ends; put a literal between them", next.name, o.name, o.name)}
			}
		}
	}
	// A line counts only in the histograms of a proxy, for its timers.
	if !named {
		return nil, &FormatError{1, "the format names no proxy: it has none of %ft %f %b"}
	}
	if p.timers == 0 {
		return nil, &FormatError{1, "the format has no timer: it has none of %TR %Tw %Tc %Tr %Ta %Tt"}
	}
	// A list of captures followed only by optional fields and separators
	// runs to the end: its values may hold spaces.
	for i := range ops {
		if ops[i].kind != opField || ops[i].field != fieldCaptures {
			continue
		}
		rest := true
		for _, o := range ops[i+1:] {
			if o.kind == opLit || o.kind == opField && o.field != fieldCapture && o.field != fieldCaptures {
				rest = false
				break
			}
		}
		ops[i].toEnd = rest
	}
	p.ops = fast(ops)
	p.lastTerm = len(p.ops)
	for i := len(p.ops) - 1; i >= 0; i-- {
		if o := &p.ops[i]; o.records() {
			p.lastTerm = i + 1
			if o.past {
				p.lastTerm = i
			}
			break
		}
	}
	return p, nil
}

// records reports whether o records something in a Line.
func (o *op) records() bool {
	switch o.field {
	case fieldFrontend, fieldBackend, fieldServer, fieldTimer, fieldTerm:
		return true // literals and separators have fieldSkip
	}
	return false
}

// fast rewrites ops into the same program with fewer, cheaper steps:
// one-byte literals, and fields that read up to a one-byte stop and
// then step past it (the stop op is then dropped).
func fast(ops []op) []op {
	for i := range ops {
		o := &ops[i]
		switch {
		case o.kind == opLit && len(o.lit) == 1:
			o.kind, o.c = opByte, o.lit[0]
		case o.kind == opField && o.field == fieldTimer:
			o.kind = opTimer
		case o.kind == opField && o.field == fieldSkip && !o.quote && !o.esc && len(o.stop) == 1:
			o.kind, o.c = opSkip, o.stop[0]
		case o.kind == opField && (o.field == fieldFrontend || o.field == fieldBackend || o.field == fieldServer) && !o.esc && len(o.stop) == 1:
			o.kind, o.c = opName, o.stop[0]
		}
	}
	out := ops[:0]
	for i := 0; i < len(ops); i++ {
		o := ops[i]
		if (o.kind == opSkip || o.kind == opName || o.kind == opTimer) && i+1 < len(ops) {
			switch next := ops[i+1]; next.kind {
			case opByte:
				o.past, o.c = true, next.c
				i++
			case opSep:
				o.past, o.c, o.sepStop = true, ' ', true
				i++
			}
		}
		out = append(out, o)
	}
	return out
}

// exprEnd returns the index of the ']' that ends the sample expression
// starting at s[i].
func exprEnd(s []byte, i int) (int, bool) {
	depth := 0
	var q byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ']' && depth <= 0:
			return i, true
		}
	}
	return 0, false
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
