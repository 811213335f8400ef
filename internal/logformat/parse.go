package logformat

import (
	"bytes"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// maxDigits bounds a timer: more digits than HAProxy writes for any
// 32-bit count of milliseconds make the line one not understood.
const maxDigits = 15

// Parse parses one datagram, its syslog framing and the log line, into
// l, and reports whether it was a request log line of the format. The
// names in l are slices of msg.
func (p *Parser) Parse(msg []byte, l *latency.Line) bool {
	line := message(msg)
	for _, prog := range p.progs {
		l.Reset()
		if prog.parse(line, l) {
			return true
		}
	}
	l.Reset()
	return false
}

// message returns the log line of a datagram, its syslog header cut
// off: RFC 5424 (<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG), RFC 3164
// (<PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG, HAProxy's default), format
// short (<PRI>MSG), format timed (<PRI>Mmm dd hh:mm:ss MSG) and format
// raw (MSG alone).
func message(d []byte) []byte {
	for len(d) > 0 && (d[len(d)-1] == '\n' || d[len(d)-1] == 0 || d[len(d)-1] == '\r') {
		d = d[:len(d)-1]
	}
	if len(d) < 3 || d[0] != '<' {
		return d // raw
	}
	gt := bytes.IndexByte(d[:min(len(d), 5)], '>')
	if gt < 2 {
		return d
	}
	for _, c := range d[1:gt] {
		if c < '0' || c > '9' {
			return d
		}
	}
	rest := d[gt+1:]
	switch {
	case len(rest) > 2 && rest[0] == '1' && rest[1] == ' ':
		return rfc5424(rest[2:])
	case len(rest) > 16 && rest[3] == ' ' && rest[6] == ' ' && rest[9] == ':' && rest[12] == ':' && rest[15] == ' ':
		after := rest[16:]
		head := after[:min(len(after), 128)]
		if i := bytes.Index(head, []byte("]: ")); i >= 0 {
			return after[i+3:]
		}
		if i := bytes.Index(head, []byte(": ")); i >= 0 && bytes.IndexByte(head[:i], ' ') < 0 {
			return after[i+2:] // a tag without a pid
		}
		return after // format timed
	}
	return rest // format short
}

// rfc5424 returns the message of the part of an RFC 5424 line after its
// version: TIMESTAMP HOST APP PROCID MSGID, the structured data, a space.
func rfc5424(b []byte) []byte {
	for range 5 {
		i := bytes.IndexByte(b, ' ')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		for len(b) > 0 && b[0] == '[' {
			i := 1
			for ; i < len(b) && b[i] != ']'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return nil
			}
			b = b[i+1:]
		}
	default:
		return nil
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 BOM
}

// parse reads line with the program into l.
func (p *program) parse(line []byte, l *latency.Line) bool {
	pos := 0
	for i, e := range p.elems {
		if e.kind == literal {
			if !bytes.HasPrefix(line[pos:], e.lit) {
				return false
			}
			pos += len(e.lit)
			continue
		}
		var v []byte
		switch {
		case e.kind == term2 || e.kind == term4:
			n := 2
			if e.kind == term4 {
				n = 4
			}
			if len(line)-pos < n {
				return false
			}
			v = line[pos : pos+n]
		case i+1 == len(p.elems):
			v = line[pos:] // the rest
		default:
			next := p.elems[i+1].lit
			rest := line[pos:]
			end := -1
			if len(rest) > 0 && rest[0] == '"' { // quoted: ends at a quote the delimiter follows
				for j := 1; j < len(rest); j++ {
					if rest[j] == '"' && bytes.HasPrefix(rest[j+1:], next) {
						end = j + 1
						break
					}
				}
			} else {
				end = bytes.IndexByte(rest, next[0])
			}
			if end < 0 {
				return false
			}
			v = rest[:end]
		}
		pos += len(v)
		if !set(e, v, l) {
			return false
		}
	}
	return len(l.Backend) > 0 // a line that names no backend counts for none
}

// set gives l the value v of the field e.
func set(e elem, v []byte, l *latency.Line) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && e.kind != term2 && e.kind != term4 {
		v = v[1 : len(v)-1]
	}
	switch e.kind {
	case frontend:
		if len(v) > 0 && v[len(v)-1] == '~' {
			v = v[:len(v)-1]
		}
		l.Frontend = v
	case frontendF:
		l.Frontend = v
	case backend:
		l.Backend = v
	case server:
		l.Server = v
	case term2, term4:
		l.Term, l.HasTerm = [2]byte{v[0], v[1]}, true
	case timer:
		ms, ok := millis(v)
		if !ok {
			return false
		}
		l.Set(e.timer, ms)
	}
	return true
}

// millis reads a timer: digits, "+" and digits (option logasap), or -1.
func millis(v []byte) (int64, bool) {
	if len(v) == 2 && v[0] == '-' && v[1] == '1' {
		return -1, true
	}
	if len(v) > 0 && v[0] == '+' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > maxDigits {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
