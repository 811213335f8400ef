// Package logformat parses HAProxy's request log lines, as they arrive
// in syslog datagrams, into latency.Line: the names of the frontend,
// backend and server, the timers and the termination state. It knows
// the formats of option httplog, httpslog and tcplog and their clf
// forms, recognised per line, and compiles any log-format string of
// haproxy.cfg. Parsing allocates nothing: a Line's names are slices of
// the datagram.
package logformat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// The formats of HAProxy's options (src/log.c), from 2.6 on.
const (
	HTTPLog  = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
	HTTPSLog = HTTPLog + ` %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`
	HTTPCLF  = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
	TCPLog   = `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
	TCPCLF   = `%{+Q}o %{-Q}ci - - [%T] "TCP " 000 %B "" "" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq "" "" `
)

// Auto is the format that recognises, line by line, the formats of
// option httplog, httpslog (httplog's first fields), tcplog and their
// clf forms.
const Auto = "auto"

// kind is what a field of a format is to the parser.
type kind uint8

const (
	literal   kind = iota
	skip           // a field whose value does not matter
	frontend       // %ft: the frontend, '~' appended for SSL
	frontendF      // %f
	backend        // %b
	server         // %s
	timer          // %TR ... %Tt
	term2          // %ts: two characters
	term4          // %tsc: four characters
)

type elem struct {
	kind  kind
	lit   []byte        // literal
	timer latency.Timer // timer
	name  string        // the alias, for errors
}

// fixed reports whether e's value has a fixed width: it needs no
// delimiter.
func (e elem) fixed() bool { return e.kind == term2 || e.kind == term4 }

// program is a compiled format: its elements, up to the last one that
// matters (the rest of a line is not read).
type program struct {
	elems []elem
}

// aliases are the aliases whose values are read.
var aliases = map[string]elem{
	"ft":  {kind: frontend},
	"f":   {kind: frontendF},
	"b":   {kind: backend},
	"s":   {kind: server},
	"ts":  {kind: term2},
	"tsc": {kind: term4},
	"TR":  {kind: timer, timer: latency.TR},
	"Tw":  {kind: timer, timer: latency.Tw},
	"Tc":  {kind: timer, timer: latency.Tc},
	"Tr":  {kind: timer, timer: latency.Tr},
	"Ta":  {kind: timer, timer: latency.Ta},
	"Tt":  {kind: timer, timer: latency.Tt},
}

// compile compiles a log-format string: as haproxy.cfg has it, with or
// without its double quotes, backslash escapes allowed.
func compile(format string) (*program, error) {
	f := strings.TrimSpace(format)
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		f = f[1 : len(f)-1]
	}
	var p program
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.elems = append(p.elems, elem{kind: literal, lit: []byte(lit.String())})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '\\' && i+1 < len(f):
			i++
			lit.WriteByte(f[i])
			continue
		case c != '%':
			lit.WriteByte(c)
			continue
		case i+1 < len(f) && f[i+1] == '%':
			i++
			lit.WriteByte('%')
			continue
		}
		at := i
		i++
		if i < len(f) && f[i] == '{' { // options: %{+Q}r
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("column %d: %%{ without }", at+1)
			}
			i += end + 1
		}
		var e elem
		if i < len(f) && f[i] == '[' { // a sample expression
			depth, j := 0, i
			for ; j < len(f); j++ {
				if f[j] == '[' {
					depth++
				} else if f[j] == ']' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if j == len(f) {
				return nil, fmt.Errorf("column %d: %%[ without ]", at+1)
			}
			e = elem{kind: skip, name: f[at : j+1]}
			i = j
		} else {
			j := i
			for j < len(f) && (f[j] >= 'a' && f[j] <= 'z' || f[j] >= 'A' && f[j] <= 'Z') {
				j++
			}
			name := f[i:j]
			if name == "" {
				return nil, fmt.Errorf("column %d: %% without an alias", at+1)
			}
			i = j - 1
			if name == "o" { // %{+Q}o: options of the fields that follow; no output, nor its separator
				for i+1 < len(f) && f[i+1] == ' ' {
					i++
				}
				continue
			}
			e = aliases[name]
			if e.kind == literal {
				e.kind = skip
			}
			e.name = "%" + name
		}
		flush()
		if n := len(p.elems); n > 0 && p.elems[n-1].kind != literal && !p.elems[n-1].fixed() {
			return nil, fmt.Errorf("column %d: %s follows %s with nothing between them: the line cannot be split there", at+1, e.name, p.elems[n-1].name)
		}
		p.elems = append(p.elems, e)
	}
	flush()
	last, hasBackend := -1, false
	for i, e := range p.elems {
		if e.kind != literal && e.kind != skip {
			last = i
		}
		hasBackend = hasBackend || e.kind == backend
	}
	if !hasBackend {
		return nil, errors.New("the format has no %b: no backend to count the timers of")
	}
	// The literal after the last field that matters ends that field:
	// it is kept, and the rest of a line is not read.
	if last+1 < len(p.elems) && p.elems[last+1].kind == literal {
		last++
	}
	p.elems = p.elems[:last+1]
	return &p, nil
}

// Parser parses datagrams. It is not safe for concurrent use.
type Parser struct {
	progs []*program
}

// New returns a Parser for format: Auto (or ""), or a log-format string.
func New(format string) (*Parser, error) {
	if f := strings.TrimSpace(format); f == "" || f == Auto {
		var ps Parser
		for _, f := range []string{HTTPLog, TCPLog, TCPCLF, HTTPCLF} { // TCPCLF first: its "TCP " tells it from HTTPCLF
			p, err := compile(f)
			if err != nil {
				panic("BUG: logformat: " + err.Error())
			}
			ps.progs = append(ps.progs, p)
		}
		return &ps, nil
	}
	p, err := compile(format)
	if err != nil {
		return nil, err
	}
	return &Parser{progs: []*program{p}}, nil
}
