package config

import (
	"strings"
	"testing"
)

func TestStatsPageServers(t *testing.T) {
	cfg, _, err := load(t, `[pull]
servers = http://user:p%40ss@10.0.0.1:8404/stats, https://[::1]:8443/, http://lb.example/haproxy?stats, unix:///lb/admin.sock, https://127.0.0.1/stats;csv
http-user = ops
http-password = s3cret
tls-ca-file = ca.pem
tls-insecure-skip-verify = false
`).Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{Network: "http", URL: "http://10.0.0.1:8404/stats;csv", Address: "http://10.0.0.1:8404/stats;csv", Name: "10.0.0.1:8404_stats", User: "user", Password: "p@ss"},
		{Network: "http", URL: "https://[::1]:8443/;csv", Address: "https://[::1]:8443/;csv", Name: "::1:8443", User: "ops", Password: "s3cret"},
		{Network: "http", URL: "http://lb.example/haproxy?stats;csv", Address: "http://lb.example/haproxy?stats;csv", Name: "lb.example:80_haproxy_stats", User: "ops", Password: "s3cret"},
		{Network: "unix", Address: "/lb/admin.sock", Name: "admin.sock"},
		{Network: "http", URL: "https://127.0.0.1/stats;csv", Address: "https://127.0.0.1/stats;csv", Name: "127.0.0.1:443_stats", User: "ops", Password: "s3cret"},
	}
	if len(cfg.Pull.Servers) != len(want) {
		t.Fatalf("servers %+v", cfg.Pull.Servers)
	}
	for i, w := range want {
		if cfg.Pull.Servers[i] != w {
			t.Errorf("server %d: %+v, want %+v", i, cfg.Pull.Servers[i], w)
		}
	}
	if cfg.Pull.TLSCAFile != "ca.pem" {
		t.Errorf("tls-ca-file %q", cfg.Pull.TLSCAFile)
	}
	for conf, msg := range map[string]string{
		"[pull]\nservers = http://:8404/stats\n":                      "host is not set",
		"[pull]\nservers = http://10.0.0.1:99999/stats\n":             "port",
		"[pull]\nservers = http://10.0.0.1/stats#x\n":                 "no fragment",
		"[pull]\nservers = http://10.0.0.1/\ntls-cert-file = c.pem\n": "tls-cert-file and tls-key-file",
	} {
		if _, _, err := load(t, conf).Config(PullProgram); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error with %q", conf, err, msg)
		}
	}
}

// A reload names the stats pages' options that changed (the password by
// its name only).
func TestPullChangesPages(t *testing.T) {
	a := Pull{HTTPUser: "ops", HTTPPassword: "old", TLSCAFile: "ca.pem"}
	b := a
	b.HTTPPassword, b.TLSInsecureSkipVerify = "new", true
	if got := strings.Join(PullChanges(a, b), " "); got != "http-password tls-insecure-skip-verify" {
		t.Errorf("PullChanges = %q", got)
	}
}
