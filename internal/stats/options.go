package stats

import (
	"log/slog"
	"regexp"
	"sync/atomic"
)

// File is one reply of a snapshot in memory: its file name (for example
// "admin1.sock_stat") and its bytes.
type File struct {
	Name string
	Data []byte
}

// Options are the processing settings of haproxystats-process. The zero
// value is valid: no prefix, default metric lists, no optional blocks.
type Options struct {
	// Prefix is PREFIX, for example "loadbalancers.lb-01_example_com.haproxy".
	Prefix string

	// PerProcess, Percentages and AggrServers are per-process-metrics,
	// calculate-percentages and aggr-server-metrics.
	PerProcess, Percentages, AggrServers bool

	// Status adds the status of every frontend, backend and server (a
	// status datapoint, State.Code) and, per backend, how many of its
	// servers are in each state (Servers<State>). status-metrics, new in
	// the Go version.
	Status bool

	// FrontendMetrics, BackendMetrics and ServerMetrics replace the summed
	// lists FrontendMetrics, BackendMetrics and ServerMetrics when not nil.
	// Tokens should come from the Valid*Metrics sets; any other token is
	// skipped with a debug log.
	FrontendMetrics, BackendMetrics, ServerMetrics []string

	// ExcludeFrontends and ExcludeBackends hold sanitised names ('.'
	// replaced by '_'), compared exactly with the sanitised proxy names.
	ExcludeFrontends, ExcludeBackends map[string]bool

	// StickTables adds PREFIX.sticktable.<table>.size and .used, from
	// show table. sticktable-metrics, new in the Go version.
	StickTables bool

	// ExcludeServerStates are the status strings (NormalizeState) of the
	// servers left out of every sink: a server in one of them on every
	// process that reports it is not walked. They still count in
	// TotalServers and Servers<State> unless ExcludeFromCounts.
	// exclude-server-states and exclude-server-states-from-counts, new
	// in the Go version.
	ExcludeServerStates map[string]bool
	ExcludeFromCounts   bool

	// Groups is the metric grouping (group-namespace); nil for none.
	Groups *Grouping

	// AllMetrics is all-metrics: Daemon, Frontends, Backends and Servers
	// also emit every numeric field and column outside the lists above,
	// aggregated by its nature (see allmetrics.go); the show stat columns
	// need Sites from ParseSitesAll. Natures are the natures learned from
	// typed dumps; nil uses the built-in table only.
	AllMetrics bool
	Natures    *Natures

	// Exposed makes the Sites keep the columns of ExposedColumns (all of
	// them with AllMetrics) for Sites.Expose, without adding anything to
	// the Graphite paths: a sink takes the exposition.
	Exposed        bool
	ExposedColumns map[string]bool

	// NonFinite, when not nil, counts the datapoints dropped because
	// their value is not finite (a sum that overflowed): Graphite and
	// Prometheus have no such value, and no sink is ever given one.
	NonFinite *atomic.Int64

	// Log receives debug messages about fields and columns absent from
	// the input, each with the key "file". Nil discards them.
	Log *slog.Logger
}

// Grouping is group-namespace with its [*-groups] sections.
type Grouping struct {
	Namespace    string // group-namespace
	DoubleWrites bool   // group-namespace-double-writes
	// Frontend, Backend and Server are the groups in declaration order;
	// the first whose pattern matches anywhere in the sanitised name wins.
	Frontend, Backend, Server []Group
}

// Group is one entry of a [*-groups] section.
type Group struct {
	Name string // already lower-cased
	Re   *regexp.Regexp
}

var defaultOptions Options

func (o *Options) orDefault() *Options {
	if o == nil {
		return &defaultOptions
	}
	return o
}

var discard = slog.New(slog.DiscardHandler)

func (o *Options) logger() *slog.Logger {
	if o.Log == nil {
		return discard
	}
	return o.Log
}
