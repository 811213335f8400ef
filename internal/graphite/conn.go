package graphite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/backoff"
)

// errSelfConnect reports a TCP simultaneous open of a socket with itself,
// which Linux allows when the relay's port is in the ephemeral range and
// nothing listens on it.
var errSelfConnect = errors.New("connected to itself: nothing listens on the port")

// conn is one connection to carbon, owned by the flusher goroutine.
type conn struct {
	net.Conn
	bw    *bufio.Writer
	stop  func() bool // stops the abort hook
	wrote bool        // a flush on this connection succeeded
}

// deadlineWriter writes to c in pieces of at most chunkSize bytes, each
// under its own write deadline, and counts writes and bytes.
type deadlineWriter struct {
	s *Sender
	c net.Conn
}

func (w deadlineWriter) Write(p []byte) (n int, err error) {
	for len(p) > 0 {
		piece := p[:min(len(p), chunkSize)]
		var deadline time.Time // zero: no deadline
		if t := w.s.cfg.WriteTimeout; t > 0 {
			deadline = time.Now().Add(t)
		}
		if err := w.c.SetWriteDeadline(deadline); err != nil {
			return n, err
		}
		// Checked after setting the deadline: the abort hook sets a past
		// deadline after abort is cancelled, so one of the two stops us.
		if err := w.s.abort.Err(); err != nil {
			return n, err
		}
		m, err := w.c.Write(piece)
		w.s.writes.Add(1)
		w.s.bytes.Add(uint64(m))
		n += m
		p = p[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// connectLoop runs connection sequences, each at least delay after the
// previous failed one, until one succeeds or the sender is aborted (nil).
func (s *Sender) connectLoop() *conn {
	for {
		if !s.lastFail.IsZero() {
			if !backoff.Sleep(s.abort, time.Until(s.lastFail.Add(s.cfg.Delay))) {
				return nil
			}
		}
		if c := s.connect(); c != nil {
			return c
		}
		if s.abort.Err() != nil {
			return nil
		}
	}
}

// connect runs one sequence of connection attempts, as the original's
// retry decorator did: retries+1 attempts (unlimited with retries -1),
// pausing interval·backoff^(k-1), capped at maxPause, less up to a fifth
// at random (backoff.Backoff), before attempt k+1. It returns nil when
// every attempt failed or the sender was aborted.
func (s *Sender) connect() *conn {
	attempts := s.cfg.Retries + 1 // < 1: unlimited
	retry := backoff.Backoff{First: s.cfg.Interval, Max: max(maxPause, s.cfg.Interval), Factor: s.cfg.Backoff}
	for k := 1; ; k++ {
		s.log.Info(fmt.Sprintf("connecting to %s on port %d", s.cfg.Server, s.cfg.Port))
		nc, err := s.dial(s.abort, "tcp", s.addr)
		if err == nil && nc.LocalAddr().String() == nc.RemoteAddr().String() {
			nc.Close()
			err = errSelfConnect
		}
		if err == nil {
			s.log.Info(fmt.Sprintf("successfully connected to %s on port %d, local address %s", s.cfg.Server, s.cfg.Port, nc.LocalAddr()))
			return s.newConn(nc)
		}
		if s.abort.Err() != nil {
			return nil
		}
		s.connectFailures.Add(1)
		if s.cfg.Retries >= 0 && k >= attempts {
			s.log.Error(fmt.Sprintf("failed to connect to %s on port %d: %v", s.cfg.Server, s.cfg.Port, err), "err", err)
			s.lastFail = time.Now()
			return nil
		}
		pause := retry.Next()
		remaining := -1 // unlimited
		if s.cfg.Retries >= 0 {
			remaining = attempts - k
		}
		s.log.Error(fmt.Sprintf("caught \"%v\" at \"connect\", remaining tries %d, sleeping for %.2f seconds", err, remaining, pause.Seconds()),
			"err", err, "remaining_tries", remaining, "sleep", pause)
		if !backoff.Sleep(s.abort, pause) {
			return nil
		}
	}
}

// newConn wraps nc. Its hook interrupts a blocked write when the sender is
// aborted.
func (s *Sender) newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc, bw: bufio.NewWriterSize(deadlineWriter{s: s, c: nc}, chunkSize)}
	c.stop = context.AfterFunc(s.abort, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return c
}

// closeConn closes c, with the original's log lines.
func (s *Sender) closeConn(c *conn) {
	c.stop()
	s.log.Info(fmt.Sprintf("closing connection to %s on port %d", s.cfg.Server, s.cfg.Port))
	if err := c.Close(); err != nil {
		s.log.Warn(fmt.Sprintf("closing connection failed: %v", err), "err", err)
		return
	}
	s.log.Info(fmt.Sprintf("successfully closed connection to %s on port %d", s.cfg.Server, s.cfg.Port))
}
