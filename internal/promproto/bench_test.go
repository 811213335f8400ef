package promproto_test

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/haproxystats-go/haproxystats/internal/promproto"
)

// largest is an io.Writer that discards, and keeps the size of the
// largest Write: a family, which the Writer holds whole before writing.
type largest struct{ n, max int }

func (w *largest) Write(p []byte) (int, error) {
	w.n += len(p)
	w.max = max(w.max, len(p))
	return len(p), nil
}

// BenchmarkText converts the text exposition of 10 000 servers (100
// backends of 100, 100 frontends, two processes) as a protobuf scrape
// would, and reports the size of the largest family, which bounds what
// Text holds, beside the size of the exposition.
func BenchmarkText(b *testing.B) {
	text := bigText(b, 100, 100)
	out := &largest{}
	w := promproto.NewWriter(out)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		out.n = 0
		if err := w.Text(bytes.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var with, without runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&with)
	runtime.KeepAlive(w)
	w = nil
	runtime.GC()
	runtime.ReadMemStats(&without)
	b.ReportMetric(float64(int64(with.HeapAlloc)-int64(without.HeapAlloc))/(1<<20), "MB-held")
	b.ReportMetric(float64(len(text))/(1<<20), "MB-text")
	b.ReportMetric(float64(out.n)/(1<<20), "MB-protobuf")
	b.ReportMetric(float64(out.max)/(1<<20), "MB-largest-family")
}

// BenchmarkExpfmt is the same conversion with expfmt's text parser and
// protobuf encoder, which hold the whole exposition as dto values: what
// Text is measured against.
func BenchmarkExpfmt(b *testing.B) {
	text := bigText(b, 100, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		parser := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := parser.TextToMetricFamilies(bytes.NewReader(text))
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if _, err := protodelim.MarshalTo(io.Discard, mf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Text allocates per family, never per sample: a Writer that converted
// an exposition once converts it again with a few allocations per family.
func TestTextAllocations(t *testing.T) {
	text := bigText(t, 10, 10)
	w := promproto.NewWriter(io.Discard)
	families := len(convert(t, text))
	allocs := testing.AllocsPerRun(5, func() {
		if err := w.Text(bytes.NewReader(text)); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%v allocations for %d families of %d lines", allocs, families, bytes.Count(text, []byte("\n")))
	if lines := bytes.Count(text, []byte("\n")); allocs > float64(4*families) {
		t.Errorf("%v allocations for %d families of %d lines", allocs, families, lines)
	}
}
