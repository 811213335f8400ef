package prometheus

// The families of the exposition. Those of HAProxy's own exporter
// (addons/promex in HAProxy's sources, 2.6: promex_global_metrics and
// promex_st_metrics) carry its names, types, units and labels exactly:
// haproxy_process_*, haproxy_frontend_*, haproxy_backend_*,
// haproxy_server_*, labels proxy and server with the names HAProxy
// gives, state and code. Everything else haproxystats has is under
// haproxystats_: the show stat columns promex leaves out, the servers
// merged across backends, the HAProxy master's counters and the
// daemons' own statistics.

// A typ is a family's type as the text format writes it.
type typ string

const (
	counter typ = "counter"
	gauge   typ = "gauge"
)

// A family is one metric family: its name, type and help, and where its
// samples come from.
type family struct {
	name string
	typ  typ
	help string
	// cols are the show stat columns (or show info fields) whose values
	// are the family's samples; with codes, the code label of each.
	cols  []string
	codes []string
	scale float64 // from HAProxy's unit to the family's: ms → s
	// special says how a family without cols is computed; the status
	// families have one series per state, value 1 for the current one
	// (for the agg_ families, the count of servers).
	special special
}

type special uint8

const (
	fromCols       special = iota
	proxyStatusOf          // the row's state: DOWN, UP
	serverStatusOf         // the server's state: DOWN, UP, MAINT, DRAIN, NOLB
	checkStatusOf          // the server's last health check
	checkCodeOf            // the server's last check code
	aggServers             // per backend: its servers by state
	aggChecks              // per backend: its servers by check result
	serversOf              // per backend: how many servers it has
)

func c(name, col, help string) family {
	return family{name: name, typ: counter, help: help, cols: []string{col}, scale: 1}
}

func g(name, col, help string) family {
	return family{name: name, typ: gauge, help: help, cols: []string{col}, scale: 1}
}

// secs is a gauge HAProxy gives in milliseconds, exposed in seconds.
func secs(name, col, help string) family {
	f := g(name, col, help)
	f.scale = 0.001
	return f
}

var httpResponses = family{
	name: "http_responses_total", typ: counter, help: "HTTP responses by status class.", scale: 1,
	cols:  []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"},
	codes: []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"},
}

func status(help string, s special) family {
	return family{name: "status", typ: gauge, help: help, special: s}
}

// The families several kinds of rows share, with the same name, type
// and help.
var (
	fCurrentSessions            = g("current_sessions", "scur", "Current sessions.")
	fMaxSessions                = g("max_sessions", "smax", "Highest number of concurrent sessions seen.")
	fLimitSessions              = g("limit_sessions", "slim", "Configured session limit.")
	fSessionsTotal              = c("sessions_total", "stot", "Sessions since start.")
	fBytesInTotal               = c("bytes_in_total", "bin", "Bytes received.")
	fBytesOutTotal              = c("bytes_out_total", "bout", "Bytes sent.")
	fRequestsDeniedTotal        = c("requests_denied_total", "dreq", "Requests denied for security reasons.")
	fResponsesDeniedTotal       = c("responses_denied_total", "dresp", "Responses denied for security reasons.")
	fMaxSessionRate             = g("max_session_rate", "rate_max", "Highest number of new sessions per second seen.")
	fHttpRequestsTotal          = c("http_requests_total", "req_tot", "HTTP requests since start.")
	fHttpCompBytesInTotal       = c("http_comp_bytes_in_total", "comp_in", "Bytes fed to the HTTP compressor.")
	fHttpCompBytesOutTotal      = c("http_comp_bytes_out_total", "comp_out", "Bytes emitted by the HTTP compressor.")
	fHttpCompBytesBypassedTotal = c("http_comp_bytes_bypassed_total", "comp_byp", "Bytes that bypassed the HTTP compressor.")
	fHttpCompResponsesTotal     = c("http_comp_responses_total", "comp_rsp", "HTTP responses that were compressed.")
	fFailedHeaderRewritingTotal = c("failed_header_rewriting_total", "wrew", "Failed HTTP header rewrites.")
	fHttpCacheLookupsTotal      = c("http_cache_lookups_total", "cache_lookups", "HTTP cache lookups.")
	fHttpCacheHitsTotal         = c("http_cache_hits_total", "cache_hits", "HTTP cache hits.")
	fInternalErrorsTotal        = c("internal_errors_total", "eint", "Internal errors.")
	fCurrentQueue               = g("current_queue", "qcur", "Requests waiting in the queue.")
	fMaxQueue                   = g("max_queue", "qmax", "Highest number of queued requests seen.")
	fResponseErrorsTotal        = c("response_errors_total", "eresp", "Response errors.")
	fRetryWarningsTotal         = c("retry_warnings_total", "wretr", "Connection retries.")
	fRedispatchWarningsTotal    = c("redispatch_warnings_total", "wredis", "Requests redispatched to another server.")
	fCheckUpDownTotal           = c("check_up_down_total", "chkdown", "UP to DOWN transitions.")
	fCheckLastChangeSeconds     = g("check_last_change_seconds", "lastchg", "Seconds since the last UP/DOWN transition.")
	fDowntimeSecondsTotal       = c("downtime_seconds_total", "downtime", "Seconds spent DOWN.")
	fClientAbortsTotal          = c("client_aborts_total", "cli_abrt", "Data transfers aborted by the client.")
	fServerAbortsTotal          = c("server_aborts_total", "srv_abrt", "Data transfers aborted by the server.")
	fLastSessionSeconds         = g("last_session_seconds", "lastsess", "Seconds since the last session was assigned.")
	fQueueTimeAverageSeconds    = secs("queue_time_average_seconds", "qtime", "Average queue time of the last 1024 requests.")
	fConnectTimeAverageSeconds  = secs("connect_time_average_seconds", "ctime", "Average connect time of the last 1024 requests.")
	fResponseTimeAverageSeconds = secs("response_time_average_seconds", "rtime", "Average response time of the last 1024 requests.")
	fTotalTimeAverageSeconds    = secs("total_time_average_seconds", "ttime", "Average total session time of the last 1024 requests.")
	fConnectionReusesTotal      = c("connection_reuses_total", "reuse", "Connections reused.")
	fMaxQueueTimeSeconds        = secs("max_queue_time_seconds", "qtime_max", "Longest time a request waited in the queue.")
	fMaxConnectTimeSeconds      = secs("max_connect_time_seconds", "ctime_max", "Longest time a connection took to complete.")
	fMaxTotalTimeSeconds        = secs("max_total_time_seconds", "ttime_max", "Longest total time of a request.")
)

// frontendFamilies, backendFamilies and serverFamilies are promex's, in
// its order; the prefixes haproxy_frontend_ ... are added by blockOf.
var frontendFamilies = []family{
	fCurrentSessions,
	fMaxSessions,
	fLimitSessions,
	fSessionsTotal,
	fBytesInTotal,
	fBytesOutTotal,
	fRequestsDeniedTotal,
	fResponsesDeniedTotal,
	c("request_errors_total", "ereq", "Request errors."),
	status("Current status of the frontend, one series per state: 1 for the current one.", proxyStatusOf),
	g("limit_session_rate", "rate_lim", "Configured limit of new sessions per second."),
	fMaxSessionRate,
	httpResponses,
	g("http_requests_rate_max", "req_rate_max", "Highest number of HTTP requests per second seen."),
	fHttpRequestsTotal,
	fHttpCompBytesInTotal,
	fHttpCompBytesOutTotal,
	fHttpCompBytesBypassedTotal,
	fHttpCompResponsesTotal,
	g("connections_rate_max", "conn_rate_max", "Highest number of connections per second seen."),
	c("connections_total", "conn_tot", "Connections since start."),
	c("intercepted_requests_total", "intercepted", "Requests intercepted by HAProxy itself."),
	c("denied_connections_total", "dcon", "Connections denied by tcp-request connection rules."),
	c("denied_sessions_total", "dses", "Sessions denied by tcp-request session rules."),
	fFailedHeaderRewritingTotal,
	fHttpCacheLookupsTotal,
	fHttpCacheHitsTotal,
	fInternalErrorsTotal,
}

// backendServer are the families backends and servers share, up to the
// first that only one of them has.
var backendFamilies = []family{
	fCurrentQueue,
	fMaxQueue,
	fCurrentSessions,
	fMaxSessions,
	fLimitSessions,
	fSessionsTotal,
	fBytesInTotal,
	fBytesOutTotal,
	fRequestsDeniedTotal,
	fResponsesDeniedTotal,
	c("connection_errors_total", "econ", "Errors connecting to a server."),
	fResponseErrorsTotal,
	fRetryWarningsTotal,
	fRedispatchWarningsTotal,
	status("Current status of the backend, one series per state: 1 for the current one.", proxyStatusOf),
	g("weight", "weight", "Total effective weight of the servers."),
	g("active_servers", "act", "Active servers."),
	g("backup_servers", "bck", "Backup servers."),
	fCheckUpDownTotal,
	fCheckLastChangeSeconds,
	fDowntimeSecondsTotal,
	c("loadbalanced_total", "lbtot", "Times a server was selected by load balancing."),
	fMaxSessionRate,
	httpResponses,
	fHttpRequestsTotal,
	fClientAbortsTotal,
	fServerAbortsTotal,
	fHttpCompBytesInTotal,
	fHttpCompBytesOutTotal,
	fHttpCompBytesBypassedTotal,
	fHttpCompResponsesTotal,
	fLastSessionSeconds,
	fQueueTimeAverageSeconds,
	fConnectTimeAverageSeconds,
	fResponseTimeAverageSeconds,
	fTotalTimeAverageSeconds,
	fFailedHeaderRewritingTotal,
	c("connection_attempts_total", "connect", "Connection attempts to servers."),
	fConnectionReusesTotal,
	fHttpCacheLookupsTotal,
	fHttpCacheHitsTotal,
	fMaxQueueTimeSeconds,
	fMaxConnectTimeSeconds,
	secs("max_response_time_seconds", "rtime_max", "Longest time a server took to respond."),
	fMaxTotalTimeSeconds,
	fInternalErrorsTotal,
	g("uweight", "uweight", "Total weight of the servers as configured."),
	{name: "agg_server_status", typ: gauge, help: "Servers of the backend in each state.", special: aggServers},
	{name: "agg_server_check_status", typ: gauge, help: "Servers of the backend in each state (deprecated name of agg_server_status).", special: aggServers},
	{name: "agg_check_status", typ: gauge, help: "Servers of the backend by the result of their last health check.", special: aggChecks},
}

var serverFamilies = []family{
	fCurrentQueue,
	fMaxQueue,
	fCurrentSessions,
	fMaxSessions,
	fLimitSessions,
	fSessionsTotal,
	fBytesInTotal,
	fBytesOutTotal,
	fResponsesDeniedTotal,
	c("connection_errors_total", "econ", "Errors connecting to the server."),
	fResponseErrorsTotal,
	fRetryWarningsTotal,
	fRedispatchWarningsTotal,
	status("Current status of the server, one series per state: 1 for the current one.", serverStatusOf),
	g("weight", "weight", "Effective weight."),
	c("check_failures_total", "chkfail", "Failed health checks."),
	fCheckUpDownTotal,
	fCheckLastChangeSeconds,
	fDowntimeSecondsTotal,
	g("queue_limit", "qlimit", "Configured queue limit (maxqueue)."),
	g("current_throttle", "throttle", "Slow-start throttle, in percent."),
	c("loadbalanced_total", "lbtot", "Times the server was selected by load balancing."),
	fMaxSessionRate,
	{name: "check_status", typ: gauge, help: "Result of the last health check, one series per result: 1 for the current one.", special: checkStatusOf},
	{name: "check_code", typ: gauge, help: "Layer 5-7 code of the last health check, when it has one.", special: checkCodeOf},
	secs("check_duration_seconds", "check_duration", "Duration of the last health check."),
	httpResponses,
	fClientAbortsTotal,
	fServerAbortsTotal,
	fLastSessionSeconds,
	fQueueTimeAverageSeconds,
	fConnectTimeAverageSeconds,
	fResponseTimeAverageSeconds,
	fTotalTimeAverageSeconds,
	fFailedHeaderRewritingTotal,
	c("connection_attempts_total", "connect", "Connection attempts."),
	fConnectionReusesTotal,
	g("idle_connections_current", "srv_icur", "Idle connections ready to be reused."),
	g("idle_connections_limit", "src_ilim", "Configured limit of idle connections."),
	fMaxQueueTimeSeconds,
	fMaxConnectTimeSeconds,
	secs("max_response_time_seconds", "rtime_max", "Longest time the server took to respond."),
	fMaxTotalTimeSeconds,
	fInternalErrorsTotal,
	g("unsafe_idle_connections_current", "idle_conn_cur", "Unsafe idle connections."),
	g("safe_idle_connections_current", "safe_conn_cur", "Safe idle connections."),
	g("used_connections_current", "used_conn_cur", "Connections in use."),
	g("need_connections_current", "need_conn_est", "Connections estimated to be needed."),
	g("uweight", "uweight", "Weight as configured."),
}

// processFamilies are promex's global metrics, from show info. agg says
// how the processes' values combine: the sum, but for the fields below.
var processFamilies = []family{
	g("nbthread", "Nbthread", "Threads, of all the processes."),
	g("nbproc", "Nbproc", "HAProxy processes whose show info this snapshot holds."),
	g("relative_process_id", "Process_num", "Lowest relative process number."),
	g("uptime_seconds", "Uptime_sec", "Seconds since start, averaged over the processes."),
	c("pool_failures_total", "PoolFailed", "Failed pool allocations."),
	g("max_fds", "Ulimit-n", "Limit of file descriptors."),
	g("max_sockets", "Maxsock", "Limit of sockets."),
	g("max_connections", "Maxconn", "Configured limit of connections."),
	g("hard_max_connections", "Hard_maxconn", "Hard limit of connections."),
	g("current_connections", "CurrConns", "Current connections."),
	c("connections_total", "CumConns", "Connections since start."),
	c("requests_total", "CumReq", "Requests since start."),
	g("max_ssl_connections", "MaxSslConns", "Configured limit of SSL/TLS connections."),
	g("current_ssl_connections", "CurrSslConns", "Current SSL/TLS connections."),
	c("ssl_connections_total", "CumSslConns", "SSL/TLS connections since start."),
	g("max_pipes", "Maxpipes", "Configured limit of pipes."),
	c("pipes_used_total", "PipesUsed", "Pipes in use."),
	c("pipes_free_total", "PipesFree", "Pipes allocated and free."),
	g("current_connection_rate", "ConnRate", "Connections per second over the last second."),
	g("limit_connection_rate", "ConnRateLimit", "Configured limit of connections per second."),
	g("max_connection_rate", "MaxConnRate", "Highest number of connections per second seen."),
	g("current_session_rate", "SessRate", "Sessions per second over the last second."),
	g("limit_session_rate", "SessRateLimit", "Configured limit of sessions per second."),
	g("max_session_rate", "MaxSessRate", "Highest number of sessions per second seen."),
	g("current_ssl_rate", "SslRate", "SSL/TLS sessions per second over the last second."),
	g("limit_ssl_rate", "SslRateLimit", "Configured limit of SSL/TLS sessions per second."),
	g("max_ssl_rate", "MaxSslRate", "Highest number of SSL/TLS sessions per second seen."),
	g("current_frontend_ssl_key_rate", "SslFrontendKeyRate", "Frontend SSL/TLS key computations per second."),
	g("max_frontend_ssl_key_rate", "SslFrontendMaxKeyRate", "Highest number of frontend SSL/TLS key computations per second seen."),
	g("frontend_ssl_reuse", "SslFrontendSessionReuse_pct", "Percentage of frontend SSL/TLS sessions reused."),
	g("current_backend_ssl_key_rate", "SslBackendKeyRate", "Backend SSL/TLS key computations per second."),
	g("max_backend_ssl_key_rate", "SslBackendMaxKeyRate", "Highest number of backend SSL/TLS key computations per second seen."),
	c("ssl_cache_lookups_total", "SslCacheLookups", "SSL/TLS session cache lookups."),
	c("ssl_cache_misses_total", "SslCacheMisses", "SSL/TLS session cache misses."),
	c("http_comp_bytes_in_total", "CompressBpsIn", "Bytes per second fed to the HTTP compressor."),
	c("http_comp_bytes_out_total", "CompressBpsOut", "Bytes per second emitted by the HTTP compressor."),
	g("limit_http_comp", "CompressBpsRateLim", "Configured limit of HTTP compression input, in kB/s."),
	g("current_zlib_memory", "ZlibMemUsage", "zlib memory in use, in bytes."),
	g("max_zlib_memory", "MaxZlibMemUsage", "Configured limit of zlib memory, in bytes."),
	g("current_tasks", "Tasks", "Tasks."),
	g("current_run_queue", "Run_queue", "Tasks in the run queue."),
	g("idle_time_percent", "Idle_pct", "Idle time in percent, averaged over the processes."),
	g("stopping", "Stopping", "1 when a process is stopping."),
	g("jobs", "Jobs", "Active jobs (listeners, sessions, ...)."),
	g("unstoppable_jobs", "Unstoppable Jobs", "Jobs that block a stop."),
	g("listeners", "Listeners", "Listeners."),
	g("active_peers", "ActivePeers", "Active peers."),
	g("connected_peers", "ConnectedPeers", "Connected peers."),
	c("dropped_logs_total", "DroppedLogs", "Log messages dropped."),
	g("busy_polling_enabled", "BusyPolling", "1 when busy polling is enabled."),
	c("failed_resolutions", "FailedResolutions", "Failed DNS resolutions."),
	c("bytes_out_total", "TotalBytesOut", "Bytes sent."),
	c("spliced_bytes_out_total", "TotalSplicdedBytesOut", "Bytes sent by splicing."),
	g("bytes_out_rate", "BytesOutRate", "Bytes sent per second over the last second."),
	c("recv_logs_total", "CumRecvLogs", "Log messages received by log-forwarding listeners."),
	g("max_memory_bytes", "Memmax_bytes", "Configured memory limit, in bytes."),
	g("pool_allocated_bytes", "PoolAlloc_bytes", "Bytes allocated in memory pools."),
	g("pool_used_bytes", "PoolUsed_bytes", "Bytes used in memory pools."),
	g("start_time_seconds", "Start_time_sec", "Start time of the oldest process, in seconds since the epoch."),
}

// How a show info field combines across processes, when not summed.
type combine uint8

const (
	combineSum combine = iota
	combineMean
	combineMin
	combineMax
	combineCount // the processes that answered, whatever they say
)

// buildInfo is promex's build_info family: one series per HAProxy
// version among the processes, value 1.
var buildInfo = family{name: "build_info", typ: gauge, help: "HAProxy version of the processes: one series per version, value 1."}

var processCombine = map[string]combine{
	"Process_num":    combineMin,
	"Uptime_sec":     combineMean,
	"Idle_pct":       combineMean,
	"Start_time_sec": combineMin,
	"Stopping":       combineMax,
	"BusyPolling":    combineMax,
	"Nbproc":         combineCount,
}

// stickTableFamilies are promex's stick table families (scope=sticktable).
var stickTableFamilies = []family{
	{name: "size", typ: gauge, help: "Stick table size."},
	{name: "used", typ: gauge, help: "Number of entries used in this stick table."},
}

// backendServers is the family haproxystats adds to the backends.
var backendServers = family{name: "haproxystats_backend_servers", typ: gauge, help: "Servers of the backend (TotalServers in Graphite).", special: serversOf}

// selfSpec is a self-statistic's family after haproxystats_, with an
// optional label telling apart the self-statistics that share it.
type selfSpec struct {
	name, help string
	typ        typ
	label, val string
}

func sc(name, help string) selfSpec { return selfSpec{name: name, help: help, typ: counter} }
func sg(name, help string) selfSpec { return selfSpec{name: name, help: help, typ: gauge} }

func labelled(s selfSpec, label, val string) selfSpec {
	s.label, s.val = label, val
	return s
}

var (
	stageSpec    = sg("processing_seconds", "Seconds spent on each stage of processing the snapshot (WallClockTime<Stage>, TotalWallClockTime).")
	logLinesSpec = sc("log_lines_total", "HAProxy log lines haproxystats-pull received since it started, by result: received (datagrams read), parsed, unparsed, dropped (by the kernel: the receive buffer was full), truncated (longer than 64 KiB) (LogLinesReceived, ...).")
	roundsSpec   = sc("pull_rounds_total", "Rounds of haproxystats-pull since its start, by result (PullRoundsCommitted, PullRoundsFailed, PullRoundsSkipped).")
)

// servedLive are the self-statistics the endpoint serves from the health
// Monitor at each scrape (health.go), not from the snapshot: a snapshot
// that carried them would expose each family twice.
var servedLive = map[string]bool{
	"Ready": true, "NewestSnapshotAge": true, "QueueSnapshots": true, "SinksFailingSeconds": true,
	"FleetHosts": true, "FleetHostsMissing": true,
}

// selfSpecs are the self-statistics of both daemons, and the HAProxy
// master counters pull carries with them (haproxystats_master_*).
var selfSpecs = map[string]selfSpec{
	"WallClockTimeHAProxy":   labelled(stageSpec, "stage", "haproxy"),
	"WallClockTimeFrontends": labelled(stageSpec, "stage", "frontends"),
	"WallClockTimeBackends":  labelled(stageSpec, "stage", "backends"),
	"WallClockTimeServers":   labelled(stageSpec, "stage", "servers"),
	"WallClockTimeAllStats":  labelled(stageSpec, "stage", "all_stats"),
	"TotalWallClockTime":     labelled(stageSpec, "stage", "total"),
	"WallClockTimeLatency":   labelled(stageSpec, "stage", "latency"),

	"LogLinesReceived":  labelled(logLinesSpec, "result", "received"),
	"LogLinesParsed":    labelled(logLinesSpec, "result", "parsed"),
	"LogLinesUnparsed":  labelled(logLinesSpec, "result", "unparsed"),
	"LogLinesDropped":   labelled(logLinesSpec, "result", "dropped"),
	"LogLinesTruncated": labelled(logLinesSpec, "result", "truncated"),
	"LogSeriesDropped":  sc("log_series_dropped_total", "Log lines not counted in a histogram of their object because [logs] max-series was reached, per object, since haproxystats-pull started (LogSeriesDropped)."),

	"SnapshotsWaiting":       sg("snapshots_waiting", "Snapshots queued in src-dir behind this one (SnapshotsWaiting)."),
	"SnapshotsFailed":        sc("snapshots_failed_total", "Snapshots moved to failed/ since haproxystats-process started (SnapshotsFailed)."),
	"FilesRejected":          sc("files_rejected_total", "Reply files rejected as corrupt or truncated since haproxystats-process started (FilesRejected)."),
	"SocketsMissing":         sg("sockets_missing", "Sockets a partial snapshot misses (SocketsMissing)."),
	"FleetHosts":             sg("fleet_hosts", "Hosts in this cluster bucket (FleetHosts)."),
	"FleetHostsMissing":      sg("fleet_hosts_missing", "Hosts expected in this cluster bucket and absent (FleetHostsMissing)."),
	"FleetLateSnapshots":     sc("fleet_late_snapshots_total", "Snapshots that arrived after their bucket was emitted, since start (FleetLateSnapshots)."),
	"FleetSnapshotsReplaced": sc("fleet_snapshots_replaced_total", "Snapshots of a host its cluster bucket already had one of, the newer one merged, since start (FleetSnapshotsReplaced)."),
	"FleetRecordsRejected":   sc("fleet_records_rejected_total", "Records that could not be decoded or rendered, since start (FleetRecordsRejected)."),
	"FleetLag":               sg("fleet_lag_records", "Records of this cluster's partition not read yet, as of the last one read (FleetLag)."),
	"FleetRecords":           sc("fleet_records_total", "Records read by this consumer since start (FleetRecords)."),
	"FleetRecordsPerSecond":  sg("fleet_records_per_second", "Records read per second by this consumer, over the last second or more (FleetRecordsPerSecond)."),
	"DeliveryRetries":        sc("delivery_retries_total", "Deliveries retried because a sink refused a snapshot, since haproxystats-process started (DeliveryRetries)."),
	"ReadRetries":            sc("read_retries_total", "Snapshots retried after a transient error reading a reply file, since haproxystats-process started (ReadRetries)."),
	"ValuesNonFinite":        sc("values_non_finite_total", "Datapoints dropped because their value was not finite (a sum overflowed), since haproxystats-process started (ValuesNonFinite)."),

	"GraphiteLinesSent":       sc("graphite_lines_sent_total", "Lines written to carbon since start (GraphiteLinesSent)."),
	"GraphiteLinesDropped":    sc("graphite_lines_dropped_total", "Lines dropped from the full Graphite queue since start; their snapshots are still on disk (GraphiteLinesDropped)."),
	"GraphiteConnectFailures": sc("graphite_connect_failures_total", "Failed connections to carbon since start (GraphiteConnectFailures)."),
	"GraphiteLinesQueued":     sg("graphite_lines_queued", "Lines waiting in the Graphite queue (GraphiteLinesQueued)."),

	"PullRoundsCommitted": labelled(roundsSpec, "result", "committed"),
	"PullRoundsFailed":    labelled(roundsSpec, "result", "failed"),
	"PullRoundsSkipped":   labelled(roundsSpec, "result", "skipped"),
	"PullWallClockTime":   sg("pull_round_seconds", "Seconds the pull round of this snapshot took (PullWallClockTime)."),

	"KafkaRecordsProduced":           sc("kafka_records_produced_total", "Records the Kafka brokers acknowledged (KafkaRecordsProduced)."),
	"KafkaBytesProduced":             sc("kafka_bytes_produced_total", "Key and value bytes of the acknowledged Kafka records (KafkaBytesProduced)."),
	"KafkaProduceErrors":             sc("kafka_produce_errors_total", "Kafka records that failed (KafkaProduceErrors)."),
	"KafkaSnapshotsRefused":          sc("kafka_snapshots_refused_total", "Snapshot deliveries to Kafka that failed (KafkaSnapshotsRefused)."),
	"KafkaRecordsBuffered":           sg("kafka_records_buffered", "Kafka records waiting for acknowledgement (KafkaRecordsBuffered)."),
	"KafkaProduceLatencyLastSeconds": sg("kafka_produce_latency_last_seconds", "Seconds the last delivered snapshot took to be acknowledged by Kafka (KafkaProduceLatencyLastSeconds)."),

	"MasterWorkers":         sg("master_workers", "Current workers of the HAProxy master (MasterWorkers)."),
	"MasterOldWorkers":      sg("master_old_workers", "Old workers of the HAProxy master still finishing their connections (MasterOldWorkers)."),
	"MasterOldestWorkerAge": sg("master_oldest_worker_age_seconds", "Age of the oldest worker of the HAProxy master, in seconds (MasterOldestWorkerAge)."),
	"MasterReloads":         sc("master_reloads_total", "Reloads the HAProxy master did since it started (MasterReloads)."),
}
