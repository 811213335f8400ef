package graphite

import (
	"context"
	"fmt"
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

// checkDelivered fails unless every line of ms reached carbon, and
// returns how many lines carbon received in all. What carbon's kernel
// acknowledged may still wait in its receive buffer for a moment after
// Send returned, so it waits for the lines to be read.
func checkDelivered(t *testing.T, carbon *haproxytest.SlowCarbon, ms []metric.Metric) int {
	t.Helper()
	want := linesOf(ms)
	var got []string
	missing := func() int {
		got = carbon.Lines()
		seen := make(map[string]bool, len(got))
		for _, l := range got {
			seen[l] = true
		}
		n := 0
		for _, l := range want {
			if !seen[l] {
				n++
			}
		}
		return n
	}
	haproxytest.WaitFor(t, "every line of the batch read by carbon", waitLong, nil, func() bool { return missing() == 0 })
	return len(got)
}

// A carbon reading at a steady 2 MB/s gets a 6 MB batch whole, on one
// connection, although the kernel wakes a blocked writer only when a third
// of its send buffer (up to 4 MB) is free, which takes longer than the
// write timeout. The timeout measures lack of progress, so it never trips.
// Before, each 64 KiB write had to finish within the timeout: the
// connection was given up every few MB and the batch sent again from its
// first line, for ever.
func TestSlowCarbonGetsEverything(t *testing.T) {
	carbon := haproxytest.NewSlowCarbon(t, 2<<20, 0, nil)
	cfg := testConfig(carbon.Port())
	cfg.WriteTimeout = 300 * time.Millisecond
	s := newTestSender(t, cfg)
	ms := bigBatch("slow", 6<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, ms); err != nil {
		t.Fatalf("Send: %v after %v", err, time.Since(start))
	}
	took := time.Since(start)
	if n := checkDelivered(t, carbon, ms); n != len(ms) {
		t.Errorf("carbon received %d lines, want each of the %d once", n, len(ms))
	}
	if n := carbon.Connections(); n != 1 {
		t.Errorf("%d connections, want 1: a slow reader is not a dead one", n)
	}
	t.Logf("%d lines (%d MB) at 2 MB/s: delivered in %v", len(ms), 6, took.Round(time.Millisecond))
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
