package stats

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// A reply from whatever listens on a stats socket cannot inject a line
// into carbon, nor put into a path a byte that Graphite or a receiver
// would take for a separator: the quoted pxname of the first row holds a
// whole Graphite line between two newlines.
func TestNoLineInjection(t *testing.T) {
	reply := "# pxname,svname,type,stot,\n" +
		"\"evil\nlb.injected.metric 31337 1700000000\nx\",FRONTEND,0,1,\n" +
		"\"tab\there\",FRONTEND,0,2,\n" +
		"\"cr\rhere\",FRONTEND,0,3,\n" +
		"\"nul\x00here\",FRONTEND,0,4,\n" +
		"\"sp ace\",BACKEND,1,5,\n" +
		"\"sp ace\",\"bad\xff\xfeutf8\",2,6,\n" +
		"\"q\"\"uo'te\\\",FRONTEND,0,7,\n" +
		"www.example.com,FRONTEND,0,8,\n" +
		"a-b_c:d,FRONTEND,0,9,\n\n"
	s, err := ParseSites([]File{{Name: "evil.sock_stat", Data: []byte(reply)}})
	if err != nil || len(s.Rejected) > 0 {
		t.Fatal(err, s.Rejected)
	}
	e := NewEncoder(nil)
	o := &Options{Prefix: "lb.haproxy", FrontendMetrics: []string{"stot"}, BackendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}, AggrServers: true}
	for _, f := range []func(*Sites, int64, *Options) error{e.Frontends, e.Backends, e.Servers} {
		if err := f(s, 1500000000, o); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(e.Bytes()), "\n"), "\n")
	if len(lines) != e.Lines() {
		t.Fatalf("%d lines written, %d counted: a name broke a line\n%s", len(lines), e.Lines(), e.Bytes())
	}
	paths := map[string]bool{}
	for _, l := range lines {
		fields := strings.Split(l, " ")
		if len(fields) != 3 || fields[2] != "1500000000" {
			t.Errorf("not a Graphite line: %q", l)
			continue
		}
		for _, c := range []byte(fields[0]) {
			if !pathByte(c) && c != '.' {
				t.Errorf("path %q holds byte %#x", fields[0], c)
			}
		}
		if strings.HasPrefix(l, "lb.injected") {
			t.Errorf("injected line: %q", l)
		}
		paths[fields[0]] = true
	}
	for _, want := range []string{
		"lb.haproxy.frontend.evil_lb_injected_metric_31337_1700000000_x.stot",
		"lb.haproxy.frontend.tab_here.stot",
		"lb.haproxy.frontend.cr_here.stot",
		"lb.haproxy.frontend.nul_here.stot",
		"lb.haproxy.backend.sp_ace.stot",
		"lb.haproxy.backend.sp_ace.server.bad__utf8.stot",
		"lb.haproxy.server.bad__utf8.stot",
		"lb.haproxy.frontend.q_uo_te_.stot",
		"lb.haproxy.frontend.www_example_com.stot", // as the original: dots become '_'
		"lb.haproxy.frontend.a-b_c:d.stot",         // what HAProxy allows stays
	} {
		if !paths[want] {
			t.Errorf("no line for %s", want)
		}
	}
	if bytes.Contains(e.Bytes(), []byte("31337 1700000000")) {
		t.Error("the injected value and timestamp reached a line")
	}
}

// pathByte is metric's rule, restated: what a path component may hold.
func pathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':'
}

// A sum that overflows is dropped and counted, never written: Graphite
// has no +Inf, and a Metrics* line counts only what was sent.
func TestNonFiniteDropped(t *testing.T) {
	big := "# pxname,svname,type,stot,bin,\nweb,FRONTEND,0,1e308,5,\n\n"
	s, err := ParseSites([]File{{Name: "a_stat", Data: []byte(big)}, {Name: "b_stat", Data: []byte(big)}})
	if err != nil {
		t.Fatal(err)
	}
	var dropped atomic.Int64
	o := &Options{Prefix: "p", FrontendMetrics: []string{"stot", "bin"}, NonFinite: &dropped}
	e := NewEncoder(nil)
	if err := e.Frontends(s, 1, o); err != nil {
		t.Fatal(err)
	}
	out := string(e.Bytes())
	if strings.Contains(out, "Inf") || strings.Contains(out, "NaN") || strings.Contains(out, ".stot ") {
		t.Errorf("a value that is not finite was written:\n%s", out)
	}
	if !strings.Contains(out, "p.frontend.web.bin 10 1\n") || !strings.Contains(out, "p.haproxystats.MetricsFrontend 2 1\n") {
		t.Errorf("the finite values, or the count of lines sent, are wrong:\n%s", out)
	}
	if dropped.Load() != 1 {
		t.Errorf("%d dropped counted, want 1", dropped.Load())
	}
	ms := s.Frontends(nil, 1, &Options{Prefix: "p", FrontendMetrics: []string{"stot"}})
	for _, m := range ms {
		if !metric.Valid(m.Value) {
			t.Errorf("metric %v", m)
		}
	}
}
