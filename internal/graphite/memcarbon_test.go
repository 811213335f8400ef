package graphite

import (
	"context"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
	"github.com/haproxystats-go/haproxystats/internal/haproxytest"
)

// memCarbon is a carbon in memory, for tests inside a synctest bubble,
// where time is virtual: a real socket is not, since a goroutine blocked
// on one is not durably blocked. Its dial hands the Sender one end of a
// net.Pipe and reads the other in the bubble, at rate bytes per second
// (0: at once). Each connection also holds a unix socketpair, of which
// the Sender's end stands for the TCP socket: peerClosed peeks at it and
// unsent reads its queue, which is always empty (what carbon read, it
// acknowledged). When carbon closes a connection it closes the far end of
// the socketpair and goes on reading the pipe at the same rate without
// keeping anything, as a kernel does for a socket whose reader went away:
// writes still "succeed", only a check finds the connection dead.
//
// The first cuts connections close themselves after cutAfter bytes, like
// a relay that keeps restarting. Stop makes dials fail and closes every
// connection, Start lets dials succeed again. Its methods are safe for
// concurrent use; call them from the bubble.
type memCarbon struct {
	t        *testing.T
	rate     int   // bytes per second; 0: at once
	cutAfter int64 // the first cuts connections close after this many bytes
	cuts     int

	mu    sync.Mutex
	down  bool       // guarded by mu; dials fail
	conns []*memSide // guarded by mu; in the order they were dialled
}

// memSide is carbon's side of one connection.
type memSide struct {
	far    int    // carbon's end of the socketpair; -1 once closed
	data   []byte // guarded by memCarbon.mu; what carbon read while open
	closed bool   // guarded by memCarbon.mu
}

func newMemCarbon(t *testing.T) *memCarbon { return &memCarbon{t: t} }

// dial is the Sender's dialer.
func (c *memCarbon) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, syscall.ECONNREFUSED
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		c.t.Errorf("memCarbon: socketpair: %v", err)
		return nil, err
	}
	// peerClosed's peek must not wait: Go's sockets are non-blocking.
	syscall.SetNonblock(fds[0], true)
	near, far := net.Pipe()
	side := &memSide{far: fds[1]}
	i := len(c.conns)
	c.conns = append(c.conns, side)
	limit := int64(0)
	if i < c.cuts {
		limit = c.cutAfter
	}
	go c.read(far, side, limit) // ends when the Sender closes its end
	return &memConn{Conn: near, fd: fds[0], port: 40000 + i}, nil
}

// read reads p until the Sender closes it, keeping what arrives until
// the connection is closed on carbon's side or limit bytes were kept.
func (c *memCarbon) read(p net.Conn, side *memSide, limit int64) {
	defer p.Close()
	buf := make([]byte, 16<<10)
	var total int64
	for {
		piece := buf
		if limit > 0 && total < limit {
			piece = buf[:min(int64(len(buf)), limit-total)]
		}
		n, err := p.Read(piece)
		c.mu.Lock()
		if !side.closed {
			side.data = append(side.data, piece[:n]...)
		}
		c.mu.Unlock()
		if err != nil {
			c.closeSide(side)
			return
		}
		total += int64(n)
		if limit > 0 && total >= limit {
			c.closeSide(side)
		}
		if c.rate > 0 {
			time.Sleep(time.Duration(n) * time.Second / time.Duration(c.rate)) // virtual: in the bubble
		}
	}
}

func (c *memCarbon) closeSide(side *memSide) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !side.closed {
		side.closed = true
		syscall.Close(side.far)
		side.far = -1
	}
}

// CloseConns closes every connection on carbon's side.
func (c *memCarbon) CloseConns() {
	c.mu.Lock()
	conns := c.conns
	c.mu.Unlock()
	for _, side := range conns {
		c.closeSide(side)
	}
}

// Stop closes every connection and makes dials fail until Start.
func (c *memCarbon) Stop() {
	c.mu.Lock()
	c.down = true
	c.mu.Unlock()
	c.CloseConns()
}

// Start lets dials succeed again.
func (c *memCarbon) Start() {
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
}

// Connections returns how many connections were dialled.
func (c *memCarbon) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

// Lines returns the whole lines carbon kept, connection by connection:
// the cut line a connection may end with is not one.
func (c *memCarbon) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	data := make([][]byte, len(c.conns))
	for i, side := range c.conns {
		data[i] = side.data
	}
	return haproxytest.WholeLines(data...)
}

// FirstLines returns the first line each connection delivered.
func (c *memCarbon) FirstLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.conns))
	for i, side := range c.conns {
		out[i], _, _ = strings.Cut(string(side.data), "\n")
	}
	return out
}

// memConn is the Sender's end of a memCarbon connection.
type memConn struct {
	net.Conn // the pipe
	fd       int
	port     int
	once     sync.Once
}

func (c *memConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { syscall.Close(c.fd) })
	return err
}

func (c *memConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.port}
}

func (c *memConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3002}
}

func (c *memConn) SyscallConn() (syscall.RawConn, error) { return rawFD(c.fd), nil }

// rawFD runs each function once on the socket, which never waits: the
// socket is non-blocking and nothing is ever written to it.
type rawFD int

func (fd rawFD) Control(f func(uintptr)) error    { f(uintptr(fd)); return nil }
func (fd rawFD) Read(f func(uintptr) bool) error  { f(uintptr(fd)); return nil }
func (fd rawFD) Write(f func(uintptr) bool) error { f(uintptr(fd)); return nil }

// newMemSender returns a Sender to carbon, closed at the end of the
// test. Call it in the bubble.
func newMemSender(t *testing.T, carbon *memCarbon, cfg config.Graphite, opts ...Option) *Sender {
	t.Helper()
	s := newSender(cfg, testLogger(t), carbon.dial, opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// queueCarbon is a carbon reading at rate bytes per second behind a
// kernel send buffer, for a test inside a synctest bubble. The Sender
// writes to one end of a non-blocking unix socketpair, whose queue
// unsent reads (SIOCOUTQ) as it reads a TCP socket's; carbon reads the
// other end every 10 ms of virtual time. A write that finds the buffer
// full waits, as Linux's TCP does, until a third of the buffer is free
// again, so a slow carbon keeps a writer blocked without moving one of
// its bytes for longer than the buffer takes to drain by a third.
type queueCarbon struct {
	t      *testing.T
	rate   int // bytes per second; set before the first dial
	sndbuf int // the send buffer's size, as the kernel sets it

	mu      sync.Mutex
	conns   [][]byte      // guarded by mu; what each connection delivered
	longest time.Duration // guarded by mu; the longest the writer waited for a full buffer to drain by a third
}

const queueTick = 10 * time.Millisecond

// queueSndbuf is the send buffer each queueCarbon connection asks for;
// the kernel doubles it, and caps it at net.core.wmem_max.
const queueSndbuf = 1 << 20

// newQueueCarbon returns a queueCarbon, whose sndbuf is the size the
// kernel gives its connections' buffers: set rate from it.
func newQueueCarbon(t *testing.T) *queueCarbon {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("queueCarbon: socketpair: %v", err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, queueSndbuf)
	sndbuf, err := syscall.GetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	if err != nil {
		t.Fatalf("queueCarbon: SO_SNDBUF: %v", err)
	}
	return &queueCarbon{t: t, sndbuf: sndbuf}
}

// dial is the Sender's dialer.
func (c *queueCarbon) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		c.t.Errorf("queueCarbon: socketpair: %v", err)
		return nil, err
	}
	syscall.SetNonblock(fds[0], true)
	syscall.SetNonblock(fds[1], true)
	syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, queueSndbuf)
	c.mu.Lock()
	i := len(c.conns)
	c.conns = append(c.conns, nil)
	c.mu.Unlock()
	closed := make(chan struct{})
	go c.read(fds[1], i, closed)
	return &queueConn{c: c, fd: fds[0], sndbuf: c.sndbuf, port: 40000 + i, closed: closed}, nil
}

// read reads fd at c.rate until the Sender closes its end (closed),
// then reads what is left.
func (c *queueCarbon) read(fd, i int, closed <-chan struct{}) {
	defer syscall.Close(fd)
	buf := make([]byte, 64<<10)
	per := max(1, c.rate*int(queueTick)/int(time.Second))
	for {
		select {
		case <-closed:
			per = math.MaxInt
		case <-time.After(queueTick):
		}
		for got := 0; got < per; {
			n, err := syscall.Read(fd, buf[:min(len(buf), per-got)])
			if n > 0 {
				c.mu.Lock()
				c.conns[i] = append(c.conns[i], buf[:n]...)
				c.mu.Unlock()
				got += n
				continue
			}
			if err == syscall.EAGAIN {
				break // nothing more queued: read on at the next tick
			}
			return // the Sender closed its end (n == 0), or an error
		}
	}
}

// Connections returns how many connections were dialled.
func (c *queueCarbon) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

// Lines returns the whole lines carbon read, connection by connection.
func (c *queueCarbon) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return haproxytest.WholeLines(c.conns...)
}

// Longest returns the longest the writer waited for a full buffer to
// drain by a third, over one Write or several.
func (c *queueCarbon) Longest() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.longest
}

// queueConn is the Sender's end of a queueCarbon connection. Only the
// methods the Sender uses are implemented.
type queueConn struct {
	net.Conn // nil
	c        *queueCarbon
	fd       int
	sndbuf   int
	port     int
	once     sync.Once
	closed   chan struct{} // closed by Close: carbon reads what is left
	blocked  time.Time     // since when the buffer has been full; used by Write only

	mu       sync.Mutex
	deadline time.Time // guarded by mu; of writes
}

// Write writes p as a blocking socket does: what fits in the buffer at
// once; when it is full, it waits until a third of it is free, or until
// the write deadline (the wait goes on in the next Write).
func (c *queueConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		for !c.blocked.IsZero() {
			c.mu.Lock()
			deadline := c.deadline
			c.mu.Unlock()
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				return n, os.ErrDeadlineExceeded
			}
			if q, ok := unsent(c); ok && q <= c.sndbuf*2/3 {
				c.note(time.Since(c.blocked))
				c.blocked = time.Time{}
				break
			}
			time.Sleep(time.Millisecond) // virtual: in the bubble, as the kernel's wake-up
		}
		m, err := syscall.Write(c.fd, p)
		if m > 0 {
			n += m
			p = p[m:]
			continue
		}
		if err != syscall.EAGAIN {
			return n, err
		}
		c.blocked = time.Now() // full: blocked until a third is free
	}
	return n, nil
}

// note records a wait for the buffer to drain.
func (c *queueConn) note(d time.Duration) {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	c.c.longest = max(c.c.longest, d)
}

func (c *queueConn) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }
func (c *queueConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *queueConn) Close() error {
	c.once.Do(func() {
		syscall.Close(c.fd)
		close(c.closed)
	})
	return nil
}

func (c *queueConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.port}
}

func (c *queueConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3002}
}

func (c *queueConn) SyscallConn() (syscall.RawConn, error) { return rawFD(c.fd), nil }
