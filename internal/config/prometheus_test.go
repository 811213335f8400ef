package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrometheusAbsent(t *testing.T) {
	cfg, _, err := load(t, "").Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Prometheus != nil {
		t.Errorf("Prometheus = %+v without a [prometheus] section, want nil", cfg.Prometheus)
	}
}

func TestPrometheusDefaults(t *testing.T) {
	// [DEFAULT] values do not reach the options that have built-in
	// defaults, as for [kafka].
	cfg, warnings, err := load(t, "[DEFAULT]\nlisten = 0.0.0.0:1\npath = /nope\n[prometheus]\n").Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if got, want := *cfg.Prometheus, DefaultPrometheus(); got != want {
		t.Errorf("Prometheus = %+v, want %+v", got, want)
	}
	if want := (Prometheus{Listen: "127.0.0.1:8406", Path: "/metrics"}); DefaultPrometheus() != want {
		t.Errorf("DefaultPrometheus() = %+v, want %+v", DefaultPrometheus(), want)
	}
}

func TestPrometheusOptions(t *testing.T) {
	web := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(web, []byte("basic_auth_users: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "[paths]\nweb = " + web + "\n[prometheus]\nlisten = [::1]:9200\npath = /prom/metrics\nweb-config-file = ${paths:web}\n"
	cfg, warnings, err := load(t, conf).Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	want := Prometheus{Listen: "[::1]:9200", Path: "/prom/metrics", WebConfigFile: web}
	if *cfg.Prometheus != want {
		t.Errorf("Prometheus = %+v, want %+v", *cfg.Prometheus, want)
	}
	// Every address: an empty host is accepted.
	cfg, _, err = load(t, "[prometheus]\nlisten = :8406\n").Config(ProcessProgram)
	if err != nil || cfg.Prometheus.Listen != ":8406" {
		t.Errorf("listen = :8406: %+v, %v", cfg, err)
	}
}

func TestPrometheusErrors(t *testing.T) {
	const e = "invalid configuration, section:'prometheus' option:"
	for _, c := range []struct{ conf, want string }{
		{"listen = 8406", e + "'listen' error:must be host:port (IPv6 in brackets: [::1]:8406), got '8406'"},
		{"listen = ::1:8406", e + "'listen' error:must be host:port (IPv6 in brackets: [::1]:8406), got '::1:8406'"},
		{"listen = 127.0.0.1:0", e + "'listen' error:needs a port between 1 and 65535, got '127.0.0.1:0'"},
		{"listen = 127.0.0.1:http", e + "'listen' error:needs a port between 1 and 65535, got '127.0.0.1:http'"},
		{"listen = 127.0.0.1:65536", e + "'listen' error:needs a port between 1 and 65535, got '127.0.0.1:65536'"},
		{"path = metrics", e + "'path' error:must be a URL path starting with '/', without spaces, '?' or '#', got 'metrics'"},
		{"path = /a b", e + "'path' error:must be a URL path starting with '/', without spaces, '?' or '#', got '/a b'"},
		{"path = /m?x=1", e + "'path' error:must be a URL path starting with '/', without spaces, '?' or '#', got '/m?x=1'"},
		{"web-config-file = /nonexistent/web.yml", e + "'web-config-file' error:cannot read: open /nonexistent/web.yml: no such file or directory"},
	} {
		_, _, err := load(t, "[prometheus]\n"+c.conf+"\n").Config(ProcessProgram)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: error\n%v\nwant\n%s", c.conf, err, c.want)
		}
	}
}

func TestPrometheusUnknownOption(t *testing.T) {
	_, warnings, err := load(t, "[prometheus]\nport = 8406\n").Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != "[prometheus] unknown option 'port' ignored" {
		t.Errorf("warnings = %q", warnings)
	}
}

// -P shows [prometheus] with its built-in defaults; -p does not show it
// (it is off by default), so -p stays the original's.
func TestPrometheusPrint(t *testing.T) {
	var b bytes.Buffer
	if err := load(t, "[prometheus]\npath = /m\n").Print(&b, ProcessProgram); err != nil {
		t.Fatal(err)
	}
	const want = "[prometheus]\ninterval = 2\nlisten = 127.0.0.1:8406\nloglevel = info\npath = /m\nretries = 2\ntimeout = 1\n\n"
	if out := b.String(); !strings.Contains(out, want) {
		t.Errorf("-P output has no\n%s\nin\n%s", want, out)
	}
	b.Reset()
	PrintDefaults(&b, ProcessProgram)
	if strings.Contains(b.String(), "prometheus") {
		t.Errorf("-p shows prometheus:\n%s", b.String())
	}
}
