package config

import (
	"bytes"
	"strings"
	"testing"
)

func TestAllMetrics(t *testing.T) {
	for _, c := range []struct {
		conf string
		want bool
	}{
		{"", false},
		{"[process]\nall-metrics = true\n", true},
		{"[process]\nall-metrics = on\n", true},
		{"[process]\nall-metrics = 0\n", false},
		{"[DEFAULT]\nall-metrics = yes\n", true}, // ConfigParser: [DEFAULT] reaches [process]
	} {
		cfg, warnings, err := load(t, c.conf).Config(ProcessProgram)
		if err != nil {
			t.Fatalf("%q: %v", c.conf, err)
		}
		if cfg.Process.AllMetrics != c.want {
			t.Errorf("%q: AllMetrics = %v, want %v", c.conf, cfg.Process.AllMetrics, c.want)
		}
		if len(warnings) > 0 {
			t.Errorf("%q: warnings %q: all-metrics is a known option", c.conf, warnings)
		}
	}
	if _, _, err := load(t, "[process]\nall-metrics = sometimes\n").Config(ProcessProgram); err == nil || !strings.Contains(err.Error(), "Not a boolean: sometimes") {
		t.Errorf("bad all-metrics: %v", err)
	}
	// New in the Go version: -p stays the original's.
	var b bytes.Buffer
	if err := PrintDefaults(&b, ProcessProgram); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "all-metrics") {
		t.Errorf("-p output mentions all-metrics:\n%s", b.String())
	}
}

func TestStatusMetrics(t *testing.T) {
	for _, c := range []struct {
		conf string
		want bool
	}{
		{"", false},
		{"[process]\nstatus-metrics = true\n", true},
		{"[process]\nstatus-metrics = off\n", false},
	} {
		cfg, warnings, err := load(t, c.conf).Config(ProcessProgram)
		if err != nil || len(warnings) > 0 {
			t.Fatalf("%q: %v, warnings %q", c.conf, err, warnings)
		}
		if cfg.Process.StatusMetrics != c.want {
			t.Errorf("%q: StatusMetrics = %v, want %v", c.conf, cfg.Process.StatusMetrics, c.want)
		}
	}
	if _, _, err := load(t, "[process]\nstatus-metrics = maybe\n").Config(ProcessProgram); err == nil || !strings.Contains(err.Error(), "Not a boolean: maybe") {
		t.Errorf("bad status-metrics: %v", err)
	}
	var b bytes.Buffer
	if err := PrintDefaults(&b, ProcessProgram); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "status-metrics") {
		t.Errorf("-p output mentions status-metrics:\n%s", b.String())
	}
}

func TestExcludeServerStates(t *testing.T) {
	cfg, warnings, err := load(t, "[process]\nexclude-server-states = MAINT, maint (resolution) ,MAINT (via)\nexclude-server-states-from-counts = true\n").Config(ProcessProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v, warnings %q", err, warnings)
	}
	if got := strings.Join(cfg.Process.ExcludeServerStates, "|"); got != "MAINT|maint (resolution)|MAINT (via)" || !cfg.Process.ExcludeFromCounts {
		t.Errorf("ExcludeServerStates %q, ExcludeFromCounts %v", got, cfg.Process.ExcludeFromCounts)
	}
	cfg, _, err = load(t, "").Config(ProcessProgram)
	if err != nil || cfg.Process.ExcludeServerStates != nil || cfg.Process.ExcludeFromCounts {
		t.Errorf("unset: %v %q %v", err, cfg.Process.ExcludeServerStates, cfg.Process.ExcludeFromCounts)
	}
	if _, _, err := load(t, "[process]\nexclude-server-states = MAINT,,DRAIN\n").Config(ProcessProgram); err == nil || !strings.Contains(err.Error(), "an empty state") {
		t.Errorf("an empty state: %v", err)
	}
	var b bytes.Buffer
	if err := PrintDefaults(&b, ProcessProgram); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "exclude-server-states") {
		t.Errorf("-p output mentions exclude-server-states:\n%s", b.String())
	}
}
