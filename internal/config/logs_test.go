package config

import (
	"reflect"
	"strings"
	"testing"
)

// pathcheck: values only, a socket-dir for validation, never opened.
const pullSource = "[pull]\nsocket-dir = /run/haproxy\n"

func TestLogsAbsent(t *testing.T) {
	for _, p := range []Program{PullProgram, ProcessProgram} {
		cfg, _, err := load(t, pullSource).Config(p)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Pull.Logs != nil || cfg.Logs != nil || cfg.Process.Logs != nil {
			t.Errorf("%v: [logs] without a section: %+v %+v", p, cfg.Pull.Logs, cfg.Logs)
		}
	}
}

// pathcheck: values only, the listen addresses are parsed, never bound.
func TestLogsDefaults(t *testing.T) {
	conf := pullSource + "[logs]\nlisten = udp://127.0.0.1:5140\n"
	want := Logs{Listen: "udp://127.0.0.1:5140", Format: "auto", ReceiveBuffer: 8 << 20, SocketMode: 0o666, MaxSeries: 100000, Percentiles: []float64{50, 75, 90, 95, 99, 99.9}}
	cfg, warnings, err := load(t, conf).Config(PullProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("pull: %v %q", err, warnings)
	}
	if !reflect.DeepEqual(*cfg.Pull.Logs, want) {
		t.Errorf("pull: Logs = %+v, want %+v", *cfg.Pull.Logs, want)
	}
	cfg, warnings, err = load(t, conf).Config(ProcessProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("process: %v %q", err, warnings)
	}
	if !reflect.DeepEqual(*cfg.Logs, want) || cfg.Process.Logs != cfg.Logs {
		t.Errorf("process: Logs = %+v (Process.Logs %p), want %+v", *cfg.Logs, cfg.Process.Logs, want)
	}
}

// pathcheck: values only, the listen addresses are parsed, never bound.
func TestLogsOptions(t *testing.T) {
	conf := pullSource + `[logs]
listen = udp://127.0.0.1:5140, unixgram:///run/haproxystats/log.sock
format = %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc
receive-buffer = 1048576
socket-mode = 0660
max-series = 5000
percentiles = 50, 99.9 99.99
`
	cfg, warnings, err := load(t, conf).Config(PullProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v %q", err, warnings)
	}
	want := Logs{Listen: "udp://127.0.0.1:5140, unixgram:///run/haproxystats/log.sock", Format: "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc",
		ReceiveBuffer: 1 << 20, SocketMode: 0o660, MaxSeries: 5000, Percentiles: []float64{50, 99.9, 99.99}}
	if !reflect.DeepEqual(*cfg.Pull.Logs, want) {
		t.Errorf("Logs = %+v, want %+v", *cfg.Pull.Logs, want)
	}
	for p, name := range map[float64]string{50: "p50", 99.9: "p999", 99.99: "p9999", 100: "p100", 0.1: "p01"} {
		if got := PercentileName(p); got != name {
			t.Errorf("PercentileName(%v) = %q, want %q", p, got, name)
		}
	}
}

func TestLogsErrors(t *testing.T) {
	for _, c := range []struct{ logs, want string }{
		{"", "section:'logs' option:'listen' error:missing"},
		{"listen =", "option:'listen' error:must name where HAProxy sends its logs"},
		{"listen = udp://:1\nformat =", "option:'format' error:must be auto or a log-format string"},
		{"listen = udp://:1\nreceive-buffer = 10", "option:'receive-buffer' error:must be between 4096 and 1073741824"},
		{"listen = udp://:1\nsocket-mode = 999", "option:'socket-mode' error:must be an octal file mode"},
		{"listen = udp://:1\nsocket-mode = 01777", "option:'socket-mode' error:must be an octal file mode"},
		{"listen = udp://:1\nmax-series = 0", "option:'max-series' error:must be at least 1"},
		{"listen = udp://:1\npercentiles = 50 101", `each percentile must be a number above 0 and at most 100 ("101" is not)`},
		{"listen = udp://:1\npercentiles = 0", `each percentile must be a number above 0 and at most 100 ("0" is not)`},
		{"listen = udp://:1\npercentiles = 99.9 9.99", `percentile "9.99" given twice (as p999)`},
		{"listen = udp://:1\npercentiles = 99.9999", `percentile "99.9999" has more than 3 decimals`},
		{"listen = udp://:1\npercentiles = ,", "must list percentiles"},
		{"listen = udp://:1\npercentiles = NaN", `("NaN" is not)`},
	} {
		_, _, err := load(t, pullSource+"[logs]\n"+c.logs+"\n").Config(PullProgram)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("[logs] %q: err %v, want %q", c.logs, err, c.want)
		}
	}
	// process does not need listen: the section may be there for the
	// percentiles alone.
	if _, _, err := load(t, pullSource+"[logs]\npercentiles = 99\n").Config(ProcessProgram); err != nil {
		t.Errorf("process, [logs] without listen: %v", err)
	}
}
