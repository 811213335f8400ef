package config

import (
	"fmt"
	"strconv"
	"strings"
)

// LogsSection is the name of the section whose presence makes
// haproxystats-pull receive HAProxy's request logs and turn their timers
// into latency histograms, and haproxystats-process render them.
const LogsSection = "logs"

// Logs is the [logs] section, read by both programs. Config returns it
// only when the section exists.
type Logs struct {
	// Listen is where pull receives the log datagrams: comma-separated
	// udp://HOST:PORT and unixgram:///PATH, as the log lines of
	// haproxy.cfg send them. Checked by pull (package logrecv).
	Listen string // listen
	// Format is "auto" (option httplog, httpslog, tcplog and their clf
	// forms, recognised per line) or a log-format string as haproxy.cfg
	// has it. Checked by pull (package logformat).
	Format string // format
	// ReceiveBuffer is the socket receive buffer asked for, in bytes.
	ReceiveBuffer int // receive-buffer
	// SocketMode is the file mode of the unixgram sockets pull makes.
	SocketMode uint32 // socket-mode, octal
	// MaxSeries bounds the histograms (objects × timers) one round holds
	// in pull, and the endpoint holds in process.
	MaxSeries int // max-series
	// Percentiles are the percentiles rendered for Graphite, in percent.
	Percentiles []float64 // percentiles
}

// The defaults of [logs].
const (
	DefaultLogsFormat        = "auto"
	DefaultLogsReceiveBuffer = 8 << 20
	DefaultLogsSocketMode    = 0o666
	DefaultLogsMaxSeries     = 100000
	DefaultLogsPercentiles   = "50 75 90 95 99 99.9"
)

var logsBuiltin = map[string]string{
	"format":         DefaultLogsFormat,
	"receive-buffer": strconv.Itoa(DefaultLogsReceiveBuffer),
	"socket-mode":    "0" + strconv.FormatUint(DefaultLogsSocketMode, 8),
	"max-series":     strconv.Itoa(DefaultLogsMaxSeries),
	"percentiles":    DefaultLogsPercentiles,
}

var logsOptions = set("listen", "format", "receive-buffer", "socket-mode", "max-series", "percentiles")

// maxReceiveBuffer bounds receive-buffer: the kernel caps it anyway.
const maxReceiveBuffer = 1 << 30

// logs decodes and checks [logs]; it returns nil when the section does
// not exist or has problems, which are recorded. pull needs listen.
func (d *decoder) logs(pull bool) *Logs {
	const s = LogsSection
	if d.f.sections[s] == nil {
		return nil
	}
	before := len(d.errs)
	l := new(Logs)
	if v, from, ok := d.value(s, "listen"); ok {
		l.Listen = strings.TrimSpace(v)
		if pull && l.Listen == "" {
			d.failf(from, "listen", "must name where HAProxy sends its logs (udp://HOST:PORT or unixgram:///PATH), got %s", pyRepr(v))
		}
	} else if pull {
		d.fail("invalid configuration, section:'logs' option:'listen' error:missing, name where HAProxy sends its logs (udp://HOST:PORT or unixgram:///PATH)")
	}
	if v, from, ok := d.value(s, "format"); ok {
		if strings.TrimSpace(v) == "" {
			d.failf(from, "format", "must be auto or a log-format string, got %s", pyRepr(v))
		}
		l.Format = strings.TrimSpace(v)
	}
	l.ReceiveBuffer, _ = d.int(s, "receive-buffer", between(4096, maxReceiveBuffer))
	if v, from, ok := d.value(s, "socket-mode"); ok {
		m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
		if err != nil || m > 0o777 {
			d.failf(from, "socket-mode", "must be an octal file mode such as 0660, got %s", pyRepr(v))
		}
		l.SocketMode = uint32(m)
	}
	l.MaxSeries, _ = d.int(s, "max-series", atLeast(1))
	if v, from, ok := d.value(s, "percentiles"); ok {
		var err error
		if l.Percentiles, err = parsePercentiles(v); err != nil {
			d.failf(from, "percentiles", "%v, got %s", err, pyRepr(v))
		}
	}
	if len(d.errs) > before {
		return nil
	}
	return l
}

// parsePercentiles reads percentiles separated by spaces or commas, each
// above 0 and at most 100, at most 3 decimals, no duplicate.
func parsePercentiles(v string) ([]float64, error) {
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("must list percentiles such as %s", DefaultLogsPercentiles)
	}
	seen := map[string]bool{}
	var ps []float64
	for _, f := range fields {
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || !(p > 0 && p <= 100) {
			return nil, fmt.Errorf("each percentile must be a number above 0 and at most 100 (%q is not)", f)
		}
		name := PercentileName(p)
		if seen[name] {
			return nil, fmt.Errorf("percentile %q given twice (as %s)", f, name)
		}
		if i := strings.IndexByte(f, '.'); i >= 0 && len(f)-i-1 > 3 {
			return nil, fmt.Errorf("percentile %q has more than 3 decimals", f)
		}
		seen[name] = true
		ps = append(ps, p)
	}
	return ps, nil
}

// PercentileName is the Graphite name of percentile p: "p" and its
// digits without the dot (99.9 → p999, 50 → p50).
func PercentileName(p float64) string {
	return "p" + strings.Replace(strconv.FormatFloat(p, 'f', -1, 64), ".", "", 1)
}
