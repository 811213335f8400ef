package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// discardLines is a sink that takes lines and keeps nothing, so that a
// snapshot takes the streamed path every Graphite-only daemon takes.
type discardLines struct{}

func (discardLines) Name() string                                  { return "discard" }
func (discardLines) Send(context.Context, []metric.Metric) error   { return nil }
func (discardLines) SendLines(context.Context, metric.Lines) error { return nil }

// BenchmarkRenderLines is one snapshot of 4 processes × 10 000 servers
// (500 backends × 20, 50 frontends) from its spool directory to rendered
// Graphite lines, on the streamed path: what the workers do per snapshot
// before the sinks write. Allocations per snapshot are the figure to
// watch (-benchmem): the streamed path reuses its buffers.
func BenchmarkRenderLines(b *testing.B) {
	src := filepath.Join(b.TempDir(), "incoming")
	dir := filepath.Join(src, "1500000000")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var size int64
	for i, data := range stats.GenerateStat(4, 50, 500, 20, 1) {
		info := fmt.Sprintf("Name: HAProxy\nVersion: 2.6.12\nProcess_num: %d\nPid: %d\nUptime_sec: 100\n\n", i+1, 100+i)
		for name, b2 := range map[string][]byte{"_stat": data, "_info": []byte(info)} {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("admin%d.sock%s", i+1, name)), b2, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		size += int64(len(data))
	}
	opts := stats.Options{Prefix: prefix, AggrServers: true}
	p := New(config.Process{SrcDir: src, Workers: 1}, opts, []Sink{discardLines{}}, slog.New(slog.DiscardHandler))
	log := slog.New(slog.DiscardHandler)
	b.ReportAllocs()
	b.SetBytes(size)
	var lines int
	for b.Loop() {
		l, _, err := p.render(dir, log)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := l.(*snapLines); !ok {
			b.Fatalf("rendered as %T, not streamed", l)
		}
		if _, err := l.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
		lines = l.Len()
	}
	if lines < 600_000 {
		b.Fatalf("%d lines, want the whole snapshot", lines)
	}
	b.ReportMetric(float64(lines), "lines/snapshot")
}
