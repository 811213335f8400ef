package stats

import (
	"bytes"
	"strings"
)

// A State is what the status column of show stat says of a frontend, a
// backend or a server, reduced to the states an operator alerts on:
// HAProxy's transitional forms count as where they come from ("UP 1/3",
// up and going down, is Up; "DOWN 1/2", down and going up, is Down), and
// the reasons of a maintenance ("MAINT (via b/s)", "MAINT (resolution)")
// are Maint.
type State uint8

// The states, best first within each kind of row; StateNone is a row
// without a status cell (a reply without the column, or an unknown word).
const (
	StateNone    State = iota
	StateUp            // server or backend UP
	StateNoCheck       // server "no check": in service, not checked
	StateNoLB          // server NOLB: up, takes no new traffic from the balancing
	StateDrain         // server DRAIN: weight 0, finishing its sessions
	StateMaint         // server MAINT
	StateDown          // server or backend DOWN
	StateOpen          // frontend OPEN
	StateFull          // frontend FULL: at its maxconn
	StateStop          // frontend STOP
	nStates
)

// stateNames are the states as docs/metrics.md and the Graphite paths
// name them.
var stateNames = [nStates]string{"", "Up", "NoCheck", "NoLB", "Drain", "Maint", "Down", "Open", "Full", "Stop"}

func (s State) String() string { return stateNames[s] }

// Code is the number a status datapoint carries in Graphite: 1 for the
// states that serve (Up, Open), 0 for Down and Stop, and one number for
// each other state, so that `status != 1` finds every server an operator
// should look at. docs/metrics.md lists them.
func (s State) Code() float64 { return stateCodes[s] }

var stateCodes = [nStates]float64{StateUp: 1, StateNoCheck: 2, StateNoLB: 3, StateDrain: 4, StateMaint: 5, StateDown: 0, StateOpen: 1, StateFull: 2, StateStop: 0}

// worse reports whether a is a worse state than b, for ties: the
// frontend and the server-or-backend states are ordered apart.
func worse(a, b State) bool { return a > b }

// parseState reads a status cell.
func parseState(cell []byte) State {
	word := cell
	if i := bytes.IndexAny(cell, " ("); i >= 0 {
		word = cell[:i]
	}
	switch string(word) {
	case "UP":
		return StateUp
	case "DOWN":
		return StateDown
	case "NOLB":
		return StateNoLB
	case "DRAIN":
		return StateDrain
	case "MAINT":
		return StateMaint
	case "OPEN":
		return StateOpen
	case "FULL":
		return StateFull
	case "STOP":
		return StateStop
	case "no":
		if bytes.Equal(cell, []byte("no check")) {
			return StateNoCheck
		}
	}
	return StateNone
}

// addState counts state s for group g.
func (t *table) addState(g int32, s State) { t.addStates(g, s, 1) }

// addStates counts n processes in state s for group g.
func (t *table) addStates(g int32, s State, n uint16) {
	if s == StateNone || n == 0 {
		return
	}
	if need := (int(g) + 1) * int(nStates); len(t.states) < need {
		t.states = append(t.states, make([]uint16, need-len(t.states))...)
	}
	t.states[int(g)*int(nStates)+int(s)] += n
}

// CheckStatuses are the results of a health check as show stat's
// check_status column names them, in the order of HAProxy's own
// exporter's check_status series (HCHK_STATUS_HANA ... PROCOK); the
// transitional ones (UNK, INI, START) are not among them.
var CheckStatuses = [...]string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}

// healthCheck is a server's last health check: status is 1 + its index in
// CheckStatuses, 0 for none; code is check_code, when hasCode.
type healthCheck struct {
	status  uint8
	hasCode bool
	code    uint16
}

// parseHealthCheck reads the check_status and check_code cells; a check in
// progress ("* L4OK") counts as its last result.
func parseHealthCheck(status, code []byte) healthCheck {
	status = bytes.TrimPrefix(status, []byte("* "))
	var c healthCheck
	for i, name := range CheckStatuses {
		if string(status) == name {
			c.status = uint8(i + 1)
			break
		}
	}
	if c.status == 0 {
		return healthCheck{}
	}
	if v, ok := parseNum(code); ok && len(code) > 0 && v >= 0 && v < 1<<16 {
		c.hasCode, c.code = true, uint16(v)
	}
	return c
}

// addCheck keeps the healthCheck of a row of group g: across processes, the
// first one that had a healthCheck (each process checks on its own; they
// agree but for the moment each saw last).
func (t *table) addCheck(g int32, status, code []byte) {
	if int(g) < len(t.checks) && t.checks[g].status != 0 {
		return // before parsing: most rows are of a group that has its check
	}
	if c := parseHealthCheck(status, code); c.status != 0 {
		t.setCheck(g, c)
	}
}

// setCheck keeps c for group g unless g has a check already.
func (t *table) setCheck(g int32, c healthCheck) {
	if int(g) < len(t.checks) && t.checks[g].status != 0 {
		return
	}
	if need := int(g) + 1; len(t.checks) < need {
		t.checks = append(t.checks, make([]healthCheck, need-len(t.checks))...)
	}
	t.checks[g] = c
}

// checkOf returns group g's healthCheck.
func (t *table) checkOf(g int32) healthCheck {
	if int(g) < len(t.checks) {
		return t.checks[g]
	}
	return healthCheck{}
}

// state returns group g's state across the processes: the one most of
// them report, a tie going to the worse, so that a server down in one
// process of two counts as down. StateNone when no process said.
func (t *table) state(g int32) State {
	base := int(g) * int(nStates)
	if base >= len(t.states) {
		return StateNone
	}
	best, n := StateNone, uint16(0)
	for s := State(1); s < nStates; s++ {
		c := t.states[base+int(s)]
		if c > n || c == n && c > 0 && worse(s, best) {
			best, n = s, c
		}
	}
	return best
}

// NormalizeState is a status string as exclude-server-states compares
// it: upper case, one space between words, none before a parenthesis, so
// that "MAINT (via)", "maint(via)" and HAProxy 1.6's "MAINT(via)" are
// one state.
func NormalizeState(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), " "))
	return strings.ReplaceAll(s, " (", "(")
}

// markExcluded records whether a row of group g has an excluded status:
// the group stays live as soon as one row has not.
func (t *table) markExcluded(g int32, excluded bool) {
	if t.live == nil {
		t.live = make([]bool, 0, cap(t.keys))
	}
	for len(t.live) <= int(g) {
		t.live = append(t.live, false)
	}
	if !excluded {
		t.live[g] = true
	}
}

// ExcludedState reports whether status is one of exclude (normalized by
// NormalizeState): exactly, or for "MAINT (via)" any "MAINT (via b/s)",
// the form HAProxy gives with the tracked server's name.
func ExcludedState(status string, exclude map[string]bool) bool {
	n := NormalizeState(status)
	if exclude[n] {
		return true
	}
	i := strings.Index(n, "(VIA ")
	return i >= 0 && exclude[n[:i]+"(VIA)"]
}

// excluded reports whether every row of group g had an excluded status.
func (t *table) excluded(g int32) bool { return t.live != nil && (int(g) >= len(t.live) || !t.live[g]) }

// counted returns the groups the counts of o see: those walked, and the
// excluded ones too unless o.ExcludeFromCounts.
func (t *table) counted(o *Options) []int32 {
	if t.all == nil || o.ExcludeFromCounts {
		return t.order
	}
	return t.all
}
