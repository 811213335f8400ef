package logformat

import (
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/latency"
)

// benchParse parses the given lines of a capture over and over, and
// reports lines per second.
func benchParse(b *testing.B, format, file string, lines ...int) {
	p := newParser(b, format)
	all := readQuoted(b, file)
	var msgs [][]byte
	size := 0
	for _, i := range lines {
		msgs = append(msgs, all[i])
		size += len(all[i])
	}
	var l latency.Line
	for _, msg := range msgs {
		if !p.Parse(msg, &l) {
			b.Fatalf("not parsed: %q", msg)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(size / len(msgs)))
	n := 0
	for b.Loop() {
		if !p.Parse(msgs[n%len(msgs)], &l) {
			b.Fatal("not parsed")
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkParse: option httplog lines as HAProxy 2.6 sends them by
// default (RFC 3164 without the host), with the format given.
func BenchmarkParse(b *testing.B) {
	benchParse(b, HTTPLog, "testdata/haproxy-2.6/rfc3164.quoted", 0, 1, 2, 3, 4, 5, 12, 15)
}

// BenchmarkParseAuto: the same lines, recognised among the formats of
// "auto"; httplog is the first tried.
func BenchmarkParseAuto(b *testing.B) {
	benchParse(b, "auto", "testdata/haproxy-2.6/rfc3164.quoted", 0, 1, 2, 3, 4, 5, 12, 15)
}

// BenchmarkParseAutoTCP: option tcplog lines, which auto tries second.
func BenchmarkParseAutoTCP(b *testing.B) {
	benchParse(b, "auto", "testdata/haproxy-2.6/rfc3164.quoted", 13, 14)
}

// BenchmarkParseAutoCLF: option httplog clf lines, which auto tries last.
func BenchmarkParseAutoCLF(b *testing.B) {
	benchParse(b, "auto", "testdata/haproxy-2.6/rfc5424.quoted", 8, 9)
}

// BenchmarkParseCustom: fe_custom's log-format.
func BenchmarkParseCustom(b *testing.B) {
	benchParse(b, customFormat, "testdata/haproxy-2.6/rfc3164.quoted", 10, 11)
}
