package config

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
}

// statusMetricsOption is [process] status-metrics, off unless set, so
// that the output stays the original's; like all-metrics it is not in
// the original's defaults (-p).
const statusMetricsOption = "status-metrics"
