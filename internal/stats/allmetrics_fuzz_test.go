package stats

import (
	"bytes"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// FuzzParseSitesAll: keeping the extra columns accepts and rejects the
// same replies as ParseStat, changes nothing without AllMetrics, and
// with it emits only valid datapoints whose paths have no blank.
func FuzzParseSitesAll(f *testing.F) {
	addSeeds(f, "testdata/*/*_stat")
	f.Add([]byte(hap3Stat1))
	f.Add([]byte("# pxname,svname,type,lbtot,qtime,x y\nweb,BACKEND,1,1,5,3\nweb,s.1,2,0,7,\n"))
	n := hap3Natures(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		files := []File{{Name: "a_stat", Data: in}}
		plain, perr := ParseSites(files)
		all, aerr := ParseSitesAll(files, n, nil)
		if (perr == nil) != (aerr == nil) {
			t.Fatalf("ParseSites err %v, ParseSitesAll err %v", perr, aerr)
		}
		if perr != nil {
			return
		}
		render := func(s *Sites, o *Options) []metric.Metric {
			ms := s.Frontends(nil, 1, o)
			ms = s.Backends(ms, 1, o)
			return s.Servers(ms, 1, o)
		}
		o := &Options{Prefix: "p", AggrServers: true}
		if a, b := appendLines(nil, render(plain, o)), appendLines(nil, render(all, o)); !bytes.Equal(a, b) {
			t.Fatalf("output without AllMetrics changed:\n%s\n---\n%s", a, b)
		}
		o.AllMetrics, o.Natures = true, n
		for _, m := range render(all, o) {
			if !metric.Valid(m.Value) || m.Path == "" || strings.ContainsAny(m.Path, " \t\n") {
				t.Fatalf("bad metric %+v from %q", m, in)
			}
		}
	})
}

// FuzzParseTyped: the typed parsers never panic, and what they accept
// has named fields with three-letter tags.
func FuzzParseTyped(f *testing.F) {
	addSeeds(f, "testdata/*/*typed")
	f.Add([]byte(hap3InfoTyped))
	f.Add([]byte(hap3StatTyped))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, parse := range []func([]byte) (*Natures, error){ParseTypedInfo, ParseTypedStat} {
			n, err := parse(in)
			if err != nil {
				continue
			}
			for k := kindFrontend; k <= kindInfo; k++ {
				for name, tag := range n.table(k) {
					if name == "" || tag.Type == "" {
						t.Fatalf("accepted %q: field %q tag %+v", in, name, tag)
					}
					if back, err := ParseTag(tag.String()); err != nil || back != tag {
						t.Fatalf("tag %+v does not survive String: %v", tag, err)
					}
				}
			}
		}
	})
}

// BenchmarkSnapshotAllMetrics is BenchmarkSnapshot with all-metrics on,
// natures learned from the 2.6 typed dumps: the cost of the extra
// columns (about 60 per row in 2.6's layout).
func BenchmarkSnapshotAllMetrics(b *testing.B) {
	files, size := snapshot(b)
	n := readTyped(b, "testdata/hap26typed")
	o := &Options{Prefix: "loadbalancers.lb-01_example_com.haproxy", AggrServers: true, AllMetrics: true, Natures: n}
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		s, err := ParseSitesAll(files, n, nil)
		if err != nil {
			b.Fatal(err)
		}
		ms := s.Frontends(nil, 1, o)
		ms = s.Backends(ms, 1, o)
		_ = s.Servers(ms, 1, o)
	}
}
