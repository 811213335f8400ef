package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// pathcheck: values only, options validated, never opened.
func TestFleet(t *testing.T) {
	t.Run("pull ships to kafka", func(t *testing.T) {
		conf := "[DEFAULT]\ninterval = 7\n" +
			"[pull]\nsocket-dir = /run/haproxy\nship = Kafka\n" +
			"[kafka]\nbrokers = 127.0.0.1:9092\nsnapshot-topic = snaps\n" +
			"[fleet]\ncluster = ams\nhost = lb-01.ams\n"
		cfg, warnings, err := load(t, conf).Config(PullProgram)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 0 {
			t.Errorf("warnings: %q", warnings)
		}
		if cfg.Pull.Ship != "kafka" || cfg.Kafka == nil || cfg.Kafka.SnapshotTopic != "snaps" {
			t.Fatalf("ship %q, kafka %+v", cfg.Pull.Ship, cfg.Kafka)
		}
		want := Fleet{Cluster: "ams", Host: "lb-01.ams", Interval: 10 * time.Second, Grace: 20 * time.Second, Window: 3}
		if !reflect.DeepEqual(cfg.Fleet, want) { // [DEFAULT] interval does not reach [fleet]
			t.Errorf("Fleet = %+v, want %+v", cfg.Fleet, want)
		}
	})
	t.Run("process reads kafka", func(t *testing.T) {
		conf := "[process]\nsource = kafka\n" +
			"[kafka]\nbrokers = 127.0.0.1:9092\ngroup = g1\nmetrics-sink = false\n" +
			"[fleet]\ninterval = 5\nwindow = 4\n"
		cfg, _, err := load(t, conf).Config(ProcessProgram)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Process.Source != "kafka" || cfg.Kafka.Group != "g1" || cfg.Kafka.MetricsSink {
			t.Fatalf("source %q, kafka %+v", cfg.Process.Source, cfg.Kafka)
		}
		want := Fleet{Interval: 5 * time.Second, Grace: 10 * time.Second, Window: 4}
		if !reflect.DeepEqual(cfg.Fleet, want) {
			t.Errorf("Fleet = %+v, want %+v", cfg.Fleet, want)
		}
	})
	bad := func(prog Program, conf, want string) {
		t.Helper()
		_, _, err := load(t, conf).Config(prog)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to mention %q", conf, err, want)
		}
	}
	bad(PullProgram, "[pull]\nsocket-dir = /s\nship = kafka\n", "needs a [kafka] section")
	bad(ProcessProgram, "[process]\nsource = kafka\n", "needs a [kafka] section")
	bad(PullProgram, "[pull]\nsocket-dir = /s\nship = nfs\n", "ship")
	bad(ProcessProgram, "[process]\nsource = kafka\n[kafka]\nbrokers = b:1\n[fleet]\ninterval = 2.5\n", "whole number")
	bad(ProcessProgram, "[process]\nsource = kafka\n[kafka]\nbrokers = b:1\n[fleet]\nwindow = 0\n", "window")
}
