package logformat

import (
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
			checkInside(t, msg, &l)
			if l.Has&^timers != 0 {
				t.Fatalf("Has %b, but the format has timers %b only: %q", l.Has, timers, msg)
			}
		}
	})
}
