package promproto_test

import (
	"bytes"
	"math"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// latency is a histogram family with two series: one with observations
// in two spans of native buckets, one empty but for its zero bucket.
var latency = promproto.HistogramFamily{
	Name: "haproxystats_request_seconds",
	Help: "Time to serve a request (Tr), seconds; a \\ and a\nline.",
	Series: []promproto.HistogramSeries{{
		Labels: []promproto.Label{{"proxy", `www."example"\com`}, {"server", "s1\nnew"}},
		Count:  10, Sum: 1.5,
		Bounds:     []float64{0.00001, 0.001, 0.0025, 0.01, 1, 100000},
		Cumulative: []uint64{0, 2, 5, 8, 10, 10},
		Schema:     3, ZeroThreshold: math.Ldexp(1, -128), ZeroCount: 1,
		Spans:  []promproto.Span{{Offset: -70, Length: 2}, {Offset: 3, Length: 1}},
		Deltas: []int64{4, -1, 2}, // counts 4, 3, 2
	}, {
		Labels:     []promproto.Label{{"proxy", "b"}, {"server", "élan"}},
		Bounds:     []float64{0.00001, 0.001, 0.0025, 0.01, 1, 100000},
		Cumulative: make([]uint64, 6),
		Schema:     -4, ZeroThreshold: 0.001,
	}},
}

func TestHistogram(t *testing.T) {
	var out bytes.Buffer
	w := promproto.NewWriter(&out)
	if err := w.Histogram(latency); err != nil {
		t.Fatal(err)
	}
	mf := &dto.MetricFamily{}
	r := bytes.NewReader(out.Bytes())
	if err := protodelim.UnmarshalFrom(r, mf); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes after the family", r.Len())
	}
	lp := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: proto.String(n), Value: proto.String(v)} }
	buckets := func(c ...uint64) []*dto.Bucket {
		var bs []*dto.Bucket
		for i, b := range []float64{0.00001, 0.001, 0.0025, 0.01, 1, 100000} {
			bs = append(bs, &dto.Bucket{CumulativeCount: proto.Uint64(c[i]), UpperBound: proto.Float64(b)})
		}
		return bs
	}
	want := &dto.MetricFamily{
		Name: proto.String(latency.Name), Help: proto.String(latency.Help), Type: dto.MetricType_HISTOGRAM.Enum(),
		Metric: []*dto.Metric{{
			Label: []*dto.LabelPair{lp("proxy", `www."example"\com`), lp("server", "s1\nnew")},
			Histogram: &dto.Histogram{
				SampleCount: proto.Uint64(10), SampleSum: proto.Float64(1.5),
				Bucket: buckets(0, 2, 5, 8, 10, 10),
				Schema: proto.Int32(3), ZeroThreshold: proto.Float64(math.Ldexp(1, -128)), ZeroCount: proto.Uint64(1),
				PositiveSpan: []*dto.BucketSpan{
					{Offset: proto.Int32(-70), Length: proto.Uint32(2)},
					{Offset: proto.Int32(3), Length: proto.Uint32(1)},
				},
				PositiveDelta: []int64{4, -1, 2},
			},
		}, {
			Label: []*dto.LabelPair{lp("proxy", "b"), lp("server", "élan")},
			Histogram: &dto.Histogram{
				SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0),
				Bucket: buckets(0, 0, 0, 0, 0, 0),
				Schema: proto.Int32(-4), ZeroThreshold: proto.Float64(0.001), ZeroCount: proto.Uint64(0),
			},
		}},
	}
	if !proto.Equal(mf, want) {
		t.Errorf("got  %s\nwant %s", prototext.Format(mf), prototext.Format(want))
	}

	// After a text exposition, on the same Writer, as a sink appends it.
	out.Reset()
	if err := w.Text(strings.NewReader("# TYPE up gauge\nup 1\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Histogram(latency); err != nil {
		t.Fatal(err)
	}
	if mfs := decode(t, out.Bytes()); len(mfs) != 2 || !proto.Equal(mfs[1], want) {
		t.Errorf("text then histogram: %v", mfs)
	}
}

func TestHistogramInvalid(t *testing.T) {
	f := func(what string, edit func(*promproto.HistogramFamily)) {
		t.Helper()
		h := latency
		h.Series = []promproto.HistogramSeries{latency.Series[0]}
		s := &h.Series[0]
		s.Labels = append([]promproto.Label(nil), s.Labels...)
		s.Bounds = append([]float64(nil), s.Bounds...)
		edit(&h)
		var out bytes.Buffer
		if err := promproto.NewWriter(&out).Histogram(h); err == nil || out.Len() > 0 {
			t.Errorf("%s: err %v, %d bytes written", what, err, out.Len())
		}
	}
	f("name", func(h *promproto.HistogramFamily) { h.Name = "a-b" })
	f("label name", func(h *promproto.HistogramFamily) { h.Series[0].Labels[0].Name = "0x" })
	f("le label", func(h *promproto.HistogramFamily) { h.Series[0].Labels[0].Name = "le" })
	f("label value", func(h *promproto.HistogramFamily) { h.Series[0].Labels[0].Value = "\xff" })
	f("bounds", func(h *promproto.HistogramFamily) { h.Series[0].Bounds = h.Series[0].Bounds[1:] })
	f("order", func(h *promproto.HistogramFamily) { h.Series[0].Bounds[1] = 1e-6 })
	f("+Inf bound", func(h *promproto.HistogramFamily) { h.Series[0].Bounds[5] = math.Inf(1) })
	f("count", func(h *promproto.HistogramFamily) { h.Series[0].Count = 9 })
	f("spans", func(h *promproto.HistogramFamily) { h.Series[0].Deltas = h.Series[0].Deltas[1:] })
	f("schema", func(h *promproto.HistogramFamily) { h.Series[0].Schema = 9 })
}

func TestAppendTextHistogram(t *testing.T) {
	text := promproto.AppendTextHistogram([]byte("# TYPE up gauge\nup 1\n"), latency)
	for _, line := range []string{
		"# HELP haproxystats_request_seconds Time to serve a request (Tr), seconds; a \\\\ and a\\nline.\n",
		"# TYPE haproxystats_request_seconds histogram\n",
		`haproxystats_request_seconds_bucket{proxy="www.\"example\"\\com",server="s1\nnew",le="1e-05"} 0` + "\n",
		`haproxystats_request_seconds_bucket{proxy="www.\"example\"\\com",server="s1\nnew",le="0.001"} 2` + "\n",
		`haproxystats_request_seconds_bucket{proxy="www.\"example\"\\com",server="s1\nnew",le="0.0025"} 5` + "\n",
		`haproxystats_request_seconds_bucket{proxy="www.\"example\"\\com",server="s1\nnew",le="100000"} 10` + "\n",
		`haproxystats_request_seconds_bucket{proxy="www.\"example\"\\com",server="s1\nnew",le="+Inf"} 10` + "\n",
		`haproxystats_request_seconds_sum{proxy="www.\"example\"\\com",server="s1\nnew"} 1.5` + "\n",
		`haproxystats_request_seconds_count{proxy="b",server="élan"} 0` + "\n",
	} {
		line = strings.ReplaceAll(line, "s1\nnew", `s1\nnew`)
		if !strings.Contains(string(text), line) {
			t.Errorf("no line %q in\n%s", line, text)
		}
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, text)
	}
	mf := mfs[latency.Name]
	if mf.GetType() != dto.MetricType_HISTOGRAM || mf.GetHelp() != latency.Help || len(mf.GetMetric()) != len(latency.Series) {
		t.Fatalf("parsed back: %s", prototext.Format(mf))
	}
	for i, m := range mf.GetMetric() {
		s := latency.Series[i]
		for k, l := range m.GetLabel() {
			if l.GetName() != s.Labels[k].Name || l.GetValue() != s.Labels[k].Value {
				t.Errorf("series %d, label %d: %s=%q", i, k, l.GetName(), l.GetValue())
			}
		}
		h := m.GetHistogram()
		if h.GetSampleCount() != s.Count || h.GetSampleSum() != s.Sum || len(h.GetBucket()) != len(s.Bounds)+1 {
			t.Errorf("series %d: %s", i, prototext.Format(h))
			continue
		}
		for k, b := range h.GetBucket() {
			bound, count := math.Inf(1), s.Count
			if k < len(s.Bounds) {
				bound, count = s.Bounds[k], s.Cumulative[k]
			}
			if b.GetUpperBound() != bound || b.GetCumulativeCount() != count {
				t.Errorf("series %d, bucket %d: %v %v, want %v %v", i, k, b.GetUpperBound(), b.GetCumulativeCount(), bound, count)
			}
		}
	}
	// The same text, converted to protobuf, is the classic histogram.
	roundTrip(t, text)

	cmd := exec.Command(haproxytest.PromtoolBinary(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(promproto.AppendTextHistogram(nil, latency))
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
