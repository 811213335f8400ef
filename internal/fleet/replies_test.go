package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/kafka"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/process"
	"github.com/haproxystats-go/haproxystats/internal/record"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// A record, or a reply inflated from one, that cannot go to a file (here
// the spill directory is missing) is kept in memory and reads as it
// was; the log says so once per run of failures, naming the directory.
func TestSpillWithoutAFile(t *testing.T) {
	var log bytes.Buffer
	c := NewConsumer(nil, Paths{}, time.Second, time.Second, 3, slog.New(slog.NewTextHandler(&log, nil)))
	c.Spill.Dir, c.Spill.Threshold = filepath.Join(t.TempDir(), "missing"), 1
	want := record.Record{Host: "lb-a", Cluster: "dc1", Epoch: 1500000000, Files: haproxytest.ExampleSnapshot(t)}
	b, err := record.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h, err := c.open(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.host != want.Host || len(h.files) != len(want.Files) {
			t.Fatalf("opened %s with %d files, want %s with %d", h.host, len(h.files), want.Host, len(want.Files))
		}
		for i, f := range h.files {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadAll()
			if err != nil || !bytes.Equal(got, want.Files[i].Data) || f.Name != want.Files[i].Name || r.InFile() {
				t.Fatalf("%s: %d bytes, %v, in a file %v; want its %d bytes in memory", f.Name, len(got), err, r.InFile(), len(want.Files[i].Data))
			}
			r.Release()
		}
		h.release()
	}
	if n := strings.Count(log.String(), "kept in memory until a file can be written"); n != 1 || !strings.Contains(log.String(), "missing") {
		t.Errorf("%d warnings, want 1 naming the directory:\n%s", n, log.String())
	}
}

// sliceSource gives its records at the first Poll, then none.
type sliceSource struct {
	mu      sync.Mutex
	recs    []kafka.Record
	commits []map[int32]kafka.Offset
}

func (s *sliceSource) Poll(ctx context.Context) []kafka.Record {
	s.mu.Lock()
	recs := s.recs
	s.recs = nil
	s.mu.Unlock()
	if recs == nil {
		<-ctx.Done()
	}
	return recs
}

func (s *sliceSource) AllowRebalance() {}
func (s *sliceSource) Close()          {}
func (s *sliceSource) Commit(_ context.Context, o map[int32]kafka.Offset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits = append(s.commits, o)
	return nil
}

// replaySink takes lines and writes them twice, as a Graphite replay
// after a lost connection does.
type replaySink struct {
	mu     sync.Mutex
	writes int
}

func (*replaySink) Name() string { return "replay" }
func (s *replaySink) SendLines(_ context.Context, l metric.Lines) error {
	for range 2 {
		if _, err := l.WriteTo(io.Discard); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.writes += 2
	s.mu.Unlock()
	return nil
}

// Per big fleet record, the compressed data is inflated once to check
// it whole, then once per file read and no more: the host's rendering
// and the bucket's each read its show stat replies, a replay reads them
// again, and no read inflates another file than its own. Version 1
// records (a producer not upgraded yet) are read file by file too.
func TestInflationsPerRecord(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := &replaySink{}
				proc := process.New(config.Process{SrcDir: filepath.Join(t.TempDir(), "incoming"), Workers: 1}, stats.Options{}, []process.Sink{sink}, discard)
				c := NewConsumer(proc, Paths{Namespace: "lb"}, time.Second, time.Second, 3, discard)
				c.Spill.Dir, c.Spill.Threshold = t.TempDir(), 1 // every reply through a file, as a big one
				var opened []*hostRecord
				c.opened = func(h *hostRecord) { opened = append(opened, h) }
				files := haproxytest.ExampleSnapshot(t)
				var stat []string // three show stat replies, as three processes give
				for _, f := range slices.Clone(files) {
					if strings.HasSuffix(f.Name, "_stat") {
						for _, s := range []string{"b", "c"} {
							files = append(files, spool.File{Name: s + f.Name, Data: f.Data})
						}
					}
				}
				slices.SortFunc(files, func(a, b spool.File) int { return strings.Compare(a.Name, b.Name) })
				for _, f := range files {
					if strings.HasSuffix(f.Name, "_stat") {
						stat = append(stat, f.Name)
					}
				}
				src := &sliceSource{}
				for i, h := range []string{"lb-a", "lb-b"} {
					rec := record.Record{Host: h, Cluster: "dc1", Epoch: time.Now().Unix(), Files: files}
					encode := record.Encode
					if version == 1 {
						encode = record.EncodeV1
					}
					b, err := encode(rec)
					if err != nil {
						t.Fatal(err)
					}
					src.recs = append(src.recs, kafka.Record{Partition: 0, Offset: int64(i), Value: b})
				}
				c.Attach(src)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); c.Run(ctx) }()
				for c.Emitted.Load() == 0 {
					time.Sleep(100 * time.Millisecond) // virtual
				}
				synctest.Wait()
				cancel()
				<-done
				if len(opened) != 2 {
					t.Fatalf("%d records opened, want 2", len(opened))
				}
				small := len(files) - len(stat) - countTyped(files)
				for _, h := range opened {
					inflations := h.rd.Inflations()
					// The small files once; each show stat reply for the
					// host's rendering and the bucket's, and again for the
					// second write of each (the first writes from the
					// replies parsed by the rendering).
					want := int64(small + 4*len(stat))
					if inflations != 1+want {
						t.Errorf("%s: %d inflations, want 1 + %d files read (%d small, %d show stat 4 times each)", h.host, inflations, want, small, len(stat))
					}
				}
				sink.mu.Lock()
				if sink.writes != 6 { // two hosts and a bucket, twice each
					t.Errorf("%d writes, want 6", sink.writes)
				}
				sink.mu.Unlock()
			})
		})
	}
}

// countTyped counts the typed show stat dumps, which are inflated only
// where natures are learned (all-metrics).
func countTyped(files []spool.File) int {
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f.Name, "_stattyped") {
			n++
		}
	}
	return n
}
