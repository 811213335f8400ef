// Package columns holds the metric lists of the original haproxystats,
// verbatim and in its order: which show info fields and show stat
// columns are emitted, and the tokens the frontend-metrics,
// backend-metrics and server-metrics options accept. It is a leaf, so
// that checking a configuration links no processing code.
package columns

// The metric lists of the original haproxystats, verbatim and in its
// order. They decide which Graphite paths exist, so they are
// what users' dashboards depend on: never reorder or rename.

// DaemonMetrics are the `show info` fields summed across processes.
var DaemonMetrics = []string{
	"CompressBpsIn", "CompressBpsOut", "CompressBpsRateLim", "ConnRate",
	"ConnRateLimit", "CumConns", "CumReq", "CumSslConns", "CurrConns",
	"CurrSslConns", "Hard_maxconn", "MaxConnRate", "MaxSessRate",
	"MaxSslConns", "MaxSslRate", "MaxZlibMemUsage", "Maxconn", "Maxpipes",
	"Maxsock", "Memmax_MB", "PipesFree", "PipesUsed", "Run_queue",
	"SessRate", "SessRateLimit", "SslBackendKeyRate", "SslBackendMaxKeyRate",
	"SslCacheLookups", "SslCacheMisses", "SslFrontendKeyRate",
	"SslFrontendMaxKeyRate", "SslFrontendSessionReuse_pct", "SslRate",
	"SslRateLimit", "Tasks", "Ulimit-n", "ZlibMemUsage",
}

// DaemonAvgMetrics are the `show info` fields averaged across processes.
var DaemonAvgMetrics = []string{"Idle_pct", "Uptime_sec"}

var commonMetrics = []string{
	"bin", "bout", "dresp", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx",
	"hrsp_5xx", "hrsp_other", "rate", "rate_max", "scur", "slim", "smax", "stot",
}

// FrontendMetrics are the `show stat` columns summed for frontends.
var FrontendMetrics = concat([]string{
	"comp_byp", "comp_in", "comp_out", "comp_rsp", "conn_rate",
	"conn_rate_max", "conn_tot", "dcon", "dses", "dreq", "ereq",
	"intercepted", "rate_lim", "req_rate", "req_rate_max", "req_tot",
}, commonMetrics)

// BackendMetrics are the `show stat` columns summed for backends.
var BackendMetrics = concat([]string{
	"chkdown", "cli_abrt", "comp_byp", "comp_in", "comp_out", "comp_rsp",
	"downtime", "dreq", "econ", "eresp", "intercepted", "lbtot", "qcur",
	"qmax", "req_tot", "srv_abrt", "wredis", "wretr",
}, commonMetrics)

// ServerMetrics are the `show stat` columns summed for servers.
var ServerMetrics = concat([]string{
	"chkfail", "chkdown", "cli_abrt", "econ", "eresp", "lbtot", "qcur",
	"qmax", "srv_abrt", "wredis", "wretr",
}, commonMetrics)

// BackendAvgMetrics are averaged over every process where the backend
// exists; BackendAvgTimeMetrics only over those where it had traffic
// (lbtot > 0). Both are always emitted, whatever backend-metrics says.
var (
	BackendAvgMetrics     = []string{"act", "bck", "weight"}
	BackendAvgTimeMetrics = []string{"rtime", "ctime", "qtime", "ttime"}
)

// ServerAvgMetrics and ServerAvgTimeMetrics are the same for servers.
var (
	ServerAvgMetrics     = []string{"throttle", "weight"}
	ServerAvgTimeMetrics = []string{"ctime", "qtime", "rtime", "ttime"}
)

// ValidFrontendMetrics, ValidBackendMetrics and ValidServerMetrics are the
// tokens accepted by the frontend-metrics, backend-metrics and
// server-metrics options.
var (
	ValidFrontendMetrics = Set(FrontendMetrics)
	ValidBackendMetrics  = Set(BackendMetrics, BackendAvgMetrics, BackendAvgTimeMetrics)
	ValidServerMetrics   = Set(ServerMetrics, ServerAvgMetrics, ServerAvgTimeMetrics)
)

func concat(a, b []string) []string {
	return append(append([]string(nil), a...), b...)
}

// Set returns the names of lists as a set.
func Set(lists ...[]string) map[string]bool {
	m := make(map[string]bool)
	for _, l := range lists {
		for _, s := range l {
			m[s] = true
		}
	}
	return m
}
