package stats

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// Info holds the integer fields of one show info reply, by field name.
type Info map[string]float64

// ParseInfo parses a show info reply as the original does. Each line holding
// ": " is split at the first one into a name, taken verbatim, and a value,
// trimmed and kept only if it is an integer by Python's int() rules
// (optional sign, ASCII digits, single '_' between digits) whose magnitude
// fits a float64. Other lines and values are ignored. When a name repeats,
// the first integer value wins.
func ParseInfo(data []byte) Info {
	info := make(Info, 64)
	eachLine(data, func(line []byte) {
		k, v, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			return
		}
		if n, ok := parseInt(v); ok {
			if _, dup := info[string(k)]; !dup {
				info[string(k)] = n
			}
		}
	})
	return info
}

// parseInt parses b as Python's int(b) does for ASCII text.
func parseInt(b []byte) (float64, bool) {
	b = bytes.TrimFunc(b, isPySpace)
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		if len(b) == 1 {
			return 0, false
		}
	}
	digits := b
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if len(digits) == 0 || digits[0] == '_' || digits[len(digits)-1] == '_' {
		return 0, false
	}
	under := false
	for i, c := range digits {
		switch {
		case c >= '0' && c <= '9':
		case c == '_' && digits[i-1] != '_':
			under = true
		default:
			return 0, false
		}
	}
	if under {
		b = bytes.ReplaceAll(b, []byte("_"), nil)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// The show info fields behind the derived daemon metrics.
const (
	idlePct    = "Idle_pct"
	processNum = "Process_num"
	cpuUsage   = "CpuUsagePct"
)

// percentage is one derived daemon percentage: title is value as a
// percentage of limit.
type percentage struct{ title, value, limit string }

var percentages = []percentage{
	{"ConnPercentage", "CurrConns", "Maxconn"},
	{"ConnRatePercentage", "ConnRate", "ConnRateLimit"},
	{"SslConnPercentage", "CurrSslConns", "MaxSslConns"},
	{"SslRatePercentage", "SslRate", "SslRateLimit"},
}

var percentiles = []struct {
	name string
	q    float64
}{
	{"25PercentileCpuUsagePct", 0.25},
	{"50PercentileCpuUsagePct", 0.50},
	{"75PercentileCpuUsagePct", 0.75},
	{"95PercentileCpuUsagePct", 0.95},
	{"99PercentileCpuUsagePct", 0.99},
}

// process is one HAProxy process: one show info reply with data.
type process struct {
	file string
	info Info
	num  float64 // the <W> of PREFIX.daemon.process.<W>
}

// Daemon parses the show info replies, one per HAProxy process, and
// appends the daemon lines in the original's order (sums, means,
// per-process values, derived percentages and percentiles),
// then PREFIX.haproxystats.MetricsHAProxy. It fails, appending nothing,
// when no reply holds an integer field.
//
// Replies are aligned by file: each reply with data is one process, and
// a field missing from a reply is absent for that process only. A sum or
// mean covers the processes that have the field; a field no process has
// gives no line rather than a 0, and each absence is logged at debug
// level with the reply's name. The percentiles and StdCpuUsagePct need
// Idle_pct from at least two processes.
//
// The <W> of the per-process paths is each reply's Process_num when every
// reply with data has one and no two are equal. Otherwise (a missing
// Process_num, or several HAProxy instances each reporting Process_num 1,
// as with nbproc 1) every process is numbered by its reply's 1-based
// position in infos instead, which is unique and stable for a given
// socket list.
//
// MetricsHAProxy is 1 + the number of daemon lines actually appended; it
// equals the original's count (46 for two processes with default options,
// 138 with per-process metrics and percentages) whenever no field is
// missing.
func Daemon(dst []metric.Metric, infos []File, ts int64, o *Options) ([]metric.Metric, error) {
	e := emitter{dst: dst, ts: ts}
	if err := emitDaemon(&e, infos, o.orDefault()); err != nil {
		return dst, err
	}
	return e.done(), nil
}

func emitDaemon(e *emitter, infos []File, o *Options) error {
	log := o.logger()
	procs := make([]process, 0, len(infos))
	for i, f := range infos {
		info := ParseInfo(f.Data)
		if len(info) == 0 {
			log.Debug("no integer field in show info reply", "file", f.Name)
			continue
		}
		procs = append(procs, process{file: f.Name, info: info, num: float64(i + 1)})
	}
	if len(procs) == 0 {
		return fmt.Errorf("no daemon statistics in %d show info replies", len(infos))
	}
	if nums, ok := processNums(procs); ok {
		for i := range procs {
			procs[i].num = nums[i]
		}
	} else {
		log.Debug("Process_num missing or not unique; numbering processes by reply position")
	}

	// The CPU usage of each process that reports Idle_pct.
	cpu := make([]float64, 0, len(procs))
	for _, p := range procs {
		if v, ok := p.info[idlePct]; ok {
			cpu = append(cpu, 100-v)
		}
	}

	daemon := func(name string, v float64) {
		e.path(o.Prefix, ".daemon.", name)
		e.emit(v)
	}
	for _, list := range []struct {
		names []string
		avg   bool
	}{{DaemonMetrics, false}, {DaemonAvgMetrics, true}} {
		for _, name := range list.names {
			sum, n := 0.0, 0
			for _, p := range procs {
				if v, ok := p.info[name]; ok {
					sum += v
					n++
				} else {
					log.Debug("field not in show info reply", "file", p.file, "field", name)
				}
			}
			if n == 0 {
				continue
			}
			if list.avg {
				sum /= float64(n)
			}
			daemon(name, sum)
		}
	}
	if len(cpu) > 1 {
		sorted := slices.Sorted(slices.Values(cpu))
		for _, pc := range percentiles {
			daemon(pc.name, percentile(sorted, pc.q))
		}
		daemon("StdCpuUsagePct", stddev(cpu))
	}
	if o.Percentages {
		for _, pc := range percentages {
			var s, l float64
			var hs, hl bool
			for _, p := range procs {
				v, ok := p.info[pc.value]
				s, hs = s+v, hs || ok
				v, ok = p.info[pc.limit]
				l, hl = l+v, hl || ok
			}
			if !hs || !hl {
				log.Debug("percentage skipped: field not in any show info reply", "metric", pc.title)
				continue
			}
			daemon(pc.title, percent(s, l))
		}
	}
	var extra []infoExtra
	if o.AllMetrics {
		extra = infoExtras(infos, o)
		for _, x := range extra {
			if v, ok := x.value(procs); ok {
				daemon(x.name, v)
			}
		}
	}
	if o.PerProcess {
		var num []byte
		proc := func(p process, name string, v float64) {
			num = metric.AppendValue(num[:0], p.num)
			e.buf = append(e.buf, o.Prefix...)
			e.buf = append(e.buf, ".daemon.process."...)
			e.buf = append(e.buf, num...)
			e.buf = append(e.buf, '.')
			e.buf = append(e.buf, name...)
			e.emit(v)
		}
		for _, p := range procs {
			for _, name := range DaemonMetrics {
				if v, ok := p.info[name]; ok {
					proc(p, name, v)
				}
			}
			if v, ok := p.info[idlePct]; ok {
				proc(p, cpuUsage, 100-v)
			}
			for _, name := range DaemonAvgMetrics {
				if v, ok := p.info[name]; ok {
					proc(p, name, v)
				}
			}
			for _, x := range extra {
				if v, ok := p.info[x.field]; ok {
					proc(p, x.name, v)
				}
			}
		}
		if o.Percentages {
			for _, pc := range percentages {
				for _, p := range procs {
					v, ok1 := p.info[pc.value]
					l, ok2 := p.info[pc.limit]
					if ok1 && ok2 {
						proc(p, pc.title, percent(v, l))
					}
				}
			}
		}
	}
	n := e.n
	e.path(o.Prefix, ".haproxystats.", "MetricsHAProxy")
	e.emit(float64(n + 1))
	return nil
}

// processNums returns the Process_num of every process if all have one and
// they are unique.
func processNums(procs []process) ([]float64, bool) {
	nums := make([]float64, len(procs))
	seen := make(map[float64]bool, len(procs))
	for i, p := range procs {
		v, ok := p.info[processNum]
		if !ok || seen[v] {
			return nil, false
		}
		seen[v] = true
		nums[i] = v
	}
	return nums, true
}

// percentile is pandas' quantile(q, interpolation="nearest") of sorted:
// the element at q·(n−1) rounded half to even.
func percentile(sorted []float64, q float64) float64 {
	i := int(math.RoundToEven(q * float64(len(sorted)-1)))
	return sorted[i]
}

// stddev is the sample standard deviation (divisor n−1); len(v) > 1.
func stddev(v []float64) float64 {
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// percent is trunc(100·v/limit), or 0 when limit is 0.
func percent(v, limit float64) float64 {
	if limit == 0 {
		return 0
	}
	return math.Trunc(100 * v / limit)
}
