package config

import (
	"strings"
	"testing"
	"time"
)

func TestHealthOptions(t *testing.T) {
	cfg, warnings, err := load(t, "").Config(ProcessProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("empty configuration: %v, warnings %q", err, warnings)
	}
	def := Default().Process
	if p := cfg.Process; p.HealthListen != "" || p.ReadyMaxAgeIntervals != def.ReadyMaxAgeIntervals || p.ReadyMaxQueue != def.ReadyMaxQueue ||
		p.ReadyMaxSinksFailing != def.ReadyMaxSinksFailing || p.LiveMaxStall != def.LiveMaxStall {
		t.Errorf("defaults: %+v, want those of Default() %+v", p, def)
	}
	if def.ReadyMaxAgeIntervals != 3 || def.ReadyMaxQueue != 30 || def.ReadyMaxSinksFailing != time.Minute || def.LiveMaxStall != 5*time.Minute {
		t.Errorf("Default() = %+v: the README's table says 3, 30, 60 s, 300 s", def)
	}
	// process reads pull's cadence, the unit of ready-max-age-intervals.
	if cfg.Pull.PullInterval != 10*time.Second || cfg.Process.MaxSnapshotAge(cfg.Pull.PullInterval) != 30*time.Second {
		t.Errorf("pull-interval %v, MaxSnapshotAge %v; want 10s, 30s", cfg.Pull.PullInterval, cfg.Process.MaxSnapshotAge(cfg.Pull.PullInterval))
	}

	cfg, warnings, err = load(t, "[pull]\npull-interval = 2\n[process]\nhealth-listen = 127.0.0.1:8407\nready-max-age-intervals = 2.5\nready-max-queue = 5\nready-max-sinks-failing = 0.5\nlive-max-stall = 20\n").Config(ProcessProgram)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v, warnings %q", err, warnings)
	}
	want := Process{HealthListen: "127.0.0.1:8407", ReadyMaxAgeIntervals: 2.5, ReadyMaxQueue: 5, ReadyMaxSinksFailing: 500 * time.Millisecond, LiveMaxStall: 20 * time.Second}
	if p := cfg.Process; p.HealthListen != want.HealthListen || p.ReadyMaxAgeIntervals != want.ReadyMaxAgeIntervals || p.ReadyMaxQueue != want.ReadyMaxQueue ||
		p.ReadyMaxSinksFailing != want.ReadyMaxSinksFailing || p.LiveMaxStall != want.LiveMaxStall {
		t.Errorf("got %+v, want %+v", p, want)
	}
	if got := cfg.Process.MaxSnapshotAge(cfg.Pull.PullInterval); got != 5*time.Second {
		t.Errorf("MaxSnapshotAge = %v, want 2.5 × 2s", got)
	}

	bad := func(conf, wantErr string) {
		t.Helper()
		_, _, err := load(t, conf).Config(ProcessProgram)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: err = %v, want one containing %q", conf, err, wantErr)
		}
	}
	bad("[process]\nhealth-listen = 8407\n", "option:'health-listen' error:must be host:port")
	bad("[process]\nhealth-listen = :0\n", "option:'health-listen' error:needs a port between 1 and 65535")
	bad("[process]\nhealth-listen = 127.0.0.1:8406\n[prometheus]\n", "option:'health-listen' error:must differ from [prometheus] listen")
	bad("[process]\nready-max-age-intervals = 0.5\n", "option:'ready-max-age-intervals' error:must be at least 1")
	bad("[process]\nready-max-age-intervals = 1e6\n", "option:'ready-max-age-intervals' error:must be at most 10000")
	bad("[process]\nready-max-queue = 0\n", "option:'ready-max-queue' error:must be at least 1")
	bad("[process]\nready-max-sinks-failing = 0\n", "option:'ready-max-sinks-failing' error:must be greater than 0")
	bad("[process]\nlive-max-stall = 0.5\n", "option:'live-max-stall' error:must be at least 1")
	bad("[pull]\npull-interval = 0\n", "option:'pull-interval' error:must be at least 1")
}
