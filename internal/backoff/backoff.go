// Package backoff is the one retry pause of both daemons: exponential
// from a first pause up to a cap, with jitter, so that after a relay or
// broker restart a fleet of load balancers does not reconnect in
// lockstep.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// DefaultJitter is the share of each pause drawn at random when Jitter
// is not set: a pause of p is then between 0.8·p and p.
const DefaultJitter = 0.2

// Backoff gives the pauses of a sequence of retries. The n-th pause is
// First·Factor^(n-1), capped at Max, less a random share of up to Jitter
// of it: never longer than the un-jittered pause, so documented upper
// bounds hold. The zero Factor is 2; a Jitter below 0 is none. A Backoff
// is not safe for concurrent use.
type Backoff struct {
	First  time.Duration
	Max    time.Duration // 0: no cap
	Factor float64
	Jitter float64 // 0: DefaultJitter; negative: no jitter

	n int // pauses given since the last Reset
}

// Pause returns the n-th pause of the sequence (n ≥ 1), jittered. It
// does not change b.
func (b *Backoff) Pause(n int) time.Duration {
	f := b.Factor
	if f == 0 {
		f = 2
	}
	p := float64(b.First) * math.Pow(f, float64(max(n, 1)-1))
	if b.Max > 0 && p > float64(b.Max) || math.IsInf(p, 0) || math.IsNaN(p) {
		p = float64(b.Max)
	}
	j := b.Jitter
	if j == 0 {
		j = DefaultJitter
	}
	if j > 0 {
		p -= p * min(j, 1) * rand.Float64()
	}
	return time.Duration(p)
}

// Next returns the next pause of the sequence and counts it.
func (b *Backoff) Next() time.Duration {
	b.n++
	return b.Pause(b.n)
}

// Attempts returns how many pauses were given since the last Reset.
func (b *Backoff) Attempts() int { return b.n }

// Reset starts the sequence again from First: after a success.
func (b *Backoff) Reset() { b.n = 0 }

// Wait sleeps for the next pause. It returns false, at once, when ctx
// is done first.
func (b *Backoff) Wait(ctx context.Context) bool { return Sleep(ctx, b.Next()) }

// Sleep sleeps for d, and returns false as soon as ctx is done.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
