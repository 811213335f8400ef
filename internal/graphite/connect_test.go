package graphite

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestConnectSequence checks the timing of connection attempts against a
// dialer that always fails, on synctest's fake clock: want are the dial
// times of the original's sequence, before jitter.
func TestConnectSequence(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name            string
		retries         int
		interval, delay time.Duration
		backoff         float64
		run             time.Duration
		want            []time.Duration // dial times since New
	}{
		// The original's defaults: 1.8, 3.6, 7.2 s pauses, then delay.
		{"defaults", 3, 1800 * time.Millisecond, 10 * s, 2, 40 * s,
			[]time.Duration{0, 1800 * time.Millisecond, 5400 * time.Millisecond, 12600 * time.Millisecond,
				22600 * time.Millisecond, 24400 * time.Millisecond, 28 * s, 35200 * time.Millisecond}},
		{"one attempt", 0, s, 5 * s, 2, 12 * s, []time.Duration{0, 5 * s, 10 * s}},
		// Unlimited, the pause capped at five minutes.
		{"unlimited", -1, 2 * time.Minute, s, 10, 13 * time.Minute,
			[]time.Duration{0, 2 * time.Minute, 7 * time.Minute, 12 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var dials []time.Duration
				dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
					if err := ctx.Err(); err != nil {
						return nil, err
					}
					dials = append(dials, time.Since(start))
					return nil, syscall.ECONNREFUSED
				}
				cfg := testConfig(3002)
				cfg.Retries, cfg.Interval, cfg.Delay, cfg.Backoff = tc.retries, tc.interval, tc.delay, tc.backoff
				snd := newSender(cfg, slog.New(slog.DiscardHandler), dial)

				ch := sendAsync(snd, context.Background(), batchOf("x", 2, 1500000000))
				time.Sleep(tc.run) // virtual: the bubble's clock
				synctest.Wait()
				// Each pause is shortened by up to a fifth at random
				// (backoff.Backoff); the delay between sequences is not.
				// Shorter pauses may fit more dials into the run.
				if len(dials) < len(tc.want) {
					t.Fatalf("dials at %v, want at least %d: %v", dials, len(tc.want), tc.want)
				}
				for i := 1; i < len(tc.want); i++ {
					got, want := dials[i]-dials[i-1], tc.want[i]-tc.want[i-1]
					if got > want || float64(got) < 0.8*float64(want) {
						t.Errorf("pause before dial %d = %v, want %v less up to a fifth (dials at %v)", i+1, got, want, dials)
					}
				}
				if st := snd.Stats(); st.ConnectFailures != uint64(len(dials)) || st.Queued != 2 {
					t.Errorf("Stats() = %+v", st)
				}

				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				defer cancel()
				if err := snd.Close(ctx); !errors.Is(err, ErrClosed) {
					t.Errorf("Close = %v, want ErrClosed", err)
				}
				if err := <-ch; !errors.Is(err, ErrClosed) {
					t.Errorf("Send = %v, want ErrClosed", err)
				}
			})
		})
	}
}

// fakeConn records what is written to it; with fail set, its first write
// stores half of its bytes and fails.
type fakeConn struct {
	net.Conn // nil: only the methods below are used
	fail     bool
	written  []byte
	closed   bool
}

func (c *fakeConn) Write(p []byte) (int, error) {
	if c.fail {
		c.fail = false
		c.written = append(c.written, p[:len(p)/2]...)
		return len(p) / 2, syscall.EPIPE
	}
	c.written = append(c.written, p...)
	return len(p), nil
}

func (c *fakeConn) Close() error                     { c.closed = true; return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3002} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// TestWriteFailure: a batch whose write fails half-way is re-sent whole on
// a new connection, after delay because nothing got through.
func TestWriteFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conns := []*fakeConn{{fail: true}, {}}
		var dials []time.Time
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			if len(dials) == len(conns) {
				return nil, syscall.ECONNREFUSED
			}
			dials = append(dials, time.Now())
			return conns[len(dials)-1], nil
		}
		cfg := testConfig(3002)
		cfg.Delay = 10 * time.Second
		snd := newSender(cfg, slog.New(slog.DiscardHandler), dial)
		b := batchOf("retried", 100, 1500000000)
		if err := snd.Send(context.Background(), b); err != nil {
			t.Fatalf("Send: %v", err)
		}
		want := format(b)
		if len(conns[0].written) != len(want)/2 || !conns[0].closed {
			t.Errorf("first connection: %d bytes written, closed %v", len(conns[0].written), conns[0].closed)
		}
		if string(conns[1].written) != string(want) {
			t.Errorf("second connection received %q, want %q", conns[1].written, want)
		}
		if len(dials) != 2 || dials[1].Sub(dials[0]) != cfg.Delay {
			t.Errorf("dials at %v, want 2, %v apart", dials, cfg.Delay)
		}
		if st := snd.Stats(); st.Sent != 100 || st.Writes != 2 || st.Bytes != uint64(len(want)+len(want)/2) {
			t.Errorf("Stats() = %+v", st)
		}
		if err := snd.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
