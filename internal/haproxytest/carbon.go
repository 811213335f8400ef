package haproxytest

import (
	"bytes"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Carbon is a fake carbon relay: a TCP listener on 127.0.0.1 that records
// every complete line it receives, in arrival order. An incomplete last line
// of a connection is discarded, as carbon does. Stop and Start simulate an
// outage on the same port. Its methods are safe for concurrent use.
type Carbon struct {
	addr string // 127.0.0.1:port, fixed for the life of c
	port int

	mu         sync.Mutex
	ln         net.Listener               // guarded by mu; nil while stopped
	acceptDone chan struct{}              // guarded by mu; closed when ln's accept loop returned
	conns      map[net.Conn]chan struct{} // guarded by mu; the channel is closed when the conn's reader returned
	lines      []string                   // guarded by mu
	accepted   int                        // guarded by mu
	changed    chan struct{}              // guarded by mu; closed and replaced when lines grow
}

// NewCarbon starts a fake carbon on 127.0.0.1 and a free port. It is
// stopped when the test ends.
func NewCarbon(t testing.TB) *Carbon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("carbon: listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	c := &Carbon{
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:    port,
		conns:   make(map[net.Conn]chan struct{}),
		changed: make(chan struct{}),
	}
	c.serve(ln)
	t.Cleanup(c.Stop)
	return c
}

// Addr returns the listening address, "127.0.0.1:<port>".
func (c *Carbon) Addr() string { return c.addr }

// Port returns the listening port. It stays the same across Stop and Start.
func (c *Carbon) Port() int { return c.port }

// Lines returns a copy of all complete lines received so far, without
// their "\n", in arrival order.
func (c *Carbon) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// Accepted returns how many connections were accepted so far.
func (c *Carbon) Accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted
}

// WaitLines waits until at least n lines were received and returns them
// (as Lines does). It fails the test if that takes longer than timeout.
// Call it from the test's goroutine.
func (c *Carbon) WaitLines(t testing.TB, n int, timeout time.Duration) []string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		got, changed := len(c.lines), c.changed
		if got >= n {
			lines := slices.Clone(c.lines)
			c.mu.Unlock()
			return lines
		}
		c.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("carbon: received %d lines in %v, want at least %d", got, timeout, n)
			return nil
		}
	}
}

// Stop closes the listener and every connection, simulating an outage, and
// waits until nothing more can be received. Stopping a stopped Carbon does
// nothing.
func (c *Carbon) Stop() {
	c.mu.Lock()
	ln, done := c.ln, c.acceptDone
	c.ln = nil
	c.mu.Unlock()
	if ln != nil {
		ln.Close()
		<-done
	}
	c.CloseConns()
}

// Start listens again on the same port after Stop, retrying while the
// port is busy, for up to 30 s. Starting a running Carbon does nothing.
// Call it from the test's goroutine.
func (c *Carbon) Start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	running := c.ln != nil
	c.mu.Unlock()
	if running {
		return
	}
	var ln net.Listener
	var err error
	if !Poll(30*time.Second, func() bool {
		ln, err = net.Listen("tcp", c.addr)
		return err == nil
	}) {
		t.Fatalf("carbon: listen again on %s: %v", c.addr, err)
	}
	c.serve(ln)
}

// CloseConns closes every accepted connection but keeps listening, and
// waits until their readers returned.
func (c *Carbon) CloseConns() {
	c.mu.Lock()
	var readers []chan struct{}
	for conn, done := range c.conns {
		conn.Close()
		readers = append(readers, done)
	}
	c.mu.Unlock()
	for _, done := range readers {
		<-done
	}
}

// serve starts the accept loop of ln; Stop ends it and waits for it.
func (c *Carbon) serve(ln net.Listener) {
	done := make(chan struct{})
	c.mu.Lock()
	c.ln, c.acceptDone = ln, done
	c.mu.Unlock()
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// A transient error, such as too many open files: back
				// off a little rather than spin. No test waits on this.
				time.Sleep(time.Millisecond)
				continue
			}
			reader := make(chan struct{})
			c.mu.Lock()
			c.conns[conn] = reader
			c.accepted++
			c.mu.Unlock()
			go c.read(conn, reader) // Stop and CloseConns wait for it
		}
	}()
}

// read records the complete lines received on conn until it is closed.
func (c *Carbon) read(conn net.Conn, done chan struct{}) {
	defer close(done)
	defer func() {
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
		conn.Close()
	}()
	buf := make([]byte, 64<<10)
	var partial []byte
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			data := append(partial, buf[:n]...)
			if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
				c.add(strings.Split(string(data[:i]), "\n"))
				partial = append([]byte(nil), data[i+1:]...)
			} else {
				partial = data
			}
		}
		if err != nil {
			return // an incomplete last line is discarded
		}
	}
}

func (c *Carbon) add(lines []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, lines...)
	close(c.changed)
	c.changed = make(chan struct{})
}
