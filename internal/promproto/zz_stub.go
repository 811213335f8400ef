package promproto

import (
	"io"
	"net/http"
)

// STUB until lat-proto is merged.
func Negotiated(h http.Header) bool { return false }

const ContentType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"

type Writer struct{}

func NewWriter(w io.Writer) *Writer                { return &Writer{} }
func (w *Writer) Text(r io.Reader) error           { return nil }
func (w *Writer) Histogram(f HistogramFamily) error { return nil }

type HistogramFamily struct {
	Name, Help string
	Series     []HistogramSeries
}
type HistogramSeries struct {
	Labels        []Label
	Count         uint64
	Sum           float64
	Bounds        []float64
	Cumulative    []uint64
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Spans         []Span
	Deltas        []int64
}
type Label struct{ Name, Value string }
type Span struct {
	Offset int32
	Length uint32
}

func AppendTextHistogram(dst []byte, f HistogramFamily) []byte { return dst }
