package prometheus

import (
	"strings"
	"unicode"

	"github.com/haproxystats-go/haproxystats/internal/promproto"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A scope is a part of the exposition promex's scope= parameter names.
type scope uint8

const (
	scopeGlobal scope = 1 << iota // haproxy_process_*, and haproxystats' own
	scopeFrontend
	scopeBackend
	scopeServer
	scopeStickTable
	allScopes = scopeGlobal | scopeFrontend | scopeBackend | scopeServer | scopeStickTable
)

var scopeNames = map[string]scope{"global": scopeGlobal, "frontend": scopeFrontend, "backend": scopeBackend, "server": scopeServer, "sticktable": scopeStickTable}

// promName makes s a valid part of a metric name.
func promName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

const nServerStates = 5

// promex's server states, in its order, and those of frontends and
// backends.
var (
	serverStateNames = [nServerStates]string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	proxyStateNames  = []string{"DOWN", "UP"}
)

// serverState is promex's state of a server in state s, or -1.
func serverState(s stats.State) int {
	switch s {
	case stats.StateDown:
		return 0
	case stats.StateUp, stats.StateNoCheck:
		return 1
	case stats.StateMaint:
		return 2
	case stats.StateDrain:
		return 3
	case stats.StateNoLB:
		return 4
	}
	return -1
}

// proxyState is promex's state of a frontend or backend in state s, or
// -1: a frontend is UP unless stopped, a backend unless DOWN.
func proxyState(s stats.State) int {
	switch s {
	case stats.StateNone:
		return -1
	case stats.StateDown, stats.StateStop:
		return 0
	}
	return 1
}

// combineField combines field over the processes that have it.
func combineField(procs []stats.Info, field string) (float64, bool) {
	how := processCombine[field]
	if how == combineCount {
		return float64(len(procs)), len(procs) > 0
	}
	var acc float64
	n := 0
	for _, p := range procs {
		v, ok := p[field]
		if !ok {
			continue
		}
		switch {
		case n == 0:
			acc = v
		case how == combineMin:
			acc = min(acc, v)
		case how == combineMax:
			acc = max(acc, v)
		default:
			acc += v
		}
		n++
	}
	if n == 0 {
		return 0, false
	}
	if how == combineMean {
		acc /= float64(n)
	}
	return acc, true
}

// filter is what a scrape asked for: scope= and no-maint.
type filter struct {
	scopes  scope
	noMaint bool
}

func appendLabel(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, '=', '"')
	b = appendLabelValue(b, v)
	return append(b, '"')
}

// appendLabelValue appends s escaped as the text format wants a label
// value (HAProxy refuses names that are not UTF-8, but a reply may carry
// them).
func appendLabelValue(b []byte, s string) []byte { return promproto.AppendLabelValue(b, s) }

var helpEscaper = strings.NewReplacer("\\", "\\\\", "\n", "\\n")

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// snake turns a CamelCase self-statistic name into snake case
// ("SslNewThing" → "ssl_new_thing").
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
