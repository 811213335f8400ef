package stats

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	for cell, want := range map[string]State{
		"UP": StateUp, "UP 1/3": StateUp, "DOWN": StateDown, "DOWN 1/2": StateDown,
		"NOLB": StateNoLB, "NOLB 1/2": StateNoLB, "DRAIN": StateDrain, "DRAIN (agent)": StateDrain,
		"MAINT": StateMaint, "MAINT (via b/s)": StateMaint, "MAINT (resolution)": StateMaint,
		"no check": StateNoCheck, "OPEN": StateOpen, "FULL": StateFull, "STOP": StateStop,
		"": StateNone, "no": StateNone, "sideways": StateNone,
	} {
		if got := parseState([]byte(cell)); got != want {
			t.Errorf("parseState(%q) = %v, want %v", cell, got, want)
		}
	}
}

// statusReply is a show stat reply with backend b's server s in state
// srv, the backend in be, and frontend f in fe.
func statusReply(fe, be string, srvs ...string) []byte {
	var b strings.Builder
	b.WriteString("# pxname,svname,scur,status,type,\nf,FRONTEND,1," + fe + ",0,\n")
	for i, st := range srvs {
		fmt.Fprintf(&b, "b,s%d,1,%s,2,\n", i, st)
	}
	b.WriteString("b,BACKEND,1," + be + ",1,\n\n")
	return []byte(b.String())
}

// A status across processes is the one most of them report; a tie goes
// to the worse: a server down in one process of two is down.
func TestStatusAcrossProcesses(t *testing.T) {
	replies := [][]byte{
		statusReply("OPEN", "UP", "UP", "UP", "UP 1/3", "MAINT", "no check"),
		statusReply("OPEN", "UP", "UP", "DOWN", "UP", "MAINT", "no check"),
		statusReply("STOP", "DOWN", "DOWN", "DOWN", "UP", "DRAIN", "no check"),
	}
	var files []File
	for i, r := range replies {
		files = append(files, File{Name: fmt.Sprint(i), Data: r})
	}
	s, err := ParseSites(files)
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Prefix: "p", Status: true}
	got := map[string]float64{}
	for _, m := range append(append(s.Frontends(nil, 1, o), s.Backends(nil, 1, o)...), s.Servers(nil, 1, o)...) {
		got[m.Path] = m.Value
	}
	for path, want := range map[string]float64{
		"p.frontend.f.status":          StateOpen.Code(), // 2 OPEN, 1 STOP
		"p.backend.b.status":           StateUp.Code(),   // 2 UP, 1 DOWN
		"p.backend.b.server.s0.status": StateUp.Code(),   // 2 UP, 1 DOWN
		"p.backend.b.server.s1.status": StateDown.Code(), // 1 UP, 2 DOWN
		"p.backend.b.server.s2.status": StateUp.Code(),   // "UP 1/3" is still up
		"p.backend.b.server.s3.status": StateMaint.Code(),
		"p.backend.b.server.s4.status": StateNoCheck.Code(),
		"p.backend.b.ServersUp":        2,
		"p.backend.b.ServersDown":      1,
		"p.backend.b.ServersMaint":     1,
		"p.backend.b.ServersNoCheck":   1,
		"p.backend.b.ServersDrain":     0,
		"p.backend.b.ServersNoLB":      0,
	} {
		if v, ok := got[path]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", path, v, ok, want)
		}
	}

	// A tie, one process each: the worse.
	s, _ = ParseSites([]File{{Name: "a", Data: statusReply("OPEN", "UP", "UP")}, {Name: "b", Data: statusReply("OPEN", "UP", "DOWN")}})
	if st := s.srv.state(0); st != StateDown {
		t.Errorf("UP in one process, DOWN in the other: %v, want Down", st)
	}
}

// Without Status, nothing changes: no status datapoint, no count.
func TestStatusOffByDefault(t *testing.T) {
	s, err := ParseStat(statusReply("OPEN", "UP", "UP"))
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Prefix: "p"}
	for _, m := range append(append(s.Frontends(nil, 1, o), s.Backends(nil, 1, o)...), s.Servers(nil, 1, o)...) {
		if strings.HasSuffix(m.Path, ".status") || strings.Contains(m.Path, ".Servers") {
			t.Errorf("%s emitted without Status", m.Path)
		}
	}
}
