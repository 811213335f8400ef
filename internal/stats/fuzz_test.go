package stats

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// renderSites is the Graphite lines of s's frontends, backends and
// servers.
func renderSites(s *Sites) []byte {
	o := &Options{Prefix: "p", AggrServers: true}
	ms := s.Frontends(nil, 1, o)
	ms = s.Backends(ms, 1, o)
	return appendLines(nil, s.Servers(ms, 1, o))
}

func FuzzParseStat(f *testing.F) {
	addSeeds(f, "testdata/*/*_stat")
	f.Add(GenerateStat(1, 2, 2, 2, 1)[0])
	f.Add([]byte("# pxname,svname,type,stot\n\"a\"\"b\",\"c\nd\",2,1\r\n"))
	f.Add([]byte("# pxname,svname,\nweb,FRONTEND,1,\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseStat(in)
		// Read from a file through a small window, the same reply gives
		// the same rows or the same rejection.
		var b Builder
		streamErr := addFrom(&b, "stat", in, 7)
		streamed, _ := b.Sites()
		if fmt.Sprint(streamErr) != fmt.Sprint(err) {
			t.Fatalf("read through a window: %v; in memory: %v", streamErr, err)
		}
		if err == nil && !bytes.Equal(renderSites(streamed), renderSites(s)) {
			t.Fatalf("read through a window, %q gives other rows", in)
		}
		if err != nil {
			if s != nil {
				t.Fatal("result and error")
			}
			return
		}
		for _, tb := range []*table{s.fe, s.be} {
			for _, k := range tb.keys {
				if k == "" {
					t.Fatalf("accepted input produced a row without a name: %q", in)
				}
			}
		}
		for g := range s.srv.keys {
			if s.srv.px[g] == "" || s.srv.sv[g] == "" {
				t.Fatalf("accepted input produced a server without a name: %q", in)
			}
		}
		o := &Options{Prefix: "p", AggrServers: true}
		ms := s.Frontends(nil, 1, o)
		ms = s.Backends(ms, 1, o)
		ms = s.Servers(ms, 1, o)
		for _, m := range ms {
			if !metric.Valid(m.Value) || m.Path == "" {
				t.Fatalf("bad metric %+v from %q", m, in)
			}
		}
		// The same reply twice: twice the sums, and the same counters.
		two, err := ParseSites([]File{{Name: "a", Data: in}, {Name: "b", Data: in}})
		if err != nil {
			t.Fatalf("accepted alone, rejected twice: %v", err)
		}
		ms2 := two.Frontends(nil, 1, o)
		one := s.Frontends(nil, 1, o)
		if len(ms2) != len(one) {
			t.Fatalf("%d lines from one copy, %d from two", len(one), len(ms2))
		}
		for i := range one {
			if one[i].Path != ms2[i].Path {
				t.Fatalf("path %s vs %s", one[i].Path, ms2[i].Path)
			}
			want := 2 * one[i].Value
			if bytes.HasSuffix([]byte(one[i].Path), []byte("MetricsFrontend")) {
				want = one[i].Value
			}
			if ms2[i].Value != want && !(math.Abs(ms2[i].Value-want) <= 1e-9*math.Abs(want)) {
				t.Fatalf("%s: %v from two copies, %v from one", one[i].Path, ms2[i].Value, one[i].Value)
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	addSeeds(f, "testdata/*/*_info")
	f.Add([]byte("A: 1_000\nB: -0\nC: +5\r\n: 3\nD: 1: 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		info := ParseInfo(in)
		for k, v := range info {
			if v != math.Trunc(v) || !metric.Valid(v) {
				t.Fatalf("%q: non-integer value %v", k, v)
			}
			if !bytes.Contains(in, []byte(k+": ")) {
				t.Fatalf("key %q not in input", k)
			}
		}
		ms, err := Daemon(nil, []File{{Name: "a", Data: in}, {Name: "b", Data: in}}, 1, &Options{Prefix: "p", PerProcess: true, Percentages: true})
		if (err == nil) != (len(info) > 0) {
			t.Fatalf("Daemon error %v with %d fields", err, len(info))
		}
		for _, m := range ms {
			if !metric.Valid(m.Value) {
				t.Fatalf("bad metric %+v", m)
			}
		}
	})
}
