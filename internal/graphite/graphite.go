// Package graphite sends datapoints to one carbon relay with the Graphite
// plaintext protocol, https://graphite.readthedocs.io/en/latest/feeding-carbon.html,
// over one TCP connection shared by every caller.
//
// # Delivery
//
// Send returns nil only after its lines were written to the connection. The
// caller (the process daemon) deletes a snapshot directory only when every
// sink accepted it, so while carbon is down the snapshot directories on disk
// are the durable queue: Send blocks, the workers stop taking snapshots, and
// haproxystats-pull pauses at its queue-size. The in-memory queue of a Sender
// only batches the lines of concurrent callers into large writes and bridges
// a short outage without re-reading the disk.
//
// A TCP write that "succeeds" proves only that the local kernel accepted the
// bytes, not that carbon read them: if carbon closes or dies just after, the
// bytes are lost without an error. So Send does not return when its lines
// are written, but when the connection was found still open at least
// ConfirmAfter later: carbon never sends anything, so a non-blocking read
// that finds an end of stream or an error means carbon closed it, and then
// every line written since the last good check is sent again, in order, on
// a new connection. The same check runs before every write, and every
// tenth of a second during a long one. Graphite stores one value per path
// and timestamp, so lines sent twice are harmless.
//
// Progress is kept per line, not per batch: the Sender counts the whole
// lines the kernel accepted and, at each check that found the connection
// open, notes the count. A line counts as delivered once a check
// ConfirmAfter after it was accepted found the connection open, and is
// let go of ReplayWindow after that. A connection found dead resumes,
// on the next one, at the first line not let go of: a snapshot of
// millions of lines on a slow link is never started again from its
// first line. The write timeout measures lack of progress: a write that
// moves any bytes within it goes on. A connection abandoned in the
// middle of a line is reset rather than closed, so that carbon does not
// take the cut line for a whole one.
//
// # Connecting
//
// As in the original haproxystats, one connection sequence makes retries+1
// attempts (retries -1: unlimited), each bounded by connect-timeout, pausing
// interval·backoff^(k-1) before attempt k+1. Unlike the original, the pause is
// capped at five minutes (unless interval itself is longer) and up to a fifth
// of it is drawn at random, so that load balancers that lost one relay do not
// reconnect in lockstep; and reconnecting
// happens in the background: after a sequence fails the Sender waits delay
// and starts a new one, for as long as lines are queued, until Close.
package graphite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/backoff"
	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/metric"
)

var (
	// ErrDropped is returned by Send when its lines were dropped from the
	// full queue to make room for newer ones before they could be written.
	ErrDropped = errors.New("graphite: metrics dropped from the full queue")
	// ErrClosed is returned by Send after Close, and for lines still queued
	// when Close gave up.
	ErrClosed = errors.New("graphite: sender closed")
)

// chunkSize is the size of the write buffer and the largest single write.
// A write that moves no byte within write-timeout fails the connection.
const chunkSize = 64 << 10

// ackPoll is how often the flusher looks whether carbon's kernel
// acknowledged lines written and not acknowledged yet.
const ackPoll = 10 * time.Millisecond

// checkEvery is how often a long write checks that carbon still has the
// connection open, which confirms the lines written before.
const checkEvery = 100 * time.Millisecond

// maxPause caps the pause between connection attempts (unless the
// configured interval is longer), so that retries = -1 with backoff > 1
// keeps trying at a useful rate during a long outage.
const maxPause = 5 * time.Minute

// ConfirmAfter is how long a connection must stay open after a batch was
// written for the batch to count as delivered (see Delivery).
const ConfirmAfter = time.Second

// ReplayWindow is how long a confirmed batch is still kept, and sent
// again if the connection is then found dead: a relay may keep a
// connection open for seconds while it shuts down and still drop what it
// had read (the fault suite saw carbon-c-relay do so). Its cost is that
// up to this much of what was sent before an outage is sent twice, which
// Graphite absorbs (one value per path and timestamp).
const ReplayWindow = 10 * time.Second

// An Option changes a Sender made by New.
type Option func(*Sender)

// WithConfirmAfter replaces ConfirmAfter: a shorter wait for a network
// whose carbon is known to be local, or for tests.
func WithConfirmAfter(d time.Duration) Option { return func(s *Sender) { s.confirmAfter = d } }

// WithReplayWindow replaces ReplayWindow; 0 disables the replay.
func WithReplayWindow(d time.Duration) Option { return func(s *Sender) { s.replayWindow = d } }

// defaults are the options every New starts from; this package's tests
// change them for all their senders.
var defaults = []Option{WithConfirmAfter(ConfirmAfter), WithReplayWindow(ReplayWindow)}

// Stats are the counters of a Sender, for self-metrics. Counters only grow.
type Stats struct {
	Sent            uint64 // lines written and confirmed (see Delivery)
	Dropped         uint64 // lines dropped because the queue was full
	ConnectFailures uint64 // failed connection attempts
	Writes          uint64 // write calls on the connection
	Bytes           uint64 // bytes written, re-sent bytes included
	Queued          int    // lines not confirmed yet: queued, being written, or written and waiting for confirmation
}

// batch is the lines of one Send. They are formatted or rendered as they
// are written, straight into the connection's buffer, and again if the
// batch is re-sent: the Sender keeps no formatted copy of a snapshot, only
// a reference to the caller's metrics or lines.
type batch struct {
	src   metric.Lines
	lines int
	done  chan error // capacity 1: receives the outcome once (finish)
	once  sync.Once
	let   sync.Once // release

	// skip is how many of its first lines the next write leaves out: the
	// lines an earlier connection delivered for good (see Delivery).
	skip int
	// start and end place the batch in the current connection's stream
	// of lines, [start, end); end is -1 while it is being written.
	start, end int64
	accepted   time.Time // when a check first saw its last line accepted by the kernel
	confirmed  time.Time // when its Send was told; then it waits out the replay window
}

// finish reports the batch's outcome to its Send, once: a batch that is
// replayed after its confirmation is not reported again.
func (b *batch) finish(err error) {
	b.once.Do(func() { b.done <- err })
}

// release lets go of the batch's lines for good (metric.Retained).
func (b *batch) release() {
	b.let.Do(func() {
		if r, ok := b.src.(metric.Retained); ok {
			r.Release()
		}
	})
}

// chunkLines is how many lines one flush takes at most, beyond its first
// batch: about chunkSize bytes of typical lines.
const chunkLines = chunkSize / 64

// Sender writes Graphite plaintext lines to one carbon relay over one TCP
// connection. It is safe for concurrent use. New starts its flusher
// goroutine; Close stops it and waits for it.
//
// Its queue holds the lines of pending Send calls, oldest first, at most
// queue-size lines. When a new batch does not fit, the oldest whole batches
// are dropped (their Send returns ErrDropped, their lines are counted in
// Stats.Dropped) until it does, but a batch being written is never dropped,
// and a batch is always admitted once nothing else can be dropped. So the
// queue holds at most max(queue-size, one Send's lines) lines, plus the
// chunk being written (up to 64 KiB of lines, or one Send's lines).
// queue-size 0 therefore keeps only the newest waiting batch.
type Sender struct {
	cfg  config.Graphite
	addr string // host:port
	log  *slog.Logger
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// abort is cancelled when the flusher must stop at once: Close's
	// context is done, or Close found nothing queued. Dials, pauses and
	// writes end when it is.
	abort       context.Context
	cancelAbort context.CancelFunc
	wake        chan struct{} // capacity 1: something was queued, or Close was called
	wg          sync.WaitGroup
	done        chan struct{} // closed when the flusher returned
	unsent      int           // lines failed with ErrClosed; written by the flusher before done is closed

	mu       sync.Mutex
	queue    []*batch // guarded by mu; oldest first
	inflight int      // guarded by mu; queue[:inflight] is about to be written and is never dropped
	queued   int      // guarded by mu; lines in queue, and in sent not yet confirmed
	// sent holds the batches written on the current connection, oldest
	// first: those that wait for their confirmation, then (confirmed)
	// those that wait out the replay window. If the connection turns out
	// dead they go back to the front of the queue, from the first line
	// not delivered for good. Guarded by mu; never dropped.
	sent      []*batch
	closed    bool   // guarded by mu; no more Sends are accepted
	full      bool   // guarded by mu; a drop was logged and nothing was written since
	sentLines uint64 // guarded by mu
	dropped   uint64 // guarded by mu

	// Updated by the flusher, read by Stats.
	connectFailures, writes, bytes atomic.Uint64
	// failing is when the sender began failing (Unix nanoseconds): a
	// connection attempt failed, or a connection was found dead; 0 once
	// a check of an open connection confirmed lines or had none left to
	// confirm. Written by the flusher, read by FailingSince.
	failing atomic.Int64

	// Owned by the flusher goroutine.
	lastFail time.Time // when the last connection sequence failed
	paceAt   time.Time // earliest time the next chunk may be written (max-lines-per-second)

	confirmAfter time.Duration // ConfirmAfter, or WithConfirmAfter
	replayWindow time.Duration // ReplayWindow, or WithReplayWindow
}

// New returns a Sender for cfg.Server and cfg.Port and starts its flusher
// goroutine, which connects at once, as the original did at worker start.
// A zero ConnectTimeout or WriteTimeout means no timeout. The caller must
// call Close.
func New(cfg config.Graphite, log *slog.Logger, opts ...Option) *Sender {
	d := &net.Dialer{Timeout: cfg.ConnectTimeout}
	return newSender(cfg, log, d.DialContext, opts...)
}

func newSender(cfg config.Graphite, log *slog.Logger, dial func(context.Context, string, string) (net.Conn, error), opts ...Option) *Sender {
	s := &Sender{
		cfg:  cfg,
		addr: net.JoinHostPort(cfg.Server, strconv.Itoa(cfg.Port)),
		log:  log.With("server", cfg.Server, "port", cfg.Port),
		dial: dial,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	for _, o := range append(defaults[:len(defaults):len(defaults)], opts...) {
		o(s)
	}
	s.abort, s.cancelAbort = context.WithCancel(context.Background())
	s.wg.Go(func() {
		defer close(s.done)
		s.run()
	})
	return s
}

// Send queues ms and blocks until they were sent, as SendLines does. The
// Sender reads ms until the lines are confirmed or dropped, also after a
// Send that returned on ctx: the caller must not modify ms after Send.
func (s *Sender) Send(ctx context.Context, ms []metric.Metric) error {
	return s.SendLines(ctx, metric.Slice(ms))
}

// SendLines queues l and blocks until its lines were all written to the
// connection, flushed, and the connection stayed open for ConfirmAfter
// (nil), or were dropped from the full queue (ErrDropped), or ctx is done
// (ctx.Err(); the lines stay queued and may still be sent, which is
// harmless because Graphite overwrites the same path and timestamp), or
// the sender was closed (ErrClosed), or l could not render its lines (a
// *metric.SourceError). Lines of one call are written contiguously; calls
// are written in the order they were queued. The Sender calls l.WriteTo
// each time it writes the batch, until the lines are confirmed and out of
// the replay window, or dropped, also after a SendLines that returned.
func (s *Sender) SendLines(ctx context.Context, l metric.Lines) error {
	if l.Len() == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := newBatch(l)
	if r, ok := l.(metric.Retained); ok {
		r.Retain() // released when the batch leaves the sender
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		b.release()
		return ErrClosed
	}
	dropped := s.admitLocked(b)
	logFull := len(dropped) > 0 && !s.full
	if len(dropped) > 0 {
		s.full = true
	}
	s.mu.Unlock()

	for _, d := range dropped {
		d.finish(ErrDropped)
		d.release()
	}
	if logFull {
		// The original's wording; logged once per outage, not per drop.
		s.log.Error("graphite dispatcher queue is full, old metrics will be dropped", "queue_size", s.cfg.QueueSize)
	}
	s.signal()

	select {
	case err := <-b.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newBatch(l metric.Lines) *batch {
	return &batch{src: l, lines: l.Len(), done: make(chan error, 1)}
}

// admitLocked appends b to the queue, first dropping the oldest batches
// that are not being written until b fits. It returns the dropped batches.
// s.mu must be held.
func (s *Sender) admitLocked(b *batch) (dropped []*batch) {
	for s.queued+b.lines > s.cfg.QueueSize && len(s.queue) > s.inflight {
		old := s.queue[s.inflight]
		s.queue = slices.Delete(s.queue, s.inflight, s.inflight+1)
		s.queued -= old.lines
		s.dropped += uint64(old.lines)
		dropped = append(dropped, old)
	}
	s.queue = append(s.queue, b)
	s.queued += b.lines
	return dropped
}

// signal wakes the flusher without blocking.
func (s *Sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting lines, keeps trying to write what is queued until
// that is done or ctx is done, then closes the connection and waits for the
// flusher goroutine. Lines it could not write fail their Send with
// ErrClosed, and Close then returns an error wrapping ErrClosed. Give it a
// fresh context: a cancelled one makes it give up at once. Close may be
// called more than once and concurrently.
func (s *Sender) Close(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	empty := len(s.queue) == 0 && !slices.ContainsFunc(s.sent, func(b *batch) bool { return b.confirmed.IsZero() })
	s.mu.Unlock()
	if first {
		if empty {
			s.cancelAbort() // nothing to flush: do not wait for a connection
		}
		s.signal()
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancelAbort()
		<-s.done
	}
	s.wg.Wait()
	if s.unsent > 0 {
		return fmt.Errorf("graphite %s: %d queued lines not sent: %w", s.addr, s.unsent, ErrClosed)
	}
	return nil
}

// Stats returns a snapshot of the counters. It is safe to call at any time.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	st := Stats{Sent: s.sentLines, Dropped: s.dropped, Queued: s.queued}
	s.mu.Unlock()
	st.ConnectFailures = s.connectFailures.Load()
	st.Writes = s.writes.Load()
	st.Bytes = s.bytes.Load()
	return st
}

// run is the flusher goroutine: it writes the queue, oldest batch first,
// confirms what was written, and owns the connection.
func (s *Sender) run() {
	var c *conn
	defer func() { s.finish(c) }()

	c = s.connect()
	for s.waitWork(c) {
		if c != nil {
			if err := s.observe(c); err != nil {
				s.log.Warn("graphite connection problem is detected", "err", err)
				s.lost(c)
				c = nil
			}
		}
		if !s.hasQueue() {
			continue // only confirmations were due
		}
		if c == nil {
			if c = s.connectLoop(); c == nil {
				return // aborted
			}
		}
		if err := s.flush(c); err != nil {
			if errors.Is(err, errAborted) {
				return
			}
			s.log.Error(fmt.Sprintf("caught %v while sending data to graphite", err), "err", err)
			if !c.wrote {
				// It failed before anything got through: do not redial at
				// once, a relay that accepts and resets would make us spin.
				s.lastFail = time.Now()
			}
			s.lost(c)
			c = nil
		}
	}
}

// observe checks that carbon still has c open and, if it has, notes how
// many lines it had accepted by now and confirms what that proves
// delivered.
func (s *Sender) observe(c *conn) error {
	if err := peerClosed(c.Conn); err != nil {
		return err
	}
	now := time.Now()
	c.note(now)
	s.confirm(c, now)
	return nil
}

// lost closes a connection found dead and puts every batch written on it
// back at the front of the queue, in order, each from its first line not
// delivered for good.
func (s *Sender) lost(c *conn) {
	now := time.Now()
	s.confirm(c, now)
	s.markFailing() // after confirm, which finds it working when it confirms
	s.closeConn(c)
	kept := c.confirmed(now.Add(-s.replayWindow), s.confirmAfter)
	s.mu.Lock()
	defer s.mu.Unlock()
	replayed, lines := 0, 0
	for _, b := range s.sent {
		if !b.confirmed.IsZero() {
			s.queued += b.lines // confirmed once, in the queue again
			replayed++
		}
		b.accepted, b.confirmed = time.Time{}, time.Time{}
		if end := b.end; kept > b.start {
			if end < 0 {
				end = c.given
			}
			b.skip += int(min(kept, end) - b.start)
		}
		lines += b.lines - b.skip
	}
	if len(s.sent) > 0 {
		s.log.Warn("connection found dead: re-sending the lines not confirmed, and those confirmed in the replay window",
			"lines", lines, "batches", len(s.sent), "confirmed_batches", replayed)
		s.queue = append(s.sent, s.queue...)
		s.sent = nil
	}
}

// confirm completes the batches, oldest first, whose last line the
// kernel accepted at least ConfirmAfter before the last check of c, and
// carbon's kernel acknowledged by then; and it lets go of those confirmed
// longer than ReplayWindow ago.
func (s *Sender) confirm(c *conn, now time.Time) {
	c.prune(now.Add(-s.replayWindow), s.confirmAfter)
	var done, expired []*batch
	s.mu.Lock()
	for _, b := range s.sent {
		if b.end < 0 || b.end > c.last.accepted {
			break
		}
		if b.accepted.IsZero() {
			b.accepted = c.last.at
		}
	}
	k := 0
	for _, b := range s.sent {
		if b.end < 0 {
			break
		}
		if b.confirmed.IsZero() {
			if b.accepted.IsZero() || c.last.at.Sub(b.accepted) < s.confirmAfter || c.last.acked < b.end {
				break
			}
			b.confirmed = now
			s.queued -= b.lines
			s.sentLines += uint64(b.lines)
			done = append(done, b)
		}
		if now.Sub(b.confirmed) >= s.replayWindow && k == len(expired) {
			expired = append(expired, b)
			k++
		}
	}
	clear(s.sent[:k])
	s.sent = s.sent[k:]
	idle := len(s.queue) == 0 && !slices.ContainsFunc(s.sent, func(b *batch) bool { return b.confirmed.IsZero() })
	s.mu.Unlock()
	if len(done) > 0 || idle {
		s.failing.Store(0) // carbon has the connection open and takes the lines
	}
	for _, b := range done {
		b.finish(nil)
	}
	for _, b := range expired {
		b.release()
	}
}

func (s *Sender) hasQueue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0
}

// waitWork blocks until something is queued or a batch written on c is
// due for confirmation (true), or the sender is closed with nothing left
// to write or confirm, or aborted (false).
func (s *Sender) waitWork(c *conn) bool {
	for {
		s.mu.Lock()
		n, closed := len(s.queue), s.closed
		var due time.Duration = -1
		if i := slices.IndexFunc(s.sent, func(b *batch) bool { return b.confirmed.IsZero() }); i >= 0 && c != nil {
			due = ackPoll // not accepted, or not acknowledged, yet: look again soon
			if at := s.sent[i].accepted; !at.IsZero() {
				if d := time.Until(at.Add(s.confirmAfter)); d > 0 {
					due = d
				}
			}
		}
		s.mu.Unlock()
		if s.abort.Err() != nil {
			return false
		}
		if n > 0 || due == 0 {
			return true
		}
		if closed && due < 0 {
			return false
		}
		var t *time.Timer
		var timer <-chan time.Time
		if due > 0 {
			t = time.NewTimer(due)
			timer = t.C
		}
		fired := false
		select {
		case <-s.wake:
		case <-timer:
			fired = true // a confirmation, or a look at the acknowledgements, is due
		case <-s.abort.Done():
		}
		if t != nil {
			t.Stop()
		}
		if fired && s.abort.Err() == nil {
			return true
		}
	}
}

// flush writes the oldest batches, at least one and up to chunkSize bytes
// of them, through c's buffer. Each moves to sent as its write starts;
// on an error the caller gives c up (lost), which puts them back.
func (s *Sender) flush(c *conn) error {
	s.mu.Lock()
	k, lines := 0, 0
	for k < len(s.queue) && (k == 0 || lines+s.queue[k].lines-s.queue[k].skip <= chunkLines) {
		lines += s.queue[k].lines - s.queue[k].skip
		k++
	}
	chunk := slices.Clone(s.queue[:k])
	s.inflight = k
	s.mu.Unlock()

	if !s.pace(lines) {
		s.mu.Lock()
		s.inflight = 0
		s.mu.Unlock()
		return errAborted
	}

	var err error
	var failed map[*batch]error // batches whose lines could not be rendered
	for _, b := range chunk {
		s.mu.Lock()
		b.start, b.end = c.given, -1
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.inflight--
		s.sent = append(s.sent, b)
		s.mu.Unlock()

		var w io.Writer = c.lines
		if b.skip > 0 {
			w = &skipWriter{w: w, skip: b.skip}
		}
		var se *metric.SourceError
		if _, err = b.src.WriteTo(w); errors.As(err, &se) {
			// Not the connection's fault: the lines already written are
			// whole lines, the rest cannot be had. Give up this batch.
			s.log.Error("lines of a batch could not be rendered, dropping the batch", "lines", b.lines, "err", err)
			if failed == nil {
				failed = map[*batch]error{}
			}
			failed[b] = err
			err = nil
			continue
		}
		if err != nil {
			break
		}
		s.mu.Lock()
		b.end = c.given
		s.mu.Unlock()
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if err == nil {
		err = s.observe(c) // the lines are out: start their confirmation
	}

	s.mu.Lock()
	s.inflight = 0
	if len(failed) > 0 {
		s.sent = slices.DeleteFunc(s.sent, func(b *batch) bool {
			if failed[b] != nil {
				s.queued -= b.lines
				return true
			}
			return false
		})
	}
	if err == nil {
		s.full = false
	}
	s.mu.Unlock()

	for b, ferr := range failed {
		b.finish(fmt.Errorf("graphite: %w", ferr))
		b.release()
	}
	if err != nil {
		return err
	}
	c.wrote = true
	return nil
}

// finish runs when the flusher returns: it closes the connection and fails
// whatever is still queued or unconfirmed with ErrClosed.
func (s *Sender) finish(c *conn) {
	if c != nil {
		s.closeConn(c)
	}
	s.mu.Lock()
	s.closed = true
	var rest, replayed []*batch
	for _, b := range s.sent {
		if !b.confirmed.IsZero() {
			replayed = append(replayed, b)
		} else {
			rest = append(rest, b)
		}
	}
	rest = append(rest, s.queue...)
	s.unsent = s.queued
	s.queue, s.sent, s.queued, s.inflight = nil, nil, 0, 0
	s.mu.Unlock()
	for _, b := range rest {
		b.finish(ErrClosed)
		b.release()
	}
	for _, b := range replayed {
		b.release()
	}
	if s.unsent > 0 {
		s.log.Error("closed with lines not sent", "lines", s.unsent)
	}
	s.cancelAbort() // release the context
}

// errAborted ends a flush interrupted by Close.
var errAborted = errors.New("sender closed")

// pace waits, when max-lines-per-second is set, until writing lines
// more keeps the average rate under it, so that a backlog sent after an
// outage reaches carbon at a bounded rate. It returns false if Close
// aborted the wait.
func (s *Sender) pace(lines int) bool {
	rate := s.cfg.MaxLinesPerSecond
	if rate <= 0 {
		return true
	}
	now := time.Now()
	if s.paceAt.Before(now) {
		s.paceAt = now
	}
	if wait := s.paceAt.Sub(now); wait > 0 && !backoff.Sleep(s.abort, wait) {
		return false
	}
	s.paceAt = s.paceAt.Add(time.Duration(float64(lines) / float64(rate) * float64(time.Second)))
	return true
}

// FailingSince returns since when the sender has been failing to reach
// carbon: since the first failed connection attempt, or the first
// connection found dead, after the last time it was found working (an
// open connection on which lines were confirmed, or none waited). The
// zero time means it works. Sends do not fail meanwhile: they wait, so
// this is how the health probes learn of an outage. It does not block.
func (s *Sender) FailingSince() time.Time {
	if n := s.failing.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// markFailing records that the sender fails, unless it did already.
func (s *Sender) markFailing() { s.failing.CompareAndSwap(0, time.Now().UnixNano()) }

// Name identifies the sink in logs and errors.
func (s *Sender) Name() string { return "graphite" }

// Report returns the sender's counters as self-statistics, named as they
// appear under PREFIX.haproxystats.
func (s *Sender) Report() map[string]float64 {
	st := s.Stats()
	return map[string]float64{
		"GraphiteLinesSent":       float64(st.Sent),
		"GraphiteLinesDropped":    float64(st.Dropped),
		"GraphiteConnectFailures": float64(st.ConnectFailures),
		"GraphiteLinesQueued":     float64(st.Queued),
	}
}
