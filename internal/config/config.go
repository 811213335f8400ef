// Package config reads the haproxystats INI configuration with the rules of
// Python's ConfigParser as the original haproxystats used them: a [DEFAULT]
// section that supplies values to every other section, ${option} and
// ${section:option} interpolation, lower-cased option names and
// ConfigParser booleans. It turns the file into typed values, one struct per
// section, and validates them, reporting every problem at once.
package config

import "time"

// Config is the whole configuration after defaults, files and
// interpolation. Each program reads the sections it needs.
type Config struct {
	Paths    Paths
	Pull     Pull
	Process  Process
	Graphite Graphite
	// LocalStore is nil unless a [local-store] section exists.
	LocalStore *LocalStore
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
	Network string // "unix" or "tcp"
	// Address is the socket path for unix, "host:port" for tcp (IPv6 hosts
	// in brackets, as net.Dial wants them).
	Address string
	// Name is the file name prefix of the snapshot files: the base name of
	// the socket path for unix, "<host>:<port>" (no brackets) for tcp.
	Name string
}

// Pull is the [pull] section, read by haproxystats-pull.
type Pull struct {
	LogLevel     string        // loglevel
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
}

// Process is the [process] section, read by haproxystats-process.
type Process struct {
	LogLevel              string        // loglevel
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
}

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
