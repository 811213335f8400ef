package promproto

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// A HistogramFamily is a histogram family: its name (without _bucket,
// _sum or _count), its help text, and its series.
type HistogramFamily struct {
	Name, Help string
	Series     []HistogramSeries
}

// A HistogramSeries is one histogram, in both forms Prometheus knows:
// classic buckets and the sparse buckets of a native histogram. Only the
// positive side of a native histogram is written: latencies are not
// negative.
//
// Prometheus 2.42 decides from the first series of a family whether the
// whole family is native: when that series has a zero threshold above 0,
// a zero count or deltas; otherwise it ingests every series as its
// classic buckets. Later versions decide series by series, from their
// spans. Give every series a ZeroThreshold above 0 (client_golang's
// default is 2^-128): the family is then native for every version, even
// before its first observation.
type HistogramSeries struct {
	Labels []Label
	Count  uint64  // observations
	Sum    float64 // of the observations, in seconds

	// The classic buckets: Cumulative[i] observations are at most
	// Bounds[i]. Bounds increase and hold no +Inf; the +Inf bucket is
	// Count.
	Bounds     []float64
	Cumulative []uint64

	// The native histogram, as metrics.proto has it: buckets of schema
	// Schema (-4 to 8; bucket i ends at 2^(i·2^-Schema)), those within
	// ±ZeroThreshold counted in ZeroCount, the others in Spans of
	// consecutive buckets whose counts are Deltas, each the difference
	// from the bucket before (the first from 0). The Lengths of Spans
	// add up to len(Deltas).
	Schema        int32
	ZeroThreshold float64
	ZeroCount     uint64
	Spans         []Span
	Deltas        []int64
}

// A Label is a label of a series. Name must be a valid label name other
// than le, which the classic buckets hold; Value is any UTF-8 string.
type Label struct{ Name, Value string }

// A Span is a run of consecutive native buckets: Offset buckets after
// the end of the span before (for the first span, the index of its first
// bucket), Length buckets long.
type Span struct {
	Offset int32
	Length uint32
}

// Histogram writes f as one MetricFamily of type HISTOGRAM, each series
// with its classic buckets and its native fields in the same message. It
// returns an error, and writes nothing, when f is not valid.
func (w *Writer) Histogram(f HistogramFamily) error {
	if err := f.validate(); err != nil {
		return err
	}
	w.fam = newFamily(w.fam)
	w.fam = appendString(w.fam, familyName, f.Name)
	w.fam = appendString(w.fam, familyHelp, f.Help)
	w.fam = appendVarint(w.fam, familyType, typeHistogram)
	for i := range f.Series {
		s := &f.Series[i]
		m := w.m[:0]
		for _, l := range s.Labels {
			m = appendLabelString(m, l.Name, l.Value)
		}
		h := w.val[:0]
		h = appendVarint(h, histCount, s.Count)
		h = appendDouble(h, histSum, s.Sum)
		for k, b := range s.Bounds {
			n := protowire.SizeTag(bucketCount) + protowire.SizeVarint(s.Cumulative[k]) +
				protowire.SizeTag(bucketBound) + protowire.SizeFixed64()
			h = protowire.AppendTag(h, histBucket, protowire.BytesType)
			h = protowire.AppendVarint(h, uint64(n))
			h = appendVarint(h, bucketCount, s.Cumulative[k])
			h = appendDouble(h, bucketBound, b)
		}
		h = appendVarint(h, histSchema, protowire.EncodeZigZag(int64(s.Schema)))
		h = appendDouble(h, histZeroThreshold, s.ZeroThreshold)
		h = appendVarint(h, histZeroCount, s.ZeroCount)
		for _, sp := range s.Spans {
			n := protowire.SizeTag(spanOffset) + protowire.SizeVarint(protowire.EncodeZigZag(int64(sp.Offset))) +
				protowire.SizeTag(spanLength) + protowire.SizeVarint(uint64(sp.Length))
			h = protowire.AppendTag(h, histPositiveSpan, protowire.BytesType)
			h = protowire.AppendVarint(h, uint64(n))
			h = appendVarint(h, spanOffset, protowire.EncodeZigZag(int64(sp.Offset)))
			h = appendVarint(h, spanLength, uint64(sp.Length))
		}
		for _, d := range s.Deltas { // not packed: metrics.proto is proto2
			h = appendVarint(h, histPositiveDelta, protowire.EncodeZigZag(d))
		}
		w.val = h
		m = appendBytes(m, metricHistogram, h)
		w.m = m
		w.fam = appendBytes(w.fam, familyMetric, m)
	}
	if err := w.fam.writeTo(w.w); err != nil {
		return fmt.Errorf("write family %s: %w", f.Name, err)
	}
	return nil
}

func appendLabelString(b []byte, name, value string) []byte {
	n := protowire.SizeTag(labelName) + protowire.SizeBytes(len(name)) +
		protowire.SizeTag(labelValue) + protowire.SizeBytes(len(value))
	b = protowire.AppendTag(b, metricLabel, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = appendString(b, labelName, name)
	return appendString(b, labelValue, value)
}

// validate checks what Prometheus would refuse, or what would make the
// message say something else than meant.
func (f *HistogramFamily) validate() error {
	if !validMetricName([]byte(f.Name)) {
		return fmt.Errorf("histogram: invalid metric name %q", f.Name)
	}
	if !utf8.ValidString(f.Help) {
		return fmt.Errorf("histogram %s: help not UTF-8", f.Name)
	}
	for i := range f.Series {
		if err := f.Series[i].validate(); err != nil {
			return fmt.Errorf("histogram %s, series %d: %w", f.Name, i, err)
		}
	}
	return nil
}

func (s *HistogramSeries) validate() error {
	for _, l := range s.Labels {
		if !validLabelName(l.Name) || l.Name == "le" {
			return fmt.Errorf("invalid label name %q", l.Name)
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("label %s: value not UTF-8", l.Name)
		}
	}
	if len(s.Bounds) != len(s.Cumulative) {
		return fmt.Errorf("%d bounds, %d cumulative counts", len(s.Bounds), len(s.Cumulative))
	}
	for i, b := range s.Bounds {
		if math.IsNaN(b) || math.IsInf(b, 0) || i > 0 && b <= s.Bounds[i-1] {
			return fmt.Errorf("bound %d (%v): bounds must be finite and increase", i, b)
		}
		if s.Cumulative[i] > s.Count || i > 0 && s.Cumulative[i] < s.Cumulative[i-1] {
			return fmt.Errorf("bucket %d: cumulative count %d does not fit", i, s.Cumulative[i])
		}
	}
	if s.Schema < -4 || s.Schema > 8 {
		return fmt.Errorf("schema %d: not in -4..8", s.Schema)
	}
	var n uint64
	for _, sp := range s.Spans {
		n += uint64(sp.Length)
	}
	if n != uint64(len(s.Deltas)) {
		return fmt.Errorf("spans hold %d buckets, %d deltas", n, len(s.Deltas))
	}
	return nil
}

func validLabelName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i], i == 0, false) {
			return false
		}
	}
	return len(s) > 0
}

// AppendTextHistogram appends the text form (format 0.0.4) of f to dst:
// # HELP and # TYPE histogram, then for each series its classic buckets
// as name_bucket with le last among the labels ("+Inf" for the last
// bucket, the others as Prometheus formats floats: 0.001, 2.5, 1e-05),
// name_sum and name_count. Label values are escaped as the format wants
// them; a byte that is not UTF-8 becomes U+FFFD. The native fields have
// no text form and are left out. f's names must be valid; Histogram
// checks them.
func AppendTextHistogram(dst []byte, f HistogramFamily) []byte {
	dst = append(dst, "# HELP "...)
	dst = append(dst, f.Name...)
	dst = append(dst, ' ')
	dst = appendHelpText(dst, f.Help)
	dst = append(dst, "\n# TYPE "...)
	dst = append(dst, f.Name...)
	dst = append(dst, " histogram\n"...)
	for i := range f.Series {
		s := &f.Series[i]
		for k, b := range s.Bounds {
			dst = appendTextSample(dst, f.Name, "_bucket", s.Labels, b)
			dst = strconv.AppendUint(dst, s.Cumulative[k], 10)
			dst = append(dst, '\n')
		}
		dst = appendTextSample(dst, f.Name, "_bucket", s.Labels, math.Inf(1))
		dst = strconv.AppendUint(dst, s.Count, 10)
		dst = append(dst, '\n')
		dst = appendTextSample(dst, f.Name, "_sum", s.Labels, math.NaN())
		dst = appendFloat(dst, s.Sum)
		dst = append(dst, '\n')
		dst = appendTextSample(dst, f.Name, "_count", s.Labels, math.NaN())
		dst = strconv.AppendUint(dst, s.Count, 10)
		dst = append(dst, '\n')
	}
	return dst
}

// appendTextSample appends name+suffix, the labels (and le when le is
// not NaN) and the blank before the value.
func appendTextSample(b []byte, name, suffix string, labels []Label, le float64) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	withLe := !math.IsNaN(le)
	if len(labels) > 0 || withLe {
		b = append(b, '{')
		for i, l := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTextLabel(b, l.Name, l.Value)
		}
		if withLe {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = append(b, `le="`...)
			b = appendFloat(b, le)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, ' ')
}

func appendTextLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	return append(AppendLabelValue(b, value), '"')
}

// AppendLabelValue appends s escaped as the text format wants a label
// value: valid UTF-8 with \\, \" and \n escaped. A byte that is not
// UTF-8 becomes U+FFFD: one invalid value makes Prometheus reject the
// whole scrape.
func AppendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size - 1
		}
	}
	return b
}

// appendHelpText appends help escaped as # HELP wants it: \\ and \n.
func appendHelpText(b []byte, help string) []byte {
	for i := 0; i < len(help); i++ {
		switch c := help[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat formats v as Prometheus' text encoder does: +Inf, -Inf,
// NaN, else the shortest 'g' form.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
