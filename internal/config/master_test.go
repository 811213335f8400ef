package config

import (
	"strings"
	"testing"
)

// pathcheck: values only, socket addresses parsed, never dialled.
func TestMasterServersAndAllowPartial(t *testing.T) {
	cfg, _, err := load(t, "[pull]\nservers = master:///run/haproxy-master.sock, master+tcp://127.0.0.1:9999, unix:///run/a.sock\nallow-partial = yes\n").Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{Network: "unix", Address: "/run/haproxy-master.sock", Name: "haproxy-master.sock", Master: true},
		{Network: "tcp", Address: "127.0.0.1:9999", Name: "127.0.0.1:9999", Master: true},
		{Network: "unix", Address: "/run/a.sock", Name: "a.sock"},
	}
	if len(cfg.Pull.Servers) != len(want) {
		t.Fatalf("servers = %+v", cfg.Pull.Servers)
	}
	for i := range want {
		if cfg.Pull.Servers[i] != want[i] {
			t.Errorf("server %d = %+v, want %+v", i, cfg.Pull.Servers[i], want[i])
		}
	}
	if !cfg.Pull.AllowPartial {
		t.Error("allow-partial = yes not read")
	}
	if _, _, err := load(t, "[pull]\nservers = master+tcp://127.0.0.1\n").Config(PullProgram); err == nil || !strings.Contains(err.Error(), "port is not set") {
		t.Errorf("master+tcp without port: %v", err)
	}
	if _, _, err := load(t, "[pull]\nsocket-dir = /run\nallow-partial = maybe\n").Config(PullProgram); err == nil || !strings.Contains(err.Error(), "Not a boolean: maybe") {
		t.Errorf("bad allow-partial: %v", err)
	}
	cfg, _, _ = load(t, "[pull]\nsocket-dir = /run\n").Config(PullProgram)
	if cfg.Pull.AllowPartial {
		t.Error("allow-partial defaults to true")
	}
}
