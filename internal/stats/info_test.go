package stats

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestParseInt(t *testing.T) {
	f := func(in string, want float64, wantOK bool) {
		t.Helper()
		got, ok := parseInt([]byte(in))
		if ok != wantOK || got != want {
			t.Errorf("parseInt(%q) = %v, %v, want %v, %v", in, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("600", 600, true)
	f(" 42\r", 42, true)
	f("\t-7 ", -7, true)
	f("+7", 7, true)
	f("007", 7, true)
	f("1_000", 1000, true)
	f("1_0_0", 100, true)
	f("\x1c5\x1f", 5, true) // Python's str.strip removes these too
	f("", 0, false)
	f("-", 0, false)
	f("+-1", 0, false)
	f("1__0", 0, false)
	f("_1", 0, false)
	f("1_", 0, false)
	f("1.0", 0, false)
	f("1e3", 0, false)
	f("0x10", 0, false)
	f("HAProxy", 0, false)
	f("0d 0h10m00s", 0, false)
	f("2018/09/20", 0, false)
	f("1 000", 0, false)
	f(strings.Repeat("9", 400), 0, false) // beyond float64
}

func TestParseInfo(t *testing.T) {
	info := ParseInfo([]byte("Name: HAProxy\nUptime: 0d 0h10m00s\nUptime_sec: 600\n" +
		" Spaced: 1\nRepeat: 1\nRepeat: 2\nNoValue:\nRatio: 1.5\nA: b: 3\ndescription: \n" +
		"Tail: 9"))
	want := Info{"Uptime_sec": 600, " Spaced": 1, "Repeat": 1, "Tail": 9}
	if len(info) != len(want) {
		t.Errorf("got %v, want %v", info, want)
	}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("%q = %v, want %v", k, info[k], v)
		}
	}
}

func TestPercentile(t *testing.T) {
	// BEHAVIOR.md §6.2.4.
	for _, c := range []struct {
		v             []float64
		p25, p50, p75 float64
	}{
		{[]float64{5, 20}, 5, 5, 20},
		{[]float64{10, 20, 30}, 10, 20, 30},
		{[]float64{1, 2, 3, 4}, 2, 3, 3},
	} {
		for _, q := range []struct{ q, want float64 }{{0.25, c.p25}, {0.5, c.p50}, {0.75, c.p75}} {
			if got := percentile(c.v, q.q); got != q.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", c.v, q.q, got, q.want)
			}
		}
	}
	if got := stddev([]float64{5, 20}); got != 10.606601717798213 {
		t.Errorf("stddev = %v", got)
	}
	if got := stddev([]float64{2, 4, 4, 4, 5, 5, 7, 9}); got != 2.138089935299395 {
		t.Errorf("stddev = %v", got)
	}
}

func daemon(t *testing.T, o *Options, replies ...string) map[string]float64 {
	t.Helper()
	var fs []File
	for i, r := range replies {
		fs = append(fs, File{Name: "i" + string(rune('1'+i)), Data: []byte(r)})
	}
	if o.Prefix == "" {
		o.Prefix = "p"
	}
	ms, err := Daemon(nil, fs, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]float64)
	for _, m := range ms {
		rel := strings.TrimPrefix(m.Path, "p.")
		if _, dup := got[rel]; dup {
			t.Errorf("duplicate %s", m.Path)
		}
		got[rel] = m.Value
	}
	if last := ms[len(ms)-1]; last.Path != "p.haproxystats.MetricsHAProxy" || last.Value != float64(len(ms)) {
		t.Errorf("last line %v, want MetricsHAProxy %d", last, len(ms))
	}
	return got
}

// TestDaemonAlignedByFile: each reply is one process; a field missing in
// one is absent for that process only; a field missing everywhere gives
// no line.
func TestDaemonAlignedByFile(t *testing.T) {
	var buf bytes.Buffer
	o := &Options{PerProcess: true, Percentages: true,
		Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	got := daemon(t, o,
		"Process_num: 3\nCurrConns: 10\nMaxconn: 100\nIdle_pct: 90\nUptime_sec: 10\nConnRate: x\n",
		"Process_num: 7\nCurrConns: 5\nMaxconn: 30\nIdle_pct: 60\nConnRate: 1\n",
	)
	expect(t, got,
		"daemon.CurrConns", 15,
		"daemon.Maxconn", 130,
		"daemon.Uptime_sec", 10, // mean over the process that has it
		"daemon.Idle_pct", 75,
		"daemon.ConnRate", 1,
		"daemon.Tasks", nil,
		"daemon.25PercentileCpuUsagePct", 10,
		"daemon.99PercentileCpuUsagePct", 40,
		"daemon.ConnPercentage", 11, // trunc(1500/130)
		"daemon.ConnRatePercentage", nil, // no ConnRateLimit anywhere
		"daemon.process.3.CurrConns", 10,
		"daemon.process.3.CpuUsagePct", 10,
		"daemon.process.3.ConnRate", nil,
		"daemon.process.7.ConnRate", 1,
		"daemon.process.7.Uptime_sec", nil,
		"daemon.process.7.ConnPercentage", 16, // trunc(16.67)
		"daemon.process.3.ConnPercentage", 10,
		"daemon.process.3.Process_num", nil,
	)
	for _, want := range []string{
		"file=i1 field=ConnRate",
		"file=i2 field=Uptime_sec",
		"file=i1 field=Tasks",
		"metric=ConnRatePercentage",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestDaemonProcessNum: Process_num is used when present and unique;
// otherwise processes are numbered by reply position (1-based, empty
// replies included).
func TestDaemonProcessNum(t *testing.T) {
	o := &Options{PerProcess: true}
	got := daemon(t, o, "Process_num: 1\nTasks: 1\n", "Name: x\n", "Process_num: 1\nTasks: 2\n")
	expect(t, got, "daemon.process.1.Tasks", 1, "daemon.process.3.Tasks", 2, "daemon.Tasks", 3)
	got = daemon(t, o, "Tasks: 1\n", "Process_num: 2\nTasks: 2\n")
	expect(t, got, "daemon.process.1.Tasks", 1, "daemon.process.2.Tasks", 2)
	got = daemon(t, o, "Process_num: 2\nTasks: 1\n", "Process_num: 1\nTasks: 2\n")
	expect(t, got, "daemon.process.2.Tasks", 1, "daemon.process.1.Tasks", 2)
}

func TestDaemonSingleProcess(t *testing.T) {
	got := daemon(t, &Options{Percentages: true}, "Idle_pct: 80\nCurrSslConns: 5\nMaxSslConns: 0\n")
	expect(t, got,
		"daemon.Idle_pct", 80,
		"daemon.50PercentileCpuUsagePct", nil,
		"daemon.StdCpuUsagePct", nil,
		"daemon.SslConnPercentage", 0, // limit 0
		"haproxystats.MetricsHAProxy", 1+2+1+1, // 2 sums, Idle_pct, 1 percentage
	)
}

func TestDaemonNoData(t *testing.T) {
	ms, err := Daemon(nil, []File{{Name: "a", Data: nil}, {Name: "b", Data: []byte("Name: HAProxy\n\x00\xff")}}, 1, nil)
	if err == nil || len(ms) != 0 {
		t.Errorf("got %v, %v; want an error and nothing", ms, err)
	}
	if _, err := Daemon(nil, nil, 1, nil); err == nil {
		t.Error("no replies: no error")
	}
}
