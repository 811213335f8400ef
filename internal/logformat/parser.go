// Package logformat parses the request log lines HAProxy sends over
// syslog into latency.Lines: the frontend, backend and server names, the
// timers and the termination state, as the log-format of the proxy wrote
// them (HAProxy configuration manual, §8.2 "Log formats":
// https://docs.haproxy.org/3.0/configuration.html#8.2).
//
// A Parser compiles one log-format, or the formats of option httplog,
// httpslog, tcplog and their clf forms ("auto"), into a short program of
// literals and fields, and runs it on each datagram after taking off the
// syslog header, whichever of the formats of the log directive's format
// keyword HAProxy used (rfc3164 or "legacy", rfc5424, short, priority,
// timed, iso, raw).
//
// How a line splits: a log-format is literal text, separators (each
// space of the format; HAProxy writes one space for a run of them) and
// fields. A field ends where the text that follows it in the format
// first appears, or at the end of the line; under option Q a field may
// be in double quotes, and then ends at its closing quote. Timers are
// read as numbers, %tsc and %ts as 4 and 2 characters. A name (%ft %f %b
// %s) is never empty and has no space. New refuses two fields with
// nothing between them, unless the first is a timer or %tsc/%ts.
//
// HAProxy cuts a line at the log length (1024 bytes by default): a line
// cut short after the last field its format records (usually within %r)
// still counts. A line cut anywhere before does not.
package logformat

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// Parser parses datagrams. It is not safe for concurrent use; it does
// not allocate per datagram.
type Parser struct {
	progs []*program // tried in order; the first that fits a line wins
}

// New returns a Parser of format: "auto" (or ""), which recognises
// option httplog, httpslog, tcplog and their clf forms line by line, or
// a log-format string as haproxy.cfg has it (with or without its
// surrounding double quotes). A format it cannot use is a *FormatError,
// which names the column.
func New(format string) (*Parser, error) {
	if f := strings.TrimSpace(format); f == "" || f == "auto" || f == `"auto"` {
		p := &Parser{}
		for _, f := range autoFormats {
			prog, err := compile(f)
			if err != nil {
				panic(fmt.Sprintf("BUG: logformat: built-in format %q: %v", f, err))
			}
			p.progs = append(p.progs, prog)
		}
		return p, nil
	}
	prog, err := compile(format)
	if err != nil {
		return nil, err
	}
	return &Parser{progs: []*program{prog}}, nil
}

// Parse parses one datagram (one log line with its syslog framing,
// possibly with a trailing '\n' or NUL) into l (l.Reset() first) and
// reports whether it was a request log line it understood. Slices in l
// point into msg.
func (p *Parser) Parse(msg []byte, l *latency.Line) bool {
	l.Reset()
	body, ok := messageOf(msg)
	if !ok {
		return false
	}
	for _, prog := range p.progs {
		if prog.run(body, l) {
			return true
		}
		l.Reset()
	}
	return false
}

// run parses msg, the message without its syslog header, into l. It
// follows HAProxy's sess_build_logline: a separator writes a space
// unless the output is empty or ends with a separator's space, and every
// field but the header captures (%hr %hs %hrl %hsl, which write nothing
// when the proxy captures nothing) counts as output, even empty.
func (p *program) run(msg []byte, l *latency.Line) bool {
	pos := 0
	lastSep := true
	ops := p.ops
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opByte:
			if pos == len(msg) || msg[pos] != o.c {
				return i > p.lastTerm && pos == len(msg) // cut short after all it records
			}
			pos++
			lastSep = false
			continue
		case opLit:
			if !bytes.HasPrefix(msg[pos:], o.lit) {
				// A line cut short within text after all it records.
				return i > p.lastTerm && bytes.HasPrefix(o.lit, msg[pos:])
			}
			pos += len(o.lit)
			lastSep = false
			continue
		case opSep:
			if lastSep {
				continue
			}
			if pos == len(msg) {
				return i > p.lastTerm
			}
			if msg[pos] != ' ' {
				return false
			}
			pos++
			lastSep = true
			continue
		case opTimer:
			v, n, ok := parseTimer(msg[pos:])
			if !ok {
				return false
			}
			l.Set(o.timer, v)
			pos += n
		case opSkip: // to a one-byte stop, no quotes
			j := pos
			for j < len(msg) && msg[j] != o.c {
				j++
			}
			if j == len(msg) {
				return i > p.lastTerm // cut short
			}
			pos = j
		case opName: // to a one-byte stop, unless quoted
			if !o.quote || pos == len(msg) || msg[pos] != '"' {
				j := pos
				for j < len(msg) && msg[j] != o.c {
					j++
				}
				if j == len(msg) || !setName(o, msg[pos:j], l) {
					return false
				}
				pos = j
				break
			}
			fallthrough
		case opField:
			n, ok := p.field(o, i > p.lastTerm, msg, pos, l)
			if !ok {
				return false
			}
			if n < 0 { // cut short, after all the line records
				return true
			}
			if n == pos && (o.field == fieldCapture || o.field == fieldCaptures) {
				continue // nothing written
			}
			pos = n
		}
		lastSep = false
		if o.past { // the stop, a literal byte or a separator's space
			if pos == len(msg) || msg[pos] != o.c {
				return i > p.lastTerm && pos == len(msg)
			}
			pos++
			lastSep = o.sepStop
		}
	}
	return pos == len(msg)
}

// field reads the value of field o at msg[pos:] and returns where it
// ends: -1 when it runs past the end of a line cut short, which truncOK
// allows once all the program records is behind.
func (p *program) field(o *op, truncOK bool, msg []byte, pos int, l *latency.Line) (int, bool) {
	rest := msg[pos:]
	switch o.field {
	case fieldTerm:
		w := o.width
		if o.quote && len(rest) > 0 && rest[0] == '"' {
			if len(rest) < w+2 || rest[w+1] != '"' {
				return 0, false
			}
			rest = rest[1:]
			pos += 2
		}
		if len(rest) < w {
			return 0, false
		}
		for _, c := range rest[:w] {
			if !isAlpha(c) && c != '-' {
				return 0, false
			}
		}
		l.Term = [2]byte{rest[0], rest[1]}
		l.HasTerm = true
		return pos + w, true
	case fieldCapture:
		q := 0 // option Q: "{...}"
		if o.quote && len(rest) > 0 && rest[0] == '"' {
			q = 1
		}
		if len(rest) <= q || rest[q] != '{' {
			return pos, true // no captures: HAProxy writes nothing
		}
		j := bytes.IndexByte(rest, '}') // '}' inside is written #7D
		if j < 0 || q == 1 && j+1 == len(rest) {
			return -1, truncOK
		}
		if q == 1 && rest[j+1] != '"' {
			return 0, false
		}
		return pos + j + 1 + q, true
	case fieldCaptures:
		if len(rest) == 0 || rest[0] == ' ' {
			return pos, true // no captures
		}
		if o.toEnd {
			return len(msg), true
		}
	}
	// A value up to its stop, or within double quotes.
	var v []byte
	end := 0
	switch {
	case o.quote && len(rest) > 0 && rest[0] == '"':
		j := quoteEnd(rest[1:], o.stop, o.esc, o.stop == nil || o.toEnd)
		if j < 0 {
			return -1, truncOK
		}
		v, end = rest[1:1+j], pos+j+2
	case o.stop == nil || o.toEnd:
		v, end = rest, len(msg)
	default:
		j := indexStop(rest, o.stop, o.esc)
		if j < 0 {
			return -1, truncOK
		}
		v, end = rest[:j], pos+j
	}
	if !setName(o, v, l) {
		return 0, false
	}
	return end, true
}

// setName records v as the name field o reads, if it is one.
func setName(o *op, v []byte, l *latency.Line) bool {
	switch o.field {
	case fieldFrontend:
		if o.tilde && len(v) > 0 && v[len(v)-1] == '~' {
			v = v[:len(v)-1]
		}
		l.Frontend = v
	case fieldBackend:
		l.Backend = v
	case fieldServer:
		l.Server = v
	default:
		return true
	}
	return isName(v)
}

// isName reports whether v can be a name HAProxy wrote: not empty, and
// without the space that separates fields (HAProxy's names have none), so
// that a line of another format does not pass for one of this.
func isName(v []byte) bool {
	return len(v) > 0 && bytes.IndexByte(v, ' ') < 0
}

// parseTimer reads a timer as HAProxy writes it: digits, "-1" when the
// step was not reached, and a '+' before it when option logasap logged
// the line before the end. A value beyond int64 is not a timer.
func parseTimer(b []byte) (v int64, n int, ok bool) {
	if n < len(b) && b[n] == '+' {
		n++
	}
	if n < len(b) && b[n] == '-' {
		if n+1 < len(b) && b[n+1] == '1' && (n+2 == len(b) || !isDigit(b[n+2])) {
			return -1, n + 2, true
		}
		return 0, 0, false
	}
	start := n
	const maxInt = 1<<63 - 1
	for ; n < len(b) && isDigit(b[n]); n++ {
		d := int64(b[n] - '0')
		if v > (maxInt-d)/10 {
			return 0, 0, false
		}
		v = v*10 + d
	}
	return v, n, n > start
}

// quoteEnd returns the index in b of the '"' that closes a quoted value,
// or -1. HAProxy writes a '"' inside %r and the captures as #22, and
// inside any field with option E as \", but copies the value of a sample
// fetch as it is: without option E, the value ends at the first '"'
// followed by stop (toEnd: when it runs to the line's end, at its last
// byte).
func quoteEnd(b, stop []byte, esc, toEnd bool) int {
	switch {
	case esc:
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i
			}
		}
		return -1
	case toEnd:
		if n := len(b); n > 0 && b[n-1] == '"' {
			return n - 1
		}
		return -1
	}
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], '"')
		if i < 0 {
			return -1
		}
		off += i + 1
		if bytes.HasPrefix(b[off:], stop) {
			return off - 1
		}
	}
}

// indexStop returns the index of stop in b, or -1; with option E, past
// what a '\' escapes.
func indexStop(b, stop []byte, esc bool) int {
	if !esc {
		if len(stop) == 1 {
			return bytes.IndexByte(b, stop[0])
		}
		return bytes.Index(b, stop)
	}
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' {
			i++
			continue
		}
		if bytes.HasPrefix(b[i:], stop) {
			return i
		}
	}
	return -1
}
