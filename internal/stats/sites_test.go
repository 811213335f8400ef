package stats

import (
	"bytes"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// render runs the three site blocks and indexes the result by path
// relative to the prefix "p".
func render(t *testing.T, s *Sites, o *Options) map[string]float64 {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	if o.Prefix == "" {
		o.Prefix = "p"
	}
	ms := s.Frontends(nil, 1, o)
	ms = s.Backends(ms, 1, o)
	ms = s.Servers(ms, 1, o)
	got := make(map[string]float64, len(ms))
	for _, m := range ms {
		rel := strings.TrimPrefix(m.Path, "p.")
		if _, dup := got[rel]; dup {
			t.Errorf("duplicate path %s", m.Path)
		}
		if !metric.Valid(m.Value) {
			t.Errorf("%s has value %v", m.Path, m.Value)
		}
		got[rel] = m.Value
	}
	return got
}

func parse(t *testing.T, replies ...string) *Sites {
	t.Helper()
	var fs []File
	for i, r := range replies {
		fs = append(fs, File{Name: "f" + string(rune('1'+i)), Data: []byte(r)})
	}
	s, err := ParseSites(fs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func expect(t *testing.T, got map[string]float64, kv ...any) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		path := kv[i].(string)
		var want float64
		switch v := kv[i+1].(type) {
		case int:
			want = float64(v)
		case float64:
			want = v
		case nil: // must be absent
			if v, ok := got[path]; ok {
				t.Errorf("%s = %v, want no line", path, v)
			}
			continue
		}
		if v, ok := got[path]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", path, v, ok, want)
		}
	}
}

// TestColumnsByName: a HAProxy 3.x-like layout, with columns in another
// order, new ones, and the "-" separator followed by module counters
// (one of them named like a metric), gives values picked by name.
func TestColumnsByName(t *testing.T) {
	a := "# svname,type,stot,pxname,lbtot,new_col,scur,rtime,act,bck,weight,-,scur,h3_x,\n" +
		"FRONTEND,0,10,web,,x,1,,,,,-,999,7,\n" +
		"s.1,2,5,be,3,y,2,40,1,0,1,-,999,7,\n" +
		"BACKEND,1,5,be,3,z,2,40,1,0,1,-,999,7,\n"
	b := "# pxname,svname,scur,stot,type,lbtot,rtime,act,bck,weight,\n" +
		"web,FRONTEND,4,20,0,,,,,,\n" +
		"be,s.1,1,7,2,0,80,1,0,3,\n" +
		"be,BACKEND,1,7,1,0,80,1,0,1,\n"
	s := parse(t, a, b)
	got := render(t, s, &Options{AggrServers: true})
	expect(t, got,
		"frontend.web.stot", 30,
		"frontend.web.scur", 5, // the first "scur" column, not the module's
		"backend.be.stot", 12,
		"backend.be.act", 1,
		"backend.be.rtime", 40, // only the reply with lbtot > 0
		"backend.be.TotalServers", 1,
		"backend.be.server.s_1.stot", 12,
		"backend.be.server.s_1.weight", 2,
		"backend.be.server.s_1.rtime", 40,
		"server.s_1.stot", 12,
		// Columns in neither reply: no line, no invented zero.
		"frontend.web.bin", nil,
		"backend.be.bout", nil,
		"backend.be.server.s_1.econ", nil,
		// 2 columns of the default frontend list exist somewhere.
		"haproxystats.MetricsFrontend", 1+2,
		// stot, scur, lbtot + act, bck, weight + rtime.
		"haproxystats.MetricsBackend", 1+7,
		// TotalServers + 2×(scur, stot, lbtot + weight + rtime); the
		// server has no throttle column.
		"haproxystats.MetricsServer", 1+1+2*(3+1+1),
	)
}

// TestMissingColumnOneReply: a column present in one reply only is summed
// over that reply's rows; the other reply's rows add nothing, and a group
// seen only in the reply without the column gets no line.
func TestMissingColumnOneReply(t *testing.T) {
	a := "# pxname,svname,stot,bin,\nweb,FRONTEND,1,100,\n"
	b := "# pxname,svname,stot,\nweb,FRONTEND,2,\nold,FRONTEND,3,\n"
	var buf bytes.Buffer
	o := &Options{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	got := render(t, parse(t, a, b), o)
	expect(t, got,
		"frontend.web.stot", 3,
		"frontend.web.bin", 100,
		"frontend.old.stot", 3,
		"frontend.old.bin", nil,
		"haproxystats.MetricsFrontend", 1+3,
	)
	if !strings.Contains(buf.String(), `msg="column not in show stat reply" file=f2 column=bin`) {
		t.Errorf("no debug log for the missing column:\n%s", buf.String())
	}
}

// TestBlankCells: blank and non-numeric cells count as 0 where the column
// exists, in sums and in means (the original's fillna(0)).
func TestBlankCells(t *testing.T) {
	a := "# pxname,svname,type,lbtot,stot,act,weight,throttle,rtime,\n" +
		"be,BACKEND,1,5,,2,,,10,\n" +
		"be,s,2,5,NA,1,1,,10,\n"
	b := "# pxname,svname,type,lbtot,stot,act,weight,throttle,rtime,\n" +
		"be,BACKEND,1,5,4,null,2,,,\n" +
		"be,s,2,5,1e1,1,3,2.5,x,\n"
	got := render(t, parse(t, a, b), nil)
	expect(t, got,
		"backend.be.stot", 4,
		"backend.be.act", 1, // (2 + 0) / 2
		"backend.be.weight", 1,
		"backend.be.rtime", 5, // (10 + 0) / 2: both replies had traffic
		"backend.be.server.s.stot", 10,
		"backend.be.server.s.throttle", 1.25,
		"backend.be.server.s.weight", 2,
		"backend.be.server.s.rtime", 5,
	)
}

// TestNoTraffic: without lbtot > 0 anywhere, the four time means are
// omitted (DECISIONS.md #1), everything else stays, and the counters
// count only what was emitted.
func TestNoTraffic(t *testing.T) {
	a := "# pxname,svname,type,lbtot,stot,act,bck,weight,throttle,rtime,ctime,qtime,ttime,\n" +
		"be,BACKEND,1,0,0,1,0,1,,5,5,5,5,\n" +
		"be,s,2,,0,1,0,1,,5,5,5,5,\n"
	got := render(t, parse(t, a), &Options{
		BackendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}, AggrServers: true,
	})
	expect(t, got,
		"backend.be.stot", 0,
		"backend.be.act", 1,
		"backend.be.rtime", nil,
		"backend.be.ttime", nil,
		"backend.be.server.s.weight", 1,
		"backend.be.server.s.ctime", nil,
		"server.s.qtime", nil,
		"haproxystats.MetricsBackend", 1+1+3,
		// TotalServers + (stot + throttle, weight) + aggregated: default
		// list, of which stot and lbtot exist, + throttle, weight.
		"haproxystats.MetricsServer", 1+1+3+4,
	)
	for p := range got {
		if strings.HasSuffix(p, "time") {
			t.Errorf("unexpected %s", p)
		}
	}
}

// TestNamesAreStrings: names that pandas would read as numbers or missing
// values are names.
func TestNamesAreStrings(t *testing.T) {
	a := "# pxname,svname,type,stot,\n" +
		"1e3,FRONTEND,0,1,\n" +
		"NA,BACKEND,1,2,\n" +
		"NA,null,2,3,\n" +
		"NA,nan,2,4,\n" +
		"0x10,N/A,2,5,\n"
	got := render(t, parse(t, a), &Options{
		FrontendMetrics: []string{"stot"}, BackendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}, AggrServers: true,
	})
	expect(t, got,
		"frontend.1e3.stot", 1,
		"backend.NA.stot", 2,
		"backend.NA.TotalServers", 2,
		"backend.NA.server.null.stot", 3,
		"backend.NA.server.nan.stot", 4,
		"backend.0x10.server.N_A.stot", 5, // '/' would be a directory in carbon's tree
		"server.N_A.stot", 5,
	)
}

// TestCollisions: names equal after '.' → '_' are one group, in every
// block (DECISIONS.md #3), and exclusion by the sanitised name removes
// both.
func TestCollisions(t *testing.T) {
	a := "# pxname,svname,type,stot,\n" +
		"a.b,FRONTEND,0,1,\n" +
		"a_b,FRONTEND,0,2,\n" +
		"x.y,s.1,2,3,\n" +
		"x_y,s_1,2,4,\n" +
		"x_y,s.2,2,5,\n" +
		"z,s.1,2,6,\n"
	o := &Options{FrontendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}, AggrServers: true}
	got := render(t, parse(t, a), o)
	expect(t, got,
		"frontend.a_b.stot", 3,
		"backend.x_y.TotalServers", 2,
		"backend.x_y.server.s_1.stot", 7,
		"backend.x_y.server.s_2.stot", 5,
		"backend.z.TotalServers", 1,
		"server.s_1.stot", 13,
		"server.s_2.stot", 5,
	)
	o.ExcludeBackends = map[string]bool{"x_y": true}
	o.ExcludeFrontends = map[string]bool{"a_b": true}
	got = render(t, parse(t, a), o)
	expect(t, got,
		"frontend.a_b.stot", nil,
		"backend.x_y.TotalServers", nil,
		"backend.x_y.server.s_1.stot", nil,
		"backend.z.server.s_1.stot", 6,
		// exclude-backends does not apply to aggregated servers (#33).
		"server.s_1.stot", 13,
		"server.s_2.stot", 5,
		"haproxystats.MetricsFrontend", 1,
	)
}

// TestRowClasses: listener rows (type 3) and other types are ignored; a
// row named BACKEND with type 2 is both a backend and a server, as in the
// original.
func TestRowClasses(t *testing.T) {
	a := "# pxname,svname,type,stot,\n" +
		"fe,sock-1,3,100,\n" +
		"fe,FRONTEND,0,1,\n" +
		"be,weird,7,100,\n" +
		"be,BACKEND,2,2,\n" +
		"be,s,2.0,3,\n"
	got := render(t, parse(t, a), &Options{
		FrontendMetrics: []string{"stot"}, BackendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"},
	})
	expect(t, got,
		"frontend.fe.stot", 1,
		"backend.be.stot", 2,
		"backend.be.TotalServers", 2,
		"backend.be.server.BACKEND.stot", 2,
		"backend.be.server.s.stot", 3,
		"backend.be.server.weird.stot", nil,
		"frontend.fe.server.sock-1.stot", nil,
	)
}

// TestRejected: broken replies are skipped with the reason, the others
// are used, and nothing panics.
func TestRejected(t *testing.T) {
	good := "# pxname,svname,stot,\nweb,FRONTEND,1,\n"
	cases := []struct {
		name, data string
		err        error
		line       int
	}{
		{"empty", "", ErrEmpty, 0},
		{"blank", "\n\n", ErrNoHeader, 0},
		{"no header", "pxname,svname,stot,\nweb,FRONTEND,1,\n", ErrNoHeader, 1},
		{"hash without space", "#pxname,svname,\n", ErrNoHeader, 1},
		{"garbage", "\x00\xff\xfe garbage,,,\n\x01", ErrNoHeader, 1},
		{"extra field", "# pxname,svname,stot,\nweb,FRONTEND,1,\nweb,FRONTEND,1,2,\n", ErrFieldCount, 3},
		{"fewer fields", "# pxname,svname,stot,\n\nweb,FRONTEND,1,\nweb,FRONTEND\n", ErrFieldCount, 4},
		{"truncated", "# pxname,svname,stot,\nweb,FRONTEND,1,\nweb,FRONT", ErrFieldCount, 3},
		{"no pxname", "# name,svname,stot,\n", ErrNoColumn, 1},
		{"no svname", "# pxname,stot,\n", ErrNoColumn, 1},
		{"empty name", "# pxname,svname,stot,\n,FRONTEND,1,\n", ErrNoName, 2},
		{"empty server", "# pxname,svname,stot,\nweb,,1,\n", ErrNoName, 2},
		{"open quote", "# pxname,svname,stot,\n\"web,FRONTEND,1,\n", ErrQuote, 2},
		{"text after quote", "# pxname,svname,stot,\n\"web\"x,FRONTEND,1,\n", ErrQuote, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ParseSites([]File{{Name: "good", Data: []byte(good)}, {Name: "bad", Data: []byte(c.data)}, {Name: "good2", Data: []byte(good)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Rejected) != 1 || s.Rejected[0].Name != "bad" {
				t.Fatalf("rejected %v", s.Rejected)
			}
			err = s.Rejected[0].Err
			var pe *ParseError
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.Line != c.line {
				t.Errorf("got %v, want %v at line %d", err, c.err, c.line)
			}
			expect(t, render(t, s, nil), "frontend.web.stot", 2)
			if _, err := ParseStat([]byte(c.data)); !errors.Is(err, c.err) {
				t.Errorf("ParseStat: %v", err)
			}
		})
	}
	s, err := ParseSites([]File{{Name: "a", Data: nil}, {Name: "b", Data: []byte("x")}})
	if err == nil || len(s.Rejected) != 2 {
		t.Fatalf("no usable reply: err %v, rejected %v", err, s.Rejected)
	}
	if !strings.Contains(err.Error(), "a: empty reply") || !strings.Contains(err.Error(), "b: line 1: missing header") {
		t.Errorf("error lacks the reasons: %v", err)
	}
	if _, err := ParseSites(nil); err == nil {
		t.Error("no replies: no error")
	}
}

// TestHeaderOnly: a reply with a header and no rows is usable and gives
// nothing; with only such replies the blocks have just their counters.
func TestHeaderOnly(t *testing.T) {
	s := parse(t, "# pxname,svname,stot,\n\n")
	if len(s.Files) != 1 {
		t.Fatalf("files %v", s.Files)
	}
	got := render(t, s, nil)
	if len(got) != 3 {
		t.Errorf("got %v", got)
	}
	expect(t, got, "haproxystats.MetricsFrontend", 1, "haproxystats.MetricsBackend", 1, "haproxystats.MetricsServer", 1)
}

// TestQuotedAndLineEndings: quoted fields (with commas, quotes and a
// newline), CRLF line ends, blank lines, no trailing comma.
func TestQuotedAndLineEndings(t *testing.T) {
	a := "\r\n# pxname,svname,type,stot\r\n" +
		"\"we,b\",FRONTEND,0,1\r\n" +
		"\r\n" +
		"\"be\"\"x\",\"s\n1\",2,\"2\"\r\n" +
		"be\"y,s,2,3\n" +
		"\"last\",FRONTEND,0,\"4\""
	s, err := ParseStat([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	got := render(t, s, &Options{FrontendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}})
	expect(t, got,
		"frontend.we_b.stot", 1, // a path holds no comma, quote or line break
		"backend.be_x.server.s_1.stot", 2,
		"backend.be_y.server.s.stot", 3,
		"frontend.last.stot", 4,
	)
	// A record after a multi-line one has the right line number.
	_, err = ParseStat([]byte("# pxname,svname,\n\"a\nb\",c,\nd,e,f,\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 {
		t.Errorf("got %v, want an error at line 4", err)
	}
}

// TestGroupingFirstMatch: the first matching group wins, the search is
// unanchored, and a backend group applies to its servers.
func TestGroupingFirstMatch(t *testing.T) {
	a := "# pxname,svname,type,stot,\n" +
		"shop,FRONTEND,0,1,\n" +
		"shop,s1,2,2,\n"
	o := &Options{
		Prefix:          "p",
		FrontendMetrics: []string{"stot"}, ServerMetrics: []string{"stot"}, AggrServers: true,
		Groups: &Grouping{
			Namespace: "ns",
			Frontend:  []Group{{"first", regexp.MustCompile("ho")}, {"second", regexp.MustCompile("^shop$")}},
			Backend:   []Group{{"b", regexp.MustCompile("op")}},
			Server:    []Group{{"none", regexp.MustCompile("^x")}},
		},
	}
	got := render(t, parse(t, a), o)
	expect(t, got,
		"ns.first.frontend.shop.stot", 1,
		"frontend.shop.stot", nil,
		"ns.b.backend.shop.TotalServers", 1,
		"ns.b.backend.shop.server.s1.stot", 2,
		"server.s1.stot", 2,
		"haproxystats.MetricsFrontend", 2,
	)
}

// TestUnknownMetric: a token that is no column of the class is skipped.
func TestUnknownMetric(t *testing.T) {
	got := render(t, parse(t, "# pxname,svname,stot,\nweb,FRONTEND,1,\n"), &Options{FrontendMetrics: []string{"stot", "bogus", "lbtot"}})
	expect(t, got, "frontend.web.stot", 1, "frontend.web.bogus", nil, "haproxystats.MetricsFrontend", 2)
}

func TestParseNum(t *testing.T) {
	f := func(in string, want float64, wantOK bool) {
		t.Helper()
		got, ok := parseNum([]byte(in))
		if ok != wantOK || got != want {
			t.Errorf("parseNum(%q) = %v, %v, want %v, %v", in, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("123456789012345", 123456789012345, true)
	f("12345678901234567890", 12345678901234567890, true)
	f("-5", -5, true)
	f("+5", 5, true)
	f(" 5 ", 5, true)
	f("1.5", 1.5, true)
	f("1e3", 1000, true)
	f("", 0, false)
	f("-", 0, false)
	f("NaN", 0, false)
	f("nan", 0, false)
	f("inf", 0, false)
	f("-Infinity", 0, false)
	f("1e999", 0, false)
	f("0x10", 0, false)
	f("1_000", 0, false)
	f("UP", 0, false)
	f("1/2", 0, false)
}
