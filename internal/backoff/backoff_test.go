package backoff

import (
	"context"
	"testing"
	"time"
)

func TestPauseBounds(t *testing.T) {
	b := Backoff{First: time.Second, Max: time.Minute}
	for n := 1; n <= 70; n++ {
		full := min(time.Second<<min(n-1, 20), time.Minute)
		for range 200 {
			p := b.Pause(n)
			if p > full || float64(p) < 0.8*float64(full)-1 {
				t.Fatalf("Pause(%d) = %v, want in [0.8·%v, %v]", n, p, full, full)
			}
		}
	}
}

func TestJitterSpreads(t *testing.T) {
	b := Backoff{First: time.Second, Max: time.Minute}
	seen := map[time.Duration]bool{}
	for range 100 {
		seen[b.Pause(3)] = true
	}
	if len(seen) < 50 {
		t.Errorf("100 pauses took only %d values: no jitter", len(seen))
	}
	exact := Backoff{First: time.Second, Max: time.Minute, Jitter: -1}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 1000: time.Minute} {
		if got := exact.Pause(n); got != want {
			t.Errorf("no jitter: Pause(%d) = %v, want %v", n, got, want)
		}
	}
}

// The Graphite sender's factor is the configured backoff, as the
// original's retry decorator used it.
func TestFactorAndNoCap(t *testing.T) {
	b := Backoff{First: 100 * time.Millisecond, Factor: 1.5, Jitter: -1}
	want := []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 225 * time.Millisecond}
	for i, w := range want {
		if got := b.Next(); got != w {
			t.Errorf("pause %d = %v, want %v", i+1, got, w)
		}
	}
	if b.Attempts() != 3 {
		t.Errorf("Attempts = %d", b.Attempts())
	}
	b.Reset()
	if got := b.Next(); got != want[0] || b.Attempts() != 1 {
		t.Errorf("after Reset: %v, %d attempts", got, b.Attempts())
	}
	one := Backoff{First: time.Second, Factor: 1, Jitter: -1}
	if one.Pause(50) != time.Second {
		t.Errorf("factor 1: Pause(50) = %v", one.Pause(50))
	}
}

func TestWait(t *testing.T) {
	b := Backoff{First: 10 * time.Millisecond, Jitter: -1}
	start := time.Now()
	if !b.Wait(context.Background()) || time.Since(start) < 10*time.Millisecond {
		t.Errorf("Wait returned after %v", time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	long := Backoff{First: time.Hour}
	if long.Wait(ctx) {
		t.Error("Wait on a done context = true")
	}
	if Sleep(ctx, 0) || !Sleep(context.Background(), 0) {
		t.Error("Sleep(0) does not report the context")
	}
}
