package graphite

import (
	"context"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// lateConn is a connection whose writer is kept off the CPU for stall
// between setting its first write deadline and writing (once, whatever
// the connection: stalled is shared): what a busy machine does to a
// goroutine.
type lateConn struct {
	net.Conn
	stall   time.Duration
	stalled *atomic.Bool
}

func (c *lateConn) SetWriteDeadline(t time.Time) error {
	err := c.Conn.SetWriteDeadline(t)
	if !t.IsZero() && !c.stalled.Swap(true) {
		time.Sleep(c.stall) // virtual: the bubble's clock
	}
	return err
}

// A writer that starts its write after its deadline passed, because it
// was kept off the CPU, has not seen carbon read nothing: the write is
// tried again, on the same connection, and no line is sent twice.
// Before, the connection was given up as dead and its lines re-sent.
func TestWriterLateForItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		carbon := newMemCarbon(t)
		cfg := testConfig(3002)
		var stalled atomic.Bool
		s := newSender(cfg, testLogger(t), func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := carbon.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &lateConn{Conn: c, stall: 3 * cfg.WriteTimeout / 2, stalled: &stalled}, nil
		})
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s.Close(ctx)
		}()
		b := batchOf("late", 100, 1500000000)
		if err := s.Send(context.Background(), b); err != nil {
			t.Fatalf("Send: %v", err)
		}
		synctest.Wait()
		if n := carbon.Connections(); n != 1 {
			t.Errorf("%d connections, want 1: a late writer took carbon for dead", n)
		}
		if got := carbon.Lines(); !slices.Equal(got, linesOf(b)) {
			t.Errorf("carbon received %d lines, want each of the %d once", len(got), len(b))
		}
	})
}
