package graphite

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/metric"
)

// held is a metric.Lines that counts its holders, as the process
// daemon's streamed snapshots do; with fail its WriteTo cannot render.
type held struct {
	metric.Slice
	fail bool

	mu                 sync.Mutex
	retained, released int
}

func (h *held) WriteTo(w io.Writer) (int64, error) {
	if h.fail {
		return 0, &metric.SourceError{Err: errors.New("replies gone")}
	}
	return h.Slice.WriteTo(w)
}

func (h *held) Retain() {
	h.mu.Lock()
	h.retained++
	h.mu.Unlock()
}

func (h *held) Release() {
	h.mu.Lock()
	h.released++
	h.mu.Unlock()
}

func (h *held) counts() (retained, released int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.retained, h.released
}

// checkReleased fails unless h was retained and released once each. Call
// it after synctest.Wait, or after what must have released h returned.
func checkReleased(t *testing.T, h *held) {
	t.Helper()
	if ret, rel := h.counts(); ret != 1 || rel != 1 {
		t.Fatalf("retained %d, released %d times; want once each", ret, rel)
	}
}

// Lines are kept through the replay window and let go of once after it,
// or at Close.
func TestLinesHeldThroughReplayWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const replayWindow = 200 * time.Millisecond
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002), WithReplayWindow(replayWindow))
		h1 := &held{Slice: batchOf("first", 5, 1500000000)}
		if err := s.SendLines(context.Background(), h1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if ret, rel := h1.counts(); ret != 1 || rel != 0 {
			t.Fatalf("after delivery: retained %d, released %d; want held for the replay window", ret, rel)
		}
		time.Sleep(replayWindow) // virtual: the bubble's clock
		h2 := &held{Slice: batchOf("second", 5, 1500000010)}
		if err := s.SendLines(context.Background(), h2); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		checkReleased(t, h1)
		if _, rel := h2.counts(); rel != 0 {
			t.Fatal("second batch let go of within its replay window")
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		checkReleased(t, h2)
		if got := carbon.Lines(); !slices.Equal(got, linesOf(h1.Slice, h2.Slice)) {
			t.Fatalf("carbon received %q", got)
		}
	})
}

// A batch dropped from the full queue is let go of.
func TestDroppedLinesReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		carbon.Stop()
		cfg := testConfig(3002)
		cfg.QueueSize = 5
		s := newMemSender(t, carbon, cfg)
		h1 := &held{Slice: batchOf("old", 5, 1500000000)}
		ch := make(chan error, 1)
		go func() { ch <- s.SendLines(context.Background(), h1) }()
		synctest.Wait()
		checkAdmitted(t, s, 5)
		h2 := &held{Slice: batchOf("new", 5, 1500000010)}
		go s.SendLines(context.Background(), h2) // returns ErrClosed at the test's end
		if err := <-ch; !errors.Is(err, ErrDropped) {
			t.Fatalf("SendLines of the oldest = %v, want ErrDropped", err)
		}
		synctest.Wait()
		checkReleased(t, h1)
	})
}

// Lines that cannot be rendered fail their own delivery, not the
// connection's: the next batch goes through on the same connection.
func TestUnrenderableLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		s := newMemSender(t, carbon, testConfig(3002))
		bad := &held{Slice: batchOf("bad", 5, 1500000000), fail: true}
		err := s.SendLines(context.Background(), bad)
		var se *metric.SourceError
		if !errors.As(err, &se) {
			t.Fatalf("SendLines = %v, want a *metric.SourceError", err)
		}
		synctest.Wait()
		checkReleased(t, bad)
		good := batchOf("good", 5, 1500000010)
		if err := s.Send(context.Background(), good); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := carbon.Lines(); !slices.Equal(got, linesOf(good)) {
			t.Fatalf("carbon received %q", got)
		}
		if n := carbon.Connections(); n != 1 {
			t.Errorf("carbon accepted %d connections, want 1", n)
		}
		if st := s.Stats(); st.Queued != 0 || st.Sent != 5 {
			t.Errorf("stats = %+v, want 5 sent, none queued", st)
		}
	})
}
