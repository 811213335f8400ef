package graphite

import (
	"context"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

func TestMain(m *testing.M) {
	// Every test but those that give their own: a short confirmation,
	// and no replay, so that lines are counted exactly.
	defaults = []Option{WithConfirmAfter(20 * time.Millisecond), WithReplayWindow(0)}
	os.Exit(m.Run())
}

// Carbon reads a batch and then goes away before the confirmation window
// ends (a relay stopped right after the write): Send must not report
// delivery, and the batch must be sent again on a new connection.
func TestUnconfirmedBatchResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002), WithConfirmAfter(500*time.Millisecond))
		ms := batchOf("confirm", 50, 1500000000)
		ch := sendAsync(s, context.Background(), ms)
		synctest.Wait() // written, read, and waiting for its confirmation
		if got := len(carbon.Lines()); got != 50 {
			t.Fatalf("carbon received %d lines, want the batch (50)", got)
		}
		carbon.CloseConns() // gone before the confirmation
		select {
		case err := <-ch:
			t.Fatalf("Send returned %v before its confirmation window ended", err)
		default:
		}
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		lines := carbon.Lines()
		if len(lines) != 100 {
			t.Fatalf("carbon received %d lines, want the batch twice (100)", len(lines))
		}
		want := linesOf(ms)
		for i := range 50 {
			if lines[50+i] != want[i] {
				t.Fatalf("resent line %d = %q, want %q", i, lines[50+i], want[i])
			}
		}
		if st := s.Stats(); st.Sent != 50 || st.Queued != 0 {
			t.Errorf("stats = %+v, want 50 sent (confirmed once), 0 queued", st)
		}
	})
}

// Send waits for the confirmation window, not just the write.
func TestSendWaitsForConfirmation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const confirmAfter = 300 * time.Millisecond
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002), WithConfirmAfter(confirmAfter))
		start := time.Now()
		if err := s.Send(context.Background(), batchOf("wait", 10, 1500000000)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < confirmAfter {
			t.Fatalf("Send returned after %v, before the %v confirmation window", took, confirmAfter)
		}
	})
}
