package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
	"github.com/haproxystats-go/haproxystats/internal/spool"
	"github.com/haproxystats-go/haproxystats/internal/stats"
)

// lineSink is a sink that takes lines, as the Graphite sender and
// local-store do: it writes them, checks that Len told their number,
// parses them back into metrics and hands those to its sink (which may
// block or refuse). With keep it holds on to the lines it accepted, as
// the Graphite sender does for its replay window, until let go.
type lineSink struct {
	*sink
	keep bool
	mu   sync.Mutex
	kept []metric.Lines
	seen []metric.Lines // every Lines written, accepted or not
}

func asLineSinks(sinks []Sink) []Sink {
	out := make([]Sink, len(sinks))
	for i, s := range sinks {
		out[i] = s
		if b, ok := s.(*sink); ok && (b.name == "graphite" || b.name == "local-store") {
			out[i] = &lineSink{sink: b}
		}
	}
	return out
}

func (s *lineSink) SendLines(ctx context.Context, l metric.Lines) error {
	s.sink.mu.Lock()
	s.sink.starts = append(s.sink.starts, l.Time())
	s.sink.mu.Unlock()
	ms, err := readLines(l)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.seen = append(s.seen, l)
	s.mu.Unlock()
	if s.keep {
		if r, ok := l.(metric.Retained); ok {
			r.Retain()
		}
	}
	if err := s.sink.Send(ctx, ms); err != nil {
		if s.keep {
			l.(metric.Retained).Release()
		}
		return err
	}
	s.mu.Lock()
	if s.keep {
		s.kept = append(s.kept, l)
	}
	s.mu.Unlock()
	return nil
}

// letGo releases every Lines kept.
func (s *lineSink) letGo() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.kept {
		l.(metric.Retained).Release()
	}
	s.kept = nil
}

// readLines writes l and parses its lines, checking their count.
func readLines(l metric.Lines) ([]metric.Metric, error) {
	var buf bytes.Buffer
	n, err := l.WriteTo(&buf)
	if err != nil {
		return nil, err
	}
	if n != int64(buf.Len()) {
		return nil, fmt.Errorf("WriteTo said %d bytes, wrote %d", n, buf.Len())
	}
	ms, err := parseLines(buf.String())
	if err == nil && len(ms) != l.Len() {
		err = fmt.Errorf("Len() = %d, WriteTo wrote %d lines", l.Len(), len(ms))
	}
	return ms, err
}

func parseLines(text string) ([]metric.Metric, error) {
	var ms []metric.Metric
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasSuffix(line, "\n") {
			return nil, fmt.Errorf("bad line %q", line)
		}
		v, err1 := strconv.ParseFloat(f[1], 64)
		ts, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad line %q", line)
		}
		ms = append(ms, metric.Metric{Path: f[0], Value: v, Time: ts})
	}
	return ms, nil
}

// timing reports whether path is a self-statistic that measures time,
// whose value differs from one rendering to the next.
func timing(path string) bool { return strings.Contains(path, "WallClockTime") }

// The lines rendered as they are written are the metrics rendered in
// memory, in the same order: for the worked example, with a corrupt
// reply, with exclusions, and with all-metrics and typed dumps.
func TestLinesAreTheMetrics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(dir string) config.Process
		setup func(t *testing.T, src string) string
	}{
		{"example", nil, func(t *testing.T, src string) string {
			spoolInto(t, src, "1500000000")
			return filepath.Join(src, "1500000000")
		}},
		{"corrupt reply", nil, func(t *testing.T, src string) string {
			spoolInto(t, src, "1500000000")
			dir := filepath.Join(src, "1500000000")
			os.WriteFile(filepath.Join(dir, "admin3.sock_stat"), []byte("# pxname,svname,stot,\nweb,FRONTEND,1,2,3,\n\n"), 0o644)
			return dir
		}},
		{"exclusions", func(dir string) config.Process {
			f := filepath.Join(dir, "exclude")
			os.WriteFile(f, []byte("app\nwww.example.com\n"), 0o644)
			return config.Process{ExcludeFrontends: f, ExcludeBackends: f}
		}, func(t *testing.T, src string) string {
			spoolInto(t, src, "1500000000")
			return filepath.Join(src, "1500000000")
		}},
		{"all-metrics", func(string) config.Process { return config.Process{AllMetrics: true} }, func(t *testing.T, src string) string {
			return writeSnapshot(t, src, "1500000000", "3.0.5", true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var cfg config.Process
			if tc.cfg != nil {
				cfg = tc.cfg(root)
			}
			render := func(stream bool) []metric.Metric {
				src := filepath.Join(t.TempDir(), "incoming")
				dir := tc.setup(t, src)
				c := cfg
				c.SrcDir, c.Workers = src, 1
				var sinks []Sink
				if stream {
					sinks = []Sink{&lineSink{sink: newSink("graphite")}}
				} else {
					sinks = []Sink{newSink("kafka")}
				}
				p := New(c, stats.Options{Prefix: prefix}, sinks, slog.New(slog.DiscardHandler))
				out, _, err := p.render(dir, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := out.(*snapLines); ok != stream {
					t.Fatalf("streamed = %v, want %v", ok, stream)
				}
				ms, err := readLines(out)
				if err != nil {
					t.Fatal(err)
				}
				return ms
			}
			inMemory, streamed := render(false), render(true)
			if len(streamed) == 0 || len(streamed) != len(inMemory) {
				t.Fatalf("streamed %d lines, in memory %d", len(streamed), len(inMemory))
			}
			for i := range inMemory {
				a, b := inMemory[i], streamed[i]
				if a.Path != b.Path || a.Time != b.Time || a.Value != b.Value && !timing(a.Path) {
					t.Fatalf("line %d: in memory %v, streamed %v", i, a, b)
				}
			}
		})
	}
}

// A delivered snapshot's directory is removed at once; a sink that kept
// its lines (the Graphite replay window) renders the same lines from the
// replies the lines hold open, and they are closed when the sink lets
// go.
func TestDeliveredLinesOutliveTheirDirectory(t *testing.T) {
	src := spoolWith(t, "1500000000", "1500000010")
	g := &lineSink{sink: newSink("graphite"), keep: true}
	p := New(config.Process{SrcDir: src, Workers: 1}, stats.Options{Prefix: prefix}, []Sink{g}, slog.New(slog.DiscardHandler))
	first := filepath.Join(src, "1500000000")
	run(t, p, []string{first}, func() bool { return !exists(first) })

	if exists(first) || exists(spool.LayoutOf(src).Sent) {
		t.Fatalf("delivered snapshot: in incoming %v, sent/ made %v; want neither", exists(first), exists(spool.LayoutOf(src).Sent))
	}
	if len(g.kept) != 1 {
		t.Fatalf("sink kept %d Lines, want 1", len(g.kept))
	}
	if n := len(haproxytest.OpenIn(t, first)); n == 0 {
		t.Fatal("the kept lines hold no reply of the removed snapshot open")
	}
	l := g.kept[0].(*snapLines)
	if l.sites != nil {
		t.Error("parsed replies still held after delivery")
	}
	again, err := readLines(l) // a replay: parsed again from the replies held
	if err != nil {
		t.Fatal(err)
	}
	before := g.snapshot(1500000000)
	if len(again) != len(before) {
		t.Fatalf("replay rendered %d lines, first delivery %d", len(again), len(before))
	}
	for i := range before {
		if again[i] != before[i] {
			t.Fatalf("replay line %d = %v, first delivery %v", i, again[i], before[i])
		}
	}
	g.letGo()
	if n := len(haproxytest.OpenIn(t, first)); n != 0 {
		t.Fatalf("%d replies of the snapshot still open once the sink let go", n)
	}
	if _, err := l.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("WriteTo after the lines were let go did not fail")
	} else if _, ok := err.(*metric.SourceError); !ok {
		t.Errorf("WriteTo error %T %v, want a *metric.SourceError", err, err)
	}

	// Without a sink that keeps lines, nothing stays open.
	second := filepath.Join(src, "1500000010")
	p2 := New(config.Process{SrcDir: src, Workers: 1}, stats.Options{Prefix: prefix}, []Sink{&lineSink{sink: newSink("local-store")}}, slog.New(slog.DiscardHandler))
	run(t, p2, []string{second}, func() bool { return !exists(second) })
	if exists(second) || len(haproxytest.OpenIn(t, second)) != 0 {
		t.Error("snapshot no sink kept was not removed, or its replies are still open")
	}
}

// Leftovers of an earlier version's sent/ are removed at start; what is not named like a snapshot is left alone.
func TestCleanSent(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	sent := filepath.Join(spool.LayoutOf(src).Sent)
	os.MkdirAll(filepath.Join(sent, "1500000000"), 0o755)
	os.WriteFile(filepath.Join(sent, "1500000000", "a_stat"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(sent, "mine"), 0o755)
	p := newProcessor(src, 1, newSink("graphite"))
	run(t, p, nil, func() bool { return !exists(filepath.Join(sent, "1500000000")) })
	if exists(filepath.Join(sent, "1500000000")) {
		t.Error("leftover delivered snapshot not removed at start")
	}
	if !exists(filepath.Join(sent, "mine")) {
		t.Error("a directory not named like a snapshot was removed")
	}
}

// A snapshot from a master CLI's workers keeps its metrics in memory:
// counter offsets apply to them.
func TestWorkerSnapshotNotStreamed(t *testing.T) {
	src := filepath.Join(t.TempDir(), "incoming")
	dir := writeSnapshot(t, src, "1500000000", "3.0.5", false)
	os.Rename(filepath.Join(dir, "a1.sock_stat"), filepath.Join(dir, "m.sock@100_stat"))
	os.Rename(filepath.Join(dir, "a1.sock_info"), filepath.Join(dir, "m.sock@100_info"))
	p := newProcessor(src, 1, newSink("graphite"))
	out, _, err := p.render(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(metric.Slice); !ok {
		t.Fatalf("worker snapshot rendered as %T, want metric.Slice", out)
	}
}

func (s *lineSink) written() []metric.Lines {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// exposeSink is an ExpositionSink that keeps what it was given.
type exposeSink struct {
	mu   sync.Mutex
	seen []*stats.Exposition
	rows []int // the rows each exposition had when it was exposed
}

func (s *exposeSink) Name() string      { return "prometheus" }
func (s *exposeSink) Columns() []string { return nil }
func (s *exposeSink) Expose(_ context.Context, x *stats.Exposition) error {
	n := 0
	if x.Sites != nil {
		fe, be, srv := x.Sites.Rows()
		n = fe + be + srv
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, x)
	s.rows = append(s.rows, n)
	return nil
}

// The parsed replies of a snapshot are dropped once every sink wrote its
// lines or exposed it, before the sinks accept it (Graphite waits a
// second for that): the next snapshot is parsed meanwhile, and no more
// than one snapshot's replies are held at a time, also not through the
// exposition.
func TestRepliesDroppedOnceWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := spoolWith(t, "1500000000", "1500000010")
		g := &lineSink{sink: newSink("graphite")}
		g.block = make(chan struct{})
		x := &exposeSink{}
		p := New(config.Process{SrcDir: src, Workers: 2}, stats.Options{Prefix: prefix}, []Sink{g, x}, slog.New(slog.DiscardHandler))
		p.ShutdownTimeout = 5 * time.Second
		paths := []string{filepath.Join(src, "1500000000"), filepath.Join(src, "1500000010")}
		stop := start(t, p, paths)
		defer stop()
		// Both snapshots were taken, written to both sinks, and are held
		// by Graphite: nothing moves until g.block is closed.
		synctest.Wait()
		if n := len(g.written()); n != 2 {
			t.Errorf("%d snapshots written while the sink held the first, want both", n)
		}
		for _, l := range g.written() {
			if sl := l.(*snapLines); func() bool { sl.mu.Lock(); defer sl.mu.Unlock(); return sl.sites != nil }() {
				t.Errorf("snapshot %d: parsed replies held after every sink wrote it", sl.Time())
			}
		}
		x.mu.Lock()
		if len(x.seen) != 2 {
			t.Errorf("%d snapshots exposed, want 2", len(x.seen))
		}
		for i, e := range x.seen {
			if x.rows[i] == 0 || e.Sites != nil {
				t.Errorf("snapshot %d: exposed with %d rows, its parsed replies held through the exposition: %v", e.Time, x.rows[i], e.Sites != nil)
			}
		}
		x.mu.Unlock()
		close(g.block)
		synctest.Wait()
		if exists(paths[0]) || exists(paths[1]) {
			t.Error("snapshots not removed once the sink accepted them")
		}
		if _, acc := g.count(); acc != 2 {
			t.Errorf("sink accepted %d snapshots, want 2", acc)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// confirmingSink takes lines, writes them at once, then waits delay
// before it accepts them, as the Graphite sender waits for its
// confirmation; it counts how many wait at once.
type confirmingSink struct {
	delay         time.Duration
	mu            sync.Mutex
	waiting, most int
	delivered     int
}

func (s *confirmingSink) Name() string { return "graphite" }

func (s *confirmingSink) Send(context.Context, []metric.Metric) error {
	return errors.New("takes lines only")
}

func (s *confirmingSink) SendLines(ctx context.Context, l metric.Lines) error {
	if _, err := l.WriteTo(io.Discard); err != nil {
		return err
	}
	s.mu.Lock()
	s.waiting++
	s.most = max(s.most, s.waiting)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.delivered++
	s.mu.Unlock()
	return nil
}

// A backlog drains at the sinks' pace, not at one snapshot per worker
// per confirmation: with one worker, the next snapshot is taken as soon
// as the last one's lines were written, and the confirmations overlap.
// Before, the worker waited for each, so 40 snapshots took 40 × 300 ms.
func TestConfirmationsOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var names, paths []string
		for i := range 40 {
			names = append(names, fmt.Sprint(1500000000+i))
		}
		src := spoolWith(t, names...)
		for _, n := range names {
			paths = append(paths, filepath.Join(src, n))
		}
		g := &confirmingSink{delay: 300 * time.Millisecond}
		p := newProcessor(src, 1, g)
		stop := start(t, p, paths)
		defer stop()
		// Virtual time: long enough for the backlog even one confirmation
		// at a time; how many waited at once says whether they overlapped.
		time.Sleep(time.Duration(len(names)) * g.delay) // virtual
		synctest.Wait()
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.delivered != len(names) {
			t.Fatalf("%d of %d snapshots delivered", g.delivered, len(names))
		}
		if g.most < 10 {
			t.Errorf("at most %d snapshots waited for their confirmation at once, want them to overlap (≥ 10)", g.most)
		}
		for _, path := range paths {
			if exists(path) {
				t.Errorf("%s still queued after delivery", path)
			}
		}
	})
}

// Render, for a snapshot from elsewhere (a fleet record), holds the
// parsed replies of one snapshot at a time, as the workers do: the next
// is parsed once every sink wrote the previous one, or let go of it,
// also when the previous one had no site blocks; and a Render waiting
// for that gives up when its context ends.
func TestRenderHoldsOneSnapshotAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := spoolWith(t, "1500000000", "1500000010", "1500000020")
		p := New(config.Process{SrcDir: src, Workers: 1}, stats.Options{Prefix: prefix}, []Sink{&lineSink{sink: newSink("graphite")}}, slog.New(slog.DiscardHandler))
		render := func(name string) <-chan metric.Lines {
			out := make(chan metric.Lines, 1)
			snap, err := loadSnapshot(filepath.Join(src, name), 0)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				defer snap.Release()
				l, err := p.Render(context.Background(), snap, prefix, nil, true, nil, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Error(err)
				}
				out <- l
			}()
			return out
		}
		next := func(c <-chan metric.Lines, want bool) metric.Lines {
			synctest.Wait()
			select {
			case l := <-c:
				if !want {
					t.Fatal("a snapshot parsed while the previous one's parsed replies are held")
				}
				return l
			default:
				if want {
					t.Fatal("a snapshot not parsed once the previous one was written")
				}
				return nil
			}
		}
		// The first has no usable show stat reply: its lines have no site
		// blocks, and writing them counts all the same.
		for _, f := range []string{"admin1.sock_stat", "admin2.sock_stat"} {
			if err := os.WriteFile(filepath.Join(src, "1500000000", f), []byte("not a dump\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		first := next(render("1500000000"), true)
		c := render("1500000010")
		next(c, false)
		if _, err := first.WriteTo(io.Discard); err != nil { // the one sink wrote it
			t.Fatal(err)
		}
		second := next(c, true)
		c = render("1500000020")
		next(c, false)
		second.(metric.Retained).Release() // let go of unwritten, as a delivery given up
		third := next(c, true)
		ctx, cancel := context.WithCancel(context.Background())
		snap, err := loadSnapshot(filepath.Join(src, "1500000010"), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Release()
		done := make(chan error, 1)
		go func() {
			_, err := p.Render(ctx, snap, prefix, nil, true, nil, slog.New(slog.DiscardHandler))
			done <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Render waiting when its context ended = %v, want context.Canceled", err)
		}
		first.(metric.Retained).Release()
		third.(metric.Retained).Release()
	})
}
