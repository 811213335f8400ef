package graphite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// bigBatch is about size bytes of lines.
func bigBatch(prefix string, size int) []metric.Metric {
	n := size / len(fmt.Sprintf("%s.m%d 1000.25 1500000000\n", prefix, size/80))
	return batchOf(prefix, n, 1500000000)
}

// A carbon reading slowly gets a 6 MB batch whole, on one connection,
// although the kernel wakes a blocked writer only when a third of its
// send buffer is free, which takes longer than the write timeout. The
// timeout measures lack of progress (the kernel's queue going down
// counts), so it never trips. Before, each 64 KiB write had to finish
// within the timeout: the connection was given up every few MB and the
// batch sent again from its first line, for ever.
//
// It runs on virtual time, against queueCarbon, whose buffer is a real
// socket's (read with SIOCOUTQ, as for TCP) and whose reader keeps a
// rate however busy the machine is.
func TestSlowCarbonGetsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(3002)
		cfg.WriteTimeout = 300 * time.Millisecond
		carbon := newQueueCarbon(t)
		// A third of the buffer, whose size is the kernel's choice, drains
		// in twice the write timeout.
		carbon.rate = int(float64(carbon.sndbuf) / 3 / (2 * cfg.WriteTimeout).Seconds())
		s := newSender(cfg, testLogger(t), carbon.dial)
		defer s.Close(context.Background())
		ms := bigBatch("slow", 6<<20)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		if err := s.Send(ctx, ms); err != nil {
			t.Fatalf("Send: %v after %v", err, time.Since(start))
		}
		took := time.Since(start)
		synctest.Wait()
		got := carbon.Lines()
		if !slices.Equal(got, linesOf(ms)) {
			t.Errorf("carbon received %d lines, want each of the %d once, in order", len(got), len(ms))
		}
		if n := carbon.Connections(); n != 1 {
			t.Errorf("%d connections, want 1: a slow reader is not a dead one", n)
		}
		if w := carbon.Longest(); w <= cfg.WriteTimeout {
			t.Errorf("the writer waited at most %v for the buffer to drain, want longer than the write timeout (%v): the case this test is about did not happen", w, cfg.WriteTimeout)
		}
		t.Logf("%d lines (6 MB) at %d KB/s through a %d KB buffer: delivered in %v", len(ms), carbon.rate>>10, carbon.sndbuf>>10, took)
	})
}

// A carbon that closes three connections in a row after 2 MB each (a
// relay restarting under a 6 MB batch): each new connection resumes after
// what was confirmed, so no line is lost, none is skipped, and few are
// received twice. Before, every connection started the batch again from
// its first line, and a relay that kept doing so never got it whole.
//
// It runs on virtual time, against carbon in memory reading 1 MB/s: each
// connection lasts two seconds, and lines are confirmed 200 ms after
// carbon read them, so however busy the machine, each connection's
// first lines are confirmed before carbon cuts it.
func TestResumeAfterConfirmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.rate, carbon.cutAfter, carbon.cuts = 1<<20, 2<<20, haproxytest.CutConns
		s := newMemSender(t, carbon, testConfig(3002), WithReplayWindow(200*time.Millisecond), WithConfirmAfter(200*time.Millisecond))
		ms := bigBatch("resume", 6<<20)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Send(ctx, ms); err != nil {
			t.Fatalf("Send: %v (%d connections)", err, carbon.Connections())
		}
		synctest.Wait() // carbon keeps what it read
		got := carbon.Lines()
		seen := make(map[string]bool, len(got))
		for _, l := range got {
			seen[l] = true
		}
		missing := 0
		for _, l := range linesOf(ms) {
			if !seen[l] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%d of %d lines never reached carbon (%d received)", missing, len(ms), len(got))
		}
		if conns := carbon.Connections(); conns != 4 {
			t.Errorf("%d connections, want 4: three cut after 2 MB, then one to the end", conns)
		}
		for i, first := range carbon.FirstLines()[1:] {
			if first == ms[0].String() {
				t.Errorf("connection %d started the batch again from its first line", i+2)
			}
		}
		if n := len(got); n > 2*len(ms) {
			t.Errorf("carbon received %d lines for %d: resumed too far back", n, len(ms))
		}
		t.Logf("%d lines over 4 connections: %d received (%.2f×)", len(ms), len(got), float64(len(got))/float64(len(ms)))
	})
}

// A sender that gives up a connection in the middle of a line resets it,
// so carbon sees an error rather than a clean end after a cut line.
func TestCutLineResets(t *testing.T) {
	stall := make(chan struct{}) // read nothing until the sender gave up
	carbon := haproxytest.NewSlowCarbon(t, 64<<20, 0, stall)
	cfg := testConfig(carbon.Port())
	cfg.WriteTimeout = 200 * time.Millisecond
	cfg.Retries, cfg.Delay = 0, time.Hour // one connection only
	s := newTestSender(t, cfg)
	ms := bigBatch("cut", 16<<20)
	ch := sendAsync(s, context.Background(), ms)
	haproxytest.WaitFor(t, "the sender gives up the stalled connection", waitLong, nil, func() bool {
		return s.Stats().Writes > 0 && gaveUp(s)
	})
	close(stall)
	haproxytest.WaitFor(t, "carbon sees the cut connection end", waitLong, nil, func() bool { return carbon.Resets() > 0 })
	if n := carbon.Resets(); n != 1 {
		t.Fatalf("carbon saw %d resets, want 1: the cut connection was closed cleanly", n)
	}
	select {
	case err := <-ch:
		t.Fatalf("Send returned %v, want it waiting for a new connection", err)
	default:
	}
	for _, l := range carbon.Lines() {
		if len(strings.Fields(l)) != 3 {
			t.Fatalf("cut line %q among the whole ones", l)
		}
	}
}

// gaveUp reports whether the sender closed its connection: nothing is
// written or unconfirmed on one any more.
func gaveUp(s *Sender) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent) == 0 && len(s.queue) > 0
}
