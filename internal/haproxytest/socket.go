package haproxytest

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Behavior says how a fake socket answers. The zero value answers
// correctly at once.
type Behavior int

const (
	Normal   Behavior = iota
	Hang              // accept, read the command, never answer nor close
	Truncate          // send the first half of the reply, then close
	Garbage           // answer with bytes that are not a HAProxy dump
	Refuse            // close the connection right after accepting it
	Endless           // send the reply's header, then its rows again and again, up to EndlessBytes
)

// EndlessBytes bounds what an Endless socket sends on one connection.
const EndlessBytes = 3 << 30

// Socket is a fake HAProxy stats socket. Its methods are safe for
// concurrent use.
type Socket struct {
	Network, Address string // as net.Dial wants them
	ln               net.Listener

	mu       sync.Mutex
	replies  map[string][]byte // command → reply; guarded by mu
	behavior Behavior          // guarded by mu
	delay    time.Duration     // guarded by mu
	changed  chan struct{}     // guarded by mu; closed and replaced by Set
	commands []string          // every command received; guarded by mu
	conns    map[net.Conn]bool // open connections; guarded by mu
	wg       sync.WaitGroup
	closing  chan struct{} // closed by Close: hung answers end
	once     sync.Once
}

// UnixSocket starts a fake stats socket at dir/name that answers
// `show info` with info and `show stat` with stat. It is closed by
// t.Cleanup.
func UnixSocket(t testing.TB, dir, name string, info, stat []byte) *Socket {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, info, stat)
}

// TCPSocket starts a fake stats socket on 127.0.0.1 with a free port.
func TCPSocket(t testing.TB, info, stat []byte) *Socket {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln, info, stat)
}

func serve(t testing.TB, ln net.Listener, info, stat []byte) *Socket {
	s := &Socket{
		Network: ln.Addr().Network(),
		Address: ln.Addr().String(),
		ln:      ln,
		replies: map[string][]byte{"show info": info, "show stat": stat},
		conns:   map[net.Conn]bool{},
		changed: make(chan struct{}),
		closing: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Set changes how the socket answers from the next connection on, and
// after how long.
func (s *Socket) Set(b Behavior, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior, s.delay = b, delay
	close(s.changed) // a hung answer looks again
	s.changed = make(chan struct{})
}

// SetReply makes the socket answer cmd with reply, as a master CLI
// answers "show proc" or "@!<pid> show stat".
func (s *Socket) SetReply(cmd string, reply []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[cmd] = reply
}

// Commands returns every command received so far, in order.
func (s *Socket) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// Close stops the listener and closes every open connection.
func (s *Socket) Close() {
	s.once.Do(func() { close(s.closing) })
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Socket) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.answer(c)
		}()
	}
}

func (s *Socket) answer(c net.Conn) {
	s.mu.Lock()
	b, delay := s.behavior, s.delay
	s.mu.Unlock()
	if b == Refuse {
		return
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	cmd := strings.TrimSpace(line)
	s.mu.Lock()
	s.commands = append(s.commands, cmd)
	reply, ok := s.replies[cmd]
	s.mu.Unlock()
	if !ok {
		reply = []byte("Unknown command. Please enter one of the following commands only :\n\n")
	}
	if delay > 0 {
		// The scripted delay of a slow HAProxy, not a wait for an
		// event; Close ends it.
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-s.closing:
			timer.Stop()
			return
		}
	}
	switch b {
	case Hang:
		// Like a stuck HAProxy: ignore the client, whatever it does,
		// until the test ends or the behaviour changes.
		for {
			s.mu.Lock()
			still, changed := s.behavior == Hang, s.changed
			s.mu.Unlock()
			if !still {
				return
			}
			select {
			case <-s.closing:
				return
			case <-changed:
			}
		}
	case Truncate:
		reply = reply[:len(reply)/2]
	case Garbage:
		reply = []byte("\x00\xffnot a dump at all\n")
	case Endless:
		endless(c, reply)
		return
	}
	c.Write(reply)
}

// endless writes reply's first line, then the rest of it without its
// final empty line, again and again: a reply that never ends, as a
// socket that is not HAProxy may send. It stops after EndlessBytes, or
// when the reader went away.
func endless(c net.Conn, reply []byte) {
	head, rows, _ := bytes.Cut(reply, []byte("\n"))
	rows = bytes.TrimRight(rows, "\n")
	piece := bytes.Repeat(append(rows, '\n'), max(1, (1<<20)/(len(rows)+1)))
	if _, err := c.Write(append(head, '\n')); err != nil {
		return
	}
	for sent := 0; sent < EndlessBytes; sent += len(piece) {
		if _, err := c.Write(piece); err != nil {
			return
		}
	}
}
