// Package config reads the haproxystats INI configuration with the rules of
// Python's ConfigParser as the original haproxystats used them: a [DEFAULT]
// section that supplies values to every other section, ${option} and
// ${section:option} interpolation, lower-cased option names and
// ConfigParser booleans. It turns the file into typed values, one struct per
// section, and validates them, reporting every problem at once.
//
// Load layers the built-in defaults, the -f file and the -d files;
// File.Config gives one program's typed, validated view; PrintDefaults
// and File.Print produce the -p and -P output.
//
// Deliberate differences from the original (docs/differences.md lists
// them too):
//
//   - a duplicate section or option within one file is a *ParseError,
//     not a crash; -d files are read in sorted order;
//   - values the original accepted and then crashed or misbehaved on are
//     refused: workers, pull-interval, queue sizes and buffer-limit below
//     1, retries below -1, timeouts and liveness-check-interval not above
//     0, negative intervals and delay, backoff below 1, NaN and infinite
//     seconds, a graphite port outside 1-65535, [local-store] without
//     dir, a tcp server without host, a unix server path ending in '/',
//     and, for pull, neither socket-dir nor servers;
//   - group patterns are Go RE2 expressions, checked at start;
//   - pull-timeout below 1 second is honoured; above pull-interval it is
//     capped with a warning;
//   - leading and trailing commas of servers are ignored;
//   - unknown options and sections draw warnings;
//   - messages keep the original's wording, typos fixed, with the
//     offending value appended where the original did not show it.
package config

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Program selects which program's view of the configuration Config,
// Print and PrintDefaults give.
type Program int

const (
	// PullProgram is haproxystats-pull: it reads [DEFAULT] and [pull].
	PullProgram Program = iota
	// ProcessProgram is haproxystats-process: it reads every section but
	// [pull], and checks [pull]'s buffer-limit, socket-dir and servers as
	// the original does.
	ProcessProgram
)

// String returns the program's command name.
func (p Program) String() string {
	switch p {
	case PullProgram:
		return "haproxystats-pull"
	case ProcessProgram:
		return "haproxystats-process"
	}
	return "Program(" + strconv.Itoa(int(p)) + ")"
}

// prints reports whether -p and -P show section name for p.
func (p Program) prints(name string) bool {
	if p == PullProgram {
		return name == DefaultSection || name == "pull" || name == LogsSection
	}
	return name != "pull"
}

// logLevels maps the accepted loglevel names, lower-cased, to slog
// levels. Python's critical and fatal are above slog's Error; notset
// lets everything through.
var logLevels = map[string]slog.Level{
	"debug":    slog.LevelDebug,
	"info":     slog.LevelInfo,
	"warning":  slog.LevelWarn,
	"warn":     slog.LevelWarn,
	"error":    slog.LevelError,
	"critical": slog.LevelError + 4,
	"fatal":    slog.LevelError + 4,
	"notset":   slog.LevelDebug - 4,
}

// Level returns the slog level of a loglevel name as Config returns it
// (debug, info, warning, warn, error, critical, fatal or notset, in any
// case), and false for any other name.
func Level(name string) (slog.Level, bool) {
	l, ok := logLevels[lower(name)]
	return l, ok
}

func lower(s string) string { return strings.ToLower(s) }

// Config is the whole configuration after defaults, files and
// interpolation. Each program reads the sections it needs.
type Config struct {
	Paths    Paths
	Pull     Pull
	Process  Process
	Graphite Graphite
	// LocalStore is nil unless a [local-store] section exists.
	LocalStore *LocalStore
	// Kafka is nil unless a [kafka] section exists.
	Kafka *Kafka
	// Prometheus is nil unless a [prometheus] section exists.
	Prometheus *Prometheus
	// Logs is nil unless a [logs] section exists.
	Logs *Logs
	// Fleet is the [fleet] section, filled in only when [pull] ship or
	// [process] source is kafka.
	Fleet Fleet
	// Groups are the [frontend-groups], [backend-groups] and
	// [server-groups] entries, in file order, without the keys that
	// [DEFAULT] also has.
	FrontendGroups, BackendGroups, ServerGroups []Group
}

// Paths is the [paths] section.
type Paths struct {
	BaseDir string // base-dir
}

// Server is one entry of [pull] servers.
type Server struct {
	Network string // "unix", "tcp", or "http" for a stats page (http:// and https://)
	// Address is the socket path for unix, "host:port" for tcp (IPv6 hosts
	// in brackets, as net.Dial wants them).
	Address string
	// Name is the file name prefix of the snapshot files: the base name of
	// the socket path for unix, "<host>:<port>" (no brackets) for tcp.
	Name string
	// Master is set for master:// and master+tcp:// URLs: the socket is
	// HAProxy's master CLI, through which every worker is reached.
	Master bool
	// URL is a stats page's CSV export (Network "http"): http:// or
	// https://, ";csv" added to its path when missing, without the
	// credentials, which are in User and Password (from the URL, else
	// [pull] http-user and http-password). New in the Go version.
	URL            string
	User, Password string
}

// DefaultMaxReplySize is max-reply-size when unset: 256 MiB. A show stat
// reply takes about 400 bytes a server and process, so 10 000 servers
// give 4 MB and the largest configurations seen (100 000 servers from
// server-templates, with HAProxy 3's extra columns) about 60 MB: four
// times that is left as headroom, while an endless reply stops long
// before it fills a disk or memory.
const DefaultMaxReplySize = 256 << 20

// Pull is the [pull] section, read by haproxystats-pull.
type Pull struct {
	LogLevel     string        // loglevel, lower-cased
	LogFormat    string        // log-format: "text" or "json"; new in the Go version
	SocketDir    string        // socket-dir; "" when unset
	Servers      []Server      // servers; nil when unset
	Retries      int           // retries: -1 unlimited, N gives N+1 attempts
	Timeout      time.Duration // timeout: to establish one connection
	Interval     time.Duration // interval: pause between connection attempts
	PullTimeout  time.Duration // pull-timeout: bound of one whole round
	PullInterval time.Duration // pull-interval: round cadence, whole seconds
	BufferLimit  int           // buffer-limit: read buffer size in bytes
	DstDir       string        // dst-dir: the incoming queue
	TmpDstDir    string        // tmp-dst-dir: staging, same filesystem
	Workers      int           // workers: sockets fetched at once
	QueueSize    int           // queue-size: pause while dst-dir holds more
	// AllowPartial commits a round with the sockets that answered within
	// pull-timeout, listing the others in the snapshot's manifest, instead
	// of discarding it. allow-partial, new in the Go version.
	AllowPartial bool
	// Logs is the [logs] section: nil without one, when pull receives
	// no logs.
	Logs *Logs
	// MaxReplySize bounds one reply in bytes: pull discards a round with
	// a reply over it while it streams, process refuses a reply file over
	// it without reading it. max-reply-size, new in the Go version.
	MaxReplySize int64
	// HTTPUser and HTTPPassword are the basic authentication of the
	// stats pages whose URL has none; TLSCAFile, TLSCertFile, TLSKeyFile
	// and TLSInsecureSkipVerify their TLS, named as [kafka]'s. http-user,
	// http-password, tls-ca-file, tls-cert-file, tls-key-file and
	// tls-insecure-skip-verify, new in the Go version.
	HTTPUser, HTTPPassword             string
	TLSCAFile, TLSCertFile, TLSKeyFile string
	TLSInsecureSkipVerify              bool
	// Ship is "none" or "kafka": with kafka, haproxystats-pull also
	// produces every committed snapshot to [kafka] snapshot-topic and
	// removes it once acknowledged. ship, new in the Go version.
	Ship string
}

// Process is the [process] section, read by haproxystats-process.
type Process struct {
	// Logs is the [logs] section (Config.Logs): nil without one.
	Logs                  *Logs
	LogLevel              string        // loglevel, lower-cased
	LogFormat             string        // log-format: "text" or "json"; new in the Go version
	Workers               int           // workers
	SrcDir                string        // src-dir
	AggrServerMetrics     bool          // aggr-server-metrics
	PerProcessMetrics     bool          // per-process-metrics
	CalculatePercentages  bool          // calculate-percentages
	LivenessCheckInterval time.Duration // liveness-check-interval (accepted, unused)
	// FrontendMetrics, BackendMetrics and ServerMetrics replace the
	// default summed metric lists; nil means the defaults.
	FrontendMetrics, BackendMetrics, ServerMetrics []string

	ExcludeFrontends string // exclude-frontends: file path, "" when unset
	ExcludeBackends  string // exclude-backends: file path, "" when unset

	// AllMetrics also emits every numeric show info field and show stat
	// column outside the lists above, aggregated by the nature HAProxy's
	// typed output gives it. all-metrics, new in the Go version.
	AllMetrics bool
	// StatusMetrics also emits the status of every frontend, backend and
	// server, and per backend its servers by state. status-metrics, new
	// in the Go version.
	StatusMetrics bool
	// StickTableMetrics adds the stick tables' size and used to
	// Graphite (PREFIX.sticktable.<table>). sticktable-metrics, new in
	// the Go version.
	StickTableMetrics bool
	// ExcludeServerStates are the status strings (as show stat writes
	// them, matched case-insensitively) of the servers left out of every
	// sink; ExcludeFromCounts leaves them out of TotalServers and
	// Servers<State> too. exclude-server-states and
	// exclude-server-states-from-counts, new in the Go version.
	ExcludeServerStates []string
	ExcludeFromCounts   bool
	// Source is "spool" (src-dir) or "kafka" ([kafka] snapshot-topic,
	// consumer group [kafka] group). source, new in the Go version.
	Source string

	// HealthListen is the host:port of an HTTP server of /healthz and
	// /readyz alone, for a daemon without [prometheus] (whose server
	// serves them too); "" means none. health-listen, new in the Go
	// version.
	HealthListen string
	// ReadyMaxAgeIntervals is how many pull intervals old the newest
	// snapshot delivered may be (MaxSnapshotAge), ReadyMaxQueue how many
	// snapshots may wait, ReadyMaxSinksFailing how long every sink may
	// have been failing, before the daemon is not ready; LiveMaxStall
	// how long a loop may be busy with one step before it is not alive.
	// ready-max-age-intervals, ready-max-queue, ready-max-sinks-failing
	// and live-max-stall, new in the Go version.
	ReadyMaxAgeIntervals float64
	ReadyMaxQueue        int
	ReadyMaxSinksFailing time.Duration
	LiveMaxStall         time.Duration
}

// Graphite is the [graphite] section.
type Graphite struct {
	Server         string        // server
	Port           int           // port
	Retries        int           // retries: -1 unlimited, N gives N+1 attempts
	Interval       time.Duration // interval: first pause between attempts
	Backoff        float64       // backoff: factor applied to the pause
	ConnectTimeout time.Duration // connect-timeout
	WriteTimeout   time.Duration // write-timeout
	Delay          time.Duration // delay: pause after a failed retry sequence
	Namespace      string        // namespace
	PrefixHostname bool          // prefix-hostname
	FQDN           bool          // fqdn
	QueueSize      int           // queue-size: lines held while carbon is down
	// GroupNamespace is set when group-namespace is present (it may be
	// the empty string, which the original turns into "..").
	GroupNamespace             *string
	GroupNamespaceDoubleWrites bool // group-namespace-double-writes
	// MaxLinesPerSecond caps the rate of lines written to carbon, so that
	// a backlog of hours sent after an outage does not flatten the relay;
	// 0 means no cap. max-lines-per-second, new in the Go version.
	MaxLinesPerSecond int
}

// DefaultMaxLinesPerSecond is the default of [graphite]
// max-lines-per-second: about four times the steady rate of a 40 000
// server configuration pulled every 10 s.
const DefaultMaxLinesPerSecond = 500000

// LocalStore is the [local-store] section.
type LocalStore struct {
	Dir string // dir
}

// Group is one entry of a *-groups section: a group name (lower-cased)
// and a Go RE2 regular expression searched, unanchored, in the sanitised
// proxy or server name.
type Group struct {
	Name    string
	Pattern string
}
