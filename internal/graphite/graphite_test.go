package graphite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

const waitLong = 30 * time.Second // bound of every wait that should succeed: it only ends a failing test

func testConfig(port int) config.Graphite {
	return config.Graphite{
		Server:         "127.0.0.1",
		Port:           port,
		Retries:        2,
		Interval:       2 * time.Millisecond,
		Backoff:        2,
		ConnectTimeout: time.Second,
		WriteTimeout:   time.Second,
		Delay:          10 * time.Millisecond,
		QueueSize:      1000,
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestSender returns a Sender closed at the end of the test, before the
// fake carbon stops (cleanups run last registered first).
func newTestSender(t *testing.T, cfg config.Graphite, opts ...Option) *Sender {
	t.Helper()
	s := New(cfg, testLogger(t), opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// format returns the Graphite plaintext of ms, as carbon must receive it.
func format(ms []metric.Metric) []byte {
	var b []byte
	for _, m := range ms {
		b = m.AppendLine(b)
	}
	return b
}

// batchOf returns n datapoints named <prefix>.m<i> at time ts.
func batchOf(prefix string, n int, ts int64) []metric.Metric {
	ms := make([]metric.Metric, n)
	for i := range ms {
		ms[i] = metric.Metric{Path: fmt.Sprintf("%s.m%d", prefix, i), Value: float64(i) + 0.25, Time: ts}
	}
	return ms
}

// linesOf returns the lines of ms as the fake carbon records them.
func linesOf(ms ...[]metric.Metric) []string {
	var out []string
	for _, b := range ms {
		for _, m := range b {
			out = append(out, m.String())
		}
	}
	return out
}

func sendAsync(s *Sender, ctx context.Context, ms []metric.Metric) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Send(ctx, ms) }()
	return ch
}

// allReturned waits for every Send of chs and fails on an error.
func allReturned(t *testing.T, chs ...<-chan error) {
	t.Helper()
	for _, ch := range chs {
		if err := <-ch; err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
}

// notReturned fails if a Send of chs returned while carbon is down. Call
// it in a bubble: it first gives the sender a second of virtual time,
// dozens of connection attempts, to return wrongly.
func notReturned(t *testing.T, chs ...<-chan error) {
	t.Helper()
	time.Sleep(time.Second) // virtual: the bubble's clock
	synctest.Wait()
	for i, ch := range chs {
		select {
		case err := <-ch:
			t.Fatalf("Send %d returned %v while carbon is down", i, err)
		default:
		}
	}
}

// checkAdmitted fails unless n lines were admitted to the queue in all:
// queued, dropped or sent. Call it in a bubble, after synctest.Wait.
func checkAdmitted(t *testing.T, s *Sender, n int) {
	t.Helper()
	st := s.Stats()
	if got := st.Queued + int(st.Dropped) + int(st.Sent); got != n {
		t.Fatalf("%d lines admitted (%+v), want %d", got, st, n)
	}
}

func TestSendByteExactInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002))
		ctx := context.Background()

		b1 := []metric.Metric{
			{Path: "loadbalancers.lb-01.haproxy.daemon.Uptime_sec", Value: 1234567, Time: 1500000000},
			{Path: "loadbalancers.lb-01.haproxy.frontend.www_example_com.scur", Value: 0.5, Time: 1500000000},
			{Path: "a", Value: -3, Time: 1500000000},
		}
		b2 := batchOf("b2", 5, 1500000010)
		for _, b := range [][]metric.Metric{b1, b2} {
			if err := s.Send(ctx, b); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		synctest.Wait()
		got := carbon.Lines()
		var want []byte
		for _, m := range slices.Concat(b1, b2) {
			want = m.AppendLine(want)
		}
		if g := strings.Join(got, "\n") + "\n"; g != string(want) {
			t.Fatalf("carbon received\n%s\nwant\n%s", g, want)
		}

		// Queued during an outage: written oldest batch first.
		carbon.Stop()
		var batches [][]metric.Metric
		var chs []<-chan error
		for i := range 5 {
			b := batchOf(fmt.Sprintf("outage%d", i), 3, 1500000020)
			batches = append(batches, b)
			chs = append(chs, sendAsync(s, ctx, b))
			synctest.Wait()
			checkAdmitted(t, s, 8+3*(i+1))
		}
		notReturned(t, chs...)
		carbon.Start()
		allReturned(t, chs...)
		synctest.Wait()
		got = carbon.Lines()
		if want := linesOf(batches...); !slices.Equal(got[8:], want) {
			t.Fatalf("after the outage carbon received\n%q\nwant\n%q", got[8:], want)
		}
		if st := s.Stats(); st.Sent != 23 || st.Dropped != 0 || st.Queued != 0 || st.Writes == 0 || st.Bytes < uint64(len(want)) {
			t.Errorf("Stats() = %+v", st)
		}
	})
}

func TestConcurrentSends(t *testing.T) {
	carbon := haproxytest.NewCarbon(t)
	s := newTestSender(t, testConfig(carbon.Port()))
	const workers, sends, lines = 8, 40, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range sends {
				if err := s.Send(context.Background(), batchOf(fmt.Sprintf("w%d.s%d", w, i), lines, 1500000000)); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := carbon.WaitLines(t, workers*sends*lines, waitLong)
	if len(got) != workers*sends*lines {
		t.Fatalf("received %d lines, want %d", len(got), workers*sends*lines)
	}
	// Every batch arrives whole and contiguous.
	index := make(map[string]int, len(got))
	for i, l := range got {
		index[l] = i
	}
	for w := range workers {
		for i := range sends {
			want := linesOf(batchOf(fmt.Sprintf("w%d.s%d", w, i), lines, 1500000000))
			first, ok := index[want[0]]
			if !ok || first+lines > len(got) || !slices.Equal(got[first:first+lines], want) {
				t.Fatalf("batch w%d.s%d not received whole and contiguous", w, i)
			}
		}
	}
}

func TestCarbonDownAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		s := newMemSender(t, carbon, testConfig(3002))
		b := batchOf("late", 10, 1500000000)
		ch := sendAsync(s, context.Background(), b)
		notReturned(t, ch)
		carbon.Start()
		if err := <-ch; err != nil {
			t.Fatalf("Send: %v", err)
		}
		synctest.Wait()
		if got := carbon.Lines(); !slices.Equal(got, linesOf(b)) {
			t.Fatalf("carbon received %q, want %q", got, linesOf(b))
		}
		if st := s.Stats(); st.ConnectFailures == 0 {
			t.Errorf("Stats().ConnectFailures = 0 after an outage")
		}
	})
}

func TestOutageInTheMiddle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002))
		ctx := context.Background()

		var batches [][]metric.Metric
		for i := range 3 {
			b := batchOf(fmt.Sprintf("before%d", i), 20, 1500000000)
			batches = append(batches, b)
			if err := s.Send(ctx, b); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		synctest.Wait()
		if n := len(carbon.Lines()); n != 60 {
			t.Fatalf("carbon received %d lines, want 60", n)
		}

		carbon.Stop()
		var chs []<-chan error
		for i := range 3 {
			b := batchOf(fmt.Sprintf("during%d", i), 20, 1500000010)
			batches = append(batches, b)
			chs = append(chs, sendAsync(s, ctx, b))
		}
		synctest.Wait()
		checkAdmitted(t, s, 120)
		notReturned(t, chs...)

		carbon.Start()
		allReturned(t, chs...)
		synctest.Wait()
		got := carbon.Lines()
		for _, l := range linesOf(batches...) {
			if !slices.Contains(got, l) {
				t.Fatalf("line %q lost", l)
			}
		}
		if len(got) != 120 {
			t.Logf("%d lines received, %d duplicates (a batch re-sent whole)", len(got), len(got)-120)
		}
	})
}

func TestQueueOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		cfg := testConfig(3002)
		cfg.QueueSize = 10
		s := newMemSender(t, carbon, cfg)
		ctx := context.Background()

		var b [5][]metric.Metric
		var ch [5]<-chan error
		for i := range 4 {
			b[i] = batchOf(fmt.Sprintf("b%d", i), 4, 1500000000)
			ch[i] = sendAsync(s, ctx, b[i])
			synctest.Wait()
			checkAdmitted(t, s, 4*(i+1))
		}
		for i := range 2 {
			if err := <-ch[i]; !errors.Is(err, ErrDropped) {
				t.Errorf("Send of the oldest batch %d = %v, want ErrDropped", i, err)
			}
		}
		if st := s.Stats(); st.Dropped != 8 || st.Queued != 8 {
			t.Errorf("Stats() = %+v, want 8 dropped, 8 queued", st)
		}
		notReturned(t, ch[2], ch[3])

		carbon.Start()
		for i := 2; i < 4; i++ {
			if err := <-ch[i]; err != nil {
				t.Fatalf("Send of surviving batch %d: %v", i, err)
			}
		}
		synctest.Wait()
		if got, want := carbon.Lines(), linesOf(b[2], b[3]); !slices.Equal(got, want) {
			t.Fatalf("carbon received %q, want %q", got, want)
		}

		// A batch larger than the queue passes when nothing else is queued.
		carbon.Stop()
		b[4] = batchOf("big", 15, 1500000010)
		ch[4] = sendAsync(s, ctx, b[4])
		synctest.Wait()
		checkAdmitted(t, s, 8+8+15)
		carbon.Start()
		if err := <-ch[4]; err != nil {
			t.Fatalf("Send of a batch larger than the queue: %v", err)
		}
		synctest.Wait()
		if got := carbon.Lines(); len(got) != 23 || !slices.Equal(got[8:], linesOf(b[4])) {
			t.Fatalf("carbon received %q, want %q after the first 8", got, linesOf(b[4]))
		}
		if st := s.Stats(); st.Dropped != 8 || st.Sent != 23 {
			t.Errorf("Stats() = %+v, want 8 dropped, 23 sent", st)
		}
	})
}

func TestSendContextDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		s := newMemSender(t, carbon, testConfig(3002))

		const timeout = 20 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		b := batchOf("cancelled", 3, 1500000000)
		start := time.Now()
		if err := s.Send(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took != timeout {
			t.Errorf("Send returned %v after it began, want when its context was done (%v)", took, timeout)
		}
		if err := s.Send(ctx, b); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send with a done context = %v, want context.DeadlineExceeded", err)
		}
		// The lines stayed queued (once): they are sent when carbon is back.
		carbon.Start()
		time.Sleep(time.Second) // virtual: past the next connection sequence and the confirmation
		synctest.Wait()
		if got := carbon.Lines(); !slices.Equal(got, linesOf(b)) {
			t.Fatalf("carbon received %q, want %q", got, linesOf(b))
		}
	})
}

func TestCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		s := newSender(testConfig(3002), testLogger(t), carbon.dial)
		b := batchOf("queued", 50, 1500000000)
		ctx, cancel := context.WithCancel(context.Background())
		ch := sendAsync(s, ctx, b)
		synctest.Wait()
		checkAdmitted(t, s, 50)
		cancel()
		if err := <-ch; !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}

		carbon.Start()
		cctx, ccancel := context.WithTimeout(context.Background(), waitLong)
		defer ccancel()
		if err := s.Close(cctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		synctest.Wait()
		if got := carbon.Lines(); !slices.Equal(got, linesOf(b)) {
			t.Fatalf("carbon received %q, want %q", got, linesOf(b))
		}
		if err := s.Send(context.Background(), b); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
		if err := s.Close(cctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestCloseWhileCarbonDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		cfg := testConfig(3002)
		cfg.Retries = -1
		cfg.Interval = 50 * time.Millisecond
		s := newSender(cfg, testLogger(t), carbon.dial)
		ch := sendAsync(s, context.Background(), batchOf("lost", 7, 1500000000))
		synctest.Wait()
		checkAdmitted(t, s, 7)

		const deadline = 100 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		err := s.Close(ctx)
		if took := time.Since(start); took != deadline {
			t.Errorf("Close took %v with a %v deadline", took, deadline)
		}
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "7 queued lines not sent") {
			t.Errorf("Close = %v, want 7 lines not sent, ErrClosed", err)
		}
		if err := <-ch; !errors.Is(err, ErrClosed) {
			t.Errorf("pending Send = %v, want ErrClosed", err)
		}
		if err := s.Close(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close = %v, want ErrClosed", err)
		}
	})
}

func TestCloseIdleWhileCarbonDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		cfg := testConfig(3002)
		cfg.Retries = -1
		s := newSender(cfg, testLogger(t), carbon.dial)
		time.Sleep(20 * time.Millisecond) // virtual: in the middle of the first connection sequence
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		start := time.Now()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("Close of an idle sender took %v, want no wait", took)
		}
	})
}

// TestPeerClosed: carbon closes an idle connection; the next Send must
// notice before writing, reconnect and deliver. Without the check the first
// write after the close "succeeds" and its lines are lost.
func TestPeerClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002), WithReplayWindow(ReplayWindow))
		b1, b2 := batchOf("first", 5, 1500000000), batchOf("second", 5, 1500000010)
		if err := s.Send(context.Background(), b1); err != nil {
			t.Fatalf("Send: %v", err)
		}
		carbon.CloseConns() // what is written to it now is lost
		if err := s.Send(context.Background(), b2); err != nil {
			t.Fatalf("Send: %v", err)
		}
		synctest.Wait()
		// b1 was confirmed, but carbon closed within the replay window: b1 is
		// sent again before b2 (a relay that closes right after reading may
		// have dropped it; Graphite keeps one value per path and time).
		want := linesOf(b1, b1, b2)
		if got := carbon.Lines(); !slices.Equal(got, want) {
			t.Fatalf("carbon received %q, want %q", got, want)
		}
		if n := carbon.Connections(); n != 2 {
			t.Errorf("carbon accepted %d connections, want 2", n)
		}
	})
}

func TestSendEmpty(t *testing.T) {
	s := New(testConfig(1), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.Send(ctx, nil); err != nil {
		t.Errorf("Send(nil) = %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// BenchmarkSend formats and writes batches of 1000 lines to a local
// listener that discards them.
func BenchmarkSend(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				io.Copy(io.Discard, c)
				c.Close()
			})
		}
	})
	defer wg.Wait()
	defer ln.Close()

	cfg := testConfig(ln.Addr().(*net.TCPAddr).Port)
	cfg.QueueSize = 1_000_000
	s := New(cfg, slog.New(slog.DiscardHandler))
	defer s.Close(context.Background())

	// Snapshot-sized batches from several senders at once, as the process
	// daemon's workers send: the confirmation window of each Send overlaps
	// the others' writes, so this measures throughput, not the wait.
	const lines = 10000
	ms := make([]metric.Metric, lines)
	for i := range ms {
		ms[i] = metric.Metric{
			Path:  fmt.Sprintf("loadbalancers.lb-01_example_com.haproxy.backend.backend%03d.server.srv%03d.rtime", i/20, i%20),
			Value: float64(i) * 1.5,
			Time:  1500000000,
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(format(ms))))
	start := time.Now()
	var n atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Send(context.Background(), ms); err != nil {
				b.Error(err)
				return
			}
			n.Add(lines)
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "lines/s")
}

// With max-lines-per-second set, a backlog reaches carbon at that rate.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		cfg := testConfig(3002)
		cfg.MaxLinesPerSecond = 4000
		cfg.QueueSize = 100000
		s := newMemSender(t, carbon, cfg)
		start := time.Now()
		var chs []<-chan error
		for i := range 3 { // 3 × 2000 lines, each batch over half a chunk: written one by one
			chs = append(chs, sendAsync(s, context.Background(), batchOf(fmt.Sprintf("rate%d.some.longer.path.to.fill.bytes", i), 2000, 1500000000)))
		}
		for _, ch := range chs {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		// 6000 lines at 4000/s: the third batch may start only 1 s after the
		// first (the first goes at once).
		if took := time.Since(start); took < time.Second {
			t.Fatalf("6000 lines delivered in %v at 4000 lines/s", took)
		}
		synctest.Wait()
		if n := len(carbon.Lines()); n != 6000 {
			t.Fatalf("carbon received %d lines, want 6000", n)
		}
	})
}
