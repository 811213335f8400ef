package logformat

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.quoted")
	for _, file := range files {
		for _, msg := range readQuoted(f, file) {
			f.Add(msg)
		}
	}
	parsers := []*Parser{newParser(f, "auto"), newParser(f, customFormat), newParser(f, HTTPLog), newParser(f, "%{+Q,+E}o %ft %b %s %Tt %ts")}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, p := range parsers {
			var timers uint8
			for _, prog := range p.progs {
				timers |= prog.timers
			}
			var l latency.Line
			if !p.Parse(msg, &l) {
				if l.Has != 0 || l.HasTerm || len(l.Frontend)+len(l.Backend)+len(l.Server) != 0 {
					t.Fatalf("refused, but l is not empty: %q", msg)
				}
				continue
			}
			checkInside(t, msg, &l, false)
			if l.Has&^timers != 0 {
				t.Fatalf("Has %b, but the format has timers %b only: %q", l.Has, timers, msg)
			}
		}
	})
}

// FuzzNew compiles any format: New must not panic, and a Parser it
// returns must not panic on the captures.
func FuzzNew(f *testing.F) {
	for _, format := range []string{HTTPLog, HTTPSLog, HTTPLogCLF, TCPLog, TCPLogCLF, customFormat, `%{+Q,+E}o %ft\ %b %s %(n:sint)Tt %[a(")]"),b] %%`} {
		f.Add(format)
	}
	msgs := readQuoted(f, "testdata/haproxy-2.6/rfc3164.quoted")
	f.Fuzz(func(t *testing.T, format string) {
		p, err := New(format)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Column < 1 || fe.Column > max(len(format), 1) {
				t.Fatalf("New(%q): %v: not a FormatError within the format", format, err)
			}
			return
		}
		var l latency.Line
		for _, msg := range msgs {
			if p.Parse(msg, &l) {
				checkInside(t, msg, &l, true)
			}
		}
	})
}
