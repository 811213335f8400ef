package latency

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// Names of any bytes survive the file, and no name can make a line or a
// field of its own.
func TestFileHostileNames(t *testing.T) {
	s := NewSet(0)
	var l Line
	names := []string{"a b", "x\ny 0 0 0", "\x00", "%", "%2D", "-", "\xff", "h backend a - Tr 1 1 1 0 1 0 -", strings.Repeat("é", 100)}
	for _, n := range names {
		line(&l, n, n, n, "cD", map[Timer]int64{Tr: 7})
		s.Add(&l)
	}
	file := encode(t, s)
	if got := bytes.Count(file, []byte("\n")); got != 2+3*len(names)*2 {
		t.Errorf("%d lines, want %d:\n%s", got, 2+3*len(names)*2, file)
	}
	back := NewSet(0)
	if _, err := back.ReadFrom(bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	if again := encode(t, back); !bytes.Equal(again, file) {
		t.Errorf("read back and written again:\n%s\nwant\n%s", again, file)
	}
	found := map[string]bool{}
	back.Each(func(o Object, _ Timer, _ *Histogram) { found[o.Proxy] = true })
	for _, n := range names {
		if !found[n] {
			t.Errorf("name %q lost", n)
		}
	}
}

// ReadFrom refuses what WriteTo never writes, naming the line.
func TestReadFromRefuses(t *testing.T) {
	const head = "haproxystats-latency 1\ndropped 0\n"
	for _, c := range []struct{ file, want string }{
		{"", "line 0: truncated"},
		{"haproxystats-latency 2\n", "line 1: not a latency file of version 1"},
		{head[:23], "truncated"},
		{head + "h backend a - Tr 2 5 5 0 0,0,0,0,0,1 0 -\n", "counts add up to 1, not count 2"},
		{head + "h backend a - Tr 1 5 6 0 0,0,0,0,0,1 0 -\n", "max 6 is not in the last exact slot"},
		{head + "h backend a - Tr 1 100 100 0 - -999 1\n", "outside"},
		{head + "h backend a - Tr 1 100 100 0 - 9999 1\n", "outside"},
		{head + "h backend a - Tr 1 100 100 0 - -15 1\n", "max 100 is not in the last bucket"},
		{head + "h backend a - Tr 18446744073709551615 1 1 0 18446744073709551615,1 0 -\n", "overflow"},
		{head + "h backend a - Tr 99999999999999999999 1 1 0 - 0 -\n", "out of range"},
		{head + "h backend a - Tr 2 5 2 0 0,0,2 0 -\n", "sum 5 of 2 values of at most 2"},
		{head + "h backend a - Tr 2 1 2 0 0,1,1 0 -\n", "sum 1 of 2 values of at most 2"},
		{head + "h backend a - TX 1 1 1 0 0,1 0 -\n", "unknown timer"},
		{head + "h backend a b Tr 1 1 1 0 0,1 0 -\n", "a backend with a server"},
		{head + "h server a - Tr 1 1 1 0 0,1 0 -\n", `"-" where a name is wanted`},
		{head + "h backend a%2 - Tr 1 1 1 0 0,1 0 -\n", "truncated %-escape"},
		{head + "h backend %41 - Tr 1 1 1 0 0,1 0 -\n", "needless %-escape"},
		{head + "h backend a\tb - Tr 1 1 1 0 0,1 0 -\n", "not escaped"},
		{head + "h backend a - Tr 0 0 0 0 - 0 -\n", "an empty histogram"},
		{head + "t backend a - c 1\n", "termination state"},
		{head + "t backend a - %00%01 1\n", "termination state"},
		{head + "t backend a - cD 0\n", "termination count"},
		{head + "dropped 1\n", "unexpected line"},
		{"haproxystats-latency 1\nh backend a - Tr 1 1 1 0 0,1 0 -\n", "line 2: unexpected line"},
		{head + strings.Repeat("x", 70000) + "\n", "longer than"},
	} {
		_, err := NewSet(0).ReadFrom(strings.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.80q: %v, want %q", c.file, err, c.want)
		}
	}
}

// Whatever ReadFrom takes, it writes back the same way: one way to write
// a Set.
func FuzzReadFrom(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 10, 100} {
		s := NewSet(0)
		lines := randomLines(r, n)
		for i := range lines {
			s.Add(&lines[i])
		}
		f.Add(encode(f, s))
	}
	f.Add([]byte("haproxystats-latency 1\ndropped 3\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		s := NewSet(1000)
		if _, err := s.ReadFrom(bytes.NewReader(file)); err != nil {
			return
		}
		once := encode(t, s)
		back := NewSet(1000)
		if _, err := back.ReadFrom(bytes.NewReader(once)); err != nil {
			t.Fatalf("written file refused: %v\n%s", err, once)
		}
		if twice := encode(t, back); !bytes.Equal(once, twice) {
			t.Fatalf("read back differs:\n%s\nwant\n%s", twice, once)
		}
	})
}

// benchSet is a Set of 10 000 servers in 10 backends behind 10
// frontends, five timers each: 50 100 histograms.
func benchSet(b *testing.B) *Set {
	lines := benchLines(1 << 18)
	s := NewSet(0)
	for i := range lines {
		s.Add(&lines[i])
	}
	return s
}

func BenchmarkWriteTo(b *testing.B) {
	s := benchSet(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if _, err := s.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(buf.Len()), "file-bytes")
	b.ReportMetric(float64(buf.Len())/float64(s.Series()), "bytes/histogram")
	b.ReportMetric(float64(s.Series()), "histograms")
}

func BenchmarkReadFrom(b *testing.B) {
	file := encode(b, benchSet(b))
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := NewSet(0).ReadFrom(bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(file)), "file-bytes")
}
