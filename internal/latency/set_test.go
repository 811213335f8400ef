package latency

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// line fills l as a parser would.
func line(l *Line, fe, be, srv string, term string, timers map[Timer]int64) {
	l.Reset()
	l.Frontend, l.Backend, l.Server = []byte(fe), []byte(be), []byte(srv)
	for t, v := range timers {
		l.Set(t, v)
	}
	if term != "" {
		l.Term, l.HasTerm = [2]byte{term[0], term[1]}, true
	}
}

// randomLines makes n lines over a few objects, with aborted timers and
// hostile names among them.
func randomLines(r *rand.Rand, n int) []Line {
	names := []string{"www", "api", "a b", "new\nline", "\xff\xfe", "-", "%41", "<NOSRV>", "x.y:z~"}
	out := make([]Line, n)
	for i := range out {
		timers := map[Timer]int64{}
		for t := range NumTimers {
			if r.IntN(2) == 0 {
				v := int64(r.ExpFloat64() * 60)
				if r.IntN(30) == 0 {
					v = -1
				}
				timers[t] = v
			}
		}
		term := []string{"--", "cD", "sH", "SC", "\x00\x01", ""}[r.IntN(6)]
		line(&out[i], names[r.IntN(3)], names[r.IntN(len(names))], names[r.IntN(len(names))], term, timers)
	}
	return out
}

func encode(t testing.TB, s *Set) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := s.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A stream cut into N random parts, a Set each, merged in random order,
// and the parts written and read back and merged: each is the whole
// stream's Set, byte for byte.
func TestSetMergeParts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for round := range 20 {
		lines := randomLines(r, 2000)
		whole := NewSet(0)
		for i := range lines {
			whole.Add(&lines[i])
		}
		parts := make([]*Set, 1+r.IntN(20))
		for i := range parts {
			parts[i] = NewSet(0)
		}
		for i := range lines {
			parts[r.IntN(len(parts))].Add(&lines[i])
		}
		merged, read := NewSet(0), NewSet(0)
		for _, i := range r.Perm(len(parts)) {
			merged.Merge(parts[i])
			one := NewSet(0)
			if _, err := one.ReadFrom(bytes.NewReader(encode(t, parts[i]))); err != nil {
				t.Fatalf("round %d: part %d: %v", round, i, err)
			}
			read.Merge(one)
		}
		// A random tree of merges too: any two sets, merged, until one is left.
		for len(parts) > 1 {
			i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			parts[i].Merge(parts[j])
			parts = slices.Delete(parts, j, j+1)
		}
		want := encode(t, whole)
		for what, s := range map[string]*Set{"merged": merged, "read and merged": read, "tree": parts[0]} {
			if got := encode(t, s); !bytes.Equal(got, want) {
				t.Fatalf("round %d: %s differs from the whole:\n%s\nwant\n%s", round, what, got, want)
			}
		}
	}
}

func TestSetObjects(t *testing.T) {
	s := NewSet(0)
	var l Line
	line(&l, "www~", "app", "<NOSRV>", "PR", map[Timer]int64{TR: 1, Tw: -1})
	s.Add(&l)
	line(&l, "www~", "app", "s1", "--", map[Timer]int64{TR: 3, Tr: 20})
	s.Add(&l)
	var got []string
	s.Each(func(o Object, t Timer, h *Histogram) {
		got = append(got, fmt.Sprintf("%s %s/%s %s n=%d a=%d", o.Scope, o.Proxy, o.Server, t, h.Count(), h.Aborted()))
	})
	s.EachTermination(func(o Object, state string, n uint64) {
		got = append(got, fmt.Sprintf("%s %s/%s %s=%d", o.Scope, o.Proxy, o.Server, state, n))
	})
	want := []string{
		"frontend www~/ TR n=2 a=0", "frontend www~/ Tw n=0 a=1", "frontend www~/ Tr n=1 a=0",
		"backend app/ TR n=2 a=0", "backend app/ Tw n=0 a=1", "backend app/ Tr n=1 a=0",
		"server app/s1 TR n=1 a=0", "server app/s1 Tr n=1 a=0",
		"frontend www~/ --=1", "frontend www~/ PR=1", "backend app/ --=1", "backend app/ PR=1", "server app/s1 --=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Series() != 8 || s.Empty() {
		t.Errorf("series %d, empty %v", s.Series(), s.Empty())
	}
	s.Reset()
	if !s.Empty() || s.Series() != 8 || len(encode(t, s)) != len(fileHeader)+len("\ndropped 0\n") {
		t.Errorf("after Reset: empty %v series %d file %q", s.Empty(), s.Series(), encode(t, s))
	}
}

// Past maxSeries, new objects are not made: their lines are counted in
// SeriesDropped, and the set stops growing; the objects it has go on.
func TestMaxSeries(t *testing.T) {
	s := NewSet(10)
	var l Line
	for i := range 1000 {
		line(&l, "", "be", fmt.Sprintf("s%d", i), "", map[Timer]int64{Tr: 5, Ta: 6})
		s.Add(&l)
	}
	// be: 2 histograms; s0 ... s3: 2 each.
	if s.Series() != 10 || len(s.objects) != 5 || s.SeriesDropped() != 996 {
		t.Errorf("series %d, objects %d, dropped %d", s.Series(), len(s.objects), s.SeriesDropped())
	}
	line(&l, "", "be", "s0", "", map[Timer]int64{Tr: 5})
	s.Add(&l)
	n := 0
	s.Each(func(o Object, t Timer, h *Histogram) {
		if o.Server == "s0" && t == Tr {
			n = int(h.Count())
		}
	})
	if n != 2 || s.SeriesDropped() != 996 {
		t.Errorf("s0 Tr count %d, dropped %d", n, s.SeriesDropped())
	}
	// Past the bound, a line of a new object allocates nothing: memory
	// stays flat however many names a hostile sender makes up.
	more := make([]Line, 1000)
	for i := range more {
		line(&more[i], fmt.Sprintf("fe%d", i), fmt.Sprintf("be%d", i), "s", "cD", map[Timer]int64{Tr: 5})
	}
	i := 0
	if a := testing.AllocsPerRun(len(more)-1, func() {
		s.Add(&more[i])
		i++
	}); a != 0 || s.Series() != 10 {
		t.Errorf("past the bound: %v allocations per line, series %d", a, s.Series())
	}
	m := NewSet(3)
	m.Merge(s)
	if m.Series() != 3 || m.SeriesDropped() < 996+3*1000 {
		t.Errorf("merged into 3: series %d dropped %d", m.Series(), m.SeriesDropped())
	}
}

// Add allocates nothing once its objects and timers exist.
func TestAddAllocations(t *testing.T) {
	s := NewSet(0)
	lines := randomLines(rand.New(rand.NewPCG(9, 9)), 500)
	for i := range lines {
		s.Add(&lines[i])
	}
	i := 0
	if a := testing.AllocsPerRun(2000, func() {
		s.Add(&lines[i%len(lines)])
		i++
	}); a != 0 {
		t.Errorf("%v allocations per line", a)
	}
}

// benchLines are n lines of 10 000 servers in 10 backends, httplog's
// five timers.
func benchLines(n int) []Line {
	r := rand.New(rand.NewPCG(1, 2))
	fes, bes := make([][]byte, 10), make([][]byte, 10)
	srvs := make([][]byte, 1000)
	for i := range fes {
		fes[i], bes[i] = fmt.Appendf(nil, "fe%d", i), fmt.Appendf(nil, "be%d", i)
	}
	for i := range srvs {
		srvs[i] = fmt.Appendf(nil, "s%d", i)
	}
	out := make([]Line, n)
	for i := range out {
		l := &out[i]
		b := r.IntN(10)
		l.Frontend, l.Backend, l.Server = fes[b], bes[b], srvs[r.IntN(1000)]
		tr := int64(r.ExpFloat64() * 40)
		l.Set(TR, int64(r.IntN(3)))
		l.Set(Tw, 0)
		l.Set(Tc, int64(r.IntN(2)))
		l.Set(Tr, tr)
		l.Set(Ta, tr+int64(r.IntN(5)))
		l.Term, l.HasTerm = [2]byte{'-', '-'}, true
	}
	return out
}

func BenchmarkAdd(b *testing.B) {
	lines := benchLines(1 << 16)
	s := NewSet(0)
	for i := range lines {
		s.Add(&lines[i])
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Add(&lines[i&(1<<16-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mlines/s")
}

// BenchmarkSetMemory reports the heap a Set of 10 000 servers (10
// backends, 10 frontends, httplog's five timers each) takes, in all and
// per histogram.
func BenchmarkSetMemory(b *testing.B) {
	lines := benchLines(1 << 18)
	var bytes, series float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewSet(0)
		for i := range lines {
			s.Add(&lines[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bytes, series = float64(after.HeapAlloc)-float64(before.HeapAlloc), float64(s.Series())
		runtime.KeepAlive(s)
	}
	b.ReportMetric(bytes, "B/set")
	b.ReportMetric(bytes/series, "B/histogram")
	b.ReportMetric(series, "histograms")
}

// A name longer than MaxName makes no object, so that every file WriteTo
// writes is one ReadFrom reads; the longest names, all escaped, do.
func TestLongNames(t *testing.T) {
	s := NewSet(0)
	var l Line
	line(&l, strings.Repeat("f", MaxName+1), "be", strings.Repeat("s", MaxName+1), "", map[Timer]int64{Tr: 3})
	s.Add(&l)
	if s.Series() != 1 || s.SeriesDropped() != 2 {
		t.Errorf("over-long names: series %d, dropped %d; want 1 (the backend), 2", s.Series(), s.SeriesDropped())
	}
	long := strings.Repeat("\n", MaxName)
	line(&l, long, long, long, "cD", map[Timer]int64{Tr: 3, Tt: 1 << 50})
	s.Add(&l)
	file := encode(t, s)
	back := NewSet(0)
	if _, err := back.ReadFrom(bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	if again := encode(t, back); !bytes.Equal(again, file) {
		t.Error("names of MaxName bytes changed on the way back")
	}
}

// A line that carries nothing counts nothing: the set stays empty.
func TestEmptyLine(t *testing.T) {
	s := NewSet(0)
	var l Line
	line(&l, "fe", "be", "s1", "", nil)
	s.Add(&l)
	if !s.Empty() || s.Series() != 0 {
		t.Errorf("empty line: Empty %v, series %d", s.Empty(), s.Series())
	}
	line(&l, "fe", "", "", "", map[Timer]int64{Tw: -1})
	s.Add(&l)
	if s.Empty() {
		t.Error("an abort is something counted")
	}
	s.Reset()
	if !s.Empty() {
		t.Error("not empty after Reset")
	}
}

// Objects whose proxy and server, joined, are the same bytes stay apart.
func TestObjectKeys(t *testing.T) {
	s := NewSet(0)
	var l Line
	line(&l, "", "a", "b\x00c", "", map[Timer]int64{Tr: 1})
	s.Add(&l)
	line(&l, "", "a\x00b", "c", "", map[Timer]int64{Tr: 2})
	s.Add(&l)
	var got []string
	s.Each(func(o Object, _ Timer, h *Histogram) {
		if o.Scope == ScopeServer {
			got = append(got, fmt.Sprintf("%q/%q max %d", o.Proxy, o.Server, h.Max()))
		}
	})
	if want := []string{`"a"/"b\x00c" max 1`, `"a\x00b"/"c" max 2`}; !slices.Equal(got, want) {
		t.Errorf("servers %q, want %q", got, want)
	}
}
