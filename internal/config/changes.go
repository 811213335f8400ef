package config

import "slices"

// PullChanges returns the [pull] options whose values differ between a
// and b, in the order of the README's table: what a reload logs.
func PullChanges(a, b Pull) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
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
