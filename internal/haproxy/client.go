// Package haproxy talks to one HAProxy stats socket (UNIX or TCP): it
// dials with retries, sends one read-only command such as `show info` or
// `show stat` in non-interactive mode, and streams the raw reply to a
// writer, checking that the reply is complete. It does not parse replies.
//
// In non-interactive mode HAProxy answers one command and closes the
// connection; every reply ends with an empty line (HAProxy management
// guide, section 9.3 "Unix Socket commands").
package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// The commands haproxystats sends. Only read-only commands are ever sent;
// through the master CLI they are prefixed with "@!<pid> " to reach one
// worker (WorkerCommand).
const (
	ShowInfo = "show info"
	ShowStat = "show stat"
	ShowProc = "show proc" // master CLI only

	// ShowInfoTyped and ShowStatTyped are the typed output format of the
	// management guide, section 9.2: one field per line with its origin,
	// nature and scope, which tells how to aggregate it.
	ShowInfoTyped = "show info typed"
	ShowStatTyped = "show stat typed"

	// ShowTable without a table name lists the stick tables, one line
	// each: "# table: <name>, type: <type>, size:<n>, used:<n>".
	ShowTable = "show table"
)

// WorkerCommand returns cmd addressed, through the master CLI, to the
// worker with process id pid.
func WorkerCommand(pid int, cmd string) string {
	return "@!" + strconv.Itoa(pid) + " " + cmd
}

// ErrIncomplete means a reply did not end with the empty line HAProxy
// sends after every answer: the dump was cut short.
var ErrIncomplete = errors.New("reply is truncated: no empty line at its end")

// Client holds the connection settings of [pull]. The zero value is not
// useful; build it from config.Pull with NewClient.
type Client struct {
	Timeout    time.Duration // to establish one connection
	Interval   time.Duration // pause between connection attempts
	Retries    int           // -1: unlimited; N: N+1 attempts
	BufferSize int           // read buffer size in bytes
}

// NewClient returns a Client with the settings of cfg.
func NewClient(cfg config.Pull) Client {
	return Client{Timeout: cfg.Timeout, Interval: cfg.Interval, Retries: cfg.Retries, BufferSize: cfg.BufferLimit}
}

// ConnectError is a failure to connect after every attempt.
type ConnectError struct {
	Target   config.Server
	Attempts int
	Err      error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("failed to connect to %s socket %s after %d attempts: %v", e.Target.Network, e.Target.Address, e.Attempts, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Fetch sends cmd to target and copies the whole reply to w. It returns
// the number of bytes copied. The reply is read until HAProxy closes the
// connection, whatever its size; ctx bounds the whole exchange. A reply
// that is empty, does not end with an empty line, or (for show stat) does
// not start with the "# " header is an error: the caller must not use it.
// Typed replies are checked likewise: `show info typed` starts with its
// field 0, "0.Name.", and `show stat typed` with an object letter (F, B,
// L or S) and a dot, or is only the empty line when there is no proxy.
func (c Client) Fetch(ctx context.Context, target config.Server, cmd string, w io.Writer) (int64, error) {
	conn, err := c.dial(ctx, target)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return 0, fmt.Errorf("send %q: %w", cmd, ctxErr(ctx, err))
	}
	// Half-close, as socat does at the end of its input: a worker's stats
	// socket closes after one command anyway, but the master CLI waits for
	// the client's end of input before it closes.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	chk := &checker{w: w}
	bp := readBuffers.Get().(*[]byte)
	defer readBuffers.Put(bp)
	n, err := io.CopyBuffer(chk, onlyReader{conn}, (*bp)[:max(4096, min(c.BufferSize, maxReadBuffer))])
	if err != nil {
		return n, fmt.Errorf("read reply to %q: %w", cmd, ctxErr(ctx, err))
	}
	return n, chk.verify(cmd)
}

// maxReadBuffer is the most of buffer-limit a request uses to read: a
// stats socket hands out at most its socket buffer (about 200 KiB) per
// read anyway, and at workers = 64 a 1 MiB buffer per request held 64 MiB
// for nothing.
const maxReadBuffer = 64 << 10

// readBuffers are the requests' read buffers, reused across rounds.
var readBuffers = sync.Pool{New: func() any { b := make([]byte, maxReadBuffer); return &b }}

// onlyReader hides conn's WriteTo/ReadFrom so CopyBuffer uses our buffer.
type onlyReader struct{ io.Reader }

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return err
}

func (c Client) dial(ctx context.Context, target config.Server) (net.Conn, error) {
	d := net.Dialer{Timeout: c.Timeout}
	var conn net.Conn
	err := connect(ctx, target, c.Retries, c.Interval, func() (bool, error) {
		var err error
		conn, err = d.DialContext(ctx, target.Network, target.Address)
		return true, err
	})
	return conn, err
}

// connect calls try until it succeeds, fails in a way it says is not
// worth trying again, ctx ends, or it made retries + 1 attempts (retries
// -1: no bound), pausing interval between attempts; the failure is a
// *ConnectError with the attempts made. A socket's dial and a stats
// page's request are tried again the same way.
func connect(ctx context.Context, target config.Server, retries int, interval time.Duration, try func() (again bool, err error)) error {
	for attempt := 1; ; attempt++ {
		again, err := try()
		if err == nil {
			return nil
		}
		if !again || ctx.Err() != nil || (retries >= 0 && attempt > retries) {
			return &ConnectError{Target: target, Attempts: attempt, Err: ctxErr(ctx, err)}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return &ConnectError{Target: target, Attempts: attempt, Err: ctxErr(ctx, err)}
		case <-t.C:
		}
	}
}

// checker passes bytes through and remembers the first and last few, so
// that a reply can be verified while it streams to disk.
type checker struct {
	w    io.Writer
	n    int64
	head [7]byte
	tail [2]byte
}

func (c *checker) Write(p []byte) (int, error) {
	for i := 0; i < len(p) && c.n+int64(i) < int64(len(c.head)); i++ {
		c.head[c.n+int64(i)] = p[i]
	}
	switch {
	case len(p) >= 2:
		c.tail = [2]byte{p[len(p)-2], p[len(p)-1]}
	case len(p) == 1:
		c.tail = [2]byte{c.tail[1], p[0]}
	}
	c.n += int64(len(p))
	return c.w.Write(p)
}

func (c *checker) verify(cmd string) error {
	switch {
	case c.n == 0:
		return errors.New("received zero data")
	case strings.HasSuffix(cmd, ShowStat) && !bytes.HasPrefix(c.head[:], []byte("# ")):
		return fmt.Errorf("reply to %q has no CSV header (starts with %q)", cmd, c.head[:min(c.n, 5)])
	case strings.HasSuffix(cmd, ShowInfo) && !bytes.HasPrefix(c.head[:], []byte("Name:")):
		return fmt.Errorf("reply to %q is not a show info dump (starts with %q)", cmd, c.head[:min(c.n, 5)])
	case strings.HasSuffix(cmd, ShowInfoTyped) && !bytes.Equal(c.head[:], []byte("0.Name.")):
		return fmt.Errorf("reply to %q is not a typed show info dump (starts with %q)", cmd, c.head[:min(c.n, 7)])
	case strings.HasSuffix(cmd, ShowStatTyped) && c.n == 1 && c.head[0] == '\n':
		return nil // no proxy at all: only the final empty line
	case strings.HasSuffix(cmd, ShowStatTyped) && (c.n < 2 || strings.IndexByte("FBLS", c.head[0]) < 0 || c.head[1] != '.'):
		return fmt.Errorf("reply to %q is not a typed show stat dump (starts with %q)", cmd, c.head[:min(c.n, 7)])
	case strings.HasSuffix(cmd, ShowTable) && c.n == 1 && c.head[0] == '\n':
		return nil // no stick table
	case strings.HasSuffix(cmd, ShowTable) && !bytes.Equal(c.head[:], []byte("# table")):
		return fmt.Errorf("reply to %q is not a list of stick tables (starts with %q)", cmd, c.head[:min(c.n, 7)])
	case c.n < 2 || c.tail != [2]byte{'\n', '\n'}:
		return ErrIncomplete
	}
	return nil
}
