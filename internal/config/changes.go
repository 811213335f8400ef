package config

import "slices"

// Changes is a list of options whose values differ between two
// configurations, in the order they were compared.
type Changes []string

// Add appends name when changed.
func (c *Changes) Add(name string, changed bool) {
	if changed {
		*c = append(*c, name)
	}
}

// PullChanges returns the [pull] options whose values differ between a
// and b, in the order of the table of docs/configuration.md: what a
// reload logs.
func PullChanges(a, b Pull) []string {
	var out Changes
	add := out.Add
	add("loglevel", a.LogLevel != b.LogLevel)
	add("log-format", a.LogFormat != b.LogFormat)
	add("socket-dir", a.SocketDir != b.SocketDir)
	add("servers", !slices.Equal(a.Servers, b.Servers))
	add("retries", a.Retries != b.Retries)
	add("timeout", a.Timeout != b.Timeout)
	add("interval", a.Interval != b.Interval)
	add("pull-timeout", a.PullTimeout != b.PullTimeout)
	add("pull-interval", a.PullInterval != b.PullInterval)
	add("buffer-limit", a.BufferLimit != b.BufferLimit)
	add("dst-dir", a.DstDir != b.DstDir)
	add("tmp-dst-dir", a.TmpDstDir != b.TmpDstDir)
	add("workers", a.Workers != b.Workers)
	add("queue-size", a.QueueSize != b.QueueSize)
	add("allow-partial", a.AllowPartial != b.AllowPartial)
	add("max-reply-size", a.MaxReplySize != b.MaxReplySize)
	add("http-user", a.HTTPUser != b.HTTPUser)
	add("http-password", a.HTTPPassword != b.HTTPPassword)
	add("tls-ca-file", a.TLSCAFile != b.TLSCAFile)
	add("tls-cert-file", a.TLSCertFile != b.TLSCertFile)
	add("tls-key-file", a.TLSKeyFile != b.TLSKeyFile)
	add("tls-insecure-skip-verify", a.TLSInsecureSkipVerify != b.TLSInsecureSkipVerify)
	add("ship", a.Ship != b.Ship)
	return out
}

// ProcessChanges returns the options a running haproxystats-process
// takes in place whose values differ between a and b, section by
// section: what its reload logs. What needs a restart is not listed.
func ProcessChanges(a, b *Config) []string {
	var out Changes
	add := out.Add
	pa, pb := a.Process, b.Process
	add("[process] loglevel", pa.LogLevel != pb.LogLevel)
	add("[process] aggr-server-metrics", pa.AggrServerMetrics != pb.AggrServerMetrics)
	add("[process] per-process-metrics", pa.PerProcessMetrics != pb.PerProcessMetrics)
	add("[process] calculate-percentages", pa.CalculatePercentages != pb.CalculatePercentages)
	add("[process] frontend-metrics", !slices.Equal(pa.FrontendMetrics, pb.FrontendMetrics))
	add("[process] backend-metrics", !slices.Equal(pa.BackendMetrics, pb.BackendMetrics))
	add("[process] server-metrics", !slices.Equal(pa.ServerMetrics, pb.ServerMetrics))
	add("[process] exclude-frontends", pa.ExcludeFrontends != pb.ExcludeFrontends)
	add("[process] exclude-backends", pa.ExcludeBackends != pb.ExcludeBackends)
	add("[process] all-metrics", pa.AllMetrics != pb.AllMetrics)
	add("[process] status-metrics", pa.StatusMetrics != pb.StatusMetrics)
	add("[process] sticktable-metrics", pa.StickTableMetrics != pb.StickTableMetrics)
	add("[process] exclude-server-states", !slices.Equal(pa.ExcludeServerStates, pb.ExcludeServerStates))
	add("[process] exclude-server-states-from-counts", pa.ExcludeFromCounts != pb.ExcludeFromCounts)
	add("[process] ready-max-age-intervals", pa.ReadyMaxAgeIntervals != pb.ReadyMaxAgeIntervals)
	add("[process] ready-max-queue", pa.ReadyMaxQueue != pb.ReadyMaxQueue)
	add("[process] ready-max-sinks-failing", pa.ReadyMaxSinksFailing != pb.ReadyMaxSinksFailing)
	add("[process] live-max-stall", pa.LiveMaxStall != pb.LiveMaxStall)
	add("[pull] pull-interval", a.Pull.PullInterval != b.Pull.PullInterval)
	ga, gb := a.Graphite, b.Graphite
	add("[graphite] namespace", ga.Namespace != gb.Namespace)
	add("[graphite] prefix-hostname", ga.PrefixHostname != gb.PrefixHostname)
	add("[graphite] fqdn", ga.FQDN != gb.FQDN)
	add("[graphite] group-namespace", (ga.GroupNamespace == nil) != (gb.GroupNamespace == nil) ||
		ga.GroupNamespace != nil && gb.GroupNamespace != nil && *ga.GroupNamespace != *gb.GroupNamespace)
	add("[graphite] group-namespace-double-writes", ga.GroupNamespaceDoubleWrites != gb.GroupNamespaceDoubleWrites)
	add("[frontend-groups]", !slices.Equal(a.FrontendGroups, b.FrontendGroups))
	add("[backend-groups]", !slices.Equal(a.BackendGroups, b.BackendGroups))
	add("[server-groups]", !slices.Equal(a.ServerGroups, b.ServerGroups))
	return out
}
