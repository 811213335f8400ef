// Package stats turns the raw replies of HAProxy's `show info` and
// `show stat` commands into Graphite datapoints: it parses them by field
// and column name, aggregates the numbers across HAProxy processes (sums
// and means), and derives the extra metrics of the original haproxystats.
// It does no I/O.
package stats
