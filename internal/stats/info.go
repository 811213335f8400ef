package stats

import (
	"bytes"
	"fmt"
	"log/slog"
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

var percentageList = []percentage{
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
	name string  // num as it is written in the paths
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
	c := NewCollector(dst)
	if err := WalkDaemon(c, infos, ts, o); err != nil {
		return dst, err
	}
	return c.Done(), nil
}

// WalkDaemon gives the datapoints of Daemon to t. When it fails it gives
// none.
func WalkDaemon(t Target, infos []File, ts int64, o *Options) error {
	o = o.orDefault()
	procs, err := daemonProcesses(infos, o.logger())
	if err != nil {
		return err
	}
	w := newWalk(t, ts, o)
	var extra []infoExtra
	if o.AllMetrics {
		extra = infoExtras(infos, o)
	}
	w.row(DaemonBlock, w.self[:], "", "")
	walkDaemonSums(w, procs, o.logger())
	walkCPU(w, procs)
	if o.Percentages {
		walkPercentages(w, procs, o.logger())
	}
	for _, x := range extra {
		if v, ok := x.value(procs); ok {
			w.value(x.name, v)
		}
	}
	if o.PerProcess {
		walkProcesses(w, procs, extra, o.Percentages)
	}
	w.count("MetricsHAProxy", w.n)
	return nil
}

// daemonProcesses parses the show info replies: one process per reply
// holding an integer field, numbered by Process_num when every one has a
// distinct one, else by the reply's position.
func daemonProcesses(infos []File, log *slog.Logger) ([]process, error) {
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
		return nil, fmt.Errorf("no daemon statistics in %d show info replies", len(infos))
	}
	if nums, ok := processNums(procs); ok {
		for i := range procs {
			procs[i].num = nums[i]
		}
	} else {
		log.Debug("Process_num missing or not unique; numbering processes by reply position")
	}
	for i := range procs {
		procs[i].name = string(metric.AppendValue(nil, procs[i].num))
	}
	return procs, nil
}

// walkDaemonSums gives the sums of DaemonMetrics and the means of
// DaemonAvgMetrics over the processes that have each field.
func walkDaemonSums(w *walk, procs []process, log *slog.Logger) {
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
			w.value(name, sum)
		}
	}
}

// walkCPU gives the percentiles and the standard deviation of the CPU
// usage of the processes that report Idle_pct, when at least two do.
func walkCPU(w *walk, procs []process) {
	cpu := make([]float64, 0, len(procs))
	for _, p := range procs {
		if v, ok := p.info[idlePct]; ok {
			cpu = append(cpu, 100-v)
		}
	}
	if len(cpu) < 2 {
		return
	}
	sorted := slices.Sorted(slices.Values(cpu))
	for _, pc := range percentiles {
		w.value(pc.name, percentile(sorted, pc.q))
	}
	w.value("StdCpuUsagePct", stddev(cpu))
}

// walkPercentages gives the derived percentages of the sums over all
// processes.
func walkPercentages(w *walk, procs []process, log *slog.Logger) {
	for _, pc := range percentageList {
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
		w.value(pc.title, percent(s, l))
	}
}

// walkProcesses gives the values of each process alone, under
// PREFIX.daemon.process.<W>: the original's fields, its CPU usage, the
// all-metrics extras, then with percentages each process's percentages.
func walkProcesses(w *walk, procs []process, extra []infoExtra, percentages bool) {
	for _, p := range procs {
		w.processRow(p)
		for _, name := range DaemonMetrics {
			if v, ok := p.info[name]; ok {
				w.value(name, v)
			}
		}
		if v, ok := p.info[idlePct]; ok {
			w.value(cpuUsage, 100-v)
		}
		for _, name := range DaemonAvgMetrics {
			if v, ok := p.info[name]; ok {
				w.value(name, v)
			}
		}
		for _, x := range extra {
			if v, ok := p.info[x.field]; ok {
				w.value(x.name, v)
			}
		}
	}
	if !percentages {
		return
	}
	for _, pc := range percentageList {
		for _, p := range procs {
			v, ok1 := p.info[pc.value]
			l, ok2 := p.info[pc.limit]
			if ok1 && ok2 {
				w.processRow(p)
				w.value(pc.title, percent(v, l))
			}
		}
	}
}

func (w *walk) processRow(p process) {
	w.t.Row(Row{Block: ProcessBlock, Heads: w.self[:], Process: p.name, Time: w.ts})
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
