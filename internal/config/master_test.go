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

// max-reply-size: 256 MiB unset, for both programs; at least 1 byte.
func TestMaxReplySize(t *testing.T) {
	dir := t.TempDir()
	for _, prog := range []Program{PullProgram, ProcessProgram} {
		cfg, _, err := load(t, "[pull]\nsocket-dir = "+dir+"\n[process]\nsrc-dir = "+dir+"\n").Config(prog)
		if err != nil || cfg.Pull.MaxReplySize != DefaultMaxReplySize || DefaultMaxReplySize != 256<<20 {
			t.Errorf("unset: %v, %d", err, cfg.Pull.MaxReplySize)
		}
		cfg, _, err = load(t, "[pull]\nsocket-dir = "+dir+"\nmax-reply-size = 1048576\n[process]\nsrc-dir = "+dir+"\n").Config(prog)
		if err != nil || cfg.Pull.MaxReplySize != 1<<20 {
			t.Errorf("set: %v, %d", err, cfg.Pull.MaxReplySize)
		}
	}
	if _, _, err := load(t, "[pull]\nsocket-dir = "+dir+"\nmax-reply-size = 0\n").Config(PullProgram); err == nil || !strings.Contains(err.Error(), "max-reply-size") {
		t.Errorf("max-reply-size = 0: %v", err)
	}
}
