package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// errLines returns the lines of err, one per problem.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// pullOK makes a configuration valid for haproxystats-pull.
// pathcheck: values only, a socket-dir for validation, never opened.
const pullOK = "[pull]\nsocket-dir = /run/haproxy\n"

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Program
		conf string
		want string // the one problem expected
	}{
		// [pull], read by haproxystats-pull.
		{"pull loglevel", PullProgram, pullOK + "loglevel = verbose\n",
			"invalid configuration, section:'pull' option:'loglevel' error: invalid loglevel 'verbose'"},
		{"DEFAULT loglevel", PullProgram, "[DEFAULT]\nloglevel = loud\n" + pullOK,
			"invalid configuration, section:'DEFAULT' option:'loglevel' error: invalid loglevel 'loud'"},
		{"bad int", PullProgram, pullOK + "retries = x\n",
			"invalid configuration, section:'pull' option:'retries' error:invalid literal for int() with base 10: 'x'"},
		{"retries below -1", PullProgram, pullOK + "retries = -2\n",
			"invalid configuration, section:'pull' option:'retries' error:must be -1 (retry forever) or more, got '-2'"},
		{"bad float", PullProgram, pullOK + "timeout = fast\n",
			"invalid configuration, section:'pull' option:'timeout' error:could not convert string to float: 'fast'"},
		{"zero timeout", PullProgram, pullOK + "timeout = 0\n",
			"invalid configuration, section:'pull' option:'timeout' error:must be greater than 0, got '0'"},
		{"infinite timeout", PullProgram, pullOK + "timeout = inf\n",
			"invalid configuration, section:'pull' option:'timeout' error:must be a finite number, got 'inf'"},
		{"nan timeout", PullProgram, pullOK + "timeout = NaN\n",
			"invalid configuration, section:'pull' option:'timeout' error:must be a finite number, got 'NaN'"},
		{"huge timeout", PullProgram, pullOK + "timeout = 1e300\n",
			"invalid configuration, section:'pull' option:'timeout' error:too many seconds, got '1e300'"},
		{"negative interval", PullProgram, pullOK + "interval = -1\n",
			"invalid configuration, section:'pull' option:'interval' error:must not be negative, got '-1'"},
		{"zero pull-timeout", PullProgram, pullOK + "pull-timeout = 0\n",
			"invalid configuration, section:'pull' option:'pull-timeout' error:must be greater than 0, got '0'"},
		{"sub-nanosecond pull-timeout", PullProgram, pullOK + "pull-timeout = 1e-300\n",
			"invalid configuration, section:'pull' option:'pull-timeout' error:must be at least one nanosecond, got '1e-300'"},
		{"10 MB value", PullProgram, pullOK + "pull-interval = " + strings.Repeat("9", 10<<20) + "x\n",
			"invalid configuration, section:'pull' option:'pull-interval' error:invalid literal for int() with base 10: '" + strings.Repeat("9", 200) + "'... (10485761 bytes)"},
		{"fractional pull-interval", PullProgram, pullOK + "pull-interval = 10.5\n",
			"invalid configuration, section:'pull' option:'pull-interval' error:invalid literal for int() with base 10: '10.5'"},
		{"zero pull-interval", PullProgram, pullOK + "pull-interval = 0\n",
			"invalid configuration, section:'pull' option:'pull-interval' error:must be at least 1, got '0'"},
		{"huge pull-interval", PullProgram, pullOK + "pull-interval = 9223372036854775807\n",
			"invalid configuration, section:'pull' option:'pull-interval' error:too many seconds, got '9223372036854775807'"},
		{"int out of range", PullProgram, pullOK + "workers = 99999999999999999999\n",
			"invalid configuration, section:'pull' option:'workers' error:'99999999999999999999' is out of range"},
		{"zero buffer-limit", PullProgram, pullOK + "buffer-limit = 0\n",
			"invalid configuration, you can't set a value less than 1 for 'buffer-limit' option of 'pull' section, got '0'"},
		{"bad buffer-limit", PullProgram, pullOK + "buffer-limit = 6M\n",
			"invalid configuration, section:'pull' option:'buffer-limit' error:invalid literal for int() with base 10: '6M'"},
		{"empty dst-dir", PullProgram, pullOK + "dst-dir =\n",
			"invalid configuration, no value for option 'dst-dir' in the section 'pull'"},
		{"empty tmp-dst-dir", PullProgram, pullOK + "tmp-dst-dir =\n",
			"invalid configuration, no value for option 'tmp-dst-dir' in the section 'pull'"},
		{"zero pull workers", PullProgram, pullOK + "workers = 0\n",
			"invalid configuration, section:'pull' option:'workers' error:must be at least 1, got '0'"},
		{"zero pull queue-size", PullProgram, pullOK + "queue-size = 0\n",
			"invalid configuration, section:'pull' option:'queue-size' error:must be at least 1, got '0'"},
		{"negative pull queue-size", PullProgram, pullOK + "queue-size = -5\n",
			"invalid configuration, section:'pull' option:'queue-size' error:must be at least 1, got '-5'"},
		{"empty socket-dir", PullProgram, "[pull]\nsocket-dir =\n",
			"invalid configuration, no value for option 'socket-dir' in the section 'pull'"},
		{"nothing to pull", PullProgram, "[pull]\nworkers = 2\n",
			"invalid configuration, no socket-dir and no servers in section 'pull': nothing to pull from"},
		{"bad servers", PullProgram, "[pull]\nservers = ftp://h:1\n",
			"invalid configuration, only unix, tcp, master, master+tcp, http and https type of servers are supported set in 'servers' option of 'pull' section, value:'ftp://h:1'"},
		{"missing reference", PullProgram, pullOK + "dst-dir = ${nope}/x\n",
			"invalid configuration, error:Bad value substitution: option 'dst-dir' in section 'pull' contains an interpolation key 'nope' which is not a valid option name. Raw value: '${nope}/x'"},
		{"lone dollar", PullProgram, pullOK + "dst-dir = /a$b\n",
			"invalid configuration, section:'pull' option:'dst-dir' error:'$' must be followed by '$' or '{', found: '$b'"},
		{"multi-line int", PullProgram, pullOK + "workers = 1\n 2\n",
			`invalid configuration, section:'pull' option:'workers' error:invalid literal for int() with base 10: '1\n2'`},

		// [paths], [process], [graphite] and the rest, read by haproxystats-process.
		{"paths loglevel", ProcessProgram, "[paths]\nloglevel = x\n",
			"invalid configuration, section:'paths' option:'loglevel' error: invalid loglevel 'x'"},
		{"base-dir interpolation", ProcessProgram, "[paths]\nbase-dir = ${paths:x}\n",
			"invalid configuration, error:Bad value substitution: option 'base-dir' in section 'paths' contains an interpolation key 'paths:x' which is not a valid option name. Raw value: '${paths:x}'"},
		{"process loglevel", ProcessProgram, "[process]\nloglevel = x\n",
			"invalid configuration, section:'process' option:'loglevel' error: invalid loglevel 'x'"},
		{"zero process workers", ProcessProgram, "[process]\nworkers = 0\n",
			"invalid configuration, section:'process' option:'workers' error:must be at least 1, got '0'"},
		{"empty src-dir", ProcessProgram, "[process]\nsrc-dir =\n",
			"invalid configuration, no value for option 'src-dir' in the section 'process'"},
		{"bad bool", ProcessProgram, "[process]\nper-process-metrics = maybe\n",
			"invalid configuration, section:'process' option:'per-process-metrics' error:Not a boolean: maybe"},
		{"zero liveness-check-interval", ProcessProgram, "[process]\nliveness-check-interval = 0\n",
			"invalid configuration, section:'process' option:'liveness-check-interval' error:must be greater than 0, got '0'"},
		{"bad frontend-metrics", ProcessProgram, "[process]\nfrontend-metrics = scur foo\n",
			"invalid configuration, section:'process' option:'frontend-metrics' error:'invalid list of metrics': unknown metric 'foo'"},
		{"double space in backend-metrics", ProcessProgram, "[process]\nbackend-metrics = scur  bin\n",
			"invalid configuration, section:'process' option:'backend-metrics' error:'invalid list of metrics': unknown metric ''"},
		{"empty server-metrics", ProcessProgram, "[process]\nserver-metrics =\n",
			"invalid configuration, section:'process' option:'server-metrics' error:'invalid list of metrics': unknown metric ''"},
		{"graphite loglevel", ProcessProgram, "[graphite]\nloglevel = x\n",
			"invalid configuration, section:'graphite' option:'loglevel' error: invalid loglevel 'x'"},
		{"port zero", ProcessProgram, "[graphite]\nport = 0\n",
			"invalid configuration, section:'graphite' option:'port' error:must be between 1 and 65535, got '0'"},
		{"port too big", ProcessProgram, "[graphite]\nport = 65536\n",
			"invalid configuration, section:'graphite' option:'port' error:must be between 1 and 65535, got '65536'"},
		{"graphite retries", ProcessProgram, "[graphite]\nretries = -3\n",
			"invalid configuration, section:'graphite' option:'retries' error:must be -1 (retry forever) or more, got '-3'"},
		{"graphite interval", ProcessProgram, "[graphite]\ninterval = -0.5\n",
			"invalid configuration, section:'graphite' option:'interval' error:must not be negative, got '-0.5'"},
		{"connect-timeout", ProcessProgram, "[graphite]\nconnect-timeout = 0\n",
			"invalid configuration, section:'graphite' option:'connect-timeout' error:must be greater than 0, got '0'"},
		{"write-timeout", ProcessProgram, "[graphite]\nwrite-timeout = -1\n",
			"invalid configuration, section:'graphite' option:'write-timeout' error:must be greater than 0, got '-1'"},
		{"delay", ProcessProgram, "[graphite]\ndelay = -1\n",
			"invalid configuration, section:'graphite' option:'delay' error:must not be negative, got '-1'"},
		{"backoff", ProcessProgram, "[graphite]\nbackoff = 0.5\n",
			"invalid configuration, section:'graphite' option:'backoff' error:must be at least 1, got '0.5'"},
		{"prefix-hostname", ProcessProgram, "[graphite]\nprefix-hostname = yep\n",
			"invalid configuration, section:'graphite' option:'prefix-hostname' error:Not a boolean: yep"},
		{"fqdn", ProcessProgram, "[graphite]\nfqdn = 2\n",
			"invalid configuration, section:'graphite' option:'fqdn' error:Not a boolean: 2"},
		{"zero graphite queue-size", ProcessProgram, "[graphite]\nqueue-size = 0\n",
			"invalid configuration, section:'graphite' option:'queue-size' error:must be at least 1, got '0'"},
		{"graphite timeout", ProcessProgram, "[graphite]\ntimeout = soon\n",
			"invalid configuration, section:'graphite' option:'timeout' error:could not convert string to float: 'soon'"},
		{"double-writes missing", ProcessProgram, "[graphite]\ngroup-namespace = flavor\n[frontend-groups]\nwww = ^www\n",
			"invalid configuration, section:'graphite' option:'group-namespace-double-writes' error:No option 'group-namespace-double-writes' in section: 'graphite'"},
		{"double-writes invalid", ProcessProgram, "[graphite]\ngroup-namespace = flavor\ngroup-namespace-double-writes = both\n[frontend-groups]\nwww = ^www\n",
			"invalid configuration, section:'graphite' option:'group-namespace-double-writes' error:Not a boolean: both"},
		{"no groups sections", ProcessProgram, "[graphite]\ngroup-namespace = flavor\ngroup-namespace-double-writes = true\n",
			"invalid configuration, at least one of these sections should exist: {'frontend-groups', 'backend-groups', 'server-groups'}"},
		{"groups without group-namespace", ProcessProgram, "[server-groups]\na = b\n",
			"invalid configuration, no value for option 'group-namespace' in the section 'graphite'"},
		{"group regex RE2 lacks", ProcessProgram, "[graphite]\ngroup-namespace = g\ngroup-namespace-double-writes = false\n[backend-groups]\nNoFoo = ^(?!foo)\n",
			"invalid configuration, section:'backend-groups' option:'nofoo' error:cannot compile pattern '^(?!foo)' as a Go (RE2) regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?!`"},
		{"group lone dollar", ProcessProgram, "[graphite]\ngroup-namespace = g\ngroup-namespace-double-writes = false\n[frontend-groups]\nwww = ^www$\n",
			"invalid configuration, section:'frontend-groups' option:'www' error:'$' must be followed by '$' or '{', found: '$'"},
		{"local-store without dir", ProcessProgram, "[local-store]\n",
			"invalid configuration, no value for option 'dir' in the section 'local-store'"},
		{"local-store empty dir", ProcessProgram, "[local-store]\ndir =\n",
			"invalid configuration, no value for option 'dir' in the section 'local-store'"},
		{"process checks pull buffer-limit", ProcessProgram, "[pull]\nbuffer-limit = -1\n",
			"invalid configuration, you can't set a value less than 1 for 'buffer-limit' option of 'pull' section, got '-1'"},
		{"process checks pull socket-dir", ProcessProgram, "[pull]\nsocket-dir =\n",
			"invalid configuration, no value for option 'socket-dir' in the section 'pull'"},
		{"process checks pull servers", ProcessProgram, "[pull]\nservers = tcp://h\n",
			"invalid configuration, port is not set in 'servers' option of 'pull' section, value:'tcp://h'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := load(t, tt.conf).Config(tt.p)
			if got := errLines(err); !reflect.DeepEqual(got, []string{tt.want}) {
				t.Errorf("Config(%v) errors:\n got %q\nwant %q", tt.p, got, tt.want)
			}
			if err != nil && cfg != nil {
				t.Errorf("Config returned a configuration with an error")
			}
		})
	}
}

// pathcheck: values only, options validated, never opened.
func TestConfigNotErrors(t *testing.T) {
	// Values the original accepted that stay accepted, and problems one
	// program does not see.
	tests := []struct {
		name string
		p    Program
		conf string
	}{
		{"pull ignores graphite", PullProgram, pullOK + "[graphite]\nport = x\n"},
		{"pull ignores process", PullProgram, pullOK + "[process]\nworkers = 0\n"},
		{"process ignores pull workers", ProcessProgram, "[pull]\nworkers = 0\n"},
		{"process does not need sockets", ProcessProgram, ""},
		{"unlimited retries", PullProgram, pullOK + "retries = -1\n"},
		{"python ints", PullProgram, pullOK + "workers = +0_1_0\nqueue-size = 007\n"},
		{"python floats", PullProgram, pullOK + "timeout = 1_0e-1_0\ninterval = .5\npull-timeout = 5.\n"},
		{"servers only", PullProgram, "[pull]\nservers = unix:///run/haproxy.sock\n"},
		{"socket-dir from DEFAULT", PullProgram, "[DEFAULT]\nsocket-dir = /run\n"},
		{"loglevel any case", PullProgram, pullOK + "loglevel = WaRn\n"},
		{"empty group-namespace", ProcessProgram, "[graphite]\ngroup-namespace =\ngroup-namespace-double-writes = on\n[server-groups]\n"},
		{"groups skip DEFAULT keys", ProcessProgram, "[graphite]\ngroup-namespace = g\ngroup-namespace-double-writes = 0\n[frontend-groups]\nloglevel = ($\n"},
		{"metric lists", ProcessProgram, "[process]\nfrontend-metrics = scur bin\nbackend-metrics = rtime act\nserver-metrics = throttle chkfail\n"},
		{"graphite timeout inherited", ProcessProgram, "[DEFAULT]\ntimeout = 3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := load(t, tt.conf).Config(tt.p); err != nil {
				t.Errorf("Config(%v): %v", tt.p, err)
			}
		})
	}
}

func TestConfigAllProblems(t *testing.T) {
	const conf = `[DEFAULT]
loglevel = loud
[pull]
workers = 0
servers = tcp://h,ftp://x
[process]
workers = -1
[graphite]
port = 0
[local-store]
`
	_, _, err := load(t, conf).Config(ProcessProgram)
	want := []string{
		"invalid configuration, section:'DEFAULT' option:'loglevel' error: invalid loglevel 'loud'",
		"invalid configuration, port is not set in 'servers' option of 'pull' section, value:'tcp://h'",
		"invalid configuration, only unix, tcp, master, master+tcp, http and https type of servers are supported set in 'servers' option of 'pull' section, value:'ftp://x'",
		"invalid configuration, section:'process' option:'workers' error:must be at least 1, got '-1'",
		"invalid configuration, section:'graphite' option:'port' error:must be between 1 and 65535, got '0'",
		"invalid configuration, no value for option 'dir' in the section 'local-store'",
	}
	if got := errLines(err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

// pathcheck: values only, socket addresses parsed, never dialled.
func TestServers(t *testing.T) {
	tests := []struct {
		in   string
		want []Server
		err  string
	}{
		{in: "unix:///run/haproxy.sock", want: []Server{{Network: "unix", Address: "/run/haproxy.sock", Name: "haproxy.sock"}}},
		{in: "unix://run/x.sock", want: []Server{{Network: "unix", Address: "/x.sock", Name: "x.sock"}}}, // the host part is dropped
		{in: "UNIX:///a.sock?q#f", want: []Server{{Network: "unix", Address: "/a.sock", Name: "a.sock"}}},
		{in: "tcp://127.0.0.1:5555", want: []Server{{Network: "tcp", Address: "127.0.0.1:5555", Name: "127.0.0.1:5555"}}},
		{in: "Tcp://Foo.Bar.COM:4444", want: []Server{{Network: "tcp", Address: "foo.bar.com:4444", Name: "foo.bar.com:4444"}}},
		{in: "tcp://[FE80::3f2f:46b3:ef0c:a420]:4444", want: []Server{{Network: "tcp", Address: "[fe80::3f2f:46b3:ef0c:a420]:4444", Name: "fe80::3f2f:46b3:ef0c:a420:4444"}}},
		{in: "tcp://user@h:01", want: []Server{{Network: "tcp", Address: "h:1", Name: "h:1"}}},
		{in: ",unix:///a.sock, tcp://h:1,\n unix:///b.sock,", want: []Server{
			{Network: "unix", Address: "/a.sock", Name: "a.sock"}, {Network: "tcp", Address: "h:1", Name: "h:1"}, {Network: "unix", Address: "/b.sock", Name: "b.sock"},
		}},
		{in: "", err: "invalid configuration, no value for option 'servers' in the section 'pull'"},
		{in: ",", err: "invalid configuration, no value for option 'servers' in the section 'pull'"},
		{in: "unix:///a,,unix:///b", err: "invalid configuration, invalid value for 'servers' option of 'pull' section, value:'unix:///a,,unix:///b'"},
		{in: "tcp://[::1:55", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:Invalid IPv6 URL, value:'tcp://[::1:55'"},
		{in: "tcp://[1.2.3.4]:55", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:Invalid IPv6 URL, value:'tcp://[1.2.3.4]:55'"},
		{in: "tcp://x[::1]:55", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:Invalid IPv6 URL, value:'tcp://x[::1]:55'"},
		{in: "ftp://h:1", err: "invalid configuration, only unix, tcp, master, master+tcp, http and https type of servers are supported set in 'servers' option of 'pull' section, value:'ftp://h:1'"},
		{in: "/run/x.sock", err: "invalid configuration, only unix, tcp, master, master+tcp, http and https type of servers are supported set in 'servers' option of 'pull' section, value:'/run/x.sock'"},
		{in: "tcp://h", err: "invalid configuration, port is not set in 'servers' option of 'pull' section, value:'tcp://h'"},
		{in: "tcp://h:0", err: "invalid configuration, port is not set in 'servers' option of 'pull' section, value:'tcp://h:0'"},
		{in: "tcp://h:x", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:Port could not be cast to integer value as 'x', value:'tcp://h:x'"},
		{in: "tcp://h:65536", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:Port out of range 0-65535, value:'tcp://h:65536'"},
		{in: "tcp://:5555", err: "invalid configuration, host is not set in 'servers' option of 'pull' section, value:'tcp://:5555'"},
		{in: "unix://", err: "invalid configuration, path is not set in 'servers' option of 'pull' section, value:'unix://'"},
		{in: "unix://host", err: "invalid configuration, path is not set in 'servers' option of 'pull' section, value:'unix://host'"},
		{in: "unix:///run/", err: "invalid configuration, path ends with '/' in 'servers' option of 'pull' section, value:'unix:///run/'"},
		// A stats page's password never shows in an error.
		{in: "http://ops:s3cret@h:99999/stats", err: "invalid configuration, port \"99999\" is not valid in 'servers' option of 'pull' section, value:'http://ops:xxxxx@h:99999/stats'"},
		{in: "http://ops:s3cret@h/stats,,unix:///a", err: "invalid configuration, invalid value for 'servers' option of 'pull' section, value:'http://ops:xxxxx@h/stats,,unix:///a'"},
		{in: "http://ops:s3cret@[::1:80/stats", err: "invalid configuration, failed to parse 'servers' option of 'pull' section, error:parse \"http://ops:xxxxx@[::1:80/stats\": missing ']' in host, value:'http://ops:xxxxx@[::1:80/stats'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, errs := parseServers(tt.in)
			if tt.err != "" {
				if !reflect.DeepEqual(errs, []string{tt.err}) {
					t.Errorf("errors:\n got %q\nwant %q", errs, tt.err)
				}
				return
			}
			if len(errs) > 0 || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseServers = %+v, %q; want %+v", got, errs, tt.want)
			}
		})
	}
}

// -P shows no password: http-password, sasl-password and the passwords of
// URLs show as xxxxx, the rest as given.
func TestPrintRedacts(t *testing.T) {
	var b strings.Builder
	f := load(t, "[DEFAULT]\nhttp-password = hunter2\n[pull]\nservers = http://ops:s3cret@h/stats, https://ops@h2/stats\nhttp-user = ops\n"+
		"[kafka]\nsasl-password = kafkasecret\nsasl-username = u\n")
	for _, p := range []Program{PullProgram, ProcessProgram} {
		b.Reset()
		if err := f.Print(&b, p); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"hunter2", "s3cret", "kafkasecret"} {
			if strings.Contains(b.String(), secret) {
				t.Errorf("-P shows %q:\n%s", secret, b.String())
			}
		}
	}
	b.Reset()
	f.Print(&b, PullProgram)
	for _, want := range []string{"http-password = xxxxx\n", "servers = http://ops:xxxxx@h/stats, https://ops@h2/stats\n", "http-user = ops\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("-P lacks %q:\n%s", want, b.String())
		}
	}
}

func TestGroups(t *testing.T) {
	const conf = `[DEFAULT]
shared = x
[graphite]
group-namespace = flavor
group-namespace-double-writes = true
[frontend-groups]
WWW = ^www
api = ^api-${shared}
lit = $${shared}
loglevel = ignored
shared = ignored
abc = abc$$
[server-groups]
s1 = ^s1
`
	cfg, _, err := load(t, conf).Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if ns := cfg.Graphite.GroupNamespace; ns == nil || *ns != "flavor" || !cfg.Graphite.GroupNamespaceDoubleWrites {
		t.Errorf("group-namespace %v, double writes %v", ns, cfg.Graphite.GroupNamespaceDoubleWrites)
	}
	wantFE := []Group{
		{"www", "^www"},
		{"api", "^api-ignored"}, // ${shared} is the section's own, skipped as a group
		{"lit", "${shared}"},
		{"abc", "abc$"},
	}
	if !reflect.DeepEqual(cfg.FrontendGroups, wantFE) {
		t.Errorf("FrontendGroups = %q, want %q", cfg.FrontendGroups, wantFE)
	}
	if cfg.BackendGroups != nil {
		t.Errorf("BackendGroups = %q, want none", cfg.BackendGroups)
	}
	if want := []Group{{"s1", "^s1"}}; !reflect.DeepEqual(cfg.ServerGroups, want) {
		t.Errorf("ServerGroups = %q, want %q", cfg.ServerGroups, want)
	}

	cfg, _, err = load(t, "[graphite]\n").Config(ProcessProgram)
	if err != nil || cfg.Graphite.GroupNamespace != nil {
		t.Errorf("without group-namespace: %v, %v", cfg.Graphite.GroupNamespace, err)
	}
}

func TestPullTimeout(t *testing.T) {
	tests := []struct {
		conf     string
		want     time.Duration
		warnings []string
	}{
		{"pull-timeout = 0.5\n", 500 * time.Millisecond, nil}, // honoured, not "no limit"
		{"pull-timeout = 10\n", 10 * time.Second, nil},
		{"pull-timeout = 15\n", 10 * time.Second, []string{"[pull] pull-timeout 15s is longer than pull-interval 10s: using 10s"}},
	}
	for _, tt := range tests {
		cfg, warnings, err := load(t, pullOK+tt.conf).Config(PullProgram)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Pull.PullTimeout != tt.want || !slices.Equal(warnings, tt.warnings) {
			t.Errorf("%q: PullTimeout %v, warnings %q; want %v, %q", tt.conf, cfg.Pull.PullTimeout, warnings, tt.want, tt.warnings)
		}
	}
}

// pathcheck: values only, options validated, never opened.
func TestWarnings(t *testing.T) {
	const conf = `[DEFAULT]
anything = goes
[pull]
socket-dir = /run/haproxy
pull_timeout = 3
base = /srv
dst-dir = ${base}/in
[graphite]
prefix_hostname = false
timeout = 2
[Pull]
workers = 3
[vars]
x = 1
[process]
src-dir = ${vars:x}
`
	f := load(t, conf)
	_, pw, err := f.Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[Pull] unknown section ignored",
		"[pull] unknown option 'pull_timeout' ignored",
	}
	if !slices.Equal(pw, want) {
		t.Errorf("pull warnings:\n got %q\nwant %q", pw, want)
	}
	_, cw, err := f.Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"[Pull] unknown section ignored",
		"[graphite] unknown option 'prefix_hostname' ignored",
	}
	if !slices.Equal(cw, want) {
		t.Errorf("process warnings:\n got %q\nwant %q", cw, want)
	}
}

func TestLevel(t *testing.T) {
	for _, name := range []string{"debug", "INFO", "Warning", "warn", "error", "critical", "fatal", "notset"} {
		if _, ok := Level(name); !ok {
			t.Errorf("Level(%q) not accepted", name)
		}
	}
	if _, ok := Level("verbose"); ok {
		t.Error("Level(verbose) accepted")
	}
}

func TestDefault(t *testing.T) {
	// Default matches what Config makes of the built-in table.
	f := load(t, "")
	proc, _, err := f.Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	pull, _, err := load(t, pullOK).Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	got := proc
	got.Pull = pull.Pull
	got.Pull.SocketDir = ""
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Config of the built-in defaults:\n got %+v\nwant %+v", got, want)
	}
}

// pathcheck: values only, the README's example options, parsed and compared.
func TestReadmeExample(t *testing.T) {
	f, err := Load("testdata/readme-example.conf", true, "")
	if err != nil {
		t.Fatal(err)
	}
	pull, pw, err := f.Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	proc, cw, err := f.Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw)+len(cw) > 0 {
		t.Errorf("warnings: %q %q", pw, cw)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Pull.SocketDir", pull.Pull.SocketDir, "/run/haproxy"},
		{"Pull.PullTimeout", pull.Pull.PullTimeout, 2 * time.Second},
		{"Pull.PullInterval", pull.Pull.PullInterval, 10 * time.Second},
		{"Pull.Timeout", pull.Pull.Timeout, 100 * time.Millisecond},
		{"Pull.DstDir", pull.Pull.DstDir, "/var/lib/haproxystats/incoming"},
		{"Pull.TmpDstDir", pull.Pull.TmpDstDir, "/var/lib/haproxystats/incoming.tmp"},
		{"Pull.Workers", pull.Pull.Workers, 8},
		{"Pull.LogLevel", pull.Pull.LogLevel, "info"},
		{"Process.Workers", proc.Process.Workers, 4},
		{"Process.SrcDir", proc.Process.SrcDir, "/var/lib/haproxystats/incoming"},
		{"Graphite.Port", proc.Graphite.Port, 3002},
		{"Graphite.Interval", proc.Graphite.Interval, 1800 * time.Millisecond},
		{"Graphite.QueueSize", proc.Graphite.QueueSize, 1000000},
		{"LocalStore", proc.LocalStore, (*LocalStore)(nil)},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// pathcheck: values only, interpolated options compared as strings.
func TestReadmeDevConfig(t *testing.T) {
	f, err := Load("testdata/readme-dev.conf", true, "")
	if err != nil {
		t.Fatal(err)
	}
	pull, pw, err := f.Config(PullProgram)
	if err != nil {
		t.Fatal(err)
	}
	proc, cw, err := f.Config(ProcessProgram)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) != 0 {
		t.Errorf("pull warnings: %q", pw)
	}
	if want := []string{"[graphite] unknown option 'prefix_hostname' ignored"}; !slices.Equal(cw, want) {
		t.Errorf("process warnings: %q, want %q", cw, want)
	}
	const base = "/home//repo/haproxystats/var/var/lib/haproxystats"
	if pull.Pull.LogLevel != "debug" || pull.Pull.PullTimeout != 10*time.Second || pull.Pull.DstDir != base+"/incoming" {
		t.Errorf("pull: %+v", pull.Pull)
	}
	if proc.LocalStore == nil || proc.LocalStore.Dir != base+"/local-store" {
		t.Errorf("LocalStore = %+v", proc.LocalStore)
	}
	if proc.Graphite.Port != 39991 || !proc.Graphite.PrefixHostname || proc.Process.Workers != 2 || !proc.Process.PerProcessMetrics {
		t.Errorf("process: %+v %+v", proc.Process, proc.Graphite)
	}
}

// pathcheck: values only, the -p output of the original, compared as text.
const pullDefaults = `[DEFAULT]
interval = 2
loglevel = info
retries = 2
timeout = 1

[pull]
buffer-limit = 6291456
dst-dir = /var/lib/haproxystats/incoming
interval = 0.5
pull-interval = 10
pull-timeout = 2
queue-size = 360
retries = 1
timeout = 0.1
tmp-dst-dir = /var/lib/haproxystats/incoming.tmp
workers = 8

`

// pathcheck: values only, the -p output of the original, compared as text.
const processDefaults = `[DEFAULT]
interval = 2
loglevel = info
retries = 2
timeout = 1

[graphite]
backoff = 2
connect-timeout = 1.0
delay = 10
fqdn = true
interval = 1.8
namespace = loadbalancers
port = 3002
prefix-hostname = true
queue-size = 1000000
retries = 3
server = 127.0.0.1
write-timeout = 1.0

[paths]
base-dir = /var/lib/haproxystats

[process]
aggr-server-metrics = false
calculate-percentages = false
liveness-check-interval = 10
per-process-metrics = false
src-dir = /var/lib/haproxystats/incoming
workers = 4

`

func TestPrintDefaults(t *testing.T) {
	for p, want := range map[Program]string{PullProgram: pullDefaults, ProcessProgram: processDefaults} {
		var b bytes.Buffer
		if err := PrintDefaults(&b, p); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("PrintDefaults(%v):\n%s\nwant:\n%s", p, b.String(), want)
		}
	}
}

// pathcheck: values only, the -P output, compared as text.
func TestPrint(t *testing.T) {
	const conf = `[DEFAULT]
loglevel = debug
[paths]
base-dir = /srv/hs
[pull]
socket-dir = /run/haproxy
dst-dir = ${paths:base-dir}/incoming
[process]
src-dir = ${paths:base-dir}/incoming
Workers = 2
[local-store]
dir = ${paths:base-dir}/local-store
[frontend-groups]
www = ^www$$
`
	f := load(t, conf)
	const wantPull = `[DEFAULT]
interval = 2
loglevel = debug
retries = 2
timeout = 1

[pull]
buffer-limit = 6291456
dst-dir = /srv/hs/incoming
interval = 0.5
loglevel = debug
pull-interval = 10
pull-timeout = 2
queue-size = 360
retries = 1
socket-dir = /run/haproxy
timeout = 0.1
tmp-dst-dir = /var/lib/haproxystats/incoming.tmp
workers = 8

`
	const wantProcess = `[DEFAULT]
interval = 2
loglevel = debug
retries = 2
timeout = 1

[frontend-groups]
interval = 2
loglevel = debug
retries = 2
timeout = 1
www = ^www$

[graphite]
backoff = 2
connect-timeout = 1.0
delay = 10
fqdn = true
interval = 1.8
loglevel = debug
namespace = loadbalancers
port = 3002
prefix-hostname = true
queue-size = 1000000
retries = 3
server = 127.0.0.1
timeout = 1
write-timeout = 1.0

[local-store]
dir = /srv/hs/local-store
interval = 2
loglevel = debug
retries = 2
timeout = 1

[paths]
base-dir = /srv/hs
interval = 2
loglevel = debug
retries = 2
timeout = 1

[process]
aggr-server-metrics = false
calculate-percentages = false
interval = 2
liveness-check-interval = 10
loglevel = debug
per-process-metrics = false
retries = 2
src-dir = /srv/hs/incoming
timeout = 1
workers = 2

`
	for p, want := range map[Program]string{PullProgram: wantPull, ProcessProgram: wantProcess} {
		var b bytes.Buffer
		if err := f.Print(&b, p); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("Print(%v):\n%s\nwant:\n%s", p, b.String(), want)
		}
	}

	// An interpolation error prints nothing.
	var b bytes.Buffer
	err := load(t, "[process]\nsrc-dir = /a$\n").Print(&b, ProcessProgram)
	if want := "invalid configuration, section:'process' option:'src-dir' error:'$' must be followed by '$' or '{', found: '$'"; err == nil || err.Error() != want || b.Len() > 0 {
		t.Errorf("Print = %v with %d bytes, want %s and nothing written", err, b.Len(), want)
	}
}

func TestCheckSrcDir(t *testing.T) {
	dir := t.TempDir()
	if err := CheckSrcDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".read_write_check")); !os.IsNotExist(err) {
		t.Errorf("check file left behind: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	err := CheckSrcDir(missing)
	want := "invalid configuration, read and write access is not granted for '" + missing + "' directory, error:"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckSrcDir(missing) = %v, want prefix %s", err, want)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := CheckSrcDir(ro); err == nil {
			t.Error("CheckSrcDir(read-only) = nil")
		}
	}
}

func TestPythonNumbers(t *testing.T) {
	ints := func(in string, want int, ok bool) {
		t.Helper()
		got, err := parseInt(in)
		if (err == nil) != ok || got != want {
			t.Errorf("parseInt(%q) = %d, %v", in, got, err)
		}
	}
	ints("10", 10, true)
	ints(" -7 ", -7, true)
	ints("+1_000", 1000, true)
	ints("007", 7, true)
	ints("1__0", 0, false)
	ints("_1", 0, false)
	ints("1_", 0, false)
	ints("1.0", 0, false)
	ints("0x10", 0, false)
	ints("", 0, false)

	floats := func(in string, want float64, ok bool) {
		t.Helper()
		got, err := parseFloat(in)
		if (err == nil) != ok || (ok && got != want) {
			t.Errorf("parseFloat(%q) = %v, %v", in, got, err)
		}
	}
	floats("0.1", 0.1, true)
	floats("1e3", 1000, true)
	floats("-.5", -0.5, true)
	floats("5.", 5, true)
	floats("1_0.2_5", 10.25, true)
	floats(" 2 ", 2, true)
	floats("0x1p3", 0, false)
	floats("1e", 0, false)
	floats(".", 0, false)
	floats("1,5", 0, false)

	for in, want := range map[string]string{
		"abc":     "'abc'",
		"it's":    `"it's"`,
		`'"`:      `'\'"'`,
		"a\nb\tc": `'a\nb\tc'`,
		"\x00é\\": `'\x00é\\'`,
		"\u00a0":  `'\xa0'`,
		"\u2028":  `'\u2028'`,
	} {
		if got := pyRepr(in); got != want {
			t.Errorf("pyRepr(%q) = %s, want %s", in, got, want)
		}
	}
}

// log-format: text by default, json from [DEFAULT] or a section, anything
// else refused with the option's name.
func TestLogFormat(t *testing.T) {
	for _, tc := range []struct{ conf, pull, process string }{
		{"[pull]\nsocket-dir = /s\n", "text", "text"},
		{"[DEFAULT]\nlog-format = JSON\n[pull]\nsocket-dir = /s\n", "json", "json"},
		{"[pull]\nsocket-dir = /s\nlog-format = json\n", "json", "text"},
	} {
		pc, _, err := load(t, tc.conf).Config(PullProgram)
		if err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		cc, _, err := load(t, tc.conf).Config(ProcessProgram)
		if err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		if pc.Pull.LogFormat != tc.pull || cc.Process.LogFormat != tc.process {
			t.Errorf("%q: pull %q, process %q, want %q, %q", tc.conf, pc.Pull.LogFormat, cc.Process.LogFormat, tc.pull, tc.process)
		}
	}
	_, _, err := load(t, "[DEFAULT]\nlog-format = xml\n[pull]\nsocket-dir = /s\n").Config(PullProgram)
	if err == nil || !strings.Contains(err.Error(), "option:'log-format' error:must be text or json, got 'xml'") {
		t.Errorf("log-format = xml: %v", err)
	}
}
