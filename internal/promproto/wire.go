package promproto

import (
	"encoding/binary"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The field numbers of metrics.proto (package io.prometheus.client), the
// schema the messages follow. It is proto2: repeated scalars are not
// packed, and an optional field is present or not, so a value of 0 is
// written all the same.
const (
	familyName   = 1 // MetricFamily: string
	familyHelp   = 2 // string
	familyType   = 3 // MetricType
	familyMetric = 4 // repeated Metric

	metricLabel     = 1 // Metric: repeated LabelPair
	metricGauge     = 2 // Gauge
	metricCounter   = 3 // Counter
	metricSummary   = 4 // Summary
	metricUntyped   = 5 // Untyped
	metricTimestamp = 6 // int64, ms
	metricHistogram = 7 // Histogram

	labelName  = 1 // LabelPair: string
	labelValue = 2 // string

	valueValue = 1 // Gauge, Counter, Untyped: double

	summaryCount    = 1 // Summary: uint64
	summarySum      = 2 // double
	summaryQuantile = 3 // repeated Quantile

	quantileQuantile = 1 // Quantile: double
	quantileValue    = 2 // double

	histCount         = 1  // Histogram: uint64
	histCountFloat    = 4  // double, when the count is not whole
	histSum           = 2  // double
	histBucket        = 3  // repeated Bucket
	histSchema        = 5  // sint32
	histZeroThreshold = 6  // double
	histZeroCount     = 7  // uint64
	histPositiveSpan  = 12 // repeated BucketSpan
	histPositiveDelta = 13 // repeated sint64

	bucketCount      = 1 // Bucket: uint64, cumulative
	bucketCountFloat = 4 // double, when the count is not whole
	bucketBound      = 2 // double, the upper bound

	spanOffset = 1 // BucketSpan: sint32
	spanLength = 2 // uint32
)

// The values of enum MetricType.
const (
	typeCounter   = 0
	typeGauge     = 1
	typeSummary   = 2
	typeUntyped   = 3
	typeHistogram = 4
)

// headroom is the room left before a family's message for its length,
// the longest varint.
const headroom = binary.MaxVarintLen64

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, s []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// appendValue appends a Gauge, Counter or Untyped message, as field num
// of a Metric, holding v.
func appendValue(b []byte, num protowire.Number, v float64) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, 9) // the tag and 8 bytes of the double
	return appendDouble(b, valueValue, v)
}

// appendLabel appends a LabelPair as field 1 of a Metric.
func appendLabel(b []byte, name, value []byte) []byte {
	n := protowire.SizeTag(labelName) + protowire.SizeBytes(len(name)) +
		protowire.SizeTag(labelValue) + protowire.SizeBytes(len(value))
	b = protowire.AppendTag(b, metricLabel, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = appendBytes(b, labelName, name)
	return appendBytes(b, labelValue, value)
}

// family is the message of a family being encoded: the fields from
// headroom on, the room before them for the length.
type family []byte

func newFamily(b []byte) family { return append(b[:0], make([]byte, headroom)...) }

// writeTo writes the message, its length first, to w, in one Write.
func (f family) writeTo(w io.Writer) error {
	n := uint64(len(f) - headroom)
	k := protowire.SizeVarint(n)
	start := headroom - k
	protowire.AppendVarint(f[start:start], n)
	_, err := w.Write(f[start:])
	return err
}
