package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/haproxystats-go/haproxystats/internal/columns"
)

// groupSections are the grouping sections, in the fixed order used by
// Config and by its messages.
var groupSections = []string{"frontend-groups", "backend-groups", "server-groups"}

// knownOptions lists the options of each section a program reads; any
// other option set there draws a warning. The *-groups sections take any
// key, and DEFAULT may hold anything, for interpolation.
var knownOptions = map[string]map[string]bool{
	"paths": set("loglevel", "base-dir"),
	"pull": set("loglevel", "log-format", "socket-dir", "servers", "retries", "timeout",
		"interval", "pull-timeout", "pull-interval", "buffer-limit", "dst-dir",
		"tmp-dst-dir", "workers", "queue-size", "allow-partial", "ship", "max-reply-size",
		"http-user", "http-password", "tls-ca-file", "tls-cert-file", "tls-key-file", "tls-insecure-skip-verify"),
	"process": set("loglevel", "log-format", "workers", "src-dir", "aggr-server-metrics",
		"per-process-metrics", "calculate-percentages",
		"liveness-check-interval", "frontend-metrics", "backend-metrics",
		"server-metrics", "exclude-frontends", "exclude-backends", allMetricsOption,
		statusMetricsOption, stickTablesOption, excludeStatesOption, excludeFromCountsOption, "source",
		healthListenOption, readyMaxAgeOption, readyMaxQueueOption, readyMaxSinksFailingOption, liveMaxStallOption),
	"graphite": set("loglevel", "server", "port", "retries", "interval",
		"backoff", "connect-timeout", "write-timeout", "delay", "namespace",
		"prefix-hostname", "fqdn", "queue-size", "timeout", "group-namespace",
		"group-namespace-double-writes", "max-lines-per-second"),
	"local-store":     set("dir"),
	KafkaSection:      kafkaOptions,
	PrometheusSection: prometheusOptions,
	FleetSection:      fleetOptions,
	LogsSection:       logsOptions,
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Config returns the typed, validated configuration for program p.
//
// For PullProgram only cfg.Pull is filled in. For ProcessProgram
// everything else is, plus cfg.Pull's BufferLimit, SocketDir and
// Servers, which process validates as the original does.
//
// The error joins one error per problem (errors.Join), each one line
// naming section, option and value, in the original's wording where it
// had one. Then cfg is nil. warnings lists harmless oddities, one line
// each, such as "[graphite] unknown option 'prefix_hostname' ignored";
// it is returned whether or not err is nil.
//
// Config does no I/O but reading the TLS files [kafka] names and the
// web-config-file of [prometheus]; the process program also calls
// CheckSrcDir.
func (f *File) Config(p Program) (cfg *Config, warnings []string, err error) {
	d := newDecoder(f)
	cfg = new(Config)
	switch p {
	case PullProgram:
		warnings = d.pull(&cfg.Pull)
		var fw []string
		cfg.Pull.Ship, fw = d.fleetMode("pull", "ship", "none", cfg)
		warnings = append(warnings, fw...)
		cfg.Pull.Logs = d.logs(true)
	case ProcessProgram:
		cfg.Paths.BaseDir = d.paths()
		d.pullShared(&cfg.Pull)
		cfg.Pull.PullInterval, _ = d.pullInterval() // for readiness: how old a snapshot may be
		d.process(&cfg.Process)
		d.groups(cfg)
		d.graphite(&cfg.Graphite)
		d.metricLists(&cfg.Process)
		cfg.LocalStore = d.localStore()
		var kw []string
		cfg.Kafka, kw = d.kafka()
		warnings = append(warnings, kw...)
		cfg.Prometheus = d.prometheus()
		cfg.Logs = d.logs(false)
		cfg.Process.Logs = cfg.Logs
		if cfg.Prometheus != nil && cfg.Process.HealthListen != "" && cfg.Process.HealthListen == cfg.Prometheus.Listen {
			d.failf("process", healthListenOption, "must differ from [prometheus] listen, which serves /healthz and /readyz as well, got %s", pyRepr(cfg.Process.HealthListen))
		}
		cfg.Process.Source, _ = d.fleetMode("process", "source", "spool", cfg) // [kafka] decoded above
	default:
		return nil, nil, fmt.Errorf("config for unknown program %d", int(p))
	}
	warnings = append(f.warnings(p), warnings...)
	if err := d.err(); err != nil {
		return nil, warnings, err
	}
	return cfg, warnings, nil
}

// pull decodes [pull] for haproxystats-pull and returns its warnings.
func (d *decoder) pull(c *Pull) (warnings []string) {
	const s = "pull"
	c.LogLevel = d.logLevel(s)
	c.LogFormat = d.logFormat(s)
	c.Retries, _ = d.int(s, "retries", retries)
	c.Timeout, _ = d.duration(s, "timeout", positive)
	c.Interval, _ = d.duration(s, "interval", nonNegative)
	pullTimeout, timeoutOK := d.duration(s, "pull-timeout", positive)
	var intervalOK bool
	c.PullInterval, intervalOK = d.pullInterval()
	c.PullTimeout = pullTimeout
	if timeoutOK && intervalOK && pullTimeout > c.PullInterval {
		warnings = append(warnings, fmt.Sprintf("[pull] pull-timeout %v is longer than pull-interval %v: using %v", pullTimeout, c.PullInterval, c.PullInterval))
		c.PullTimeout = c.PullInterval
	}
	d.pullShared(c)
	c.DstDir, _ = d.nonEmpty(s, "dst-dir")
	c.TmpDstDir, _ = d.nonEmpty(s, "tmp-dst-dir")
	c.Workers, _ = d.int(s, "workers", atLeast(1))
	c.QueueSize, _ = d.int(s, "queue-size", atLeast(1))
	if d.f.has(s, "allow-partial") { // new in the Go version: not in -p
		c.AllowPartial, _ = d.bool(s, "allow-partial")
	}
	d.statsPages(c)
	if !d.f.has(s, "socket-dir") && !d.f.has(s, "servers") {
		d.fail("invalid configuration, no socket-dir and no servers in section 'pull': nothing to pull from")
	}
	return warnings
}

// pullShared decodes the [pull] options both programs validate:
// buffer-limit, socket-dir and servers.
func (d *decoder) pullShared(c *Pull) {
	const s = "pull"
	c.MaxReplySize = DefaultMaxReplySize
	if d.f.has(s, "max-reply-size") { // new in the Go version: not in -p
		if n, ok := d.int(s, "max-reply-size", atLeast(1)); ok {
			c.MaxReplySize = int64(n)
		}
	}
	if v, from, ok := d.value(s, "buffer-limit"); ok {
		n, err := parseInt(v)
		switch {
		case err != nil:
			d.failf(from, "buffer-limit", "%v", err)
		case n < 1:
			d.fail(fmt.Sprintf("invalid configuration, you can't set a value less than 1 for 'buffer-limit' option of '%s' section, got %s", from, pyRepr(v)))
		default:
			c.BufferLimit = n
		}
	}
	if v, from, ok := d.value(s, "socket-dir"); ok {
		if v == "" {
			d.fail(fmt.Sprintf("invalid configuration, no value for option 'socket-dir' in the section '%s'", from))
		}
		c.SocketDir = v
	}
	if v, ok := d.str(s, "servers"); ok {
		servers, errs := parseServers(v)
		for _, e := range errs {
			d.fail(e)
		}
		if len(errs) == 0 {
			c.Servers = servers
		}
	}
}

// paths decodes [paths].
func (d *decoder) paths() string {
	d.logLevel("paths")
	v, _ := d.str("paths", "base-dir")
	return v
}

// process decodes [process], except the metric lists.
func (d *decoder) process(c *Process) {
	const s = "process"
	c.LogLevel = d.logLevel(s)
	c.LogFormat = d.logFormat(s)
	c.Workers, _ = d.int(s, "workers", atLeast(1))
	c.SrcDir, _ = d.nonEmpty(s, "src-dir")
	c.AggrServerMetrics, _ = d.bool(s, "aggr-server-metrics")
	c.PerProcessMetrics, _ = d.bool(s, "per-process-metrics")
	c.CalculatePercentages, _ = d.bool(s, "calculate-percentages")
	c.LivenessCheckInterval, _ = d.duration(s, "liveness-check-interval", positive)
	c.ExcludeFrontends, _ = d.str(s, "exclude-frontends")
	c.ExcludeBackends, _ = d.str(s, "exclude-backends")
	d.allMetrics(c)
	d.health(c)
}

// groups checks the grouping rules and reads the *-groups sections.
func (d *decoder) groups(c *Config) {
	var present []string
	for _, name := range groupSections {
		if d.f.sections[name] != nil {
			present = append(present, name)
		}
	}
	const g = "graphite"
	if d.f.has(g, "group-namespace") {
		if ns, ok := d.str(g, "group-namespace"); ok {
			c.Graphite.GroupNamespace = &ns
		}
		if d.f.has(g, "group-namespace-double-writes") {
			c.Graphite.GroupNamespaceDoubleWrites, _ = d.bool(g, "group-namespace-double-writes")
		} else {
			d.failf(g, "group-namespace-double-writes", "No option 'group-namespace-double-writes' in section: 'graphite'")
		}
		if len(present) == 0 {
			d.fail("invalid configuration, at least one of these sections should exist: {'frontend-groups', 'backend-groups', 'server-groups'}")
		}
	} else if len(present) > 0 {
		d.fail("invalid configuration, no value for option 'group-namespace' in the section 'graphite'")
	}
	c.FrontendGroups = d.group("frontend-groups")
	c.BackendGroups = d.group("backend-groups")
	c.ServerGroups = d.group("server-groups")
}

// group reads the entries of one *-groups section in file order, without
// the keys [DEFAULT] also has, and checks that Go's regexp (RE2) compiles
// each pattern.
func (d *decoder) group(name string) []Group {
	s := d.f.sections[name]
	if s == nil {
		return nil
	}
	var groups []Group
	for _, k := range s.keys {
		if _, ok := d.f.defaults.vals[k]; ok {
			continue
		}
		v, ok := d.str(name, k)
		if !ok {
			continue
		}
		if _, err := regexp.Compile(v); err != nil {
			d.failf(name, k, "cannot compile pattern %s as a Go (RE2) regular expression: %v", pyRepr(v), err)
			continue
		}
		groups = append(groups, Group{Name: k, Pattern: v})
	}
	return groups
}

// graphite decodes [graphite], except the grouping options.
func (d *decoder) graphite(c *Graphite) {
	const s = "graphite"
	d.logLevel(s)
	c.Server, _ = d.str(s, "server")
	c.Port, _ = d.int(s, "port", between(1, 65535))
	c.Retries, _ = d.int(s, "retries", retries)
	c.Interval, _ = d.duration(s, "interval", nonNegative)
	c.ConnectTimeout, _ = d.duration(s, "connect-timeout", positive)
	c.WriteTimeout, _ = d.duration(s, "write-timeout", positive)
	c.Delay, _ = d.duration(s, "delay", nonNegative)
	c.Backoff, _ = d.float(s, "backoff", atLeast(1.0))
	c.Namespace, _ = d.str(s, "namespace")
	c.PrefixHostname, _ = d.bool(s, "prefix-hostname")
	c.FQDN, _ = d.bool(s, "fqdn")
	c.QueueSize, _ = d.int(s, "queue-size", atLeast(1))
	if d.f.has(s, "timeout") {
		d.float(s, "timeout", anyFloat) // unused, but the original's workers parse it
	}
	// New in the Go version, so not in the original's built-in table that
	// -p prints: its default lives here.
	c.MaxLinesPerSecond = DefaultMaxLinesPerSecond
	if d.f.has(s, "max-lines-per-second") {
		c.MaxLinesPerSecond, _ = d.int(s, "max-lines-per-second", atLeast(0))
	}
}

// metricLists decodes frontend-metrics, backend-metrics and
// server-metrics: tokens separated by single spaces, each a valid name.
func (d *decoder) metricLists(c *Process) {
	lists := []struct {
		opt   string
		valid map[string]bool
		dst   *[]string
	}{
		{"frontend-metrics", columns.ValidFrontendMetrics, &c.FrontendMetrics},
		{"backend-metrics", columns.ValidBackendMetrics, &c.BackendMetrics},
		{"server-metrics", columns.ValidServerMetrics, &c.ServerMetrics},
	}
	for _, l := range lists {
		v, from, ok := d.value("process", l.opt)
		if !ok {
			continue
		}
		names := strings.Split(v, " ")
		bad := false
		for _, n := range names {
			if !l.valid[n] {
				d.failf(from, l.opt, "'invalid list of metrics': unknown metric %s", pyRepr(n))
				bad = true
				break
			}
		}
		if !bad {
			*l.dst = names
		}
	}
}

// localStore decodes [local-store], if present.
func (d *decoder) localStore() *LocalStore {
	const s = "local-store"
	if d.f.sections[s] == nil {
		return nil
	}
	if !d.f.has(s, "dir") {
		d.fail("invalid configuration, no value for option 'dir' in the section 'local-store'")
		return nil
	}
	dir, ok := d.nonEmpty(s, "dir")
	if !ok {
		return nil
	}
	return &LocalStore{Dir: dir}
}

// warnings lists, one line each, the sections no program knows and the
// unknown options of the sections program p reads. Names that some value
// refers to by interpolation are not reported: they are variables.
func (f *File) warnings(p Program) []string {
	refSect, refOpt := f.references()
	var w []string
	for _, name := range sortedKeys(f.sections) {
		known, ok := knownOptions[name]
		if !ok {
			isGroup := false
			for _, g := range groupSections {
				isGroup = isGroup || g == name
			}
			if !isGroup && !refSect[name] {
				w = append(w, fmt.Sprintf("[%s] unknown section ignored", name))
			}
			continue
		}
		if (p == PullProgram) != (name == "pull") {
			continue
		}
		for _, k := range f.sections[name].keys {
			if !known[k] && !refOpt[k] {
				w = append(w, fmt.Sprintf("[%s] unknown option %s ignored", name, pyRepr(k)))
			}
		}
	}
	return w
}

var refRE = regexp.MustCompile(`\$\{([^}]+)\}`)

// references returns the sections and options named in ${...}
// references anywhere in the file.
func (f *File) references() (sections, options map[string]bool) {
	sections, options = map[string]bool{}, map[string]bool{}
	scan := func(s *section) {
		for _, v := range s.vals {
			for _, m := range refRE.FindAllStringSubmatch(v, -1) {
				path := strings.Split(m[1], ":")
				if len(path) == 2 {
					sections[path[0]] = true
				}
				options[strings.ToLower(path[len(path)-1])] = true
			}
		}
	}
	scan(f.defaults)
	for _, s := range f.sections {
		scan(s)
	}
	return sections, options
}

// CheckSrcDir checks that the process program can use dir as its
// src-dir: it lists it, then creates and deletes dir/.read_write_check,
// as the original does at start-up. The error is one line in the
// original's wording.
func CheckSrcDir(dir string) error {
	fail := func(err error) error {
		return fmt.Errorf("invalid configuration, read and write access is not granted for '%s' directory, error:%w", dir, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fail(err)
	}
	_, err = d.ReadDir(1)
	d.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	name := filepath.Join(dir, ".read_write_check")
	fh, err := os.Create(name)
	if err != nil {
		return fail(err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(name)
		return fail(err)
	}
	if err := os.Remove(name); err != nil {
		return fail(err)
	}
	return nil
}

// statsPages decodes the options of the http:// and https:// servers
// (new in the Go version: not in -p) and gives the pages without
// credentials in their URL those of http-user and http-password.
func (d *decoder) statsPages(c *Pull) {
	const s = "pull"
	for _, o := range []struct {
		name string
		v    *string
	}{{"http-user", &c.HTTPUser}, {"http-password", &c.HTTPPassword}, {"tls-ca-file", &c.TLSCAFile}, {"tls-cert-file", &c.TLSCertFile}, {"tls-key-file", &c.TLSKeyFile}} {
		if d.f.has(s, o.name) {
			*o.v, _ = d.str(s, o.name)
		}
	}
	if d.f.has(s, "tls-insecure-skip-verify") {
		c.TLSInsecureSkipVerify, _ = d.bool(s, "tls-insecure-skip-verify")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		d.fail("invalid configuration, tls-cert-file and tls-key-file of section 'pull' go together: set both or neither")
	}
	for i := range c.Servers {
		if sv := &c.Servers[i]; sv.Network == "http" && sv.User == "" {
			sv.User, sv.Password = c.HTTPUser, c.HTTPPassword
		}
	}
}
