package graphite

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// FailingSince tells the health probes of an outage that Sends only
// wait out: from the first failed connection, or connection found dead,
// until lines are confirmed again on a new one.
func TestFailingSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		cfg := testConfig(3002)
		cfg.Retries, cfg.Delay = 0, time.Second
		s := newMemSender(t, carbon, cfg)
		if err := s.Send(context.Background(), batchOf("up", 5, 1500000000)); err != nil {
			t.Fatal(err)
		}
		if got := s.FailingSince(); !got.IsZero() {
			t.Fatalf("FailingSince = %v while carbon takes the lines", got)
		}

		carbon.Stop() // the relay goes away
		down := time.Now()
		ch := sendAsync(s, context.Background(), batchOf("down", 5, 1500000010))
		time.Sleep(time.Minute) // virtual: a minute of failed connections
		synctest.Wait()
		if got := s.FailingSince(); got.IsZero() || got.Before(down) || got.After(down.Add(time.Second)) {
			t.Fatalf("FailingSince = %v, want the outage's start %v", got, down)
		}
		select {
		case err := <-ch:
			t.Fatalf("Send returned %v while carbon is down", err)
		default:
		}

		carbon.Start()
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
		if got := s.FailingSince(); !got.IsZero() {
			t.Errorf("FailingSince = %v once the lines were confirmed again", got)
		}
		if st := s.Stats(); st.Sent != 10 || st.ConnectFailures == 0 {
			t.Errorf("Stats() = %+v, want 10 lines sent after some failed connections", st)
		}
	})
}

// A sender that could not connect at start is failing, though nothing
// was sent yet.
func TestFailingSinceAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		start := time.Now()
		s := newMemSender(t, carbon, testConfig(3002))
		synctest.Wait()
		if got := s.FailingSince(); !got.Equal(start) {
			t.Errorf("FailingSince = %v, want the start %v", got, start)
		}
	})
}
