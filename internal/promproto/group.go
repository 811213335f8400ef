package promproto

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A series is one summary or histogram of a family being read: several
// lines of the text, one Metric of the message.
type series struct {
	labels           []byte // LabelPair fields
	ms               int64  // timestamp, when hasTs
	hasTs            bool
	sum, count       float64
	hasSum, hasCount bool
	points           []point // quantiles, or buckets, in the order read
}

// A point is a summary's quantile and its value, or a histogram's upper
// bound and its cumulative count.
type point struct{ at, v float64 }

// point adds a line of a summary or histogram (role, value v) to the
// series of its labels, which are in w.m. As expfmt's text parser
// does, the last timestamp of the series' lines is the series'.
func (w *Writer) point(name []byte, role int, v float64, hasTs bool, ms int64) error {
	if w.byLabels == nil {
		w.byLabels = make(map[string]int)
	}
	i, ok := w.byLabels[string(w.m)]
	if !ok {
		i = len(w.series)
		w.byLabels[string(w.m)] = i
		w.series = append(w.series, series{labels: append([]byte(nil), w.m...)})
	}
	s := &w.series[i]
	if hasTs {
		s.ms, s.hasTs = ms, true
	}
	switch role {
	case roleSum:
		s.sum, s.hasSum = v, true
	case roleCount:
		s.count, s.hasCount = v, true
	case roleBucket, roleValue:
		if role == roleValue && w.cur.typ == metricHistogram {
			return fmt.Errorf("%s: a histogram's sample without _bucket, _sum or _count", name)
		}
		if !w.hasSpecial && role == roleBucket {
			return fmt.Errorf("%s: no le label", name)
		}
		if !w.hasSpecial {
			return fmt.Errorf("%s: no quantile label", name)
		}
		if w.cur.typ == metricHistogram && v < 0 {
			return errors.New("negative bucket count")
		}
		s.points = append(s.points, point{w.special, v})
	}
	return nil
}

// appendSeries appends the series of the family read (histograms when
// hist, else summaries), as Metric fields
// of w.fam, and forgets them.
func (w *Writer) appendSeries(hist bool) {
	for i := range w.series {
		s := &w.series[i]
		m := append(w.m[:0], s.labels...)
		b := w.val[:0]
		if hist {
			b = appendHistogram(b, s)
			m = appendBytes(m, metricHistogram, b)
		} else {
			b = appendSummary(b, s)
			m = appendBytes(m, metricSummary, b)
		}
		if s.hasTs {
			m = appendVarint(m, metricTimestamp, uint64(s.ms))
		}
		w.val, w.m = b, m
		w.fam = appendBytes(w.fam, familyMetric, m)
	}
	clear(w.series)
	w.series = w.series[:0]
	clear(w.byLabels)
}

func appendSummary(b []byte, s *series) []byte {
	if s.hasCount {
		b = appendVarint(b, summaryCount, uint64(s.count))
	}
	if s.hasSum {
		b = appendDouble(b, summarySum, s.sum)
	}
	for _, p := range s.points {
		b = protowire.AppendTag(b, summaryQuantile, protowire.BytesType)
		b = protowire.AppendVarint(b, 18) // two tags and two doubles
		b = appendDouble(b, quantileQuantile, p.at)
		b = appendDouble(b, quantileValue, p.v)
	}
	return b
}

// appendHistogram appends a classic histogram. As expfmt's text parser
// does, counts are written as integers, unless one of them is not whole:
// then all are written as floats.
func appendHistogram(b []byte, s *series) []byte {
	floats := s.hasCount && !whole(s.count)
	for _, p := range s.points {
		floats = floats || !whole(p.v)
	}
	switch {
	case floats: // even without a _count line, as expfmt
		b = appendDouble(b, histCountFloat, s.count)
	case s.hasCount:
		b = appendVarint(b, histCount, uint64(s.count))
	}
	if s.hasSum {
		b = appendDouble(b, histSum, s.sum)
	}
	for _, p := range s.points {
		b = protowire.AppendTag(b, histBucket, protowire.BytesType)
		if floats {
			b = protowire.AppendVarint(b, 18)
			b = appendDouble(b, bucketCountFloat, p.v)
		} else {
			n := protowire.SizeTag(bucketCount) + protowire.SizeVarint(uint64(p.v)) + 9
			b = protowire.AppendVarint(b, uint64(n))
			b = appendVarint(b, bucketCount, uint64(p.v))
		}
		b = appendDouble(b, bucketBound, p.at)
	}
	return b
}

// whole reports whether v is a count that uint64 holds exactly.
func whole(v float64) bool { return v >= 0 && v < math.MaxUint64 && v == math.Trunc(v) }
