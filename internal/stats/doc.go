// Package stats turns the raw replies of HAProxy's `show info` and
// `show stat` commands into Graphite datapoints: it parses them by field
// and column name, aggregates the numbers across HAProxy processes (sums
// and means), and derives the extra metrics of the original haproxystats.
// It does no I/O.
//
// For one snapshot directory, haproxystats-process calls Daemon with the
// `show info` replies, then ParseSites with the `show stat` replies and,
// on the result, Frontends, Backends and Servers, in that order
// (BEHAVIOR.md §5.5). Each appends its lines, ending with its Metrics*
// self-statistic; the caller adds the timing lines.
//
// The behaviour is the original's (BEHAVIOR.md §6) with the choices of
// DECISIONS.md: master's averaging (time means only over processes with
// traffic, omitted when there is none), fields and columns absent from
// the input skipped rather than invented, names always strings, and the
// original's paths, including its metric-name collisions.
package stats
