package haproxytest

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SlowCarbon is a carbon on 127.0.0.1 that reads at a fixed rate, like a
// relay behind a thin link or one under back-pressure, and can cut its
// first connections after a number of bytes, like a relay that keeps
// restarting. It keeps what each connection delivered. Its methods are
// safe for concurrent use.
type SlowCarbon struct {
	ln      net.Listener
	rate    int           // bytes per second
	perConn int64         // cut each of the first CutConns connections after this much; 0: never
	stall   chan struct{} // when not nil, nothing is read before it is closed
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  [][]byte // guarded by mu; what each connection delivered, in order
	resets int      // guarded by mu; connections that ended with a reset, not an end of stream
	last   time.Time
}

// CutConns is how many connections a SlowCarbon with a per-connection
// limit cuts; the next ones read to the end.
const CutConns = 3

// NewSlowCarbon starts one reading rate bytes per second; perConn > 0
// cuts each of the first CutConns connections after that many bytes; a
// non-nil stall makes it read nothing until stall is closed. It stops
// when the test ends.
func NewSlowCarbon(t testing.TB, rate int, perConn int64, stall chan struct{}) *SlowCarbon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("slow carbon: listen: %v", err)
	}
	c := &SlowCarbon{ln: ln, rate: rate, perConn: perConn, stall: stall}
	c.wg.Go(c.accept)
	t.Cleanup(func() {
		ln.Close()
		c.wg.Wait()
	})
	return c
}

// Port returns the listening port.
func (c *SlowCarbon) Port() int { return c.ln.Addr().(*net.TCPAddr).Port }

func (c *SlowCarbon) accept() {
	for {
		nc, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		i := len(c.conns)
		c.conns = append(c.conns, nil)
		c.mu.Unlock()
		limit := c.perConn
		if i >= CutConns {
			limit = 0 // the relay is back for good
		}
		c.wg.Go(func() { c.read(nc.(*net.TCPConn), i, limit) })
	}
}

// read reads nc at c.rate, in 16 KiB pieces, into conns[i]. A small
// receive buffer keeps what the kernel holds for it small, so the rate is
// what the sender sees.
func (c *SlowCarbon) read(nc *net.TCPConn, i int, limit int64) {
	defer nc.Close()
	nc.SetReadBuffer(64 << 10)
	if c.stall != nil {
		<-c.stall
	}
	start, total := time.Now(), int64(0)
	buf := make([]byte, 16<<10)
	for limit == 0 || total < limit {
		nc.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := nc.Read(buf)
		c.mu.Lock()
		c.conns[i] = append(c.conns[i], buf[:n]...)
		if n > 0 {
			c.last = time.Now()
		}
		if errors.Is(err, syscall.ECONNRESET) {
			c.resets++
		}
		c.mu.Unlock()
		if err != nil {
			return
		}
		total += int64(n)
		// The rate limit itself, the behaviour this carbon simulates:
		// no test waits on it, they wait on what it received.
		time.Sleep(time.Until(start.Add(time.Duration(total) * time.Second / time.Duration(c.rate))))
	}
}

// Connections returns how many connections it accepted.
func (c *SlowCarbon) Connections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

// Resets returns how many connections ended with a reset.
func (c *SlowCarbon) Resets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resets
}

// LastRead returns when it last read a byte.
func (c *SlowCarbon) LastRead() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// FirstLines returns the first line each connection delivered.
func (c *SlowCarbon) FirstLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.conns))
	for i, b := range c.conns {
		out[i], _, _ = strings.Cut(string(b), "\n")
	}
	return out
}

// LastLine returns the last whole line received, "" before the first:
// what a test polls for, cheaply, where Lines copies everything.
func (c *SlowCarbon) LastLine() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.conns) - 1; i >= 0; i-- {
		b := c.conns[i]
		if end := bytes.LastIndexByte(b, '\n'); end >= 0 {
			return string(b[bytes.LastIndexByte(b[:end], '\n')+1 : end])
		}
	}
	return ""
}

// Lines returns every whole line received, connection by connection: the
// cut line a connection may end with is not one.
func (c *SlowCarbon) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return WholeLines(c.conns...)
}

// WholeLines returns the whole lines of what each connection received,
// connection by connection: the cut line a connection may end with is
// not one.
func WholeLines(conns ...[]byte) []string {
	var out []string
	for _, b := range conns {
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			out = append(out, strings.Split(string(b[:i]), "\n")...)
		}
	}
	return out
}
