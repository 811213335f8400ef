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

// exclude-server-states leaves out the servers in an excluded state on
// every process, from every walk; they still count in TotalServers and
// Servers<State> unless ExcludeFromCounts.
func TestExcludeServerStates(t *testing.T) {
	replies := [][]byte{
		statusReply("OPEN", "UP", "MAINT (resolution)", "MAINT", "MAINT (via b/s0)", "UP", "maint"),
		statusReply("OPEN", "UP", "MAINT (resolution)", "UP", "MAINT (via b/s0)", "UP", "MAINT"),
	}
	exclude := map[string]bool{}
	for _, st := range []string{"maint(resolution)", "MAINT (via)", "MAINT"} {
		exclude[NormalizeState(st)] = true
	}
	b := Builder{ExcludeStates: exclude}
	for i, r := range replies {
		if err := b.addFile(File{Name: fmt.Sprint(i), Data: r}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.Sites()
	if err != nil {
		t.Fatal(err)
	}
	for _, fromCounts := range []bool{false, true} {
		o := &Options{Prefix: "p", Status: true, AggrServers: true, ExcludeServerStates: exclude, ExcludeFromCounts: fromCounts}
		got := map[string]float64{}
		servers := map[string]bool{}
		for _, m := range append(s.Backends(nil, 1, o), s.Servers(nil, 1, o)...) {
			got[m.Path] = m.Value
			if rest, ok := strings.CutPrefix(m.Path, "p.backend.b.server."); ok {
				servers[strings.Split(rest, ".")[0]] = true
			}
			if rest, ok := strings.CutPrefix(m.Path, "p.server."); ok {
				servers["merged "+strings.Split(rest, ".")[0]] = true
			}
		}
		// s0, s2 and s4 are excluded on both processes; s1 is UP on one.
		want := map[string]bool{"s1": true, "s3": true, "merged s1": true, "merged s3": true}
		if fmt.Sprint(servers) != fmt.Sprint(want) {
			t.Errorf("fromCounts %v: servers walked %v, want %v", fromCounts, servers, want)
		}
		// s1, MAINT on one process and UP on the other, is MAINT (a tie
		// goes to the worse) but walked: it is not excluded everywhere.
		total, maint := 5.0, 4.0
		if fromCounts {
			total, maint = 2, 1
		}
		if got["p.backend.b.TotalServers"] != total || got["p.backend.b.ServersMaint"] != maint || got["p.backend.b.ServersUp"] != 1 {
			t.Errorf("fromCounts %v: TotalServers %v ServersMaint %v ServersUp %v, want %v %v 1", fromCounts,
				got["p.backend.b.TotalServers"], got["p.backend.b.ServersMaint"], got["p.backend.b.ServersUp"], total, maint)
		}
	}
	// The exposition walk leaves them out too.
	var rows []string
	s.Expose(rowsOf(func(r Row) {
		if r.Block == ServerBlock {
			rows = append(rows, r.Server)
		}
	}), 1, &Options{ExcludeServerStates: exclude})
	if fmt.Sprint(rows) != "[s1 s3]" {
		t.Errorf("exposition walk: servers %v, want [s1 s3]", rows)
	}
}

// rowsOf is a Target that calls fn for each row.
type rowsOf func(Row)

func (f rowsOf) Row(r Row)             { f(r) }
func (f rowsOf) Value(string, float64) {}

func TestExcludedState(t *testing.T) {
	set := map[string]bool{NormalizeState("MAINT (via)"): true, NormalizeState("drain"): true}
	for st, want := range map[string]bool{
		"MAINT (via b/s)": true, "MAINT(via b/s)": true, "maint  (via x/y)": true, "DRAIN": true, "Drain": true,
		"MAINT": false, "DRAIN (agent)": false, "UP": false, "": false,
	} {
		if got := ExcludedState(st, set); got != want {
			t.Errorf("ExcludedState(%q) = %v, want %v", st, got, want)
		}
	}
}
