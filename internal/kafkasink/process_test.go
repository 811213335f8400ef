package kafkasink

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// TestProcessDaemon runs the process daemon's worker pool with a Kafka
// sink on a spool holding the snapshot of the worked example while the
// broker refuses every produce request: the snapshot must stay on disk.
// Once the broker accepts again, the snapshot must be delivered whole and
// only then removed.
func TestProcessDaemon(t *testing.T) {
	for _, format := range []string{"graphite", "json"} {
		t.Run(format, func(t *testing.T) {
			c := newCluster(t)
			cfg := testConfig(c.ListenAddrs())
			cfg.Format = format
			s := newSink(t, cfg)

			src := filepath.Join(t.TempDir(), "incoming")
			snap := filepath.Join(src, "1500000000")
			haproxytest.WriteExample(t, snap)

			fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
			log := slog.New(slog.DiscardHandler)
			p := process.New(config.Process{SrcDir: src, Workers: 2},
				stats.Options{Prefix: "loadbalancers.lb-01_example_com.haproxy"}, []process.Sink{s}, log)
			p.RetryDelay = 50 * time.Millisecond
			p.ShutdownTimeout = 5 * time.Second
			ctx, cancel := context.WithCancel(context.Background())
			snapshots := make(chan string, 1)
			snapshots <- snap
			done := make(chan struct{})
			go func() {
				p.Run(ctx, snapshots)
				close(done)
			}()
			defer func() {
				cancel()
				<-done
			}()

			haproxytest.WaitFor(t, "two refused deliveries", time.Minute, nil, func() bool { return s.refused.Load() >= 2 })
			if !exists(snap) {
				t.Fatal("snapshot removed while the broker refused it")
			}
			if p.Processed.Load() != 0 || p.Retries.Load() < 1 {
				t.Errorf("processed %d, retries %d while the broker refused", p.Processed.Load(), p.Retries.Load())
			}

			fault.Remove()
			haproxytest.WaitFor(t, "snapshot removed", time.Minute, nil, func() bool { return !exists(snap) })
			haproxytest.WaitFor(t, "snapshot counted as processed", time.Minute, nil, func() bool { return p.Processed.Load() == 1 })

			// Every line of the example, and the sink's own counters,
			// were acknowledged before the directory went away.
			want := append(goldenLines(t), "loadbalancers.lb-01_example_com.haproxy.haproxystats.KafkaSnapshotsRefused")
			var parse func([]*kgo.Record) []string
			if format == "json" {
				parse = jsonLines(t)
			} else {
				parse = lines
			}
			recs := consume(t, c.ListenAddrs(), nil, func(recs []*kgo.Record) bool {
				got := map[string]bool{}
				for _, l := range parse(recs) {
					got[l] = true
					if path, _, ok := strings.Cut(l, " "); ok && strings.HasSuffix(path, ".KafkaSnapshotsRefused") {
						got[path] = true
					}
				}
				for _, l := range want {
					if !got[l] {
						return false
					}
				}
				return true
			})
			checkKeys(t, recs)
		})
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
