package graphite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
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
	lines lineWriter  // writes to bw, counting the lines
	stop  func() bool // stops the abort hook
	wrote bool        // a flush on this connection succeeded

	given    int64   // lines handed to bw
	accepted int64   // whole lines the kernel accepted
	bytes    int64   // bytes the kernel accepted
	midLine  bool    // the last byte the kernel accepted ends no line
	marks    []mark  // how many whole lines the first bytes held, at each write
	last     check   // the last check that found the connection open
	checks   []check // such checks at least 10 ms apart, oldest first
}

// A mark is how many whole lines the first bytes of the stream hold.
type mark struct{ bytes, lines int64 }

// A check is a moment carbon still had the connection open, with how
// many whole lines the kernel had accepted by then, and how many of them
// carbon's kernel had acknowledged.
type check struct {
	at              time.Time
	accepted, acked int64
}

// note records a check at now that found c open.
func (c *conn) note(now time.Time) {
	c.last = check{now, c.accepted, c.ackedLines()}
	if n := len(c.checks); n == 0 || now.Sub(c.checks[n-1].at) >= 10*time.Millisecond {
		// The history needs no finer grain: it places lines in time for
		// a resume, and so holds at most (confirm-after + replay-window)
		// / 10 ms checks.
		c.checks = append(c.checks, c.last)
	}
}

// ackedLines returns how many whole lines carbon's kernel acknowledged:
// those in the bytes the kernel accepted less those it still holds
// (unsent). On a slow link megabytes wait in the send buffer for
// seconds; counting them as delivered would lose them if the connection
// then dies. It forgets the marks no later call needs.
func (c *conn) ackedLines() int64 {
	acked := c.bytes
	if q, ok := unsent(c.Conn); ok {
		acked -= int64(q)
	}
	i := sort.Search(len(c.marks), func(i int) bool { return c.marks[i].bytes > acked }) - 1
	if i < 0 {
		return 0
	}
	lines := c.marks[i].lines
	c.marks = slices.Delete(c.marks, 0, i)
	return lines
}

// confirmed returns how many lines are known delivered as of upTo: at
// the last check made by upTo, those carbon's kernel had acknowledged and
// the kernel had accepted at a check at least after before. Carbon never
// talks back, so this is the only proof there is.
func (c *conn) confirmed(upTo time.Time, after time.Duration) int64 {
	i := c.lastAt(upTo)
	if i < 0 {
		return 0
	}
	if j := c.lastAt(c.checks[i].at.Add(-after)); j >= 0 {
		return min(c.checks[i].acked, c.checks[j].accepted)
	}
	return 0
}

// lastAt returns the index of the last check at or before t, or -1.
func (c *conn) lastAt(t time.Time) int {
	return sort.Search(len(c.checks), func(i int) bool { return c.checks[i].at.After(t) }) - 1
}

// prune forgets the checks no later confirmed(upTo, after) call can use,
// for an upTo never before this one: those before the one it would read.
func (c *conn) prune(upTo time.Time, after time.Duration) {
	i := c.lastAt(upTo)
	if i < 0 {
		return
	}
	if j := c.lastAt(c.checks[i].at.Add(-after)); j > 0 {
		c.checks = slices.Delete(c.checks, 0, j)
	}
}

// lineWriter writes to the connection's buffer and counts the lines it
// was given. It keeps bufio's AvailableBuffer, so lines are still
// formatted straight into the buffer (metric.Slice).
type lineWriter struct{ c *conn }

func (w lineWriter) Write(p []byte) (int, error) {
	w.c.given += int64(bytes.Count(p, newline))
	return w.c.bw.Write(p)
}

func (w lineWriter) AvailableBuffer() []byte { return w.c.bw.AvailableBuffer() }

var newline = []byte{'\n'}

// skipWriter leaves out the first skip lines written to it: the lines of
// a batch that an earlier connection already delivered for good.
type skipWriter struct {
	w    io.Writer
	skip int
}

func (w *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	for w.skip > 0 && len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, nil
		}
		p = p[i+1:]
		w.skip--
	}
	if len(p) == 0 {
		return n, nil
	}
	if _, err := w.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// sockWriter writes to c's socket in pieces of at most chunkSize bytes.
// The write timeout measures lack of progress: a write fails when for
// write-timeout neither a byte was written nor the kernel's queue of
// unacknowledged bytes went down (unsent), so a slow carbon is slow, not
// dead. It counts the writes, the bytes and the whole lines the kernel
// accepted, and checks the connection every checkEvery, which confirms
// lines during a long write.
type sockWriter struct {
	s *Sender
	c *conn
}

func (w sockWriter) Write(p []byte) (n int, err error) {
	timeout := w.s.cfg.WriteTimeout
	// blocked is how long the writes waited on the kernel since bytes
	// last moved: the time between them is not counted, so a goroutine
	// kept off the CPU past its deadline (a busy machine) does not make
	// a carbon that reads look dead.
	var blocked time.Duration
	queue := -1 // the kernel's unacknowledged bytes at the last timeout
	for len(p) > 0 {
		piece := p[:min(len(p), chunkSize)]
		var deadline time.Time // zero: no deadline
		if timeout > 0 {
			deadline = time.Now().Add(min(timeout, checkEvery))
		}
		if err := w.c.SetWriteDeadline(deadline); err != nil {
			return n, err
		}
		// Checked after setting the deadline: the abort hook sets a past
		// deadline after abort is cancelled, so one of the two stops us.
		if err := w.s.abort.Err(); err != nil {
			return n, err
		}
		before := time.Now()
		m, err := w.c.Conn.Write(piece)
		w.s.writes.Add(1)
		w.s.bytes.Add(uint64(m))
		now := time.Now()
		if m > 0 {
			w.c.accepted += int64(bytes.Count(piece[:m], newline))
			w.c.bytes += int64(m)
			w.c.marks = append(w.c.marks, mark{w.c.bytes, w.c.accepted})
			w.c.midLine = piece[m-1] != '\n'
			blocked = 0
		}
		n += m
		p = p[m:]
		switch {
		case err == nil:
			queue = -1
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return n, err
		default:
			if !before.Before(deadline) {
				break // the deadline had passed before the write began: try again
			}
			blocked += now.Sub(before)
			if q, ok := unsent(w.c.Conn); ok {
				if queue >= 0 && q < queue {
					blocked = 0
				}
				queue = q
			}
			if blocked >= timeout {
				return n, fmt.Errorf("carbon read nothing for %v: %w", timeout, err)
			}
		}
		if now.Sub(w.c.last.at) >= checkEvery {
			if err := w.s.observe(w.c); err != nil {
				return n, err
			}
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
		s.markFailing()
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
	c := &conn{Conn: nc}
	c.bw = bufio.NewWriterSize(sockWriter{s: s, c: c}, chunkSize)
	c.lines = lineWriter{c}
	c.stop = context.AfterFunc(s.abort, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return c
}

// closeConn closes c, with the original's log lines. A connection that
// ends in the middle of a line is reset instead (SO_LINGER 0): closed
// cleanly, carbon would read the cut line, then the end of the stream,
// and might store it as a whole one.
func (s *Sender) closeConn(c *conn) {
	c.stop()
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok && c.midLine {
		s.log.Warn("resetting the connection: its last line was cut", "lines_accepted", c.accepted)
		l.SetLinger(0)
	}
	s.log.Info(fmt.Sprintf("closing connection to %s on port %d", s.cfg.Server, s.cfg.Port))
	if err := c.Close(); err != nil {
		s.log.Warn(fmt.Sprintf("closing connection failed: %v", err), "err", err)
		return
	}
	s.log.Info(fmt.Sprintf("successfully closed connection to %s on port %d", s.cfg.Server, s.cfg.Port))
}
