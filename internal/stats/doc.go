// Package stats turns the raw replies of HAProxy's `show info` and
// `show stat` commands into Graphite datapoints: it parses them by field
// and column name, aggregates the numbers across HAProxy processes (sums
// and means), and derives the extra metrics of the original haproxystats.
// It does no I/O of its own: an Encoder writes to the io.Writer its
// caller gives it.
//
// For one snapshot directory, haproxystats-process calls Daemon with the
// `show info` replies, then ParseSites with the `show stat` replies and,
// on the result, Frontends, Backends and Servers, in that order, the
// original's. Each appends its lines, ending with its Metrics*
// self-statistic; the caller adds the timing lines.
//
// For large configurations the same work can be done in bounded memory
// (bench/ has the figures): a Builder takes the `show stat` replies one
// at a time, so that only one need be in memory, and an Encoder writes
// the lines of Daemon, Frontends, Backends and Servers directly as
// Graphite plaintext, byte for byte what metric.Metric.AppendLine gives,
// without building a metric.Metric or a path string per line, in pieces
// of 64 KiB when it has a writer.
//
// With Options.AllMetrics (all-metrics, new in the Go version), the
// numeric fields and columns outside the original's lists are emitted
// too, each aggregated by the nature HAProxy's typed output gives it:
// ParseTypedInfo and ParseTypedStat read `show info typed` and `show stat
// typed` into Natures, ParseSitesAll keeps the extra columns, and
// allmetrics.go documents the aggregation table.
//
// The behaviour is the original's, with these choices where it had none
// or a bug (docs/differences.md lists them): its master branch's averaging (time
// means only over processes with traffic, omitted when there is none),
// fields and columns absent from the input skipped rather than invented
// as 0, names always strings, and the original's paths, including its
// metric-name collisions.
package stats
