package stats

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// appendLines is what the Graphite sender does with a snapshot's metrics.
func appendLines(b []byte, ms []metric.Metric) []byte {
	for _, m := range ms {
		b = m.AppendLine(b)
	}
	return b
}

// chunks records each Write, to check that every one holds whole lines.
type chunks struct {
	all    bytes.Buffer
	writes int
	err    error
}

func (c *chunks) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 || p[len(p)-1] != '\n' {
		return 0, fmt.Errorf("write %d does not end a line", c.writes+1)
	}
	c.writes++
	return c.all.Write(p)
}

func encode(t *testing.T, e *Encoder, infos, stats []File, ts int64, o *Options) {
	t.Helper()
	if len(infos) > 0 {
		if err := e.Daemon(infos, ts, o); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ParseSites(stats)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(*Sites, int64, *Options) error{e.Frontends, e.Backends, e.Servers} {
		if err := f(s, ts, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Metric(metric.Metric{Path: "p.haproxystats.TotalWallClockTime", Value: 0.25, Time: ts}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestEncoderSameBytes: the Encoder, in memory and streaming, gives the
// bytes of the metrics formatted one by one, for every option set of the
// golden tests and for a generated snapshot large enough to be written
// in many pieces.
func TestEncoderSameBytes(t *testing.T) {
	type input struct {
		name         string
		infos, stats []File
		o            *Options
	}
	var inputs []input
	infos13, stats13 := readDir(t, "testdata/example13")
	for name, o := range options13() {
		inputs = append(inputs, input{"example13/" + name, infos13, stats13, o})
	}
	infos26, stats26 := readDir(t, "testdata/hap26")
	inputs = append(inputs, input{"hap26", infos26, stats26, &Options{Prefix: "p", PerProcess: true, Percentages: true, AggrServers: true}})
	var gen []File
	for i, data := range GenerateStat(3, 20, 50, 30, 5) {
		gen = append(gen, File{Name: fmt.Sprintf("a%d.sock_stat", i), Data: data})
	}
	grouped := &Options{
		Prefix:           "loadbalancers.lb-01.haproxy",
		AggrServers:      true,
		ExcludeBackends:  map[string]bool{"be7": true},
		ExcludeFrontends: map[string]bool{"fe3_example_com": true},
		Groups: &Grouping{
			Namespace:    "ns",
			DoubleWrites: true,
			Frontend:     []Group{{"odd", regexp.MustCompile(`[13579]_`)}},
			Backend:      []Group{{"tens", regexp.MustCompile(`^be[0-9]0$`)}},
			Server:       []Group{{"s1", regexp.MustCompile(`-s1_`)}},
		},
	}
	inputs = append(inputs,
		input{"generated", infos26, gen, &Options{Prefix: "p", AggrServers: true}},
		input{"generated/grouped", nil, gen, grouped})

	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			const ts = 1500000000
			var ms []metric.Metric
			if len(in.infos) > 0 {
				var err error
				if ms, err = Daemon(nil, in.infos, ts, in.o); err != nil {
					t.Fatal(err)
				}
			}
			s, err := ParseSites(in.stats)
			if err != nil {
				t.Fatal(err)
			}
			ms = s.Frontends(ms, ts, in.o)
			ms = s.Backends(ms, ts, in.o)
			ms = s.Servers(ms, ts, in.o)
			ms = append(ms, metric.Metric{Path: "p.haproxystats.TotalWallClockTime", Value: 0.25, Time: ts})
			want := appendLines(nil, ms)

			mem := NewEncoder(nil)
			encode(t, mem, in.infos, in.stats, ts, in.o)
			if !bytes.Equal(mem.Bytes(), want) {
				t.Errorf("in memory: %d bytes differ from the %d of AppendLine", len(mem.Bytes()), len(want))
			}
			if mem.Lines() != len(ms) {
				t.Errorf("in memory: Lines() = %d, want %d", mem.Lines(), len(ms))
			}

			var c chunks
			st := NewEncoder(&c)
			encode(t, st, in.infos, in.stats, ts, in.o)
			if !bytes.Equal(c.all.Bytes(), want) {
				t.Errorf("streamed: %d bytes differ from the %d of AppendLine", c.all.Len(), len(want))
			}
			if st.Lines() != len(ms) || len(st.Bytes()) != 0 {
				t.Errorf("streamed: Lines() = %d, want %d; %d bytes held", st.Lines(), len(ms), len(st.Bytes()))
			}
			if most := len(want)/FlushSize + 1; c.writes > most {
				t.Errorf("streamed in %d writes, want at most %d", c.writes, most)
			}

			st.Reset(nil)
			encode(t, st, in.infos, in.stats, ts, in.o)
			if !bytes.Equal(st.Bytes(), want) {
				t.Error("after Reset(nil): bytes differ")
			}

			var count Counter
			if len(in.infos) > 0 {
				if err := WalkDaemon(&count, in.infos, ts, in.o); err != nil {
					t.Fatal(err)
				}
			}
			s.WalkFrontends(&count, ts, in.o)
			s.WalkBackends(&count, ts, in.o)
			s.WalkServers(&count, ts, in.o)
			if count.Lines() != len(ms)-1 { // all but TotalWallClockTime
				t.Errorf("counter: Lines() = %d, want %d", count.Lines(), len(ms)-1)
			}
		})
	}
}

func TestEncoderWriteError(t *testing.T) {
	boom := errors.New("boom")
	c := &chunks{err: boom}
	e := NewEncoder(c)
	var stats []File
	for i, data := range GenerateStat(1, 1, 20, 20, 1) {
		stats = append(stats, File{Name: fmt.Sprint(i), Data: data})
	}
	s, err := ParseSites(stats)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Servers(s, 1, nil); !errors.Is(err, boom) {
		t.Fatalf("Servers = %v, want %v", err, boom)
	}
	if err := e.Frontends(s, 1, nil); !errors.Is(err, boom) {
		t.Errorf("after the error, Frontends = %v", err)
	}
	if err := e.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v", err)
	}
	if len(e.Bytes()) > FlushSize+1024 {
		t.Errorf("%d bytes held after the error", len(e.Bytes()))
	}
}

func TestEncoderDaemonError(t *testing.T) {
	e := NewEncoder(nil)
	if err := e.Daemon([]File{{Name: "a_info", Data: []byte("nothing\n")}}, 1, nil); err == nil {
		t.Fatal("no error for a reply without fields")
	}
	if e.Lines() != 0 || len(e.Bytes()) != 0 {
		t.Errorf("%d lines, %q after the error", e.Lines(), e.Bytes())
	}
}

// TestBuilder: replies added one at a time give what ParseSites gives,
// and a rejected reply is reported by Add and listed, as ParseSites does.
func TestBuilder(t *testing.T) {
	var files []File
	for i, data := range GenerateStat(3, 5, 10, 4, 9) {
		files = append(files, File{Name: fmt.Sprintf("a%d.sock_stat", i), Data: data})
	}
	files = append(files[:1], append([]File{{Name: "bad.sock_stat", Data: []byte("garbage\n")}}, files[1:]...)...)
	want, err := ParseSites(files)
	if err != nil {
		t.Fatal(err)
	}
	var b Builder
	for _, f := range files {
		data := bytes.Clone(f.Data)
		err := b.addFile(File{Name: f.Name, Data: data})
		if bad := f.Name == "bad.sock_stat"; bad != (err != nil) {
			t.Errorf("Add(%s) = %v", f.Name, err)
		}
		for i := range data {
			data[i] = 'x' // the Builder must not need the reply any more
		}
	}
	got, err := b.Sites()
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Prefix: "p", AggrServers: true}
	render := func(s *Sites) []byte {
		ms := s.Frontends(nil, 1, o)
		ms = s.Backends(ms, 1, o)
		return appendLines(nil, s.Servers(ms, 1, o))
	}
	if !bytes.Equal(render(got), render(want)) {
		t.Error("Builder and ParseSites differ")
	}
	if fmt.Sprint(got.Files, got.Rejected) != fmt.Sprint(want.Files, want.Rejected) {
		t.Errorf("Files, Rejected = %v %v, want %v %v", got.Files, got.Rejected, want.Files, want.Rejected)
	}

	var empty Builder
	if _, err := empty.Sites(); err == nil {
		t.Error("no error from a Builder given nothing")
	}
}

// FuzzEncoder: for any accepted reply, the Encoder gives the bytes of
// the metrics formatted one by one.
func FuzzEncoder(f *testing.F) {
	addSeeds(f, "testdata/*/*_stat")
	f.Add(GenerateStat(1, 2, 2, 2, 1)[0])
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseStat(in)
		if err != nil {
			return
		}
		o := &Options{Prefix: "p", AggrServers: true}
		ms := s.Frontends(nil, 1, o)
		ms = s.Backends(ms, 1, o)
		ms = s.Servers(ms, 1, o)
		e := NewEncoder(nil)
		e.Frontends(s, 1, o)
		e.Backends(s, 1, o)
		e.Servers(s, 1, o)
		if want := appendLines(nil, ms); !bytes.Equal(e.Bytes(), want) {
			t.Fatalf("Encoder gives %q, AppendLine %q", e.Bytes(), want)
		}
	})
}

// TestSplitFields compares splitFields with bytes.Split on lines with
// commas at every offset of the eight-byte words, and bytes that the
// word trick could mistake for commas.
func TestSplitFields(t *testing.T) {
	for _, line := range []string{
		"", ",", ",,,,,,,,,", "a", "abcdefgh", "abcdefg,", "abcdefgh,", ",abcdefgh",
		"-,-,-,-,-,-,-,-,-", "\x00,\x01,-,\x2d,\x2c\x2c,+", "www.example.com,FRONTEND,,,0,1,9985,12,984",
		"a,bb,ccc,dddd,eeeee,ffffff,ggggggg,hhhhhhhh,iiiiiiiii,", "\xff\xfe,\x80\x2c\x2d\x2d\x2d\x2d\x2d\x2d\x2d,x",
	} {
		all := bytes.Split([]byte(line), []byte(","))
		for want := -1; want <= len(all)+1; want++ {
			got := splitFields(nil, []byte(line), want)
			exp := all
			if want >= 0 && want < len(all) {
				exp = all[:want]
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", exp) {
				t.Errorf("splitFields(%q, %d) = %q, want %q", line, want, got, exp)
			}
		}
	}
}
