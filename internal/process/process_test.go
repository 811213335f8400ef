package process

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

const prefix = "loadbalancers.lb-01_example_com.haproxy"

// sink records what it accepted; it refuses while fail is set and can
// block until released.
type sink struct {
	name  string
	mu    sync.Mutex
	got   map[int64][]metric.Metric // snapshot time → metrics accepted
	sends int
	fail  error
	block chan struct{}
	order []int64 // times of the snapshots accepted, in order
	// starts are the times of the snapshots handed over as lines, in the
	// order the sink was given them (lineSink), before any was accepted.
	starts []int64
}

func newSink(name string) *sink { return &sink{name: name, got: map[int64][]metric.Metric{}} }

func (s *sink) Name() string { return s.name }

func (s *sink) Send(ctx context.Context, ms []metric.Metric) error {
	s.mu.Lock()
	block, fail := s.block, s.fail
	s.sends++
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[ms[0].Time] = append(s.got[ms[0].Time], ms...)
	s.order = append(s.order, ms[0].Time)
	return nil
}

func (s *sink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *sink) snapshot(ts int64) []metric.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[ts]
}

func (s *sink) count() (sends, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends, len(s.order)
}

// spoolWith makes src-dir with snapshots named after ts, each holding
// the four reply files of the worked example (BEHAVIOR.md §13).
func spoolWith(t *testing.T, ts ...string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "incoming")
	spoolInto(t, src, ts...)
	return src
}

// spoolInto is spoolWith for a given src-dir.
func spoolInto(t *testing.T, src string, ts ...string) {
	t.Helper()
	for _, name := range ts {
		dir := filepath.Join(src, name)
		haproxytest.WriteExample(t, dir)
		os.WriteFile(filepath.Join(dir, ".pull-stats"), []byte("PullRoundsSkipped: 7\nPullRoundsCommitted: 12\n"), 0o644)
	}
}

// newProcessor returns a Processor for src. Sinks named graphite or
// local-store take lines, as the real ones do (lineSink), so that
// snapshots go the streamed way; others take metrics.
func newProcessor(src string, workers int, sinks ...Sink) *Processor {
	sinks = asLineSinks(sinks)
	p := New(config.Process{SrcDir: src, Workers: workers}, stats.Options{Prefix: prefix}, sinks, slog.New(slog.DiscardHandler))
	p.RetryDelay = 20 * time.Millisecond
	p.ShutdownTimeout = 500 * time.Millisecond
	return p
}

// waitLong bounds every wait for an event that must come: it only ends
// a failing test, so it is generous for a busy machine.
const waitLong = 30 * time.Second

// run feeds paths to p, waits until cond holds (failing the test if it
// does not within waitLong), then stops p and waits for Run to return.
func run(t *testing.T, p *Processor, paths []string, cond func() bool) {
	t.Helper()
	stop := start(t, p, paths)
	defer stop()
	haproxytest.WaitFor(t, "the processor reaches the state the test waits for", waitLong, nil, cond)
}

// start feeds paths to p in a new Run, and returns the function that
// stops it and waits for Run to return. In a synctest bubble, start it
// in the bubble.
func start(t *testing.T, p *Processor, paths []string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan string, len(paths))
	for _, path := range paths {
		ch <- path
	}
	done := make(chan struct{})
	go func() {
		p.Run(ctx, ch)
		close(done)
	}()
	return func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(waitLong):
			t.Fatal("Run did not return after cancel")
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestDeliversThenRemoves(t *testing.T) {
	src := spoolWith(t, "1500000000")
	g, l := newSink("graphite"), newSink("local-store")
	p := newProcessor(src, 2, g, l)
	snap := filepath.Join(src, "1500000000")
	run(t, p, []string{snap}, func() bool { return !exists(snap) })

	if exists(snap) {
		t.Fatal("snapshot not removed after every sink accepted it")
	}
	ms := g.snapshot(1500000000)
	if len(ms) == 0 || !slices.Equal(ms, l.snapshot(1500000000)) {
		t.Fatalf("sinks got %d and %d metrics, want the same non-empty set", len(ms), len(l.snapshot(1500000000)))
	}
	byPath := map[string]float64{}
	for _, m := range ms {
		if m.Time != 1500000000 {
			t.Errorf("%s has time %d, want the snapshot's name", m.Path, m.Time)
		}
		byPath[strings.TrimPrefix(m.Path, prefix+".")] = m.Value
	}
	for path, want := range map[string]float64{
		"daemon.CurrConns":              450,
		"frontend.www_example_com.stot": 160,
		"backend.app.TotalServers":      2,
		"haproxystats.MetricsHAProxy":   46,
		"haproxystats.MetricsFrontend":  32,
		"haproxystats.MetricsBackend":   41,
		"haproxystats.MetricsServer":    66,
		"haproxystats.SnapshotsFailed":  0,
		"haproxystats.FilesRejected":    0,
	} {
		if got, ok := byPath[path]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
		}
	}
	for _, name := range []string{"WallClockTimeHAProxy", "WallClockTimeFrontends", "WallClockTimeBackends", "WallClockTimeServers", "WallClockTimeAllStats", "TotalWallClockTime"} {
		if _, ok := byPath["haproxystats."+name]; !ok {
			t.Errorf("self-statistic %s missing", name)
		}
	}
	if p.Processed.Load() != 1 {
		t.Errorf("processed = %d", p.Processed.Load())
	}
}

// A sink that refuses keeps the snapshot on disk; it is retried, and the
// sink that already accepted it is not sent it again.
func TestRefusedSnapshotStaysAndIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := spoolWith(t, "1500000000")
		g, l := newSink("graphite"), newSink("local-store")
		l.setFail(errors.New("disk full"))
		p := newProcessor(src, 1, g, l)
		snap := filepath.Join(src, "1500000000")
		stop := start(t, p, []string{snap})
		defer stop()
		// Virtual time: past several retries (RetryDelay is 20 ms), each
		// a chance to remove the snapshot wrongly.
		time.Sleep(200 * time.Millisecond) // virtual
		synctest.Wait()
		if sends, _ := l.count(); sends < 2 {
			t.Fatalf("local-store: %d sends after 200 ms, want retries", sends)
		}
		if !exists(snap) {
			t.Fatal("snapshot removed while a sink refused it")
		}
		l.setFail(nil)
		time.Sleep(time.Minute) // virtual: past the longest retry pause
		synctest.Wait()
		if exists(snap) {
			t.Fatal("snapshot not removed once the sink recovered")
		}
		if sends, acc := l.count(); sends < 2 || acc != 1 {
			t.Errorf("local-store: %d sends, %d accepted; want retries then one acceptance", sends, acc)
		}
		if sends, acc := g.count(); sends != 1 || acc != 1 {
			t.Errorf("graphite: %d sends, %d accepted; want exactly one of each (no duplicate)", sends, acc)
		}
		if p.Retries.Load() == 0 {
			t.Error("retries not counted")
		}
	})
}

func TestGarbageIsQuarantined(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	snap := filepath.Join(src, "1500000000")
	os.MkdirAll(snap, 0o755)
	os.WriteFile(filepath.Join(snap, "a.sock_stat"), []byte("\x00garbage\n"), 0o644)
	os.WriteFile(filepath.Join(snap, "a.sock_info"), []byte("no fields here\n"), 0o644)
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	run(t, p, []string{snap}, func() bool { return p.Failed.Load() == 1 })
	if exists(snap) {
		t.Fatal("garbage snapshot still in the queue")
	}
	if !exists(filepath.Join(filepath.Dir(src), "failed", "1500000000", "a.sock_stat")) {
		t.Fatal("garbage snapshot not kept in failed/ for inspection")
	}
	if _, acc := g.count(); acc != 0 {
		t.Errorf("sink received %d batches from a garbage snapshot", acc)
	}
}

// One corrupt reply is excluded; the rest of the snapshot is processed.
func TestCorruptReplyExcluded(t *testing.T) {
	src := spoolWith(t, "1500000000")
	snap := filepath.Join(src, "1500000000")
	os.WriteFile(filepath.Join(snap, "admin3.sock_stat"), []byte("# pxname,svname,stot,\nweb,FRONTEND,1,2,3,\n\n"), 0o644)
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	if p.Rejected.Load() != 1 {
		t.Errorf("rejected = %d, want 1", p.Rejected.Load())
	}
	var stot float64
	for _, m := range g.snapshot(1500000000) {
		if m.Path == prefix+".frontend.www_example_com.stot" {
			stot = m.Value
		}
	}
	if stot != 160 {
		t.Errorf("frontend stot = %v, want 160 from the two good replies", stot)
	}
}

func TestEmptySnapshotRemoved(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	snap := filepath.Join(src, "1500000000")
	os.MkdirAll(snap, 0o755)
	p := newProcessor(src, 1, newSink("graphite"))
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	if exists(snap) || p.Failed.Load() != 0 {
		t.Fatalf("empty snapshot: exists=%v failed=%d", exists(snap), p.Failed.Load())
	}
}

func TestOldestFirst(t *testing.T) {
	src := spoolWith(t, "1500000020", "1500000000", "1500000010")
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	var paths []string
	for _, n := range []string{"1500000020", "1500000000", "1500000010"} {
		paths = append(paths, filepath.Join(src, n))
	}
	// Fill the queue before the single worker starts taking.
	for _, path := range paths {
		p.q.push(path)
	}
	run(t, p, nil, func() bool { _, acc := g.count(); return acc == 3 })
	g.mu.Lock()
	defer g.mu.Unlock()
	// The order the sink was handed them (and the Graphite sender writes
	// them); acceptance may end out of order, as confirmations overlap.
	if want := []int64{1500000000, 1500000010, 1500000020}; !slices.Equal(g.starts, want) {
		t.Fatalf("order = %v, want %v", g.starts, want)
	}
}

// On shutdown a snapshot whose sink does not answer stays on disk, and Run
// returns within the shutdown bound.
func TestShutdownKeepsUndelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := spoolWith(t, "1500000000")
		g := newSink("graphite")
		g.block = make(chan struct{}) // never released
		p := newProcessor(src, 1, g)
		snap := filepath.Join(src, "1500000000")
		stop := start(t, p, []string{snap})
		synctest.Wait()
		if s, _ := g.count(); s != 1 {
			t.Fatalf("%d sends, want the snapshot in the sink's hands", s)
		}
		began := time.Now()
		stop()
		if took := time.Since(began); took > p.ShutdownTimeout {
			t.Errorf("shutdown took %v, bound %v", took, p.ShutdownTimeout)
		}
		if !exists(snap) {
			t.Fatal("undelivered snapshot removed on shutdown")
		}
	})
}

func TestDuplicateAnnouncementsProcessedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := spoolWith(t, "1500000000")
		g := newSink("graphite")
		p := newProcessor(src, 2, g)
		snap := filepath.Join(src, "1500000000")
		stop := start(t, p, []string{snap, snap, snap})
		defer stop()
		synctest.Wait() // every announcement taken, and the workers idle
		if exists(snap) {
			t.Fatal("snapshot not removed")
		}
		if _, acc := g.count(); acc != 1 {
			t.Fatalf("snapshot delivered %d times, want once", acc)
		}
	})
}

func TestExcludeFileReadPerSnapshot(t *testing.T) {
	src := spoolWith(t, "1500000000")
	ex := filepath.Join(t.TempDir(), "exclude")
	os.WriteFile(ex, []byte("# comment\nwww.example.com\n"), 0o644)
	g := newSink("graphite")
	p := New(config.Process{SrcDir: src, Workers: 1, ExcludeFrontends: ex}, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	snap := filepath.Join(src, "1500000000")
	run(t, p, []string{snap}, func() bool { return !exists(snap) })
	for _, m := range g.snapshot(1500000000) {
		if strings.Contains(m.Path, ".frontend.www_example_com.") {
			t.Fatalf("excluded frontend emitted: %s", m.Path)
		}
	}
}

// A snapshot that vanished before a worker took it (removed by hand, or
// by another processor) is forgotten: not counted as failed, nothing
// quarantined.
func TestVanishedSnapshotForgotten(t *testing.T) {
	src := spoolWith(t, "1500000001")
	gone := filepath.Join(src, "1500000000") // never created
	g := newSink("graphite")
	p := newProcessor(src, 1, g)
	run(t, p, []string{gone, filepath.Join(src, "1500000001")}, func() bool { _, acc := g.count(); return acc == 1 })
	if p.Failed.Load() != 0 || exists(filepath.Join(filepath.Dir(src), "failed")) {
		t.Fatalf("vanished snapshot: failed=%d, failed/ exists=%v", p.Failed.Load(), exists(filepath.Join(filepath.Dir(src), "failed")))
	}
}
