package promproto_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/haproxystats-go/haproxystats/internal/prometheus"
	"github.com/haproxystats-go/haproxystats/internal/promproto"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// decode reads delimited MetricFamily messages with expfmt's protobuf
// decoder, as a scraper would.
func decode(t testing.TB, b []byte) []*dto.MetricFamily {
	t.Helper()
	dec := expfmt.NewDecoder(bytes.NewReader(b), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var mfs []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			return mfs
		} else if err != nil {
			t.Fatalf("decode family %d: %v", len(mfs), err)
		}
		mfs = append(mfs, mf)
	}
}

// convert runs Text on text and decodes what it wrote.
func convert(t testing.TB, text []byte) []*dto.MetricFamily {
	t.Helper()
	var out bytes.Buffer
	if err := promproto.NewWriter(&out).Text(bytes.NewReader(text)); err != nil {
		t.Fatal(err)
	}
	return decode(t, out.Bytes())
}

// roundTrip checks that Text gives, family by family, what expfmt's text
// parser makes of the same text, in the order of the text.
func roundTrip(t *testing.T, text []byte) []*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	want, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt does not parse the input: %v", err)
	}
	got := convert(t, text)
	if len(got) != len(want) {
		t.Errorf("%d families, expfmt %d", len(got), len(want))
	}
	for _, mf := range got {
		w, ok := want[mf.GetName()]
		if !ok {
			t.Errorf("family %s: not in expfmt's", mf.GetName())
			continue
		}
		if !proto.Equal(mf, w) {
			t.Errorf("family %s differs:\ngot  %s\nwant %s", mf.GetName(), prototext.Format(mf), prototext.Format(w))
		}
	}
	// The families in the order of their first line.
	var order []string
	for _, line := range strings.Split(string(text), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" && want[f[2]] != nil {
			order = append(order, f[2])
		}
	}
	if len(order) == len(got) {
		for i, mf := range got {
			if mf.GetName() != order[i] {
				t.Errorf("family %d is %s, want %s", i, mf.GetName(), order[i])
			}
		}
	}
	return got
}

func TestTextExample13(t *testing.T) {
	text, err := os.ReadFile("testdata/example13.prom")
	if err != nil {
		t.Fatal(err)
	}
	got := roundTrip(t, text)
	types := map[dto.MetricType]int{}
	for _, mf := range got {
		types[mf.GetType()]++
	}
	if types[dto.MetricType_COUNTER] == 0 || types[dto.MetricType_GAUGE] == 0 || types[dto.MetricType_SUMMARY] == 0 {
		t.Errorf("types of the families converted: %v", types)
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"escapes", `# HELP a Help with \\ backslash and \n newline, "quotes" kept, \"escaped\" too.
# TYPE a gauge
a{proxy="x\\y",server="say \"hi\"\nbye",utf="élan ✓",empty=""} 1
a{proxy="p"} 2
`},
		{"values", `# TYPE v untyped
v{k="1"} 1
v{k="2"} 1.5
v{k="3"} -2
v{k="4"} NaN
v{k="5"} +Inf
v{k="6"} -Inf
v{k="7"} 1e-05
v{k="8"} 9.223372036854776e+18
v{k="9"} -0
v{k="10"} 123456789012345678901234567890
v{k="11"} 0.1
v{k="12"} +3
`},
		{"timestamps", `# HELP c A counter.
# TYPE c counter
c{a="1"} 10 1500000000000
c{a="2"} 11 -5
c{a="3"} 12
`},
		{"layout", "# TYPE b gauge\n# HELP b TYPE before HELP.\n\n  b { x = \"1\" , y=\"2\", } \t 3\n# a comment\nno_header 4\nno_header{l=\"v\"} 5\n# HELP only_help Help, no TYPE.\nonly_help 6\nbraces{} 7\n"},
		{"no samples", "# HELP empty Nothing.\n# TYPE empty gauge\n# HELP full Something.\n# TYPE full gauge\nfull 1\n"},
		{"long line", "# TYPE long gauge\nlong{v=\"" + strings.Repeat("é", 100000) + "\"} 1\nlong{v=\"short\"} 2\n"},
		{"summary", `# HELP s A summary.
# TYPE s summary
s{quantile="0"} 0.001
s{quantile="0.5"} 0.002
s{quantile="1"} 0.5
s_sum 1.25
s_count 7
s{quantile="0.5",proxy="b"} 3 100
s_sum{proxy="b"} 4 100
s_count{proxy="b"} 5 101
# TYPE after gauge
after 1
`},
		{"histogram", `# HELP h A histogram.
# TYPE h histogram
h_bucket{le="0.001"} 1
h_bucket{le="0.01"} 3
h_bucket{le="+Inf"} 4
h_sum 0.75
h_count 4
h_bucket{proxy="b",le="1"} 0.5
h_bucket{proxy="b",le="+Inf"} 2
h_sum{proxy="b"} 3
h_count{proxy="b"} 2
`},
	} {
		t.Run(tc.name, func(t *testing.T) { roundTrip(t, []byte(tc.in)) })
	}
}

// Text is lenient where expfmt's parser need not be: a last line without
// its newline, blanks after a value.
func TestTextLenient(t *testing.T) {
	want := convert(t, []byte("# TYPE x gauge\nx 1\nx{a=\"b\"} 2 5\n"))
	for _, in := range []string{
		"# TYPE x gauge\nx 1\nx{a=\"b\"} 2 5",
		"# TYPE x gauge\nx 1 \t\nx{a=\"b\"} 2 5 \n",
	} {
		got := convert(t, []byte(in))
		if len(got) != 1 || !proto.Equal(got[0], want[0]) {
			t.Errorf("Text(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTextErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
		want string // in the message
	}{
		{"a 1\nb{c=\"d} 1\n", 2, "not closed"},
		{"a 1\nb{c=\"d\" 1\n", 2, "no ','"},
		{"a 1 2 3\n", 1, "after the timestamp"},
		{"a x\n", 1, "value"},
		{"a\n", 1, "value"},
		{"a 0x1p3\n", 1, "value"},
		{"a 1_000\n", 1, "value"},
		{"a 1 1.5\n", 1, "timestamp"},
		{"# TYPE a foo\na 1\n", 1, "unknown type"},
		{"# TYPE 0a gauge\n", 1, "invalid metric name"},
		{"a 1\nb 1\na 2\n", 3, "again"},
		{"# TYPE a gauge\na 1\n# TYPE a gauge\n", 3, "second # TYPE"},
		{"a 1\n# TYPE a gauge\n", 2, "after its samples"},
		{"# HELP a x\n# HELP a y\n", 2, "second # HELP"},
		{"a{b=\"\\t\"} 1\n", 1, "invalid escape"},
		{"# HELP a x\\ty\n", 1, "invalid escape"},
		{"# HELP a x\\\n", 1, "backslash"},
		{"a{b=\"\xff\"} 1\n", 1, "UTF-8"},
		{"a{0b=\"c\"} 1\n", 1, "invalid label name"},
		{"a{b \"c\"} 1\n", 1, "no '='"},
		{"a{b=c} 1\n", 1, "not quoted"},
		{"0a 1\n", 1, "no metric name"},
		{"a-b 1\n", 1, "invalid metric name"},
		{"# TYPE s summary\ns 1\n", 2, "no quantile"},
		{"# TYPE h histogram\nh{le=\"1\"} 1\n", 2, "without _bucket"},
		{"# TYPE h histogram\nh_bucket 1\n", 2, "no le"},
		{"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "label le"},
	} {
		err := promproto.NewWriter(io.Discard).Text(strings.NewReader(tc.in))
		var pe *promproto.ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Text(%q) = %v, want a ParseError on line %d saying %q", tc.in, err, tc.line, tc.want)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestTextWriteError(t *testing.T) {
	broken := errors.New("connection reset")
	err := promproto.NewWriter(failWriter{broken}).Text(strings.NewReader("a 1\nb 2\n"))
	var pe *promproto.ParseError
	if !errors.Is(err, broken) || errors.As(err, &pe) {
		t.Errorf("Text to a broken writer = %v, want the writer's error", err)
	}
}

// A Writer is reused from one exposition to the next, as a scrape
// handler would reuse it.
func TestTextReuse(t *testing.T) {
	var out bytes.Buffer
	w := promproto.NewWriter(&out)
	for range 3 {
		out.Reset()
		if err := w.Text(strings.NewReader("# TYPE a gauge\na 1\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\n")); err != nil {
			t.Fatal(err)
		}
		if mfs := decode(t, out.Bytes()); len(mfs) != 2 || len(mfs[1].GetMetric()) != 1 {
			t.Fatalf("second use: %v", mfs)
		}
	}
	// An exposition that failed half way does not spill into the next.
	out.Reset()
	if err := w.Text(strings.NewReader("a 1\n# TYPE s summary\ns{quantile=\"0.5\",x=\"y\"} 1\ns{quantile=\"x\"} 2\n")); err == nil {
		t.Fatal("no error")
	}
	out.Reset()
	if err := w.Text(strings.NewReader("b 2\n# TYPE s summary\ns_count 1\n")); err != nil {
		t.Fatal(err)
	}
	if mfs := decode(t, out.Bytes()); len(mfs) != 2 || mfs[0].GetName() != "b" || len(mfs[1].GetMetric()) != 1 {
		t.Fatalf("after an error: %v", mfs)
	}
}

// bigText is the text exposition our sink serves for backends of
// servers each (and as many frontends), in two processes.
func bigText(t testing.TB, backends, servers int) []byte {
	t.Helper()
	b := stats.Builder{All: true}
	for i, data := range stats.GenerateStat(2, backends, backends, servers, 1) {
		if err := b.Add(string(rune('a'+i))+".sock_stat", bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
	}
	sites, err := b.Sites()
	if err != nil {
		t.Fatal(err)
	}
	s := prometheus.New("test", "", t.TempDir(), slog.New(slog.DiscardHandler))
	if err := s.Expose(context.Background(), &stats.Exposition{Time: 1500000000, Sites: sites}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.Bytes()
}

func TestTextGenerated(t *testing.T) {
	roundTrip(t, bigText(t, 10, 10))
}
