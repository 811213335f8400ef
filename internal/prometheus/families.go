package prometheus

import (
	prom "github.com/prometheus/client_golang/prometheus"
)

// spec is how one Graphite metric name of a block becomes a Prometheus
// family: the family name after the block's prefix, its type, its help,
// the factor from the Graphite value to the Prometheus one (HAProxy's
// milliseconds become seconds, as in HAProxy's own exporter), and an
// optional label that tells apart the Graphite metrics sharing the family
// (hrsp_2xx → http_responses_total{code="2xx"}).
type spec struct {
	name       string
	typ        prom.ValueType
	help       string
	scale      float64
	label, val string
}

const (
	counter = prom.CounterValue
	gauge   = prom.GaugeValue
	untyped = prom.UntypedValue
)

func c(name, help string) spec { return spec{name: name, typ: counter, help: help, scale: 1} }
func g(name, help string) spec { return spec{name: name, typ: gauge, help: help, scale: 1} }

// millis is a gauge in milliseconds on the Graphite side, in seconds here.
func millis(name, help string) spec { return spec{name: name, typ: gauge, help: help, scale: 0.001} }

func labelled(s spec, label, val string) spec {
	s.label, s.val = label, val
	return s
}

// proxySpecs are the show stat columns frontends, backends and servers
// share, named as HAProxy's exporter (addons/promex) names them.
func proxySpecs() map[string]spec {
	m := map[string]spec{
		"bin":        c("bytes_in_total", "Bytes received (bin)."),
		"bout":       c("bytes_out_total", "Bytes sent (bout)."),
		"dresp":      c("responses_denied_total", "Responses denied for security reasons (dresp)."),
		"rate":       g("current_session_rate", "Sessions per second over the last second (rate)."),
		"rate_max":   g("max_session_rate", "Highest number of sessions per second seen (rate_max)."),
		"scur":       g("current_sessions", "Current sessions (scur)."),
		"slim":       g("limit_sessions", "Configured session limit (slim)."),
		"smax":       g("max_sessions", "Highest number of concurrent sessions seen (smax)."),
		"stot":       c("sessions_total", "Sessions since start (stot)."),
		"hrsp_other": labelled(c("http_responses_total", "HTTP responses by status class (hrsp_1xx ... hrsp_5xx, hrsp_other)."), "code", "other"),
	}
	for _, class := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		m["hrsp_"+class] = labelled(m["hrsp_other"], "code", class)
	}
	return m
}

// merge adds more to base, which it returns.
func merge(base map[string]spec, more map[string]spec) map[string]spec {
	for k, v := range more {
		base[k] = v
	}
	return base
}

var compSpecs = map[string]spec{
	"comp_byp": c("http_comp_bytes_bypassed_total", "Bytes that bypassed the HTTP compressor (comp_byp)."),
	"comp_in":  c("http_comp_bytes_in_total", "Bytes fed to the HTTP compressor (comp_in)."),
	"comp_out": c("http_comp_bytes_out_total", "Bytes emitted by the HTTP compressor (comp_out)."),
	"comp_rsp": c("http_comp_responses_total", "HTTP responses that were compressed (comp_rsp)."),
}

var timeSpecs = map[string]spec{
	"qtime": millis("queue_time_average_seconds", "Average queue time of the last 1024 requests, over the processes with traffic (qtime, in seconds)."),
	"ctime": millis("connect_time_average_seconds", "Average connect time of the last 1024 requests, over the processes with traffic (ctime, in seconds)."),
	"rtime": millis("response_time_average_seconds", "Average response time of the last 1024 requests, over the processes with traffic (rtime, in seconds)."),
	"ttime": millis("total_time_average_seconds", "Average total session time of the last 1024 requests, over the processes with traffic (ttime, in seconds)."),
}

var backendServerSpecs = map[string]spec{
	"chkdown":  c("check_up_down_total", "UP to DOWN transitions (chkdown)."),
	"cli_abrt": c("client_aborts_total", "Data transfers aborted by the client (cli_abrt)."),
	"econ":     c("connection_errors_total", "Errors connecting to a server (econ)."),
	"eresp":    c("response_errors_total", "Response errors (eresp)."),
	"lbtot":    c("loadbalanced_total", "Times a server was selected by load balancing (lbtot)."),
	"qcur":     g("current_queue", "Requests waiting in the queue (qcur)."),
	"qmax":     g("max_queue", "Highest number of queued requests seen (qmax)."),
	"srv_abrt": c("server_aborts_total", "Data transfers aborted by the server (srv_abrt)."),
	"wredis":   c("redispatch_warnings_total", "Requests redispatched to another server (wredis)."),
	"wretr":    c("retry_warnings_total", "Connection retries (wretr)."),
	"weight":   g("weight", "Effective weight, averaged over the processes (weight)."),
}

// frontendSpecs, backendSpecs and serverSpecs cover every metric the
// frontend-metrics, backend-metrics and server-metrics options accept
// (a test checks it). serverSpecs also serve the aggregated servers.
var (
	frontendSpecs = merge(merge(proxySpecs(), compSpecs), map[string]spec{
		"conn_rate":     g("current_connection_rate", "Connections per second over the last second (conn_rate)."),
		"conn_rate_max": g("connections_rate_max", "Highest number of connections per second seen (conn_rate_max)."),
		"conn_tot":      c("connections_total", "Connections since start (conn_tot)."),
		"dcon":          c("denied_connections_total", "Connections denied by tcp-request connection rules (dcon)."),
		"dses":          c("denied_sessions_total", "Sessions denied by tcp-request session rules (dses)."),
		"dreq":          c("requests_denied_total", "Requests denied for security reasons (dreq)."),
		"ereq":          c("request_errors_total", "Request errors (ereq)."),
		"intercepted":   c("intercepted_requests_total", "Requests intercepted by HAProxy itself (intercepted)."),
		"rate_lim":      g("limit_session_rate", "Configured limit of new sessions per second (rate_lim)."),
		"req_rate":      g("current_http_request_rate", "HTTP requests per second over the last second (req_rate)."),
		"req_rate_max":  g("http_requests_rate_max", "Highest number of HTTP requests per second seen (req_rate_max)."),
		"req_tot":       c("http_requests_total", "HTTP requests since start (req_tot)."),
	})
	backendSpecs = merge(merge(merge(merge(proxySpecs(), compSpecs), timeSpecs), backendServerSpecs), map[string]spec{
		"downtime":     c("downtime_seconds_total", "Seconds spent DOWN (downtime)."),
		"dreq":         c("requests_denied_total", "Requests denied for security reasons (dreq)."),
		"intercepted":  c("intercepted_requests_total", "Requests intercepted by HAProxy itself (intercepted)."),
		"req_tot":      c("http_requests_total", "HTTP requests since start (req_tot)."),
		"act":          g("active_servers", "Active servers, averaged over the processes (act)."),
		"bck":          g("backup_servers", "Backup servers, averaged over the processes (bck)."),
		"TotalServers": g("servers", "Distinct servers of the backend (TotalServers)."),
	})
	serverSpecs = merge(merge(merge(proxySpecs(), timeSpecs), backendServerSpecs), map[string]spec{
		"chkfail":  c("check_failures_total", "Failed health checks (chkfail)."),
		"throttle": g("current_throttle", "Slow-start throttle in percent, averaged over the processes (throttle)."),
	})
)

// daemonSpecs are the show info fields, named as HAProxy's exporter names
// them except where its name or type is wrong for the value: the
// compression rates and the pipe counts are gauges here, not counters.
var daemonSpecs = map[string]spec{
	"CompressBpsIn":               g("http_comp_bytes_in_per_second", "Bytes per second fed to the HTTP compressor (CompressBpsIn)."),
	"CompressBpsOut":              g("http_comp_bytes_out_per_second", "Bytes per second emitted by the HTTP compressor (CompressBpsOut)."),
	"CompressBpsRateLim":          g("limit_http_comp", "Configured limit of HTTP compression input, in kB/s (CompressBpsRateLim)."),
	"ConnRate":                    g("current_connection_rate", "Connections per second over the last second (ConnRate)."),
	"ConnRateLimit":               g("limit_connection_rate", "Configured limit of connections per second (ConnRateLimit)."),
	"CumConns":                    c("connections_total", "Connections since start (CumConns)."),
	"CumReq":                      c("requests_total", "Requests since start (CumReq)."),
	"CumSslConns":                 c("ssl_connections_total", "SSL/TLS connections since start (CumSslConns)."),
	"CurrConns":                   g("current_connections", "Current connections (CurrConns)."),
	"CurrSslConns":                g("current_ssl_connections", "Current SSL/TLS connections (CurrSslConns)."),
	"Hard_maxconn":                g("hard_max_connections", "Hard limit of connections (Hard_maxconn)."),
	"MaxConnRate":                 g("max_connection_rate", "Highest number of connections per second seen (MaxConnRate)."),
	"MaxSessRate":                 g("max_session_rate", "Highest number of sessions per second seen (MaxSessRate)."),
	"MaxSslConns":                 g("max_ssl_connections", "Configured limit of SSL/TLS connections (MaxSslConns)."),
	"MaxSslRate":                  g("max_ssl_rate", "Highest number of SSL/TLS sessions per second seen (MaxSslRate)."),
	"MaxZlibMemUsage":             g("max_zlib_memory", "Configured limit of zlib memory, in bytes (MaxZlibMemUsage)."),
	"Maxconn":                     g("max_connections", "Configured limit of connections (Maxconn)."),
	"Maxpipes":                    g("max_pipes", "Configured limit of pipes (Maxpipes)."),
	"Maxsock":                     g("max_sockets", "Limit of sockets (Maxsock)."),
	"Memmax_MB":                   spec{name: "max_memory_bytes", typ: gauge, help: "Configured memory limit, in bytes (Memmax_MB × 1048576).", scale: 1 << 20},
	"PipesFree":                   g("pipes_free", "Pipes allocated and free (PipesFree)."),
	"PipesUsed":                   g("pipes_used", "Pipes in use (PipesUsed)."),
	"Run_queue":                   g("current_run_queue", "Tasks in the run queue (Run_queue)."),
	"SessRate":                    g("current_session_rate", "Sessions per second over the last second (SessRate)."),
	"SessRateLimit":               g("limit_session_rate", "Configured limit of sessions per second (SessRateLimit)."),
	"SslBackendKeyRate":           g("current_backend_ssl_key_rate", "Backend SSL/TLS key computations per second over the last second (SslBackendKeyRate)."),
	"SslBackendMaxKeyRate":        g("max_backend_ssl_key_rate", "Highest number of backend SSL/TLS key computations per second seen (SslBackendMaxKeyRate)."),
	"SslCacheLookups":             c("ssl_cache_lookups_total", "SSL/TLS session cache lookups (SslCacheLookups)."),
	"SslCacheMisses":              c("ssl_cache_misses_total", "SSL/TLS session cache misses (SslCacheMisses)."),
	"SslFrontendKeyRate":          g("current_frontend_ssl_key_rate", "Frontend SSL/TLS key computations per second over the last second (SslFrontendKeyRate)."),
	"SslFrontendMaxKeyRate":       g("max_frontend_ssl_key_rate", "Highest number of frontend SSL/TLS key computations per second seen (SslFrontendMaxKeyRate)."),
	"SslFrontendSessionReuse_pct": g("frontend_ssl_reuse", "Percentage of frontend SSL/TLS sessions reused (SslFrontendSessionReuse_pct)."),
	"SslRate":                     g("current_ssl_rate", "SSL/TLS sessions per second over the last second (SslRate)."),
	"SslRateLimit":                g("limit_ssl_rate", "Configured limit of SSL/TLS sessions per second (SslRateLimit)."),
	"Tasks":                       g("current_tasks", "Tasks (Tasks)."),
	"Ulimit-n":                    g("max_fds", "Limit of file descriptors (Ulimit-n)."),
	"ZlibMemUsage":                g("current_zlib_memory", "zlib memory in use, in bytes (ZlibMemUsage)."),
	"Idle_pct":                    g("idle_time_percent", "Idle time in percent, averaged over the processes (Idle_pct)."),
	"Uptime_sec":                  g("uptime_seconds", "Seconds since start, averaged over the processes (Uptime_sec)."),

	// Derived by haproxystats.
	"CpuUsagePct":        g("cpu_usage_percent", "CPU usage in percent, 100 - Idle_pct (CpuUsagePct)."),
	"StdCpuUsagePct":     g("cpu_usage_percent_stddev", "Standard deviation of the CPU usage of the processes, in percent (StdCpuUsagePct)."),
	"ConnPercentage":     g("connections_limit_usage_percent", "Current connections in percent of Maxconn (ConnPercentage)."),
	"ConnRatePercentage": g("connection_rate_limit_usage_percent", "Connection rate in percent of ConnRateLimit (ConnRatePercentage)."),
	"SslConnPercentage":  g("ssl_connections_limit_usage_percent", "SSL/TLS connections in percent of MaxSslConns (SslConnPercentage)."),
	"SslRatePercentage":  g("ssl_rate_limit_usage_percent", "SSL/TLS session rate in percent of SslRateLimit (SslRatePercentage)."),
}

// percentileSpec is the family of <N>PercentileCpuUsagePct, with label
// percentile="<N>".
var percentileSpec = g("cpu_usage_percent_percentile", "Percentiles of the CPU usage of the processes, in percent (<N>PercentileCpuUsagePct).")

// The families that several self-statistics share, told apart by a label.
var (
	metricsSpec = g("snapshot_metrics", "Graphite lines of each block of the snapshot, plus one (Metrics<Block>).")
	stageSpec   = g("processing_seconds", "Seconds spent on each stage of processing the snapshot (WallClockTime<Stage>, TotalWallClockTime).")
	roundsSpec  = c("pull_rounds_total", "Rounds of haproxystats-pull since its start, by result (PullRoundsCommitted, PullRoundsFailed, PullRoundsSkipped).")
)

// selfSpecs are the self-statistics of both daemons (PREFIX.haproxystats.*);
// their families are named haproxystats_<name>. The HAProxy master
// counters that pull carries there are in masterSpecs.
var selfSpecs = map[string]spec{
	"MetricsHAProxy":  labelled(metricsSpec, "block", "haproxy"),
	"MetricsFrontend": labelled(metricsSpec, "block", "frontend"),
	"MetricsBackend":  labelled(metricsSpec, "block", "backend"),
	"MetricsServer":   labelled(metricsSpec, "block", "server"),

	"WallClockTimeHAProxy":   labelled(stageSpec, "stage", "haproxy"),
	"WallClockTimeFrontends": labelled(stageSpec, "stage", "frontends"),
	"WallClockTimeBackends":  labelled(stageSpec, "stage", "backends"),
	"WallClockTimeServers":   labelled(stageSpec, "stage", "servers"),
	"WallClockTimeAllStats":  labelled(stageSpec, "stage", "all_stats"),
	"TotalWallClockTime":     labelled(stageSpec, "stage", "total"),

	"SnapshotsWaiting":      g("snapshots_waiting", "Snapshots queued in src-dir behind this one (SnapshotsWaiting)."),
	"SnapshotsFailed":       c("snapshots_failed_total", "Snapshots moved to failed/ since haproxystats-process started (SnapshotsFailed)."),
	"FilesRejected":         c("files_rejected_total", "Reply files rejected as corrupt or truncated since haproxystats-process started (FilesRejected)."),
	"FleetHosts":            g("fleet_hosts", "Hosts in this cluster bucket (FleetHosts)."),
	"FleetHostsMissing":     g("fleet_hosts_missing", "Hosts expected in this cluster bucket and absent (FleetHostsMissing)."),
	"FleetLateSnapshots":    c("fleet_late_snapshots_total", "Snapshots that arrived after their bucket was emitted, since start (FleetLateSnapshots)."),
	"FleetRecordsRejected":  c("fleet_records_rejected_total", "Records that could not be decoded or rendered, since start (FleetRecordsRejected)."),
	"FleetLag":              g("fleet_lag_records", "Records of this cluster's partition not read yet, as of the last one read (FleetLag)."),
	"FleetRecords":          c("fleet_records_total", "Records read by this consumer since start (FleetRecords)."),
	"FleetRecordsPerSecond": g("fleet_records_per_second", "Records read per second by this consumer, over the last second or more (FleetRecordsPerSecond)."),
	"DeliveryRetries":       c("delivery_retries_total", "Deliveries retried because a sink refused a snapshot, since haproxystats-process started (DeliveryRetries)."),
	"ReadRetries":           c("read_retries_total", "Snapshots retried after a transient error reading a reply file, since haproxystats-process started (ReadRetries)."),
	"ValuesNonFinite":       c("values_non_finite_total", "Datapoints dropped because their value was not finite (a sum overflowed), since haproxystats-process started (ValuesNonFinite)."),

	"GraphiteLinesSent":       c("graphite_lines_sent_total", "Lines written to carbon since start (GraphiteLinesSent)."),
	"GraphiteLinesDropped":    c("graphite_lines_dropped_total", "Lines dropped from the full Graphite queue since start; their snapshots are still on disk (GraphiteLinesDropped)."),
	"GraphiteConnectFailures": c("graphite_connect_failures_total", "Failed connections to carbon since start (GraphiteConnectFailures)."),
	"GraphiteLinesQueued":     g("graphite_lines_queued", "Lines waiting in the Graphite queue (GraphiteLinesQueued)."),

	"PullRoundsCommitted": labelled(roundsSpec, "result", "committed"),
	"PullRoundsFailed":    labelled(roundsSpec, "result", "failed"),
	"PullRoundsSkipped":   labelled(roundsSpec, "result", "skipped"),
	"PullWallClockTime":   g("pull_round_seconds", "Seconds the pull round of this snapshot took (PullWallClockTime)."),

	"KafkaRecordsProduced":           c("kafka_records_produced_total", "Records the Kafka brokers acknowledged (KafkaRecordsProduced)."),
	"KafkaBytesProduced":             c("kafka_bytes_produced_total", "Key and value bytes of the acknowledged Kafka records (KafkaBytesProduced)."),
	"KafkaProduceErrors":             c("kafka_produce_errors_total", "Kafka records that failed (KafkaProduceErrors)."),
	"KafkaSnapshotsRefused":          c("kafka_snapshots_refused_total", "Snapshot deliveries to Kafka that failed (KafkaSnapshotsRefused)."),
	"KafkaRecordsBuffered":           g("kafka_records_buffered", "Kafka records waiting for acknowledgement (KafkaRecordsBuffered)."),
	"KafkaProduceLatencyLastSeconds": g("kafka_produce_latency_last_seconds", "Seconds the last delivered snapshot took to be acknowledged by Kafka (KafkaProduceLatencyLastSeconds)."),
}

// masterSpecs are the HAProxy master counters haproxystats-pull carries
// in the self-statistics; they get the prefix haproxy_master_.
var masterSpecs = map[string]spec{
	"MasterWorkers":         g("workers", "Current workers of the HAProxy master (MasterWorkers)."),
	"MasterOldWorkers":      g("old_workers", "Old workers of the HAProxy master still finishing their connections (MasterOldWorkers)."),
	"MasterOldestWorkerAge": g("oldest_worker_age_seconds", "Age of the oldest worker of the HAProxy master, in seconds (MasterOldestWorkerAge)."),
	"MasterReloads":         c("reloads_total", "Reloads the HAProxy master did since it started (MasterReloads)."),
}
