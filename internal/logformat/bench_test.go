package logformat

import (
	"fmt"
	"math/rand/v2"
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

// BenchmarkParseAdd is pull's work per log line: parse an option httplog
// line as HAProxy 2.6 frames it, and count it in the histograms of its
// frontend, backend and server; the lines name 100 or 10 000 servers of
// 10 backends, in random order: with 10 000, the histograms' memory is
// not in the cache, as on a big load balancer.
func BenchmarkParseAdd(b *testing.B) {
	for _, servers := range []int{100, 10000} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) { benchParseAdd(b, servers) })
	}
}

func benchParseAdd(b *testing.B, servers int) {
	r := rand.New(rand.NewPCG(1, 2))
	msgs := make([][]byte, 1<<14)
	for i := range msgs {
		be, srv, tr := r.IntN(10), r.IntN(servers/10), int(r.ExpFloat64()*40)
		msgs[i] = fmt.Appendf(nil, "<134>Dec  8 02:20:00 haproxy[1234]: 127.0.0.1:%d [08/Dec/2026:02:20:00.%03d] fe%d be%d/s%d %d/0/%d/%d/%d 200 %d - - ---- 10/10/1/0/0 0/0 \"GET /api/v1/items/%d HTTP/1.1\"",
			10000+i, i%1000, be, be, srv, r.IntN(3), r.IntN(2), tr, tr+r.IntN(5), 200+r.IntN(5000), i)
	}
	p := newParser(b, "auto")
	set := latency.NewSet(0)
	var l latency.Line
	for _, m := range msgs {
		if !p.Parse(m, &l) {
			b.Fatalf("not parsed: %q", m)
		}
		set.Add(&l)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p.Parse(msgs[n&(1<<14-1)], &l)
		set.Add(&l)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(set.Series()), "histograms")
}
