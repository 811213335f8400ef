package process

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

type nullLines struct{}

func (nullLines) Name() string                                        { return "null" }
func (nullLines) Send(ctx context.Context, ms []metric.Metric) error  { return nil }
func (nullLines) SendLines(ctx context.Context, l metric.Lines) error { return nil }

func TestZZProbe(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	p := New(config.Process{SrcDir: src, Workers: 1}, stats.Options{Prefix: prefix, AggrServers: true}, []Sink{nullLines{}}, slog.New(slog.DiscardHandler))
	runtime.MemProfileRate = 4096
	for i := range 6 {
		dir := filepath.Join(src, strconv.Itoa(1500000000+i))
		os.MkdirAll(src, 0o755)
		exec.Command("cp", "-r", "/tmp/probe/snap", dir).Run()
		l, err := p.render(dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		l.WriteTo(io.Discard)
	}
	f, _ := os.Create("/tmp/alloc.prof")
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
}
