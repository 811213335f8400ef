package stats

import "github.com/haproxystats-go/haproxystats/internal/columns"

// The metric lists of the original haproxystats (package columns), under
// the names this package has always used.
var (
	DaemonMetrics         = columns.DaemonMetrics
	DaemonAvgMetrics      = columns.DaemonAvgMetrics
	FrontendMetrics       = columns.FrontendMetrics
	BackendMetrics        = columns.BackendMetrics
	ServerMetrics         = columns.ServerMetrics
	BackendAvgMetrics     = columns.BackendAvgMetrics
	BackendAvgTimeMetrics = columns.BackendAvgTimeMetrics
	ServerAvgMetrics      = columns.ServerAvgMetrics
	ServerAvgTimeMetrics  = columns.ServerAvgTimeMetrics
	ValidFrontendMetrics  = columns.ValidFrontendMetrics
	ValidBackendMetrics   = columns.ValidBackendMetrics
	ValidServerMetrics    = columns.ValidServerMetrics
)

func set(lists ...[]string) map[string]bool { return columns.Set(lists...) }
