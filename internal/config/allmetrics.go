package config

import "strings"

// allMetricsOption is the [process] option that turns on the emission of
// every show info field and show stat column, aggregated by the nature
// HAProxy's typed output gives it. New in the Go version, so it is not in
// the original's built-in table that -p prints: false unless set.
const allMetricsOption = "all-metrics"

// allMetrics decodes [process] all-metrics.
func (d *decoder) allMetrics(c *Process) {
	const s = "process"
	if d.f.has(s, allMetricsOption) {
		c.AllMetrics, _ = d.bool(s, allMetricsOption)
	}
	if d.f.has(s, statusMetricsOption) {
		c.StatusMetrics, _ = d.bool(s, statusMetricsOption)
	}
	if d.f.has(s, excludeStatesOption) {
		if v, ok := d.str(s, excludeStatesOption); ok {
			for _, st := range strings.Split(v, ",") {
				if st = strings.TrimSpace(st); st == "" {
					d.failf(s, excludeStatesOption, "%s: an empty state in %q: states are separated by commas", excludeStatesOption, v)
					continue
				}
				c.ExcludeServerStates = append(c.ExcludeServerStates, st)
			}
		}
	}
	if d.f.has(s, stickTablesOption) {
		c.StickTableMetrics, _ = d.bool(s, stickTablesOption)
	}
	if d.f.has(s, excludeFromCountsOption) {
		c.ExcludeFromCounts, _ = d.bool(s, excludeFromCountsOption)
	}
}

// excludeStatesOption is [process] exclude-server-states, the status
// strings of the servers left out; excludeFromCountsOption also leaves
// them out of the counts. New in the Go version: empty and false unless
// set, not in the original's defaults (-p).
const (
	stickTablesOption       = "sticktable-metrics"
	excludeStatesOption     = "exclude-server-states"
	excludeFromCountsOption = "exclude-server-states-from-counts"
)

// statusMetricsOption is [process] status-metrics, off unless set, so
// that the output stays the original's; like all-metrics it is not in
// the original's defaults (-p).
const statusMetricsOption = "status-metrics"
