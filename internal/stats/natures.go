package stats

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// Tag is what HAProxy's typed output says about one field (HAProxy
// management guide, section 9.2 "Typed output format"): its origin,
// nature and scope letters and its type. For example "MCP:u64" is a
// metric (M), a cumulative counter (C), valid for the process reporting
// it (P), an unsigned 64-bit integer.
//
// Origins: M metric, S status, K key, C configuration, P product.
// Natures: A age, a average, C counter, D duration, G gauge, L limit,
// M maximum, m minimum, N name, O output, R rate, T time.
// Scopes: P process, S service, s system, C cluster.
// Types: s32, s64, u32, u64, flt, str.
type Tag struct {
	Origin, Nature, Scope byte
	Type                  string
}

// ErrTag is the error of a tag that is not three letters, a colon and a
// type.
var ErrTag = errors.New("not a typed output tag")

// ParseTag reads a tag written as Tag.String writes it: "MCP:u64".
func ParseTag(s string) (Tag, error) {
	if len(s) < 5 || s[3] != ':' {
		return Tag{}, fmt.Errorf("%w: %q", ErrTag, s)
	}
	return Tag{Origin: s[0], Nature: s[1], Scope: s[2], Type: s[4:]}, nil
}

// String returns the tag as "MCP:u64".
func (t Tag) String() string {
	return string([]byte{t.Origin, t.Nature, t.Scope}) + ":" + t.Type
}

// MarshalText writes the tag as String does, so that Natures is compact
// in JSON.
func (t Tag) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (t *Tag) UnmarshalText(b []byte) error {
	v, err := ParseTag(string(b))
	if err == nil {
		*t = v
	}
	return err
}

// Natures is what one HAProxy version says about its fields in typed
// output: the Tag of every `show info` field and, per kind of row, of
// every `show stat` column, module counters after the "-" column
// included. A Natures is read-only once built (Merge makes a new one),
// so it may be shared by concurrent callers. The nil *Natures is valid:
// only the built-in table is then known.
type Natures struct {
	Version  string         `json:"version"`
	Info     map[string]Tag `json:"info,omitempty"`
	Frontend map[string]Tag `json:"frontend,omitempty"`
	Backend  map[string]Tag `json:"backend,omitempty"`
	Server   map[string]Tag `json:"server,omitempty"`
}

// The kinds of fields, in the order of the parser's classes, then show
// info.
const (
	kindFrontend = iota
	kindBackend
	kindServer
	kindInfo
)

var kindNames = [...]string{"frontend", "backend", "server", "info"}

// table returns the tags of kind k.
func (n *Natures) table(k int) map[string]Tag {
	if n == nil {
		return nil
	}
	switch k {
	case kindFrontend:
		return n.Frontend
	case kindBackend:
		return n.Backend
	case kindServer:
		return n.Server
	}
	return n.Info
}

func (n *Natures) setTable(k int, m map[string]Tag) {
	switch k {
	case kindFrontend:
		n.Frontend = m
	case kindBackend:
		n.Backend = m
	case kindServer:
		n.Server = m
	default:
		n.Info = m
	}
}

// Len returns how many tags n holds.
func (n *Natures) Len() int {
	if n == nil {
		return 0
	}
	return len(n.Info) + len(n.Frontend) + len(n.Backend) + len(n.Server)
}

// Merge returns a new Natures with the tags of a and b, b's winning when
// both have a field, and b's Version when it has one. Either may be nil.
func Merge(a, b *Natures) *Natures {
	m := &Natures{}
	if a != nil {
		m.Version = a.Version
	}
	if b != nil && b.Version != "" {
		m.Version = b.Version
	}
	for k := kindFrontend; k <= kindInfo; k++ {
		ta, tb := a.table(k), b.table(k)
		if len(ta)+len(tb) == 0 {
			continue
		}
		t := make(map[string]Tag, max(len(ta), len(tb)))
		maps.Copy(t, ta)
		maps.Copy(t, tb)
		m.setTable(k, t)
	}
	return m
}

// Equal reports whether n and o hold the same version and tags.
func (n *Natures) Equal(o *Natures) bool {
	if n == nil || o == nil {
		return n.Len() == 0 && o.Len() == 0 && n.version() == o.version()
	}
	if n.Version != o.Version {
		return false
	}
	for k := kindFrontend; k <= kindInfo; k++ {
		if !maps.Equal(n.table(k), o.table(k)) {
			return false
		}
	}
	return true
}

func (n *Natures) version() string {
	if n == nil {
		return ""
	}
	return n.Version
}

// ErrNotTyped means a reply holds no line of the typed output format.
var ErrNotTyped = errors.New("no typed output line")

// ParseTypedInfo reads a `show info typed` reply: lines
// "<pos>.<name>.<process>:<tags>:<type>:<value>" (management guide,
// section 9.3, "show info"). It returns the Tag of every field and the
// HAProxy version (the value of field Version). Lines that do not have
// that shape are skipped; a reply without any line that has is an
// error.
func ParseTypedInfo(data []byte) (*Natures, error) {
	n := &Natures{Info: map[string]Tag{}}
	bad := 0
	eachLine(data, func(line []byte) {
		key, tag, value, ok := splitTyped(line)
		if !ok {
			bad++
			return
		}
		// <pos>.<name>.<process>: the name may hold spaces ("Build
		// info") and, in principle, dots.
		first, last := bytes.IndexByte(key, '.'), bytes.LastIndexByte(key, '.')
		if first < 0 || last <= first+1 {
			bad++
			return
		}
		name := string(key[first+1 : last])
		if _, dup := n.Info[name]; !dup {
			n.Info[name] = tag
		}
		if name == "Version" && n.Version == "" {
			n.Version = string(value)
		}
	})
	if len(n.Info) == 0 {
		return nil, fmt.Errorf("show info typed: %w (%d lines skipped)", ErrNotTyped, bad)
	}
	return n, nil
}

// ParseTypedStat reads a `show stat typed` reply: lines
// "<obj>.<px_id>.<id>.<pos>.<name>.<process>:<tags>:<type>:<value>",
// obj being F (frontend), B (backend), S (server) or L (listener, not
// kept) (management guide, section 9.3, "show stat"). It returns the Tag
// of every column seen, per kind of row; HAProxy leaves out the empty
// cells, so a column that is empty in every row is not there. The first
// tag seen for a column wins. A reply with only its final empty line
// (no proxy) gives an empty Natures; one with lines but none of that
// shape is an error.
func ParseTypedStat(data []byte) (*Natures, error) {
	var p typedStat
	eachLine(data, p.line)
	return p.result()
}

// ReadTypedStat is ParseTypedStat for a reply read line by line from r:
// the dump of 10 000 servers is about 30 MB, and only one line of it need
// be in memory.
func ReadTypedStat(r io.Reader) (*Natures, error) {
	var p typedStat
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		if line := trimCR(sc.Bytes()); len(line) > 0 {
			p.line(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("show stat typed: %w", err)
	}
	return p.result()
}

// typedStat parses a show stat typed reply one line at a time.
type typedStat struct {
	n         *Natures
	good, bad int
}

func (p *typedStat) line(line []byte) {
	if p.n == nil {
		p.n = &Natures{Frontend: map[string]Tag{}, Backend: map[string]Tag{}, Server: map[string]Tag{}}
	}
	key, tag, _, ok := splitTyped(line)
	if !ok || len(key) < 2 || key[1] != '.' {
		p.bad++
		return
	}
	var k int
	switch key[0] {
	case 'F':
		k = kindFrontend
	case 'B':
		k = kindBackend
	case 'S':
		k = kindServer
	case 'L':
		p.good++
		return
	default:
		p.bad++
		return
	}
	// <obj>.<px_id>.<id>.<pos>.<name>.<process>
	rest := key
	for range 4 {
		i := bytes.IndexByte(rest, '.')
		if i < 0 {
			p.bad++
			return
		}
		rest = rest[i+1:]
	}
	last := bytes.LastIndexByte(rest, '.')
	if last <= 0 {
		p.bad++
		return
	}
	p.good++
	if t := p.n.table(k); t != nil {
		if _, dup := t[string(rest[:last])]; !dup {
			t[string(rest[:last])] = tag
		}
	}
}

func (p *typedStat) result() (*Natures, error) {
	if p.n == nil {
		p.n = &Natures{Frontend: map[string]Tag{}, Backend: map[string]Tag{}, Server: map[string]Tag{}}
	}
	if p.good == 0 && p.bad > 0 {
		return nil, fmt.Errorf("show stat typed: %w (%d lines skipped)", ErrNotTyped, p.bad)
	}
	return p.n, nil
}

// splitTyped splits a typed output line at its first three colons: the
// value may hold colons itself.
func splitTyped(line []byte) (key []byte, tag Tag, value []byte, ok bool) {
	key, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok || len(key) == 0 || len(rest) < 5 || rest[3] != ':' {
		return nil, Tag{}, nil, false
	}
	typ, value, ok := bytes.Cut(rest[4:], []byte{':'})
	if !ok || len(typ) == 0 {
		return nil, Tag{}, nil, false
	}
	return key, Tag{Origin: rest[0], Nature: rest[1], Scope: rest[2], Type: string(typ)}, value, true
}

// eachLine calls fn for every non-blank line of data, without its "\r\n"
// or "\n".
func eachLine(data []byte, fn func([]byte)) {
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		if line = trimCR(line); len(line) > 0 {
			fn(line)
		}
	}
}

// nextLine splits data after its first line, returning the line without
// its "\n".
func nextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// How a column outside the original's lists is aggregated across the
// rows of a group (HAProxy processes, and for aggr-server-metrics the
// backends a server is in). The table is in allmetrics.go's doc.
type agg uint8

const (
	aggSkip  agg = iota // not a number to aggregate: emitted nowhere
	aggSum              // counters, gauges, rates, limits of one process
	aggMax              // maxima, durations, times, values shared by all processes
	aggMin              // minima
	aggAge              // ages: the most recent event, negative values ("never") ignored
	aggMean             // averages over every row
	aggTMean            // averages over the rows with traffic (lbtot > 0)
)

// allRowMeans are averages that mean something without traffic: they are
// averaged over every row, as the original averages weight and throttle.
var allRowMeans = map[string]bool{"weight": true, "uweight": true, "throttle": true}

// mislabelled are numeric columns that HAProxy tags as metrics although
// summing, or otherwise aggregating, them means nothing: status codes
// and an identifier revision.
var mislabelled = map[string]bool{
	"agg_server_status": true, "agg_server_check_status": true, "agg_check_status": true,
	"srid": true,
}

// agg returns how a field of kind k called name, tagged t, is
// aggregated.
func (t Tag) agg(k int, name string) agg {
	if t.Type == "str" || mislabelled[name] {
		return aggSkip
	}
	switch t.Origin {
	case 'M':
	case 'C':
		if t.Nature != 'L' {
			return aggSkip // configuration: the same in every process
		}
	default:
		return aggSkip // K key, S status, P product
	}
	switch t.Nature {
	case 'C', 'G', 'R', 'L':
		if t.Scope != 'P' {
			return aggMax // shared by the processes: one value, not a sum
		}
		return aggSum
	case 'M', 'D', 'T':
		return aggMax
	case 'm':
		return aggMin
	case 'A':
		return aggAge
	case 'a':
		if (k == kindBackend || k == kindServer) && !allRowMeans[name] {
			return aggTMean
		}
		return aggMean
	}
	return aggSkip // N name, O output, and natures unknown today
}

// lookup returns the tag of field name of kind k: the one n learned, else
// the built-in one.
func (n *Natures) lookup(k int, name string) (Tag, bool) {
	if t, ok := n.table(k)[name]; ok {
		return t, true
	}
	t, ok := builtin[k][name]
	return t, ok
}

// unknownLogged remembers the fields already logged as having no known
// nature, so that each is logged once per process lifetime. It holds at
// most one entry per distinct field name HAProxy sends.
var unknownLogged sync.Map

// resolve returns how field name of kind k is aggregated; a field of
// unknown nature is skipped, and logged once at debug level.
func (n *Natures) resolve(k int, name string, log *slog.Logger) agg {
	t, ok := n.lookup(k, name)
	if !ok {
		if _, seen := unknownLogged.LoadOrStore(kindNames[k]+"/"+name, true); !seen && log != nil && log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug("all-metrics: no nature known for this field (no typed dump seen, not in the built-in table), skipped", "kind", kindNames[k], "field", name)
		}
		return aggSkip
	}
	return t.agg(k, name)
}

// Counter reports whether a show info field or show stat column called
// name is a cumulative counter of one process (origin M, nature C, scope
// P) for any kind of row, by n or the built-in table: the fields whose
// sums must be kept monotonic across reloads.
func (n *Natures) Counter(name string) bool {
	for k := kindFrontend; k <= kindInfo; k++ {
		if t, ok := n.lookup(k, name); ok && t.Origin == 'M' && t.Nature == 'C' && t.Scope == 'P' && !mislabelled[name] {
			return true
		}
	}
	return false
}

// metricName is a field name made safe for a Graphite path: blanks
// ("Unstoppable Jobs") and dots become '_'.
func metricName(name string) string { return metric.Sanitize(name) }

// builtin holds the tags of the well-known fields of HAProxy 2.x and 3.x,
// per kind, used when no typed dump of the running version has been seen.
// They are those HAProxy 2.6 reports (testdata/hap26typed) and those its
// sources (src/stats.c, src/stats-proxy.c) give the fields added since.
var builtin = func() [4]map[string]Tag {
	var b [4]map[string]Tag
	parse := func(table string) map[string]Tag {
		m := map[string]Tag{}
		for _, line := range strings.Split(table, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			// "<tag> <name>, <name>, ..."; names may hold spaces.
			tag, names, _ := strings.Cut(line, " ")
			t, err := ParseTag(tag)
			if err != nil {
				panic(err)
			}
			for _, name := range strings.Split(names, ",") {
				m[strings.TrimSpace(name)] = t
			}
		}
		return m
	}
	stat := parse(builtinStat)
	for k := kindFrontend; k <= kindServer; k++ {
		b[k] = maps.Clone(stat)
	}
	// A server's act and bck say whether it is a backup server: statuses.
	// A backend's count its servers.
	b[kindServer]["act"] = Tag{'S', 'G', 'P', "u32"}
	b[kindServer]["bck"] = Tag{'S', 'G', 'P', "u32"}
	b[kindInfo] = parse(builtinInfo)
	return b
}()

const builtinStat = `
KNS:str pxname, svname
MGP:u32 qcur, scur, act, bck, srv_icur, idle_conn_cur, safe_conn_cur, used_conn_cur, need_conn_est, priv_idle_cur
MGP:u32 agg_server_status, agg_server_check_status, agg_check_status
MMP:u32 qmax, smax, rate_max, req_rate_max, conn_rate_max, qtime_max, ctime_max, rtime_max, ttime_max
CLP:u32 slim, rate_lim, src_ilim
MCP:u64 stot, bin, bout, dreq, dresp, ereq, econ, eresp, wretr, wredis, chkfail, chkdown, lbtot
MCP:u64 hrsp_1xx, hrsp_2xx, hrsp_3xx, hrsp_4xx, hrsp_5xx, hrsp_other, hanafail, req_tot, cli_abrt, srv_abrt
MCP:u64 comp_in, comp_out, comp_byp, comp_rsp, conn_tot, intercepted, dcon, dses, wrew, connect, reuse
MCP:u64 cache_lookups, cache_hits, eint, sess_other, h1sess, h2sess, h3sess, req_other, h1req, h2req, h3req
MCP:u64 reqbin, reqbout, resbin, resbout, cache_hint_hits
MCP:u32 downtime, srid
MRP:u32 rate, req_rate, conn_rate
MaP:u32 weight, uweight, throttle, qtime, ctime, rtime, ttime
MAP:u32 lastchg
MAP:s32 lastsess
MDP:u64 check_duration, agent_duration
MOP:u32 check_code, agent_code
MOP:str check_status, last_chk, last_agt, agent_status, check_desc, agent_desc
SGP:str status, proto
KGP:u32 pid
KGS:u32 iid, sid
CGS:u32 qlimit, type, check_rise, check_fall, check_health, agent_rise, agent_fall, agent_health
CGS:str addr, mode, algo
CNS:str tracked, cookie
# Module counters after the "-" column (SSL, HTTP/2, HTTP/1).
MCP:u64 ssl_sess, ssl_reused_sess, ssl_failed_handshake
MCP:u64 h2_headers_rcvd, h2_data_rcvd, h2_settings_rcvd, h2_rst_stream_rcvd, h2_goaway_rcvd
MCP:u64 h2_detected_conn_protocol_errors, h2_detected_strm_protocol_errors, h2_rst_stream_resp, h2_goaway_resp
MCP:u64 h2_total_connections, h2_backend_total_streams
MGP:u64 h2_open_connections, h2_backend_open_streams, h1_open_connections, h1_open_streams
MCP:u64 h1_total_connections, h1_total_streams, h1_bytes_in, h1_bytes_out, h1_spliced_bytes_in, h1_spliced_bytes_out
`

const builtinInfo = `
POS:str Name, Version, Release_date, Build info
CGS:u32 Nbthread, Nbproc, NbThreadGroups
KGP:u32 Process_num
SGP:u32 Pid
SGP:str Tainted
COS:str node, description
MDP:str Uptime
MDP:u32 Uptime_sec, Start_time_sec, BootTime_ms
CLP:u32 Memmax_MB, Memmax_bytes, Ulimit-n, Maxsock, Maxconn, Hard_maxconn, Maxpipes
CLP:u32 ConnRateLimit, SessRateLimit, SslRateLimit, CompressBpsRateLim, MaxZlibMemUsage
MGP:u32 PoolAlloc_MB, PoolUsed_MB, CurrConns, CurrSslConns, PipesUsed, PipesFree, ZlibMemUsage, Tasks, Run_queue
MGP:u32 SslFrontendKeyRate, SslFrontendSessionReuse_pct, Stopping, Jobs, Unstoppable Jobs, Listeners
MGP:u32 ActivePeers, ConnectedPeers, DroppedLogs, BusyPolling, FailedResolutions, DebugCommandsIssued
MGP:u32 Niced_tasks, BlockedTrafficWarnings
MGP:u64 PoolAlloc_bytes, PoolUsed_bytes, TotalBytesOut, TotalSplicdedBytesOut, TotalSplicedBytesOut
MGP:u64 CurrStreams, CumStreams, PatternsAdded, PatternsFreed
MCP:u32 PoolFailed, CumConns, CumReq, CumSslConns, SslCacheLookups, SslCacheMisses, CumRecvLogs
MCP:u32 TotalWarnings, MaxconnReached
MMP:u32 MaxSslConns, MaxConnRate, MaxSslRate, SslFrontendMaxKeyRate, SslBackendMaxKeyRate
MRP:u32 ConnRate, SessRate, MaxSessRate, SslRate, SslBackendKeyRate, CompressBpsIn, CompressBpsOut
MRP:u64 BytesOutRate
MaP:u32 Idle_pct
`
